"""ingest against the real coingecko-sim (gunicorn) and the real broker.

The events on the topic must be, point for point, what the sim's seed implies
(``coingecko_sim.prices.quote``), survive every sim fault mode, and keep the
same event ids when a request is repeated.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from coingecko_sim.prices import quote
from coinstream_common.kafka import EventProducer, make_consumer
from coinstream_common.settings import KafkaSettings
from coinstream_common.timeutil import grid, parse_instant, to_iso
from coinstream_contract.events import BackfillRequest, now_ms
from coinstream_ingest.app import create_app
from coinstream_ingest.backfill import BackfillWorker
from coinstream_ingest.coingecko import CoinGeckoClient
from coinstream_ingest.ingestor import Ingestor
from coinstream_ingest.settings import CoinGeckoSettings

from .conftest import SIM_SEED, read_events

pytestmark = pytest.mark.integration

HOUR, DAY = 3_600_000, 86_400_000


def today() -> int:
    now = now_ms()
    return now - now % DAY


def post_history(client, coin, vs, from_ms, to_ms, interval):
    return client.post(
        "/v1/fetch/history",
        json={"coin": coin, "vs_currency": vs, "from": to_iso(from_ms), "to": to_iso(to_ms), "interval": interval},
    )


def expected_points(coin, vs, from_ms, to_ms, interval) -> dict[int, tuple[float, float, float]]:
    return {t: tuple(quote(coin, vs, t, SIM_SEED)) for t in grid(from_ms, to_ms, interval)}


def assert_events_match(events, coin, vs, expected):
    """Every expected point is on the topic with the seed's values, and nothing else is."""
    by_ts = {}
    for e in events:
        assert (e.coin_id, e.vs_currency, e.source) == (coin, vs, "coingecko")
        assert (e.price, e.market_cap, e.total_volume) == expected.get(e.ts), f"unexpected point {e.ts}"
        by_ts.setdefault(e.ts, set()).add(e.event_id)
    assert sorted(by_ts) == sorted(expected)
    assert all(len(ids) == 1 for ids in by_ts.values())  # one id per point, however often it was sent


@pytest.mark.parametrize(
    "coin, vs, days_back, days_to, interval",
    [
        ("bitcoin", "usd", 200, 20, "hourly"),  # 3 calls of <= 90 days, fetched concurrently
        ("ethereum", "eur", 300, 10, "daily"),
        ("solana", "btc", 40, 33, "daily"),  # short daily range: widened past 90 days, then filtered
    ],
)
def test_history_events_equal_the_seed_point_for_point(
    ingest_env, prices_topic, kafka_bootstrap, coin, vs, days_back, days_to, interval
):
    client = create_app().test_client()
    from_ms, to_ms = today() - days_back * DAY + 30 * 60_000, today() - days_to * DAY
    resp = post_history(client, coin, vs, from_ms, to_ms, interval)
    assert resp.status_code == 202, resp.get_json()
    body = resp.get_json()
    expected = expected_points(coin, vs, from_ms, to_ms, interval)
    assert body["produced"] == len(expected) > 0
    assert body["requested"] == {
        "coin": coin,
        "vs_currency": vs,
        "from": to_iso(from_ms),
        "to": to_iso(to_ms),
        "interval": interval,
    }
    assert_events_match(read_events(kafka_bootstrap, prices_topic, len(expected)), coin, vs, expected)


