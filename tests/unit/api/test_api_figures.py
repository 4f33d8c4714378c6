"""The valuation math: hand-worked cases, properties, and agreement with an independent computation."""

import importlib.util
import math
from pathlib import Path

import pytest
from coinstream_api.figures import PERIODS_PER_YEAR, Lot, compute, point_values
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location("reference_figures", Path(__file__).with_name("reference_figures.py"))
reference_figures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference_figures)

DAY = 86_400_000
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z
SQRT365 = math.sqrt(365.0)


def days(n):
    return [T0 + i * DAY for i in range(n)]


def sample_stdev(xs):
    mean = sum(xs) / len(xs)
    return math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


# --- hand-worked ----------------------------------------------------------


def test_single_coin_held_throughout():
    # 2 units at 100, 110, 99, 121: value 200, 220, 198, 242.
    f, s = compute(days(4), {"btc": [100.0, 110.0, 99.0, 121.0]}, [Lot("btc", 2.0)], "daily")
    assert s.value == [200.0, 220.0, 198.0, 242.0]
    assert f.start_value == 200.0 and f.end_value == 242.0
    assert f.pnl == pytest.approx(42.0, rel=1e-12)
    assert f.total_return == pytest.approx(0.21, rel=1e-12)
    assert f.time_weighted_return == pytest.approx(0.21, rel=1e-12)
    assert f.max_drawdown == pytest.approx(0.1, rel=1e-12)  # 220 -> 198
    # Step returns +1/10, -1/10, +2/9; mean 2/27; sample variance over n-1 = 2.
    mean = 2 / 27
    var = ((1 / 10 - mean) ** 2 + (-1 / 10 - mean) ** 2 + (2 / 9 - mean) ** 2) / 2
    assert f.volatility_annualised == pytest.approx(math.sqrt(var) * SQRT365, rel=1e-12)
    assert f.coins["btc"].contribution == pytest.approx(0.21, rel=1e-12)
    assert f.purchases == 0.0 and f.invested == 200.0


def test_purchase_inside_the_range_is_a_cash_flow():
    # A: 1 unit held from the start at 100, 120, 90.
    # B: 1 unit bought at t1 for 40 (market 50); B is 50, 50, 60.
    # Values: 100, 170, 150. Invested 100 + 40; P&L 150 - 100 - 40 = 10.
    # TWR: step 1 = (120/100) * (170 / (120 + 40)) = 1.275; step 2 = 150/170; product 1.125.
    ts = days(3)
    lots = [Lot("a", 1.0), Lot("b", 1.0, acquired_at=ts[1], acquired_price=40.0)]
    f, s = compute(ts, {"a": [100.0, 120.0, 90.0], "b": [50.0, 50.0, 60.0]}, lots, "daily")
    assert s.value == [100.0, 170.0, 150.0]
    assert f.purchases == 40.0 and f.invested == 140.0
    assert f.pnl == pytest.approx(10.0, rel=1e-12)
    assert f.total_return == pytest.approx(10 / 140, rel=1e-12)
    assert f.time_weighted_return == pytest.approx(0.125, rel=1e-12)
    assert s.index == pytest.approx([1.0, 1.275, 1.125], rel=1e-12)
    assert f.max_drawdown == pytest.approx(1 - 1.125 / 1.275, rel=1e-12)
    assert f.volatility_annualised == pytest.approx(sample_stdev([0.275, 150 / 170 - 1]) * SQRT365, rel=1e-12)
    assert f.coins["a"].contribution == pytest.approx(-10 / 140, rel=1e-12)
    assert f.coins["b"].contribution == pytest.approx(20 / 140, rel=1e-12)
    assert f.coins["b"].start_value == 0.0 and f.coins["b"].purchases == 40.0
    assert s.coin_pnl["b"] == pytest.approx([0.0, 10.0, 20.0])


def test_purchase_at_market_price_leaves_twr_equal_to_the_coins_return():
    ts = days(4)
    lots = [Lot("eth", 1.0), Lot("eth", 3.0, acquired_at=ts[2])]  # no price given: bought at market
    f, _ = compute(ts, {"eth": [10.0, 12.0, 9.0, 15.0]}, lots, "daily")
    assert f.time_weighted_return == pytest.approx(15 / 10 - 1, rel=1e-12)
    # Money-weighted differs: 1 unit 10 -> 15 plus 3 units 9 -> 15.
    assert f.pnl == pytest.approx(5 + 3 * 6, rel=1e-12)
    assert f.total_return == pytest.approx(23 / (10 + 27), rel=1e-12)


