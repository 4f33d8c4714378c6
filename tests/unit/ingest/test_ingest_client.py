"""The CoinGecko client's retries, rate limiting and errors, against a scripted local HTTP stub."""

from __future__ import annotations

import json
import threading
import time

import pytest
from coinstream_ingest import metrics
from coinstream_ingest.coingecko import (
    BadRequest,
    CoinGeckoClient,
    CoinGeckoRateLimited,
    CoinGeckoUnavailable,
    TokenBucket,
    UnknownCoin,
    retry_after_s,
)
from coinstream_ingest.settings import COIN_LIST_MISS_RELOAD_S, CoinGeckoSettings

pytestmark = pytest.mark.unit

CHART = {"prices": [[1000, 1.5]], "market_caps": [[1000, 10.0]], "total_volumes": [[1000, 2.0]]}


def client_for(stub, sleeps: list | None = None, **overrides) -> CoinGeckoClient:
    settings = CoinGeckoSettings(
        base_url=stub.url,
        rate_limit_per_minute=60_000,
        max_attempts=4,
        backoff_base_s=0.01,
        backoff_max_s=2.0,
        timeout_s=1.0,
        **overrides,
    )
    recorder = sleeps.append if sleeps is not None else (lambda s: None)
    return CoinGeckoClient(settings, bucket=TokenBucket(60_000, capacity=100), sleep=recorder)


def counter(metric, *labels) -> float:
    return metric.labels(*labels)._value.get()


ENDPOINT = "/coins/{id}/market_chart/range"


def test_5xx_then_success_is_retried_with_jittered_backoff(stub):
    stub.script = [("json", 503, {"error": "down"}), ("json", 500, {"error": "boom"}), ("json", 200, CHART)]
    sleeps: list[float] = []
    before = counter(metrics.COINGECKO_RETRIES, ENDPOINT, "5xx")
    assert client_for(stub, sleeps).market_chart_range("bitcoin", "usd", 1, 2) == CHART
    assert len(stub.seen) == 3
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.01 and 0 <= sleeps[1] <= 0.02
    assert counter(metrics.COINGECKO_RETRIES, ENDPOINT, "5xx") - before == 2
    path, _ = stub.seen[0]
    assert path.startswith("/api/v3/coins/bitcoin/market_chart/range?") and "vs_currency=usd" in path
    assert "from=1" in path and "to=2" in path


def test_persistent_5xx_gives_up_after_max_attempts(stub):
    stub.script = [("json", 502, {"error": "bad gateway"})]
    with pytest.raises(CoinGeckoUnavailable, match="after 4 attempt.*HTTP 502") as info:
        client_for(stub).market_chart_range("bitcoin", "usd", 1, 2)
    assert not isinstance(info.value, CoinGeckoRateLimited)
    assert len(stub.seen) == 4 and info.value.retry_after_s >= 1


@pytest.mark.parametrize(
    "bad_step",
    [
        ("json", 200, b'{"prices": [[1, 2]'),  # malformed JSON
        ("json", 200, {"prices": "nope"}),  # wrong shape
        ("json", 200, {"prices": [[1, 2, 3]]}),  # wrong pair
        ("truncated", 200, json.dumps(CHART).encode()[:20]),  # body shorter than Content-Length
        ("hang", 1.6),  # past the 1s client timeout
    ],
)
def test_bad_bodies_and_hangs_are_retried(stub, bad_step):
    stub.script = [bad_step, ("json", 200, CHART)]
    assert client_for(stub).market_chart_range("bitcoin", "usd", 1, 2) == CHART
    assert len(stub.seen) == 2


