"""Splitting history ranges into CoinGecko calls and normalising the answers (pure)."""

from __future__ import annotations

import pytest
from coinstream_common.timeutil import grid
from coinstream_contract.events import price_event_id
from coinstream_contract.vocabulary import INTERVAL_MS, INTERVALS
from coinstream_ingest import history
from coinstream_ingest.history import DAY_MS, HOUR_MS, RangeError, check_range, normalise, plan_chunks
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

NOW = 1_767_225_600_000 + 13 * HOUR_MS + 17 * 60_000 + 4_321  # 2026-01-01T13:17:04.321Z
LIMIT_DAYS = 365
EARLIEST = history.earliest_ms(NOW, LIMIT_DAYS)
MIN = 60_000


def fake_price(ts: int) -> float:
    return 1000.0 + (ts // MIN) % 997 / 7.0


def fake_coingecko(from_s: int, to_s: int, now_ms: int = NOW) -> dict:
    """market_chart/range as CoinGecko documents it: granularity from the range length, plus the live point."""
    lo, hi = from_s * 1000, min(to_s * 1000, now_ms)
    span = to_s * 1000 - lo
    if span <= DAY_MS and to_s * 1000 >= now_ms - 60_000:
        step = INTERVAL_MS["5m"]
    elif span <= 90 * DAY_MS:
        step = HOUR_MS
    else:
        step = DAY_MS
    ts = grid(lo, hi, "5m" if step == INTERVAL_MS["5m"] else "hourly" if step == HOUR_MS else "daily")
    if hi == now_ms:
        ts.append(now_ms)  # CoinGecko's last point is "now"
    return {
        "prices": [[t, fake_price(t)] for t in ts],
        "market_caps": [[t, fake_price(t) * 1e6] for t in ts],
        "total_volumes": [[t, fake_price(t) * 1e3] for t in ts],
    }


def run(from_ms: int, to_ms: int, interval: str):
    f, t = check_range(from_ms, to_ms, interval, NOW, LIMIT_DAYS)
    chunks = plan_chunks(f, t, interval, NOW, EARLIEST)
    events = []
    for c in chunks:
        events += normalise(
            fake_coingecko(c.fetch_from_s, c.fetch_to_s),
            "bitcoin",
            "usd",
            interval,
            c.own_from,
            c.own_to,
            ingested_at=1,
        )
    return f, t, chunks, events


# -- range checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "from_ms, to_ms, interval, reason",
    [
        (NOW - DAY_MS, NOW - 2 * DAY_MS, "hourly", "from is after to"),
        (NOW + HOUR_MS, NOW + 2 * HOUR_MS, "hourly", "future"),
        (NOW - 400 * DAY_MS, NOW, "daily", "at most 365 days"),
        (NOW - 2 * DAY_MS, NOW, "5m", "last 24 hours"),
        (NOW - DAY_MS, NOW, "weekly", "interval"),
    ],
)
def test_check_range_refuses_with_a_reason(from_ms, to_ms, interval, reason):
    with pytest.raises(RangeError, match=reason):
        check_range(from_ms, to_ms, interval, NOW, LIMIT_DAYS)


def test_check_range_clips_to_now_and_accepts_the_limit_edge():
    assert check_range(NOW - DAY_MS, NOW + DAY_MS, "hourly", NOW, LIMIT_DAYS) == (NOW - DAY_MS, NOW)
    assert check_range(NOW - 365 * DAY_MS, NOW, "daily", NOW, LIMIT_DAYS)[0] == NOW - 365 * DAY_MS


# -- chunk planning --------------------------------------------------------------------

ranges = st.tuples(
    st.sampled_from(INTERVALS),
    st.integers(0, LIMIT_DAYS * DAY_MS),
    st.integers(0, LIMIT_DAYS * DAY_MS),
)


def _range(interval, a, b):
    lo, hi = sorted((a, b))
    if interval == "5m":
        lo, hi = lo % DAY_MS, hi % DAY_MS
        lo, hi = sorted((lo, hi))
    return NOW - hi, NOW - lo


@settings(max_examples=300, deadline=None)
@given(ranges)
def test_chunks_partition_the_grid_and_ask_for_the_right_granularity(r):
    interval, a, b = r
    from_ms, to_ms = _range(interval, a, b)
    chunks = plan_chunks(from_ms, to_ms, interval, NOW, EARLIEST)
    points = grid(from_ms, to_ms, interval)
    owners = [sum(c.own_from <= g <= c.own_to for c in chunks) for g in points]
    assert owners == [1] * len(points)  # every grid point owned by exactly one call
    for c in chunks:
        assert c.own_from % INTERVAL_MS[interval] == 0
        assert c.fetch_from_s * 1000 <= c.own_from and c.fetch_to_s * 1000 >= c.own_to
        assert c.fetch_from_s * 1000 >= EARLIEST - 1000 or c.fetch_from_s * 1000 >= from_ms
        span = (c.fetch_to_s - c.fetch_from_s) * 1000
        if interval == "hourly":
            assert span <= 90 * DAY_MS
        elif interval == "daily":
            assert span > 90 * DAY_MS
            assert span <= history.DAILY_MAX_SPAN_MS
        else:
            assert span <= DAY_MS and c.fetch_to_s * 1000 >= NOW