def test_five_minute_history_of_the_last_hours(ingest_env, prices_topic, kafka_bootstrap):
    client = create_app().test_client()
    from_ms = now_ms() - 6 * HOUR
    resp = client.post(
        "/v1/fetch/history", json={"coin": "cardano", "vs_currency": "usd", "from": from_ms // 1000, "interval": "5m"}
    )
    assert resp.status_code == 202, resp.get_json()
    to_ms = parse_instant(resp.get_json()["fetched"]["to"])
    expected = expected_points("cardano", "usd", from_ms, to_ms, "5m")
    assert len(expected) >= 71 and resp.get_json()["produced"] == len(expected)
    assert_events_match(read_events(kafka_bootstrap, prices_topic, len(expected)), "cardano", "usd", expected)


def test_a_repeated_request_produces_the_same_event_ids(ingest_env, prices_topic, kafka_bootstrap):
    client = create_app().test_client()
    from_ms, to_ms = today() - 100 * DAY, today() - 95 * DAY
    first = post_history(client, "dogecoin", "usd", from_ms, to_ms, "hourly").get_json()
    second = post_history(client, "dogecoin", "usd", from_ms, to_ms, "hourly").get_json()
    assert first["produced"] == second["produced"] == 5 * 24 + 1
    events = read_events(kafka_bootstrap, prices_topic, 2 * first["produced"])
    counts = Counter(e.event_id for e in events)
    assert len(counts) == first["produced"] and set(counts.values()) == {2}  # the same ids twice, no new ones
    assert_events_match(events, "dogecoin", "usd", expected_points("dogecoin", "usd", from_ms, to_ms, "hourly"))


def test_fetch_prices_publishes_the_current_quotes(ingest_env, prices_topic, kafka_bootstrap):
    client = create_app().test_client()
    coins = ["bitcoin", "ethereum", "tether"]
    resp = client.post("/v1/fetch/prices", json={"coins": coins, "vs_currency": "usd"})
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["produced"] == 3 and resp.get_json()["missing"] == []
    events = read_events(kafka_bootstrap, prices_topic, 3)
    assert sorted(e.coin_id for e in events) == coins
    for e in events:
        assert e.ts % 60_000 == 0 and now_ms() - e.ts < 5 * 60_000  # CoinGecko's last_updated_at tick
        assert (e.price, e.market_cap, e.total_volume) == tuple(quote(e.coin_id, "usd", e.ts, SIM_SEED))


FAULTS = {
    "latency": {"latency_ms": 300},
    "5xx_fraction": {"error_rate": 0.5, "error_status": 503},
    "429_storm": {"rate_limit_storm": True, "retry_after_s": 1, "times": 4},
    "malformed": {"malformed": True, "times": 3},
    "truncated": {"truncated": True, "times": 3},
    "hang": {"hang_s": 2.0, "times": 2},  # the client gives up after 1 s
    "outage": {"error_rate": 1.0, "error_status": 502},
    "long_429": {"rate_limit_storm": True, "retry_after_s": 120},  # longer than we hold a caller
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_every_fault_mode_is_survived_and_every_point_lands(name, ingest_env, fresh_sim, prices_topic, kafka_bootstrap):
    client = create_app().test_client()
    coin, from_ms, to_ms = "chainlink", today() - 250 * DAY, today() - 20 * DAY  # 3 calls
    fresh_sim.fault(endpoint="market_chart_range", **FAULTS[name])
    started = time.monotonic()
    resp = post_history(client, coin, "usd", from_ms, to_ms, "hourly")
    elapsed = time.monotonic() - started
    deadline = time.monotonic() + 5  # a hung call is counted by the sim only once it answers
    while not fresh_sim.stats()["faults"].get("market_chart_range") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert fresh_sim.stats()["faults"].get("market_chart_range"), "the fault was never injected"
    if resp.status_code != 202:
        # Exhausted retries: a JSON error with a retry hint, then the same request succeeds once cleared.
        assert name in ("outage", "long_429", "5xx_fraction"), resp.get_json()
        assert resp.status_code in (502, 503)
        assert resp.get_json()["error"]["code"].startswith("coingecko_") and int(resp.headers["Retry-After"]) >= 1
        if name == "long_429":
            assert resp.status_code == 503 and resp.headers["Retry-After"] == "120" and elapsed < 10
        fresh_sim.clear_faults()
        resp = post_history(client, coin, "usd", from_ms, to_ms, "hourly")
    else:
        assert name not in ("outage", "long_429")
    assert resp.status_code == 202, resp.get_json()
    assert client.get("/healthz").status_code == 200  # the service stayed up
    expected = expected_points(coin, "usd", from_ms, to_ms, "hourly")
    assert resp.get_json()["produced"] == len(expected)
    assert_events_match(read_events(kafka_bootstrap, prices_topic, len(expected)), coin, "usd", expected)


def test_backfill_requests_are_merged_and_committed_after_ack(fresh_sim, kafka_bootstrap, prices_topic, new_topic):
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    requests_topic = new_topic("backfill")
    base = today() - 50 * DAY
    asks = [
        ("ripple", 0, 10, "portfolio-a"),
        ("ripple", 0, 10, "portfolio-b"),
        ("ripple", 5, 20, "portfolio-c"),
        ("stellar", 2, 4, "portfolio-a"),
    ]
    reqs = [
        BackfillRequest(
            coin=c,
            vs_currency="usd",
            **{"from": base + a * DAY},
            to=base + b * DAY,
            interval="hourly",
            requested_by=who,
        )
        for c, a, b, who in asks
    ]
    assert EventProducer(kafka, "test").send_and_wait(requests_topic, reqs) == 4

    gecko = CoinGeckoSettings(base_url=fresh_sim.url + "/api/v3", rate_limit_per_minute=60000, timeout_s=2)
    ingestor = Ingestor(CoinGeckoClient(gecko), EventProducer(kafka, "ingest-test"), prices_topic, 4, 365)
    group = f"test-backfill-{uuid.uuid4().hex[:6]}"
    worker = BackfillWorker(ingestor, kafka, requests_topic, group)
    expected_r = expected_points("ripple", "usd", base, base + 20 * DAY, "hourly")
    expected_s = expected_points("stellar", "usd", base + 2 * DAY, base + 4 * DAY, "hourly")
    worker.start()
    try:
        events = read_events(kafka_bootstrap, prices_topic, len(expected_r) + len(expected_s), timeout_s=90)
        deadline = time.monotonic() + 30
        while worker.jobs_done < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        worker.stop()
    assert_events_match([e for e in events if e.coin_id == "ripple"], "ripple", "usd", expected_r)
    assert_events_match([e for e in events if e.coin_id == "stellar"], "stellar", "usd", expected_s)
    assert len(events) == len(expected_r) + len(expected_s)  # overlapping asks fetched once
    calls = fresh_sim.stats()["calls"]["market_chart_range"]
    assert calls == {"200": 2}  # one merged call per coin
    # Offsets were committed: the group has nothing left to read.
    again = make_consumer(kafka, group, [requests_topic])
    leftovers = [m for m in again.consume(100, timeout=5) if not m.error()]
    again.close()
    assert leftovers == []


def test_readiness_follows_kafka_and_coingecko(ingest_env, monkeypatch):
    assert create_app().test_client().get("/readyz").status_code == 200
    monkeypatch.setenv("COINSTREAM_COINGECKO_BASE_URL", "http://127.0.0.1:9/api/v3")
    resp = create_app().test_client().get("/readyz")
    assert resp.status_code == 503 and "coingecko" in resp.get_json()["error"]["message"]


def test_the_sims_own_rate_limit_is_a_503_with_its_retry_after(ingest_env, fresh_sim, prices_topic, kafka_bootstrap):
    fresh_sim.rate_limits(public=4)
    client = create_app().test_client()
    from_ms, to_ms = today() - 250 * DAY, today() - 20 * DAY
    resp = post_history(client, "polkadot", "usd", from_ms, to_ms, "hourly")  # 2 lookups + 3 calls > 4/min
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["error"]["code"] == "coingecko_rate_limited"
    assert 5 < int(resp.headers["Retry-After"]) <= 60  # the sim's sliding window, handed back to the caller
    fresh_sim.rate_limits(public=0)
    resp = post_history(client, "polkadot", "usd", from_ms, to_ms, "hourly")
    assert resp.status_code == 202
    expected = expected_points("polkadot", "usd", from_ms, to_ms, "hourly")
    assert_events_match(read_events(kafka_bootstrap, prices_topic, len(expected)), "polkadot", "usd", expected)