def test_429_honours_retry_after_for_every_caller(stub):
    stub.script = [
        ("json", 429, {"status": {"error_code": 429, "error_message": "slow down"}}, {"Retry-After": "1"}),
        ("json", 200, CHART),
    ]
    client = client_for(stub)
    before = counter(metrics.COINGECKO_429, ENDPOINT)
    started = time.monotonic()
    assert client.market_chart_range("bitcoin", "usd", 1, 2) == CHART
    assert time.monotonic() - started >= 0.95
    assert counter(metrics.COINGECKO_429, ENDPOINT) - before == 1
    # The pause is on the bucket: another caller in the window would wait too.
    client.bucket.pause(0.3)
    t = time.monotonic()
    client.bucket.acquire()
    assert time.monotonic() - t >= 0.25


def test_429_storm_ends_in_rate_limited_with_the_wait(stub):
    stub.script = [("json", 429, {"status": {"error_message": "throttled"}}, {"Retry-After": "0"})]
    with pytest.raises(CoinGeckoRateLimited, match="throttled") as info:
        client_for(stub).market_chart_range("bitcoin", "usd", 1, 2)
    assert len(stub.seen) == 4 and info.value.retry_after_s >= 1


def test_retry_after_longer_than_we_hold_a_caller_is_handed_back(stub):
    stub.script = [("json", 429, {"error": "later"}, {"Retry-After": "120"})]
    with pytest.raises(CoinGeckoRateLimited) as info:
        client_for(stub).market_chart_range("bitcoin", "usd", 1, 2)
    assert len(stub.seen) == 1 and info.value.retry_after_s == 120


def test_unknown_coin_and_bad_parameters_are_not_retried(stub):
    stub.script = [("json", 404, {"error": "coin not found"})]
    with pytest.raises(UnknownCoin) as info:
        client_for(stub).market_chart_range("nocoin", "usd", 1, 2)
    assert info.value.coins == ["nocoin"] and len(stub.seen) == 1
    stub.seen.clear()
    stub.script = [("json", 400, {"error": "invalid vs_currency"})]
    with pytest.raises(BadRequest, match="invalid vs_currency") as bad:
        client_for(stub).market_chart_range("bitcoin", "xyz", 1, 2)
    assert bad.value.status == 400 and len(stub.seen) == 1


def test_connection_refused_is_unavailable():
    settings = CoinGeckoSettings(
        base_url="http://127.0.0.1:9/api/v3", max_attempts=2, backoff_base_s=0.01, timeout_s=1.0
    )
    with pytest.raises(CoinGeckoUnavailable, match="ConnectionError"):
        CoinGeckoClient(settings, bucket=TokenBucket(60_000), sleep=lambda s: None).coins_list()


@pytest.mark.parametrize(
    "plan, header",
    [("demo", "x-cg-demo-api-key"), ("pro", "x-cg-pro-api-key"), ("public", None)],
)
def test_key_header_follows_the_plan(stub, plan, header):
    stub.script = [("json", 200, [{"id": "bitcoin", "symbol": "btc", "name": "Bitcoin"}])]
    client = client_for(stub, api_plan=plan, api_key="k-123")
    assert client.coins_list() == {"bitcoin"}
    sent = stub.seen[0][1]
    names = {"x-cg-demo-api-key", "x-cg-pro-api-key"}
    if header:
        assert sent[header] == "k-123" and not (names - {header}) & sent.keys()
    else:
        assert not names & sent.keys()


def test_coins_list_is_cached_and_validates_ids(stub):
    stub.script = [("json", 200, [{"id": "bitcoin"}, {"id": "ethereum"}, {"bogus": 1}])]
    client = client_for(stub)
    client.check_coins(["bitcoin", "ethereum"])
    with pytest.raises(UnknownCoin) as info:
        client.check_coins(["bitcoin", "dogecoinz", "nope"])
    assert info.value.coins == ["dogecoinz", "nope"]
    assert len(stub.seen) == 1  # a list younger than the reload bound is not fetched again


