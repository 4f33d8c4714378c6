"""The api's coin list comes from ingest (its real app on a local port, over the real CoinGecko
simulator): a coin listed since is found, unknown ids cannot make the api ask ingest more than once
per MISS_ASK_S nor ingest ask CoinGecko more than once a minute, and while ingest is unreachable the
api keeps its last list or checks the id pattern only."""

from __future__ import annotations

import logging
import socket
import threading
import uuid

import pytest
import requests
from coingecko_sim.app import create_app as create_sim_app
from coingecko_sim.config import SimConfig
from coinstream_api.coins import MISS_ASK_S, KnownCoins
from coinstream_ingest.app import create_app as create_ingest_app
from coinstream_ingest.settings import COIN_LIST_MISS_RELOAD_S
from prometheus_client import REGISTRY
from werkzeug.serving import make_server

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Served:
    """A WSGI app on a free port; ``asked`` records the path and query of each request."""

    def __init__(self, app) -> None:
        self.asked: list[tuple[str, str]] = []

        def recording(environ, start_response):
            self.asked.append((environ["PATH_INFO"], environ.get("QUERY_STRING", "")))
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, recording, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Platform:
    """The simulator and ingest's real app in front of it; one clock for ingest's and the api's caches."""

    def __init__(self, monkeypatch) -> None:
        self.sim = Served(create_sim_app(SimConfig(seed=3, rate_limit_per_minute=0)))
        for k, v in {
            "COINSTREAM_COINGECKO_BASE_URL": self.sim.url + "/api/v3",
            "COINSTREAM_COINGECKO_RATE_LIMIT_PER_MINUTE": "60000",
            "COINSTREAM_COINGECKO_MAX_ATTEMPTS": "1",
            "COINSTREAM_INGEST_POLLER_ENABLED": "false",
            "COINSTREAM_INGEST_BACKFILL_ENABLED": "false",
            "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "COINSTREAM_LOG_LEVEL": "WARNING",
        }.items():
            monkeypatch.setenv(k, v)
        app = create_ingest_app()
        self.clock = Clock()
        app.extensions["ingestor"].client.clock = self.clock
        self.ingest = Served(app)

    def list_coin(self) -> str:
        coin_id = f"t{uuid.uuid4().hex[:10]}"
        resp = requests.post(f"{self.sim.url}/__sim/coins", json={"id": coin_id, "like": "ethereum"}, timeout=5)
        assert resp.status_code == 201, resp.text
        return coin_id

    def coins_asked(self) -> list[str]:
        """The query strings of the api's asks of ingest."""
        return [q for path, q in self.ingest.asked if path == "/v1/coins"]

    def coingecko_calls(self) -> int:
        return sum(1 for path, _ in self.sim.asked if path == "/api/v3/coins/list")

    def close(self) -> None:
        self.ingest.close()
        self.sim.close()


@pytest.fixture
def platform(monkeypatch):
    p = Platform(monkeypatch)
    yield p
    p.close()


def loads(outcome: str) -> float:
    return REGISTRY.get_sample_value("coinstream_api_coin_list_loads_total", {"outcome": outcome}) or 0.0


def test_the_list_is_ingests_and_an_unchanged_one_costs_a_304(platform):
    known = KnownCoins(platform.ingest.url, clock=platform.clock)
    loaded, unchanged = loads("loaded"), loads("unchanged")
    ids = known.ids()
    assert ids is not None and {"bitcoin", "ethereum", "solana"} <= ids and "not-a-listed-coin" not in ids
    assert platform.coins_asked() == [""] and platform.coingecko_calls() == 1
    assert loads("loaded") == loaded + 1

    known.refresh()  # the periodic refresh: ingest's list did not change
    assert known.ids() is ids and loads("unchanged") == unchanged + 1
    assert platform.coingecko_calls() == 1  # ingest answered from its cache


