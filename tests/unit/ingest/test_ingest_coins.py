"""GET /v1/coins: ingest's coin list, through its real CoinGecko client, from the real simulator app
(served on a local port); a miss reloads it, at most once a minute."""

from __future__ import annotations

import socket
import threading
import uuid

import pytest
import requests
from coingecko_sim.app import create_app as create_sim_app
from coingecko_sim.config import SimConfig
from coinstream_ingest.app import create_app
from coinstream_ingest.settings import COIN_LIST_MISS_RELOAD_S
from werkzeug.serving import make_server

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sim:
    """The CoinGecko simulator on a free port; ``calls()`` counts its /coins/list answers."""

    def __init__(self) -> None:
        app = create_sim_app(SimConfig(seed=7, rate_limit_per_minute=0))
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self) -> int:
        stats = requests.get(f"{self.url}/__sim/stats", timeout=5).json()
        return sum(stats["calls"].get("coins_list", {}).values())

    def list_coin(self, like: str = "bitcoin") -> str:
        coin_id = f"t{uuid.uuid4().hex[:10]}"
        resp = requests.post(f"{self.url}/__sim/coins", json={"id": coin_id, "like": like}, timeout=5)
        assert resp.status_code == 201, resp.text
        return coin_id

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sim():
    s = Sim()
    yield s
    s.close()


def ingest_env(monkeypatch, base_url: str) -> None:
    for k, v in {
        "COINSTREAM_COINGECKO_BASE_URL": base_url,
        "COINSTREAM_COINGECKO_RATE_LIMIT_PER_MINUTE": "60000",
        "COINSTREAM_COINGECKO_MAX_ATTEMPTS": "2",
        "COINSTREAM_COINGECKO_BACKOFF_BASE_S": "0.01",
        "COINSTREAM_COINGECKO_TIMEOUT_S": "2",
        "COINSTREAM_INGEST_POLLER_ENABLED": "false",
        "COINSTREAM_INGEST_BACKFILL_ENABLED": "false",
        "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # the coin list needs no broker
        "COINSTREAM_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
def ingest(sim, monkeypatch):
    """ingest's test client over the simulator, its coin-list cache on a clock the test moves."""
    ingest_env(monkeypatch, sim.url + "/api/v3")
    app = create_app()
    clock = Clock()
    app.extensions["ingestor"].client.clock = clock
    client = app.test_client()
    client.clock = clock
    return client


def test_the_coin_list_is_coingeckos_with_symbols_and_names_and_cached(sim, ingest):
    served = requests.get(f"{sim.url}/api/v3/coins/list", timeout=5).json()
    calls = sim.calls()
    resp = ingest.get("/v1/coins")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["count"] == len(body["coins"]) == len(served)
    assert {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"} in body["coins"]
    assert [c["id"] for c in body["coins"]] == sorted(c["id"] for c in served)
    etag = resp.headers["ETag"]
    assert etag and resp.headers["Cache-Control"] == "no-cache"

    again = ingest.get("/v1/coins")
    assert again.get_json() == body and again.headers["ETag"] == etag
    unchanged = ingest.get("/v1/coins", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert sim.calls() == calls + 1  # one CoinGecko call for all three answers


def test_a_coin_listed_since_is_found_on_a_miss_at_most_once_a_minute(sim, ingest):
    first = ingest.get("/v1/coins")
    calls = sim.calls()
    coin = sim.list_coin()

    ingest.clock.now += 5  # loaded 5 s ago: a miss does not call CoinGecko yet
    resp = ingest.get(f"/v1/coins?reload_missing={coin}")
    assert coin not in {c["id"] for c in resp.get_json()["coins"]} and sim.calls() == calls

    ingest.clock.now += COIN_LIST_MISS_RELOAD_S
    resp = ingest.get(f"/v1/coins?reload_missing=bitcoin,{coin}")
    listed = {c["id"]: c for c in resp.get_json()["coins"]}
    assert coin in listed and listed[coin]["name"].endswith(f"({coin})")
    assert resp.headers["ETag"] != first.headers["ETag"] and sim.calls() == calls + 1
    assert ingest.get("/v1/coins", headers={"If-None-Match": first.headers["ETag"]}).status_code == 200

    for n in range(10):  # a flood of unknown ids within the minute: no further call
        assert ingest.get(f"/v1/coins?reload_missing=no-such-coin-{n}").status_code == 200
    assert sim.calls() == calls + 1
    # An id the list holds never reloads it, however old the load.
    ingest.clock.now += COIN_LIST_MISS_RELOAD_S + 1
    ingest.get(f"/v1/coins?reload_missing={coin}")
    assert sim.calls() == calls + 1


def test_the_miss_bound_is_shared_with_the_fetch_endpoints(sim, ingest):
    """A reload for the api and one for a history fetch are the same call: one client, one bound."""
    ingest.get("/v1/coins")
    calls = sim.calls()
    coin = sim.list_coin()
    ingest.clock.now += COIN_LIST_MISS_RELOAD_S
    assert coin in {c["id"] for c in ingest.get(f"/v1/coins?reload_missing={coin}").get_json()["coins"]}
    resp = ingest.post("/v1/fetch/prices", json={"coins": ["still-not-listed"], "vs_currency": "usd"})
    assert resp.status_code == 404 and sim.calls() == calls + 1


@pytest.mark.parametrize(
    "query", ["reload_missing=Bit%20Coin!", "reload_missing=" + ",".join(f"c{i}" for i in range(251))]
)
def test_malformed_reload_missing_is_400_before_any_call(sim, ingest, query):
    calls = sim.calls()
    resp = ingest.get(f"/v1/coins?{query}")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid_request"
    assert sim.calls() == calls


def test_coingecko_unreachable_is_502_with_a_retry_hint(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    ingest_env(monkeypatch, f"http://127.0.0.1:{closed}/api/v3")
    resp = create_app().test_client().get("/v1/coins")
    assert resp.status_code == 502 and resp.get_json()["error"]["code"] == "coingecko_unavailable"
    assert int(resp.headers["Retry-After"]) >= 1


def test_a_failed_reload_keeps_the_list_and_counts_against_the_bound(sim, ingest):
    ingest.get("/v1/coins")
    calls = sim.calls()
    requests.post(
        f"{sim.url}/__sim/faults", json={"endpoint": "coins_list", "error_rate": 1.0, "error_status": 503}, timeout=5
    ).raise_for_status()
    ingest.clock.now += COIN_LIST_MISS_RELOAD_S
    assert ingest.get("/v1/coins?reload_missing=newcoin").status_code == 502
    assert sim.calls() == calls + 2  # two attempts (COINSTREAM_COINGECKO_MAX_ATTEMPTS)
    requests.delete(f"{sim.url}/__sim/faults", timeout=5).raise_for_status()
    resp = ingest.get("/v1/coins?reload_missing=newcoin")  # tried just now: the cached list, no call
    assert resp.status_code == 200 and "bitcoin" in {c["id"] for c in resp.get_json()["coins"]}
    assert sim.calls() == calls + 2


def test_openapi_describes_the_coin_list(ingest):
    doc = ingest.get("/openapi.json").get_json()
    get = doc["paths"]["/v1/coins"]["get"]
    assert [p["name"] for p in get["parameters"]] == ["reload_missing"]
    assert {"200", "304", "400", "502", "503"} <= set(get["responses"])
    assert doc["components"]["schemas"]["CoinList"]["required"] == ["coins", "count"]