@settings(max_examples=200, deadline=None)
@given(ranges)
def test_split_and_normalise_yield_exactly_the_asked_grid(r):
    interval, a, b = r
    from_ms, to_ms = _range(interval, a, b)
    f, t, _chunks, events = run(from_ms, to_ms, interval)
    assert [e.ts for e in events] == grid(f, t, interval)
    assert all(e.price == fake_price(e.ts) and e.market_cap == fake_price(e.ts) * 1e6 for e in events)
    assert len({e.event_id for e in events}) == len(events)


def test_a_year_hourly_is_five_calls_of_at_most_90_days():
    f, t, chunks, events = run(NOW - 365 * DAY_MS, NOW, "hourly")
    assert len(chunks) == 5
    assert len(events) == len(grid(f, t, "hourly")) == 365 * 24
    assert events[0].ts == history.first_grid_point(f, "hourly")


def test_a_short_daily_range_is_widened_past_90_days_then_filtered():
    f, t, chunks, events = run(NOW - 10 * DAY_MS, NOW - 3 * DAY_MS, "daily")
    (c,) = chunks
    assert (c.fetch_to_s - c.fetch_from_s) * 1000 > 90 * DAY_MS
    assert [e.ts for e in events] == grid(f, t, "daily") and len(events) == 7


def test_daily_widening_near_the_plan_limit_goes_forward_not_past_the_limit():
    chunks = plan_chunks(NOW - 364 * DAY_MS, NOW - 360 * DAY_MS, "daily", NOW, EARLIEST)
    (c,) = chunks
    assert c.fetch_from_s * 1000 >= EARLIEST
    assert (c.fetch_to_s - c.fetch_from_s) * 1000 > 90 * DAY_MS


def test_range_without_a_grid_point_needs_no_call():
    start = NOW - NOW % HOUR_MS - 10 * HOUR_MS
    assert plan_chunks(start + 60_000, start + 120_000, "hourly", NOW, EARLIEST) == []


# -- normalisation ---------------------------------------------------------------------


def test_normalise_joins_by_timestamp_and_resamples_finer_points():
    base = NOW - NOW % HOUR_MS - 3 * HOUR_MS
    five = [base + i * 300_000 + 1_234 for i in range(36)]  # jittered 5-minutely, 3 hours
    payload = {
        "prices": [[t, 10.0 + i] for i, t in enumerate(five)],
        "market_caps": [[t, 100.0] for t in five[::2]],  # some missing
        "total_volumes": [[five[0], 5.5]],
    }
    events = normalise(payload, "solana", "eur", "hourly", base, base + 3 * HOUR_MS, ingested_at=7)
    assert [e.ts for e in events] == [five[0], five[12], five[24]]  # first observation of each hour, not moved
    assert [e.price for e in events] == [10.0, 22.0, 34.0]
    assert events[0].market_cap == 100.0 and events[0].total_volume == 5.5 and events[1].total_volume is None
    assert events[0].event_id == price_event_id("solana", "eur", five[0], "coingecko")
    assert {e.source for e in events} == {"coingecko"} and {e.ingested_at for e in events} == {7}


def test_normalise_filters_out_of_range_and_invalid_points():
    base = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS
    payload = {
        "prices": [
            [base - DAY_MS, 1.0],
            [base, None],
            [base + DAY_MS, -3.0],
            [base + 2 * DAY_MS, 2.0],
            [base + 3 * DAY_MS, float("nan")],
            ["x", 1.0],
            [base + 4 * DAY_MS],
            [base + 9 * DAY_MS, 9.0],
        ],
        "market_caps": [[base + 2 * DAY_MS, float("inf")]],
        "total_volumes": "garbage",
    }
    events = normalise(payload, "bitcoin", "usd", "daily", base, base + 5 * DAY_MS, ingested_at=1)
    assert [(e.ts, e.price, e.market_cap, e.total_volume) for e in events] == [(base + 2 * DAY_MS, 2.0, None, None)]


def test_event_ids_are_identical_across_runs():
    first = run(NOW - 30 * DAY_MS, NOW, "hourly")[3]
    second = run(NOW - 30 * DAY_MS, NOW, "hourly")[3]
    assert [e.event_id for e in first] == [e.event_id for e in second]


def test_simple_price_events_use_last_updated_at():
    payload = {
        "bitcoin": {"usd": 50000.5, "usd_market_cap": 1e12, "usd_24h_vol": 3e10, "last_updated_at": 1_767_225_000},
        "ethereum": {"usd": 3000.0},
        "broken": {"eur": 1.0},
        "weird": "not a dict",
    }
    events = history.simple_price_events(payload, "usd", NOW)
    assert [(e.coin_id, e.ts, e.price, e.market_cap, e.total_volume) for e in events] == [
        ("bitcoin", 1_767_225_000_000, 50000.5, 1e12, 3e10),
        ("ethereum", NOW, 3000.0, None, None),
    ]