def test_a_coin_listed_since_reloads_the_list_once_past_the_bound(stub, monkeypatch):
    stub.script = [("json", 200, [{"id": "bitcoin"}]), ("json", 200, [{"id": "bitcoin"}, {"id": "newcoin"}])]
    client = client_for(stub)
    client.check_coins(["bitcoin"])
    loaded_at = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: loaded_at + COIN_LIST_MISS_RELOAD_S + 1)
    client.check_coins(["newcoin"])
    assert len(stub.seen) == 2
    with pytest.raises(UnknownCoin):
        client.check_coins(["still-unknown"])  # the list was just loaded: no third call
    assert len(stub.seen) == 2


def test_simple_price_asks_for_market_data(stub):
    stub.script = [("json", 200, {"bitcoin": {"usd": 1.0}})]
    assert client_for(stub).simple_price(["bitcoin", "ethereum"], "usd") == {"bitcoin": {"usd": 1.0}}
    path = stub.seen[0][0]
    for part in (
        "ids=bitcoin%2Cethereum",
        "vs_currencies=usd",
        "include_market_cap=true",
        "include_24hr_vol=true",
        "include_last_updated_at=true",
    ):
        assert part in path


def test_token_bucket_spaces_calls_across_threads():
    now = [0.0]
    bucket = TokenBucket(60, capacity=1, clock=lambda: now[0])  # one per second
    waits = [bucket._reserve() for _ in range(4)]
    assert waits == pytest.approx([0.0, 1.0, 2.0, 3.0])
    now[0] = 10.0  # refills, but never above capacity
    assert bucket._reserve() == 0.0 and bucket._reserve() == pytest.approx(1.0)


def test_token_bucket_is_shared_fairly_by_threads():
    bucket = TokenBucket(600, capacity=1)  # 10 per second
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(3):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(stamps) == 12
    assert time.monotonic() - started >= 1.0  # 12 calls at 10/s with a burst of 1: at least 1.1 s minus slack


def test_backoff_is_full_jitter_and_capped(stub):
    stub.script = [("json", 502, {"error": "bad gateway"})]
    sleeps: list[float] = []
    settings = CoinGeckoSettings(
        base_url=stub.url, max_attempts=8, backoff_base_s=0.5, backoff_max_s=4.0, timeout_s=1.0
    )
    client = CoinGeckoClient(settings, bucket=TokenBucket(60_000, capacity=100), sleep=sleeps.append)
    for _ in range(30):
        with pytest.raises(CoinGeckoUnavailable):
            client.coins_list()
    assert len(sleeps) == 30 * 7
    calls = [sleeps[i : i + 7] for i in range(0, len(sleeps), 7)]
    for waits in calls:  # retry n waits uniform(0, min(max, base * 2**(n-1)))
        assert all(0 <= w <= min(4.0, 0.5 * 2**n) for n, w in enumerate(waits))
    first, capped = [w[0] for w in calls], [x for w in calls for x in w[3:]]
    assert max(first) <= 0.5 and len(set(first)) > 20  # jittered, not a fixed delay
    assert max(capped) > 3.0 and min(capped) < 1.0  # the full window [0, cap], never above it


def test_retry_after_parses_seconds_and_dates():
    assert retry_after_s("7", 1.0) == 7.0
    assert retry_after_s(None, 1.5) == 1.5
    assert retry_after_s("garbage", 2.0) == 2.0
    assert 25 < retry_after_s(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30)), 0) <= 30


def test_coingecko_error_series_exist_before_the_first_error():
    """Dashboards and alerts use rate() over the 429 and retry counters: their series must exist at zero."""
    from prometheus_client import REGISTRY

    metrics.declare_coingecko_endpoint("/test/declared")
    assert (
        REGISTRY.get_sample_value(
            "coinstream_coingecko_retries_total", {"endpoint": "/test/declared", "reason": "timeout"}
        )
        == 0
    )
    assert REGISTRY.get_sample_value("coinstream_coingecko_rate_limited_total", {"endpoint": "/test/declared"}) == 0
