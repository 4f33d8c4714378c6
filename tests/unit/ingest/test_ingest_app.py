"""The ingest endpoints' answers to bad input and to CoinGecko/Kafka failures (CoinGecko is a local stub)."""

from __future__ import annotations

import pytest
from coinstream_common.timeutil import to_iso
from coinstream_contract.events import now_ms
from coinstream_ingest.app import create_app
from coinstream_ingest.history import DAY_MS, HOUR_MS

pytestmark = pytest.mark.unit

# Relative to today, so the plan's 365-day window always holds them.
DAY0 = now_ms() - now_ms() % DAY_MS - 10 * DAY_MS
D0, D1, D2 = (to_iso(DAY0 + i * DAY_MS) for i in range(3))

COINS = [{"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"}, {"id": "ethereum", "symbol": "eth", "name": "Ethereum"}]


@pytest.fixture
def app_for(stub, monkeypatch):
    def make(chart_step=("json", 200, {"prices": [], "market_caps": [], "total_volumes": []}), **env):
        def route(path: str):
            if path.startswith("/api/v3/coins/list"):
                return ("json", 200, COINS)
            if path.startswith("/api/v3/simple/supported_vs_currencies"):
                return ("json", 200, ["usd", "eur", "btc"])
            if path.startswith("/api/v3/ping"):
                return ("json", 200, {"gecko_says": "(V3) To the Moon!"})
            return chart_step

        stub.route = route
        base = {
            "COINSTREAM_COINGECKO_BASE_URL": stub.url,
            "COINSTREAM_COINGECKO_RATE_LIMIT_PER_MINUTE": "60000",
            "COINSTREAM_COINGECKO_MAX_ATTEMPTS": "2",
            "COINSTREAM_COINGECKO_BACKOFF_BASE_S": "0.01",
            "COINSTREAM_COINGECKO_TIMEOUT_S": "2",
            "COINSTREAM_INGEST_POLLER_ENABLED": "false",
            "COINSTREAM_INGEST_BACKFILL_ENABLED": "false",
            "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # nothing listens: produce fails
            "COINSTREAM_KAFKA_DELIVERY_TIMEOUT_MS": "1000",
        }
        for k, v in (base | env).items():
            monkeypatch.setenv(k, v)
        return create_app().test_client()

    return make


def history(client, **body):
    payload = {"coin": "bitcoin", "vs_currency": "usd", "from": D0, "to": D1} | body
    return client.post("/v1/fetch/history", json=payload)


@pytest.mark.parametrize(
    "data, code, fragment",
    [
        (b"", "malformed_json", "JSON object"),
        (b"{not json", "malformed_json", "not valid JSON"),
        (b"[1, 2]", "malformed_json", "JSON object"),
        (b'{"vs_currency": "usd", "from": "2026-01-01"}', "invalid_request", "coin"),
        (b'{"coin": "bitcoin", "from": "yesterday"}', "invalid_request", "ISO 8601"),
        (b'{"coin": "Bit Coin!", "from": "2026-01-01"}', "invalid_request", "coin"),
        (b'{"coin": "bitcoin", "from": "2026-01-01", "interval": "weekly"}', "invalid_request", "interval"),
        (b'{"coin": "bitcoin", "from": "2026-01-01", "surprise": 1}', "invalid_request", "surprise"),
        (b'{"coin": "bitcoin", "from": true}', "invalid_request", "from"),
    ],
)
def test_malformed_history_bodies_are_400(app_for, stub, data, code, fragment):
    resp = app_for().post("/v1/fetch/history", data=data, content_type="application/json")
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == code and fragment in err["message"]
    assert stub.seen == []  # refused before CoinGecko was asked anything


def test_from_after_to_and_beyond_the_plan_are_400_before_any_call(app_for, stub):
    client = app_for()
    resp = history(client, **{"from": D2, "to": D1})
    assert resp.status_code == 400 and resp.get_json()["error"] == {
        "code": "invalid_range",
        "message": "from is after to",
    }
    resp = history(client, **{"from": to_iso(DAY0 - 400 * DAY_MS)})
    assert resp.status_code == 400 and "at most 365 days" in resp.get_json()["error"]["message"]
    resp = history(client, **{"from": D0, "interval": "5m"})
    assert resp.status_code == 400 and "24 hours" in resp.get_json()["error"]["message"]
    assert stub.seen == []


def test_unknown_vs_currency_is_400_and_unknown_coin_is_404_naming_it(app_for):
    client = app_for()
    resp = history(client, vs_currency="xyz")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "unknown_vs_currency"
    resp = history(client, coin="notacoin")
    assert resp.status_code == 404
    err = resp.get_json()["error"]
    assert err["code"] == "unknown_coin" and "notacoin" in err["message"] and err["coins"] == ["notacoin"]
    resp = client.post("/v1/fetch/prices", json={"coins": ["bitcoin", "nope-coin"], "vs_currency": "usd"})
    assert resp.status_code == 404 and resp.get_json()["error"]["coins"] == ["nope-coin"]
    resp = client.post("/v1/fetch/prices", json={"coins": [], "vs_currency": "usd"})
    assert resp.status_code == 400


def test_coingecko_failing_is_502_with_a_retry_hint(app_for):
    client = app_for(chart_step=("json", 503, {"error": "maintenance"}))
    resp = history(client)
    assert resp.status_code == 502
    assert resp.get_json()["error"]["code"] == "coingecko_unavailable"
    assert int(resp.headers["Retry-After"]) >= 1 and resp.get_json()["error"]["retry_after_s"] >= 1


def test_coingecko_rate_limit_exhausted_is_503_with_its_retry_after(app_for):
    client = app_for(chart_step=("json", 429, {"status": {"error_message": "throttled"}}, {"Retry-After": "0"}))
    resp = history(client)
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "coingecko_rate_limited" and "Retry-After" in resp.headers


def test_kafka_not_acknowledging_is_503(app_for):
    chart = {"prices": [[DAY0, 5.0]], "market_caps": [], "total_volumes": []}
    resp = history(app_for(chart_step=("json", 200, chart)), to=to_iso(DAY0 + 6 * HOUR_MS))
    assert resp.status_code == 503
    err = resp.get_json()["error"]
    assert err["code"] == "kafka_unavailable" and "not acknowledged" in err["message"]
    assert resp.headers["Retry-After"] == "5"


def test_nothing_to_fetch_answers_202_with_zero(app_for):
    frm, to = to_iso(DAY0 + 10 * HOUR_MS + 600_000), to_iso(DAY0 + 10 * HOUR_MS + 1_200_000)
    resp = history(app_for(), **{"from": frm, "to": to})
    assert resp.status_code == 202
    body = resp.get_json()
    assert body["produced"] == 0 and body["fetched"]["calls"] == 0
    assert body["requested"]["from"] == frm and body["requested"]["interval"] == "hourly"


def test_openapi_and_readiness(app_for):
    client = app_for()
    doc = client.get("/openapi.json").get_json()
    assert {"/v1/fetch/prices", "/v1/fetch/history", "/readyz"} <= doc["paths"].keys()
    assert doc["components"]["schemas"]["HistoryRequest"]["required"] == ["coin", "from"]
    resp = client.get("/readyz")
    assert resp.status_code == 503 and "kafka" in resp.get_json()["error"]["message"].lower()
