"""Merging backfill requests in flight, subtracting known ranges (pure), and the worker skipping landed days."""

from __future__ import annotations

import pytest
from coinstream_common.settings import KafkaSettings
from coinstream_common.timeutil import merge_ranges
from coinstream_contract.events import BackfillRequest
from coinstream_ingest import history, metrics
from coinstream_ingest.backfill import BackfillWorker, FetchedLedger, merge_requests, subtract
from coinstream_ingest.coingecko import CoinGeckoUnavailable, UnknownCoin
from coinstream_ingest.history import DAY_MS, HOUR_MS
from coinstream_ingest.ingestor import HistoryResult
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def req(coin="bitcoin", vs="usd", a=0, b=DAY_MS, interval="hourly", by="api"):
    return BackfillRequest(coin=coin, vs_currency=vs, **{"from": T0 + a}, to=T0 + b, interval=interval, requested_by=by)


def test_identical_requests_merge_into_one_job():
    jobs = merge_requests([req(by="a"), req(by="b"), req(by="a")])
    assert len(jobs) == 1
    (job,) = jobs
    assert (job.from_ms, job.to_ms, job.requests, job.requested_by) == (T0, T0 + DAY_MS, 3, ("a", "b"))


def test_overlapping_and_touching_merge_but_gaps_and_other_keys_do_not():
    jobs = merge_requests(
        [
            req(a=0, b=DAY_MS),
            req(a=DAY_MS // 2, b=2 * DAY_MS),  # overlaps
            req(a=2 * DAY_MS + HOUR_MS, b=3 * DAY_MS),  # touches (one hourly step later)
            req(a=5 * DAY_MS, b=6 * DAY_MS),  # gap
            req(vs="eur"),  # other currency
            req(interval="daily"),  # other interval
            req(coin="ethereum"),
        ]
    )
    got = sorted((j.coin, j.vs_currency, j.interval, j.from_ms - T0, j.to_ms - T0, j.requests) for j in jobs)
    assert got == sorted(
        [
            ("bitcoin", "usd", "hourly", 0, 3 * DAY_MS, 3),
            ("bitcoin", "usd", "hourly", 5 * DAY_MS, 6 * DAY_MS, 1),
            ("bitcoin", "eur", "hourly", 0, DAY_MS, 1),
            ("bitcoin", "usd", "daily", 0, DAY_MS, 1),
            ("ethereum", "usd", "hourly", 0, DAY_MS, 1),
        ]
    )


spans = st.lists(st.tuples(st.integers(0, 200), st.integers(0, 50)).map(lambda p: (p[0], p[0] + p[1])), max_size=12)


@settings(max_examples=300, deadline=None)
@given(spans)
def test_merged_jobs_cover_exactly_the_requested_points(pairs):
    requests = [req(a=a * HOUR_MS, b=b * HOUR_MS) for a, b in pairs]
    jobs = merge_requests(requests)
    asked = {h for a, b in pairs for h in range(a, b + 1)}
    fetched = [h for j in jobs for h in range((j.from_ms - T0) // HOUR_MS, (j.to_ms - T0) // HOUR_MS + 1)]
    assert set(fetched) == asked and len(fetched) == len(asked)  # all asked hours, none twice
    assert sum(j.requests for j in jobs) == len(requests)


@settings(max_examples=300, deadline=None)
@given(st.tuples(st.integers(0, 100), st.integers(0, 100)), spans)
def test_subtract_leaves_exactly_the_uncovered_points(span, covered):
    lo, hi = sorted(span)
    gaps = subtract((lo, hi), covered)
    uncovered = {x for x in range(lo, hi + 1) if not any(a <= x <= b for a, b in covered)}
    listed = [x for a, b in gaps for x in range(a, b + 1)]
    assert set(listed) == uncovered and len(listed) == len(uncovered)
    assert gaps == merge_ranges(gaps)  # sorted, disjoint


def test_merge_ranges_joins_touching_ranges():
    assert merge_ranges([(5, 9), (0, 3), (4, 4), (20, 30), (25, 26)]) == [(0, 9), (20, 30)]


def test_ledger_forgets_after_its_ttl():
    now = [100.0]
    ledger = FetchedLedger(ttl_s=10, clock=lambda: now[0])
    key = ("bitcoin", "usd", "hourly")
    ledger.remember(key, (0, 5))
    ledger.remember(key, (6, 9))
    assert ledger.covered(key) == [(0, 9)]
    assert ledger.covered(("bitcoin", "eur", "hourly")) == []
    now[0] = 111.0
    assert ledger.covered(key) == []


# -- the worker's batch handling, with a recording stand-in for the ingestor -------------------


class FakeIngestor:
    history_limit_days = 365

    def __init__(self, now, fail=None):
        self.now, self.fail, self.calls = now, fail or {}, []

    def clock_ms(self):
        return self.now

    def check_history(self, coin, vs, lo, hi, interval):
        if coin in self.fail and isinstance(self.fail[coin], UnknownCoin):
            raise self.fail[coin]
        return history.check_range(lo, hi, interval, self.now, self.history_limit_days)

    def fetch_history(self, coin, vs, lo, hi, interval, checked=False):
        assert checked
        if coin in self.fail:
            raise self.fail[coin]
        self.calls.append((coin, vs, interval, lo, hi))
        return HistoryResult(coin, vs, interval, lo, hi, 1, len(history.plan_chunks(lo, hi, interval, self.now, 0)))


def worker(ingestor, landed=None):
    return BackfillWorker(ingestor, KafkaSettings(), "unused", "unused", landed=landed)


NOW = T0 + 300 * DAY_MS


def test_a_batch_of_duplicates_is_one_fetch_and_a_redelivery_fetches_nothing():
    ing = FakeIngestor(NOW)
    w = worker(ing)
    batch = [req(a=0, b=10 * DAY_MS, by=f"user{i}") for i in range(5)] + [req(a=5 * DAY_MS, b=12 * DAY_MS)]
    depth = metrics.BACKFILL_QUEUE_DEPTH._value.get()
    w.handle(batch)
    assert ing.calls == [("bitcoin", "usd", "hourly", T0, T0 + 12 * DAY_MS)]
    assert metrics.BACKFILL_QUEUE_DEPTH._value.get() == depth
    w.handle(batch)  # the same records again (a re-delivery): already produced, nothing fetched
    assert len(ing.calls) == 1


def test_landed_days_are_skipped_and_a_beyond_plan_range_is_clamped():
    ing = FakeIngestor(NOW)
    landed = lambda coin, vs, interval, lo, hi: [(T0, T0 + 4 * DAY_MS - 1)]
    worker(ing, landed).handle([req(a=0, b=10 * DAY_MS)])
    assert ing.calls == [("bitcoin", "usd", "hourly", T0 + 4 * DAY_MS, T0 + 10 * DAY_MS)]
    ing.calls.clear()
    worker(ing).handle([req(coin="solana", a=-200 * DAY_MS, b=-60 * DAY_MS + 5 * DAY_MS)])
    (call,) = ing.calls
    assert call[3] == history.earliest_ms(NOW, 365) and call[4] == T0 - 55 * DAY_MS


def test_unknown_coins_are_dropped_but_outages_raise_for_redelivery():
    ing = FakeIngestor(NOW, fail={"nocoin": UnknownCoin(["nocoin"])})
    w = worker(ing)
    w.handle([req(coin="nocoin"), req(coin="bitcoin")])  # poison request skipped, the other served
    assert [c[0] for c in ing.calls] == ["bitcoin"]
    ing.fail["ethereum"] = CoinGeckoUnavailable("down", retry_after_s=0.01)
    depth = metrics.BACKFILL_QUEUE_DEPTH._value.get()
    with pytest.raises(CoinGeckoUnavailable):
        w.handle([req(coin="ethereum")])
    assert metrics.BACKFILL_QUEUE_DEPTH._value.get() == depth