def test_a_coin_listed_since_is_found_and_a_flood_of_misses_costs_one_ask(platform):
    clock = platform.clock
    known = KnownCoins(platform.ingest.url, clock=clock)
    assert known.ids() is not None
    coin = platform.list_coin()

    clock.now += MISS_ASK_S / 2  # both lists loaded moments ago
    assert known.reload_for_unknown([coin]) is False
    assert coin not in known.ids() and len(platform.coins_asked()) == 1  # the api did not even ask

    clock.now += MISS_ASK_S  # the api asks, but ingest loaded its list within the minute: a 304
    assert known.reload_for_unknown([coin]) is False
    assert coin not in known.ids() and len(platform.coins_asked()) == 2 and platform.coingecko_calls() == 1

    clock.now += COIN_LIST_MISS_RELOAD_S
    assert known.reload_for_unknown([coin]) is True
    assert coin in known.ids()
    assert platform.coins_asked()[-1] == f"reload_missing={coin}"  # ingest was told which id was missing
    assert platform.coingecko_calls() == 2

    for n in range(10):  # unknown ids within MISS_ASK_S: no ask
        assert known.reload_for_unknown([f"no-such-coin-{n}"]) is False
    assert len(platform.coins_asked()) == 3 and platform.coingecko_calls() == 2
    for n in range(5):  # one ask per MISS_ASK_S, and ingest keeps CoinGecko at one call a minute
        clock.now += MISS_ASK_S
        assert known.reload_for_unknown([f"no-such-coin-{n}"]) is False
    assert len(platform.coins_asked()) == 8 and platform.coingecko_calls() == 2


def test_a_miss_ingest_cannot_resolve_yet_is_a_304_and_not_a_reload(platform):
    clock = platform.clock
    known = KnownCoins(platform.ingest.url, clock=clock)
    ids = known.ids()
    clock.now += COIN_LIST_MISS_RELOAD_S
    unchanged = loads("unchanged")
    assert known.reload_for_unknown(["never-listed"]) is False  # ingest reloaded, the coin is not there
    assert known.ids() is ids and loads("unchanged") == unchanged + 1
    assert platform.coingecko_calls() == 2


def test_the_last_list_is_kept_while_ingest_is_unreachable(platform, caplog):
    clock = platform.clock
    known = KnownCoins(platform.ingest.url, timeout_s=1.0, clock=clock)
    ids = known.ids()
    platform.ingest.close()
    clock.now += COIN_LIST_MISS_RELOAD_S
    failed = loads("failed")
    with caplog.at_level(logging.WARNING, logger="coinstream_api.coins"):
        assert known.reload_for_unknown(["newcoin"]) is False
    assert known.ids() is ids and loads("failed") == failed + 1
    assert "keeping the" in caplog.text and "ingest unreachable" in caplog.text


def test_pattern_only_while_ingest_was_never_reachable_then_the_list(platform, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    clock = Clock()
    down = KnownCoins(f"http://127.0.0.1:{closed}", timeout_s=1.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="coinstream_api.coins"):
        assert down.ids() is None  # pattern-only until it can be fetched
    assert "checking the id pattern only" in caplog.text
    clock.now += 1
    assert down.ids() is None  # not retried before RETRY_S: a POST does not wait on a dead ingest each time

    down.url = platform.ingest.url + "/v1/coins"  # ingest comes up (at another address, for the test)
    clock.now += 60
    down._refresh_if_due(True)
    assert "bitcoin" in down.ids()


def test_an_answer_that_is_not_a_coin_list_is_a_failure(platform):
    # The simulator is not ingest: its /v1/coins is a 404, never an empty list taken for real.
    known = KnownCoins(platform.sim.url, timeout_s=1.0, clock=Clock())
    assert known.ids() is None


def test_a_portfolio_with_a_coin_listed_since_is_accepted_through_ingest(platform, make_harness):
    """The api's POST path: unknown at first (within the bound), accepted once the bound passed."""
    harness = make_harness()
    service = harness.app.extensions["coinstream"]
    service.coins = KnownCoins(platform.ingest.url, clock=platform.clock)
    service.coins.ids()
    coin = platform.list_coin()
    body = harness.body(days=3, coins=((coin, 1.0),))
    refused = harness.post(body)
    assert refused.status_code == 400 and refused.get_json()["error"]["coins"] == [coin]
    platform.clock.now += COIN_LIST_MISS_RELOAD_S
    accepted = harness.post(body)
    assert accepted.status_code in (201, 202), accepted.get_json()
    assert platform.coins_asked()[-1] == f"reload_missing={coin}"
