"""The api's coin list reaches it through ingest, never from CoinGecko itself: a coin newly listed
in the simulator becomes accepted by the api's POST once the miss bound passed, while anything the
api would send to its (ignored) CoinGecko address lands on a recorder that must stay silent."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests
from coingecko_sim.app import create_app as create_sim_app
from coingecko_sim.config import SimConfig
from coinstream_api.coins import MISS_ASK_S
from coinstream_common.timeutil import to_iso
from coinstream_ingest.settings import COIN_LIST_MISS_RELOAD_S
from flask import Flask
from werkzeug.serving import make_server

pytestmark = pytest.mark.integration

DAY = 86_400_000


class Served:
    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def recorder() -> tuple[Served, list[str]]:
    """A server that answers everything 404 and remembers what it was asked."""
    asked: list[str] = []
    app = Flask("coingecko-recorder")

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def _any(path):
        asked.append(path)
        return {"error": "not CoinGecko"}, 404

    return Served(app), asked


@pytest.fixture
def platform(env, monkeypatch, it):
    """The simulator, ingest's real app in front of it, and the api (real Kafka) asking ingest."""
    sim = Served(create_sim_app(SimConfig(rate_limit_per_minute=0)))
    for k, v in {
        "COINSTREAM_COINGECKO_BASE_URL": sim.url + "/api/v3",
        "COINSTREAM_COINGECKO_RATE_LIMIT_PER_MINUTE": "60000",
        "COINSTREAM_INGEST_POLLER_ENABLED": "false",
        "COINSTREAM_INGEST_BACKFILL_ENABLED": "false",
    }.items():
        monkeypatch.setenv(k, v)
    from coinstream_ingest.app import create_app as create_ingest_app

    ingest = Served(create_ingest_app())
    fake_coingecko, asked = recorder()
    api = it.InProcessApi(
        COINSTREAM_API_INGEST_URL=ingest.url,
        # Were the api still a CoinGecko client, it would ask here.
        COINSTREAM_COINGECKO_BASE_URL=fake_coingecko.url + "/api/v3",
    )
    try:
        yield sim, api, asked
    finally:
        api.close()
        for server in (fake_coingecko, ingest, sim):
            server.close()


def body(coin: str) -> dict:
    today = int(time.time() * 1000) // DAY * DAY
    return {
        "holdings": [{"coin": coin, "amount": 2.0}],
        "vs_currency": "usd",
        "from": to_iso(today - 20 * DAY),
        "to": to_iso(today - 18 * DAY),
        "interval": "daily",
    }


def test_a_coin_listed_in_the_simulator_is_accepted_by_the_api_through_ingest(platform, it):
    sim, api, asked_coingecko = platform
    headers = {"X-API-Key": it.KEY}

    def post(b: dict) -> requests.Response:
        return requests.post(f"{api.base_url}/v1/portfolios", json=b, headers=headers, timeout=30)

    # The api has a real list (pattern-only would accept any well-formed id)...
    refused = post(body("zz-never-listed-coin"))
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_coin", refused.text
    assert post(body("bitcoin")).status_code in (201, 202)

    # ...and a coin listed since reaches it through ingest within the miss bounds (api's, then ingest's).
    coin = f"it{uuid.uuid4().hex[:10]}"
    listed = requests.post(f"{sim.url}/__sim/coins", json={"id": coin, "like": "bitcoin"}, timeout=10)
    assert listed.status_code == 201, listed.text
    deadline = time.monotonic() + COIN_LIST_MISS_RELOAD_S + MISS_ASK_S + 30
    while True:
        created = post(body(coin))
        unknown = created.status_code == 400 and created.json()["error"]["code"] == "unknown_coin"
        if not unknown or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert created.status_code in (201, 202), created.text
    assert [h["coin"] for h in created.json()["holdings"]] == [coin]
    assert coin in api.service.coins.ids()
    assert asked_coingecko == []  # the api never called CoinGecko
