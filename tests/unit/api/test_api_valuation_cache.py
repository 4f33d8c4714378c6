"""The api's valuation cache: one query per (coins, range) until a landed batch touches it."""

import threading

import pytest
from coinstream_api.valuation_cache import ValuationCache, ValuationKey
from coinstream_contract.events import LandedCoin, LandedNotification

pytestmark = pytest.mark.unit

DAY = 86_400_000
T0 = 1_735_689_600_000
KEY = ValuationKey(("bitcoin", "ethereum"), "usd", T0, T0 + 9 * DAY, "daily")


def landed(coin, lo, hi, vs="usd", batch=1):
    return LandedNotification(
        batch_id=batch,
        coins=[LandedCoin(coin_id=coin, vs_currency=vs, min_ts=lo, max_ts=hi, rows=1)],
        min_ts=lo,
        max_ts=hi,
        rows=1,
    )


class Counting:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return {"answer": self.calls}


def test_second_ask_is_answered_without_a_query():
    cache, compute = ValuationCache(10, lambda: True), Counting()
    assert cache.get_or_compute(KEY, compute) == {"answer": 1}
    assert cache.get_or_compute(KEY, compute) == {"answer": 1}
    assert compute.calls == 1


@pytest.mark.parametrize(
    "note, evicted",
    [
        (landed("bitcoin", T0 + 3 * DAY, T0 + 3 * DAY), True),  # inside the range
        (landed("ethereum", T0 - DAY, T0 - DAY), True),  # just before: carried forward onto the first point
        (landed("bitcoin", T0 + 20 * DAY, T0 + 30 * DAY), False),  # after the range (live prices)
        (landed("solana", T0, T0 + 9 * DAY), False),  # another coin
        (landed("bitcoin", T0, T0 + 9 * DAY, vs="eur"), False),  # another currency
    ],
)
def test_a_landed_batch_evicts_exactly_what_it_can_change(note, evicted):
    cache, compute = ValuationCache(10, lambda: True), Counting()
    cache.get_or_compute(KEY, compute)
    cache.on_landed(note)
    cache.get_or_compute(KEY, compute)
    assert compute.calls == (2 if evicted else 1)


def test_a_valuation_overtaken_by_a_landing_is_not_kept():
    cache = ValuationCache(10, lambda: True)

    def compute_while_data_lands():
        cache.on_landed(landed("solana", T0, T0))  # any notification while the query runs
        return {"answer": "maybe outdated"}

    cache.get_or_compute(KEY, compute_while_data_lands)
    assert len(cache) == 0


def test_nothing_is_kept_before_the_watcher_knows_where_it_starts():
    ready = threading.Event()
    cache, compute = ValuationCache(10, ready.is_set), Counting()
    cache.get_or_compute(KEY, compute)
    cache.get_or_compute(KEY, compute)
    assert compute.calls == 2
    ready.set()
    cache.get_or_compute(KEY, compute)
    cache.get_or_compute(KEY, compute)
    assert compute.calls == 3


def test_least_recently_used_entries_go_first():
    cache, compute = ValuationCache(2, lambda: True), Counting()
    keys = [ValuationKey((c,), "usd", T0, T0 + DAY, "daily") for c in ("a", "b", "c")]
    cache.get_or_compute(keys[0], compute)
    cache.get_or_compute(keys[1], compute)
    cache.get_or_compute(keys[0], compute)  # a is now the most recent
    cache.get_or_compute(keys[2], compute)  # b goes
    calls = compute.calls
    cache.get_or_compute(keys[0], compute)
    assert compute.calls == calls
    cache.get_or_compute(keys[1], compute)
    assert compute.calls == calls + 1


def test_portfolios_of_the_same_coins_and_range_share_one_query(harness):
    h = harness
    h.watcher._ready.set()  # as once the watcher has read its start offsets
    h.land_days("bitcoin", [1, 2, 3, 4, 5])
    h.land_days("ethereum", [10, 20, 30, 40, 50])
    first = h.post(h.body(coins=(("bitcoin", 1.0), ("ethereum", 2.0)))).get_json()
    second = h.post(h.body(coins=(("ethereum", 3.0), ("bitcoin", 0.5)))).get_json()
    assert h.query.calls == 1
    # Same prices, own amounts: the figures are each portfolio's own.
    assert first["valuation"]["figures"]["end_value"] == pytest.approx(5 * 1.0 + 50 * 2.0)
    assert second["valuation"]["figures"]["end_value"] == pytest.approx(50 * 3.0 + 5 * 0.5)
    h.watcher.deliver(landed("bitcoin", h.T0, h.T0), 1)
    h.post(h.body())
    assert h.query.calls == 2


def test_the_cache_is_bounded_by_coin_x_point_cells():
    cache = ValuationCache(100, lambda: True)

    def points(n):
        return lambda: {"points": [{}] * n}

    year = ValuationKey(tuple(f"c{i}" for i in range(10)), "usd", T0, T0 + 364 * DAY, "daily")
    cache.get_or_compute(year, points(365))  # 3,650 cells: more than the whole budget
    assert len(cache) == 0 and cache.cells == 0
    small = [ValuationKey((f"c{i}", "d"), "usd", T0, T0 + 19 * DAY, "daily") for i in range(3)]
    for key in small:
        cache.get_or_compute(key, points(20))  # 40 cells each: the third pushes the first out
    assert len(cache) == 2 and cache.cells == 80
    cache.on_landed(landed("d", T0, T0))
    assert len(cache) == 0 and cache.cells == 0
