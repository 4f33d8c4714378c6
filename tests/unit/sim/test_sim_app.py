"""The simulator's HTTP answers through Flask's test client, on a frozen clock."""

from __future__ import annotations

import json

import pytest
from coingecko_sim import prices
from coingecko_sim.app import create_app
from coingecko_sim.catalog import COINS, VS_CURRENCIES
from coingecko_sim.config import SimConfig

pytestmark = pytest.mark.unit

DAY = 86_400_000
HOUR = 3_600_000
NOW = 1_795_000_000_000 + 4_321  # 2026-11-18T11:06:40.004Z
SEED = 5


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


@pytest.fixture
def sim():
    clock = Clock(NOW)
    slept: list[float] = []
    app = create_app(SimConfig(seed=SEED, rate_limit_per_minute=1000), clock_ms=clock, sleep=slept.append)
    client = app.test_client()
    client.clock, client.slept = clock, slept
    return client


def _range(client, coin="bitcoin", vs="usd", frm=None, to=None, **extra):
    frm = (NOW - 10 * DAY) // 1000 if frm is None else frm
    to = NOW // 1000 if to is None else to
    return client.get(
        f"/api/v3/coins/{coin}/market_chart/range", query_string={"vs_currency": vs, "from": frm, "to": to, **extra}
    )