def test_acquisition_between_points_enters_at_the_next_point():
    ts = days(3)
    lots = [Lot("a", 1.0), Lot("b", 2.0, acquired_at=ts[0] + DAY // 2)]
    assert point_values(ts, {"a": [1.0, 1.0, 1.0], "b": [5.0, 6.0, 7.0]}, lots) == [1.0, 13.0, 15.0]


def test_missing_points_are_skipped_and_a_missing_coin_not_yet_held_does_not_matter():
    ts = days(4)
    lots = [Lot("a", 1.0), Lot("b", 1.0, acquired_at=ts[2])]
    prices = {"a": [100.0, None, 110.0, 121.0], "b": [None, None, 10.0, 10.0]}
    f, s = compute(ts, prices, lots, "daily")
    assert s.value == [100.0, None, 120.0, 131.0]
    assert f.valued_points == 3 and f.start_ts == ts[0] and f.end_ts == ts[3]
    # 100 -> 110 across the gap, b bought at market (10) there, then 120 -> 131.
    assert f.time_weighted_return == pytest.approx(1.1 * 131 / 120 - 1, rel=1e-12)
    assert f.pnl == pytest.approx(131 - 100 - 10, rel=1e-12)


def test_nothing_valued_gives_no_figures():
    f, s = compute(days(3), {"a": [None, None, None]}, [Lot("a", 1.0)], "hourly")
    assert f.valued_points == 0 and f.pnl is None and f.total_return is None and f.volatility_annualised is None
    assert s.value == [None, None, None]
    assert f.periods_per_year == 365 * 24


def test_everything_bought_inside_the_range():
    ts = days(3)
    lots = [Lot("a", 2.0, acquired_at=ts[1], acquired_price=8.0)]
    f, _ = compute(ts, {"a": [5.0, 10.0, 12.0]}, lots, "daily")
    assert f.start_value == 0.0 and f.invested == 16.0
    assert f.pnl == pytest.approx(24 - 16, rel=1e-12)
    assert f.total_return == pytest.approx(0.5, rel=1e-12)
    assert f.time_weighted_return == pytest.approx(0.5, rel=1e-12)  # bought at 8: worth 10, then 12


# --- properties and the independent computation ------------------------------

COINS = ["a", "b", "c"]


@st.composite
def portfolios(draw, with_purchases=True, with_missing=True):
    n = draw(st.integers(2, 25))
    interval = draw(st.sampled_from(sorted(PERIODS_PER_YEAR)))
    step = {"daily": DAY, "hourly": 3_600_000, "5m": 300_000}[interval]
    ts = [T0 + i * step for i in range(n)]
    coins = COINS[: draw(st.integers(1, 3))]
    price = st.floats(0.01, 1e5, allow_nan=False, allow_infinity=False)
    prices = {}
    for c in coins:
        series = draw(st.lists(price, min_size=n, max_size=n))
        if with_missing:
            holes = draw(st.sets(st.integers(0, n - 1), max_size=n // 3))
            series = [None if i in holes else p for i, p in enumerate(series)]
        prices[c] = series
    lots = []
    for _ in range(draw(st.integers(1, 4))):
        acquired = None
        paid = None
        if with_purchases and draw(st.booleans()):
            acquired = ts[0] + draw(st.integers(0, (n - 1) * step))
            paid = draw(st.one_of(st.none(), price))
        lots.append(Lot(draw(st.sampled_from(coins)), draw(st.floats(1e-4, 1e4)), acquired, paid))
    return ts, prices, lots, interval


def close(a, b, scale=1.0):
    """Equal to 1e-9 relative (relative to ``scale`` when the quantity is itself a small difference)."""
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), scale)


@settings(max_examples=300, deadline=None)
@given(portfolios())
def test_agrees_with_the_independent_computation(case):
    ts, prices, lots, interval = case
    f, _ = compute(ts, prices, lots, interval)
    ref = reference_figures.reference(
        ts,
        prices,
        [
            {"coin": l.coin, "amount": l.amount, "acquired_at": l.acquired_at, "acquired_price": l.acquired_price}
            for l in lots
        ],
        PERIODS_PER_YEAR[interval],
    )
    if ref is None:
        assert f.valued_points == 0
        return
    money = max(ref["start_value"], ref["end_value"], ref["purchases"], 1e-12)
    assert close(f.start_value, ref["start_value"], money)
    assert close(f.end_value, ref["end_value"], money)
    assert close(f.purchases, ref["purchases"], money)
    assert close(f.pnl, ref["pnl"], money)
    assert close(f.total_return, ref["total_return"])
    assert close(f.time_weighted_return, ref["time_weighted_return"])
    assert close(f.max_drawdown, ref["max_drawdown"])
    assert close(f.volatility_annualised, ref["volatility_annualised"])
    for coin, contribution in ref["contributions"].items():
        assert close(f.coins[coin].contribution, contribution)


@settings(max_examples=200, deadline=None)
@given(portfolios())
def test_contributions_add_up_to_the_total_return(case):
    ts, prices, lots, interval = case
    f, _ = compute(ts, prices, lots, interval)
    assume(f.total_return is not None)
    assert close(math.fsum(c.contribution for c in f.coins.values()), f.total_return)
    assert close(math.fsum(c.pnl for c in f.coins.values()), f.pnl, f.invested)


@settings(max_examples=200, deadline=None)
@given(portfolios(with_purchases=False))
def test_without_purchases_twr_equals_total_return(case):
    ts, prices, lots, interval = case
    f, s = compute(ts, prices, lots, interval)
    assume(f.total_return is not None)
    assert close(f.time_weighted_return, f.total_return)
    valued = [v for v in s.value if v is not None]
    peak_fall = max(1 - v / max(valued[: i + 1]) for i, v in enumerate(valued))
    assert close(f.max_drawdown, peak_fall)


@settings(max_examples=200, deadline=None)
@given(portfolios(), st.floats(0.001, 1000))
def test_scaling_every_amount_scales_money_not_returns(case, k):
    ts, prices, lots, interval = case
    f, _ = compute(ts, prices, lots, interval)
    g, _ = compute(ts, prices, [Lot(l.coin, l.amount * k, l.acquired_at, l.acquired_price) for l in lots], interval)
    assume(f.pnl is not None)
    assert close(g.pnl, f.pnl * k, f.invested * k)
    assert close(g.total_return, f.total_return)
    assert close(g.time_weighted_return, f.time_weighted_return)
    assert close(g.volatility_annualised, f.volatility_annualised)


@settings(max_examples=200, deadline=None)
@given(portfolios())
def test_ranges(case):
    ts, prices, lots, interval = case
    f, s = compute(ts, prices, lots, interval)
    assume(f.valued_points > 0)
    assert 0.0 <= f.max_drawdown < 1.0
    assert f.volatility_annualised is None or f.volatility_annualised >= 0.0
    assert f.time_weighted_return > -1.0
    assert all((v is None) == (i is None) for v, i in zip(s.value, s.index))