def test_ping_and_lists(sim):
    assert sim.get("/api/v3/ping").get_json() == {"gecko_says": "(V3) To the Moon!"}
    coins = sim.get("/api/v3/coins/list").get_json()
    assert len(coins) == len(COINS) >= 50
    assert {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"} in coins
    assert sim.get("/api/v3/coins/list?include_platform=true").get_json()[0]["platforms"] == {}
    assert sim.get("/api/v3/simple/supported_vs_currencies").get_json() == list(VS_CURRENCIES)


def test_market_chart_range_equals_the_model_point_for_point(sim):
    resp = _range(sim, "ethereum", "eur")
    assert resp.status_code == 200
    body = resp.get_json()
    assert len(body["prices"]) == 10 * 24
    for (t, p), (t2, cap), (t3, vol) in zip(body["prices"], body["market_caps"], body["total_volumes"]):
        assert t == t2 == t3 and t % HOUR == 0
        assert p == prices.price_at("ethereum", "eur", t, SEED)
        assert cap == prices.market_cap_at("ethereum", "eur", t, SEED)
        assert vol == prices.volume_at("ethereum", "eur", t, SEED)


def test_market_chart_range_granularity_follows_the_range(sim):
    five = _range(sim, frm=(NOW - DAY) // 1000).get_json()["prices"]
    assert all(t % 300_000 == 0 for t, _ in five) and len(five) == 288
    daily = _range(sim, frm=(NOW - 200 * DAY) // 1000).get_json()["prices"]
    assert all(t % DAY == 0 for t, _ in daily) and len(daily) == 200
    forced = _range(sim, frm=(NOW - DAY) // 1000, interval="hourly").get_json()["prices"]
    assert all(t % HOUR == 0 for t, _ in forced) and len(forced) == 24


def test_market_chart_range_accepts_iso_dates(sim):
    iso = _range(sim, frm="2026-11-01", to="2026-11-02T00:00").get_json()
    unix = _range(sim, frm=1_793_491_200, to=1_793_577_600).get_json()
    assert iso == unix and len(iso["prices"]) == 25


def test_market_chart_days_ends_with_the_current_tick(sim):
    body = sim.get("/api/v3/coins/solana/market_chart?vs_currency=usd&days=1").get_json()
    times = [t for t, _ in body["prices"]]
    assert times[-1] == NOW - NOW % 60_000
    assert all(t % 300_000 == 0 for t in times[:-1]) and times[0] >= NOW - DAY
    assert body["prices"][-1][1] == prices.price_at("solana", "usd", times[-1], SEED)
    hourly = sim.get("/api/v3/coins/solana/market_chart?vs_currency=usd&days=30").get_json()["prices"]
    assert len(hourly) == 30 * 24 + 1
    assert sim.get("/api/v3/coins/solana/market_chart?vs_currency=usd&days=90&precision=2").get_json()["prices"][0][
        1
    ] == round(prices.price_at("solana", "usd", hourly[0][0] - 60 * DAY, SEED), 2)


def test_errors_have_coingeckos_shapes(sim):
    resp = _range(sim, coin="no-such-coin")
    assert (resp.status_code, resp.get_json()) == (404, {"error": "coin not found"})
    resp = _range(sim, vs="xyz")
    assert (resp.status_code, resp.get_json()) == (400, {"error": "invalid vs_currency"})
    for bad in (
        {"frm": "yesterday"},
        {"frm": NOW // 1000, "to": NOW // 1000 - 10},
        {"interval": "weekly"},
        {"precision": "99"},
    ):
        resp = _range(sim, **bad)
        assert resp.status_code == 400 and isinstance(resp.get_json()["error"], str)
    resp = sim.get("/api/v3/coins/bitcoin/market_chart/range?vs_currency=usd&from=1")
    assert resp.status_code == 400 and resp.get_json() == {"error": "Missing parameter to"}
    assert sim.get("/api/v3/coins/bitcoin/market_chart?vs_currency=usd&days=abc").status_code == 400
    assert sim.get("/api/v3/coins/bitcoin/history?date=2026-01-01").status_code == 400


def test_public_history_limit_and_pro_reach(sim):
    old = (NOW - 400 * DAY) // 1000
    resp = _range(sim, frm=old, to=old + 10 * 86400)
    assert resp.status_code == 401
    status = resp.get_json()["error"]["status"]
    assert status["error_code"] == 10012 and "365 days" in status["error_message"]
    assert sim.get("/api/v3/coins/bitcoin/market_chart?vs_currency=usd&days=max").status_code == 401
    pro = {"x-cg-pro-api-key": "k"}
    resp = sim.get("/api/v3/coins/bitcoin/market_chart?vs_currency=usd&days=max", headers=pro)
    assert resp.status_code == 200
    first = resp.get_json()["prices"][0]
    assert first[0] == COINS["bitcoin"].genesis_ms and first[1] == prices.price_at("bitcoin", "usd", first[0], SEED)
    resp = sim.get("/api/v3/coins/bitcoin/market_chart?vs_currency=usd&days=3&interval=5m")
    assert resp.status_code == 401 and resp.get_json()["error"]["status"]["error_code"] == 10005
    resp = sim.get("/api/v3/coins/bitcoin/market_chart?vs_currency=usd&days=3&interval=5m", headers=pro)
    assert resp.status_code == 200 and len(resp.get_json()["prices"]) == 3 * 288 + 1


def test_range_before_genesis_is_empty(sim):
    resp = sim.get(
        "/api/v3/coins/hyperliquid/market_chart/range?vs_currency=usd&from=1600000000&to=1700000000",
        headers={"x-cg-pro-api-key": "k"},
    )
    assert resp.get_json() == {"prices": [], "market_caps": [], "total_volumes": []}


def test_simple_price(sim):
    resp = sim.get(
        "/api/v3/simple/price",
        query_string={
            "ids": "bitcoin,ethereum,unknown-coin",
            "vs_currencies": "usd,btc,xyz",
            "include_market_cap": "true",
            "include_24hr_vol": "true",
            "include_24hr_change": "true",
            "include_last_updated_at": "true",
        },
    )
    body = resp.get_json()
    assert set(body) == {"bitcoin", "ethereum"}
    tick = NOW - NOW % 60_000
    eth = body["ethereum"]
    assert eth["last_updated_at"] == tick // 1000
    assert eth["usd"] == prices.price_at("ethereum", "usd", tick, SEED)
    assert eth["usd_market_cap"] == prices.market_cap_at("ethereum", "usd", tick, SEED)
    assert eth["usd_24h_vol"] == prices.volume_at("ethereum", "usd", tick, SEED)
    assert eth["btc"] == prices.price_at("ethereum", "btc", tick, SEED)
    assert "xyz" not in eth and "btc_24h_change" in eth
    assert sim.get("/api/v3/simple/price?ids=bitcoin").status_code == 400
    plain = sim.get("/api/v3/simple/price?ids=bitcoin&vs_currencies=usd&precision=0").get_json()
    assert plain == {"bitcoin": {"usd": round(prices.price_at("bitcoin", "usd", tick, SEED))}}


def test_coins_markets(sim):
    rows = sim.get("/api/v3/coins/markets?vs_currency=usd&per_page=5&page=1").get_json()
    assert [r["market_cap_rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["market_cap"] >= rows[1]["market_cap"]
    second = sim.get("/api/v3/coins/markets?vs_currency=usd&per_page=5&page=2").get_json()
    assert second[0]["market_cap_rank"] == 6
    row = sim.get(
        "/api/v3/coins/markets?vs_currency=usd&ids=solana&price_change_percentage=24h,7d&sparkline=true"
    ).get_json()[0]
    assert row["id"] == "solana" and row["current_price"] == prices.price_at("solana", "usd", NOW - NOW % 60_000, SEED)
    assert row["low_24h"] <= row["current_price"] <= row["high_24h"]
    assert row["atl"] <= row["current_price"] <= row["ath"]
    assert len(row["sparkline_in_7d"]["price"]) == 168
    assert row["price_change_percentage_7d_in_currency"] is not None
    by_id = sim.get("/api/v3/coins/markets?vs_currency=eur&order=id_asc&per_page=3").get_json()
    assert [r["id"] for r in by_id] == sorted(COINS)[:3]
    assert sim.get("/api/v3/coins/markets?vs_currency=usd&order=sideways").status_code == 400
    assert sim.get("/api/v3/coins/markets?vs_currency=usd&per_page=251").status_code == 400


def test_history_snapshot(sim):
    body = sim.get("/api/v3/coins/bitcoin/history?date=01-10-2026&localization=false").get_json()
    day = 1_790_812_800_000  # 2026-10-01T00:00Z
    assert "localization" not in body
    assert body["market_data"]["current_price"]["usd"] == prices.price_at("bitcoin", "usd", day, SEED)
    assert body["market_data"]["market_cap"]["eur"] == prices.market_cap_at("bitcoin", "eur", day, SEED)
    future = sim.get("/api/v3/coins/bitcoin/history?date=01-01-2027").get_json()
    assert "market_data" not in future and future["localization"]["en"] == "Bitcoin"
    assert sim.get("/api/v3/coins/bitcoin/history?date=01-01-2024").status_code == 401
    assert sim.get("/api/v3/coins/nope/history?date=01-01-2026").status_code == 404


def test_rate_limit_per_plan_and_key(sim):
    assert sim.put("/__sim/rate_limits", json={"public": 2, "demo": 3}).status_code == 200
    assert [sim.get("/api/v3/ping").status_code for _ in range(3)] == [200, 200, 429]
    resp = sim.get("/api/v3/ping")
    assert resp.headers["Retry-After"] == "60"
    assert resp.get_json()["status"]["error_code"] == 429
    demo = [sim.get("/api/v3/ping", headers={"x-cg-demo-api-key": "a"}).status_code for _ in range(4)]
    assert demo == [200, 200, 200, 429]
    assert sim.get("/api/v3/ping?x_cg_demo_api_key=b").status_code == 200  # another key, another window
    assert sim.get("/api/v3/ping", headers={"x-cg-pro-api-key": "p"}).status_code == 200
    sim.clock.t += 45_000
    assert sim.get("/api/v3/ping").headers["Retry-After"] == "15"
    sim.clock.t += 15_000
    assert sim.get("/api/v3/ping").status_code == 200
    assert sim.get("/__sim/stats").get_json()["calls"]["ping"]["429"] == 4


def test_faults_via_the_admin_api(sim):
    def post(**fault):
        resp = sim.post("/__sim/faults", json=fault)
        assert resp.status_code == 200, resp.get_json()

    post(endpoint="market_chart_range", rate_limit_storm=True, retry_after_s=3, times=1)
    resp = _range(sim)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "3"
    assert _range(sim).status_code == 200  # times=1: cleared

    post(endpoint="market_chart_range", error_rate=1.0, error_status=503)
    assert _range(sim).status_code == 503
    assert sim.get("/api/v3/ping").status_code == 200  # other endpoints unaffected

    post(endpoint="market_chart_range", malformed=True)
    resp = _range(sim)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        json.loads(resp.get_data())

    post(endpoint="market_chart_range", truncated=True)
    resp = _range(sim)
    assert resp.status_code == 200 and len(resp.get_data()) < int(resp.headers["Content-Length"])

    post(endpoint="*", latency_ms=250, hang_s=30)
    assert sim.get("/api/v3/ping").status_code == 200
    assert sim.slept == [30.0, 0.25]

    faults = sim.get("/__sim/faults").get_json()["faults"]
    assert {f["endpoint"] for f in faults} == {"*", "market_chart_range"}
    assert sim.delete("/__sim/faults?endpoint=market_chart_range").get_json()["faults"][0]["endpoint"] == "*"
    sim.delete("/__sim/faults")
    assert _range(sim).status_code == 200

    stats = sim.get("/__sim/stats").get_json()
    assert stats["calls"]["market_chart_range"] == {"200": 4, "429": 1, "503": 1}
    assert stats["faults"]["market_chart_range"] == {"error": 1, "malformed": 1, "rate_limit_storm": 1, "truncated": 1}
    assert stats["faults"]["ping"] == {"hang": 1, "latency": 1}


def test_admin_rejects_bad_bodies_with_coinstream_errors(sim):
    for body in ({"endpoint": "nope"}, {"error_rate": 2}, {"surprise": 1}, []):
        resp = sim.post("/__sim/faults", json=body)
        assert resp.status_code == 400 and set(resp.get_json()["error"]) >= {"code", "message"}
    assert sim.delete("/__sim/faults?endpoint=nope").status_code == 400
    assert sim.put("/__sim/rate_limits", json={"public": -1}).status_code == 400


def test_reset_restores_the_start_up_configuration():
    cfg = SimConfig(seed=1, rate_limit_per_minute=1, faults=[{"endpoint": "history", "error_rate": 1}])
    client = create_app(cfg, clock_ms=Clock(NOW)).test_client()
    client.put("/__sim/rate_limits", json={"public": 0})
    client.delete("/__sim/faults")
    assert [client.get("/api/v3/ping").status_code for _ in range(3)] == [200, 200, 200]
    client.post("/__sim/reset")
    assert client.get("/__sim/stats").get_json()["total"] == 0
    assert [client.get("/api/v3/ping").status_code for _ in range(2)] == [200, 429]
    assert client.get("/__sim/faults").get_json()["faults"][0]["endpoint"] == "history"


def test_service_endpoints_openapi_and_metrics(sim):
    assert sim.get("/healthz").status_code == 200 and sim.get("/readyz").status_code == 200
    doc = sim.get("/openapi.json").get_json()
    for path in (
        "/api/v3/ping",
        "/api/v3/simple/price",
        "/api/v3/coins/list",
        "/api/v3/coins/markets",
        "/api/v3/coins/{id}/market_chart",
        "/api/v3/coins/{id}/market_chart/range",
        "/api/v3/coins/{id}/history",
        "/__sim/faults",
        "/__sim/stats",
    ):
        assert path in doc["paths"]
    _range(sim, coin="no-such-coin")
    metrics = sim.get("/metrics").get_data(as_text=True)
    assert 'route="/api/v3/coins/<coin_id>/market_chart/range",service="coingecko-sim",status="404"' in metrics
    assert sim.get("/__sim/config").get_json()["seed"] == SEED


@pytest.fixture
def restore_catalog():
    before = dict(COINS)
    yield
    COINS.clear()
    COINS.update(before)


def test_a_listed_coin_has_a_path_of_its_own_and_is_served_like_any(sim, restore_catalog):
    resp = sim.post("/__sim/coins", json={"id": "t1-bitcoin", "like": "bitcoin"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["genesis"] == COINS["bitcoin"].genesis
    assert sim.post("/__sim/coins", json={"id": "t1-bitcoin", "like": "bitcoin"}).status_code == 200  # idempotent
    assert {"id": "t1-bitcoin", "symbol": "t1-bitcoin", "name": "Bitcoin (t1-bitcoin)"} in sim.get(
        "/api/v3/coins/list"
    ).get_json()
    body = _range(sim, "t1-bitcoin").get_json()
    assert body["prices"] and all(p == prices.price_at("t1-bitcoin", "usd", t, SEED) for t, p in body["prices"])
    assert [p for _, p in body["prices"]] != [p for _, p in _range(sim, "bitcoin").get_json()["prices"]]
    assert sim.get("/api/v3/coins/markets", query_string={"vs_currency": "usd", "ids": "t1-bitcoin"}).get_json()


def test_listing_refuses_what_would_change_another_coin(sim, restore_catalog):
    assert sim.post("/__sim/coins", json={"id": "t2-coin", "like": "ethereum"}).status_code == 201
    taken = sim.post("/__sim/coins", json={"id": "t2-coin", "like": "bitcoin"})
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "invalid_listing"
    assert sim.post("/__sim/coins", json={"id": "bitcoin", "like": "ethereum"}).status_code == 409
    assert sim.post("/__sim/coins", json={"id": "t3-coin", "like": "t2-coin"}).status_code == 400  # not a catalog coin
    assert sim.post("/__sim/coins", json={"id": "Not An Id", "like": "bitcoin"}).status_code == 400
    assert sim.post("/__sim/coins", json={"id": "t4-coin"}).status_code == 400


def test_listing_is_bounded(sim, restore_catalog, monkeypatch):
    from coingecko_sim import catalog

    monkeypatch.setattr(catalog, "MAX_LISTED", len(COINS) - len(catalog.CATALOG_IDS) + 2)  # two more
    assert [sim.post("/__sim/coins", json={"id": f"t5-{n}", "like": "solana"}).status_code for n in range(3)] == [
        201,
        201,
        409,
    ]
    assert "t5-2" not in COINS
