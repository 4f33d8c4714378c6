"""CoinGecko's chart rules: granularity, interval overrides per plan, history limit, grid points."""

from __future__ import annotations

import itertools

import pytest
from coingecko_sim import chart
from coingecko_sim.chart import DAY_MS, GRACE_MS, ParamError, PlanError

pytestmark = pytest.mark.unit

HOUR = 3_600_000
FIVE_MIN = 300_000
NOW = 1_795_000_000_000 + 12_345  # not on any grid


@pytest.mark.parametrize(
    ("from_ms", "to_ms", "expected"),
    [
        (NOW - DAY_MS, NOW, "5m"),  # 1 day from current time
        (NOW - 6 * HOUR, NOW - HOUR, "5m"),  # inside the last day
        (NOW - DAY_MS - GRACE_MS + 1, NOW, "5m"),  # a client's "now - 1 day", a little late
        (NOW - 2 * DAY_MS, NOW, "hourly"),
        (NOW - 10 * DAY_MS, NOW - 9 * DAY_MS, "hourly"),  # 1 day, not from current time
        (NOW - 90 * DAY_MS, NOW, "hourly"),
        (NOW - 91 * DAY_MS, NOW, "daily"),
        (NOW - 400 * DAY_MS, NOW - 300 * DAY_MS, "daily"),
        (NOW - 30 * DAY_MS, NOW + 100 * DAY_MS, "hourly"),  # `to` beyond now counts up to now
    ],
)
def test_auto_granularity(from_ms, to_ms, expected):
    assert chart.auto_granularity(from_ms, to_ms, NOW) == expected


def test_interval_daily_is_always_allowed():
    for plan in chart.PLANS:
        assert chart.granularity(NOW - DAY_MS, NOW, NOW, plan, "daily") == "daily"


def test_public_and_demo_get_finer_intervals_only_where_auto_would():
    for plan in ("public", "demo"):
        assert chart.granularity(NOW - DAY_MS, NOW, NOW, plan, "hourly") == "hourly"
        assert chart.granularity(NOW - 80 * DAY_MS, NOW, NOW, plan, "hourly") == "hourly"
        assert chart.granularity(NOW - DAY_MS, NOW, NOW, plan, "5m") == "5m"
        with pytest.raises(PlanError) as err:
            chart.granularity(NOW - 3 * DAY_MS, NOW, NOW, plan, "5m")
        assert err.value.error_code == 10005
        with pytest.raises(PlanError):
            chart.granularity(NOW - 120 * DAY_MS, NOW, NOW, plan, "hourly")


def test_pro_gets_enterprise_intervals_anywhere_within_their_span():
    old = NOW - 700 * DAY_MS
    assert chart.granularity(old, old + 10 * DAY_MS, NOW, "pro", "5m") == "5m"
    assert chart.granularity(old, old + 100 * DAY_MS, NOW, "pro", "hourly") == "hourly"
    with pytest.raises(ParamError):
        chart.granularity(old, old + 11 * DAY_MS, NOW, "pro", "5m")
    with pytest.raises(ParamError):
        chart.granularity(old, old + 101 * DAY_MS, NOW, "pro", "hourly")


def test_unknown_interval_is_a_bad_parameter():
    with pytest.raises(ParamError):
        chart.granularity(NOW - DAY_MS, NOW, NOW, "pro", "weekly")
    assert chart.granularity(NOW - DAY_MS, NOW, NOW, "public", "") == "5m"


def test_history_limit_applies_to_public_and_demo_only():
    chart.check_history(NOW - 365 * DAY_MS, NOW, "public", 365)
    chart.check_history(NOW - 365 * DAY_MS - GRACE_MS, NOW, "demo", 365)
    for plan in ("public", "demo"):
        with pytest.raises(PlanError) as err:
            chart.check_history(NOW - 366 * DAY_MS, NOW, plan, 365)
        assert err.value.error_code == 10012 and "365 days" in err.value.message
    chart.check_history(0, NOW, "pro", 365)
    with pytest.raises(PlanError):
        chart.check_history(NOW - 31 * DAY_MS, NOW, "public", 30)


@pytest.mark.parametrize(("step", "step_ms"), [("5m", FIVE_MIN), ("hourly", HOUR), ("daily", DAY_MS)])
def test_range_points_are_the_grid_inside_the_range(step, step_ms):
    from_ms, to_ms = NOW - 30 * DAY_MS + 1, NOW - 20 * DAY_MS
    points = chart.range_points(from_ms, to_ms, NOW, step, first_ms=0)
    assert points and all(p % step_ms == 0 for p in points)
    assert points[0] >= from_ms and points[0] - step_ms < from_ms
    assert points[-1] <= to_ms and points[-1] + step_ms > to_ms
    assert all(b - a == step_ms for a, b in itertools.pairwise(points))


def test_range_points_stop_at_now_and_start_at_the_first_instant():
    points = chart.range_points(NOW - 5 * HOUR, NOW + 5 * HOUR, NOW, "hourly", first_ms=0)
    assert points[-1] == NOW - NOW % HOUR and len(points) == 5
    first = NOW - 2 * HOUR
    assert chart.range_points(NOW - 5 * HOUR, NOW, NOW, "hourly", first_ms=first)[0] >= first
    assert chart.range_points(NOW - 5 * HOUR, NOW - 4 * HOUR, NOW, "hourly", first_ms=NOW) == []
    assert chart.range_points(NOW + HOUR, NOW + 2 * HOUR, NOW, "hourly", first_ms=0) == []


def test_days_points_end_with_the_latest_tick():
    points = chart.days_points(NOW - DAY_MS, NOW, "5m", first_ms=0)
    assert points[-1] == chart.tick(NOW) == NOW - NOW % 60_000
    assert all(p % FIVE_MIN == 0 for p in points[:-1])
    assert len(points) == 288 + 1
    on_grid = NOW - NOW % FIVE_MIN
    assert chart.days_points(on_grid - DAY_MS, on_grid, "5m", 0).count(on_grid) == 1


def test_parse_days():
    assert chart.parse_days("1", NOW, 0) == NOW - DAY_MS
    assert chart.parse_days("0.5", NOW, 0) == NOW - DAY_MS // 2
    assert chart.parse_days("max", NOW, 123) == 123
    for bad in ("", "0", "-1", "abc", "inf", "nan"):
        with pytest.raises(ParamError):
            chart.parse_days(bad, NOW, 0)


def test_precision():
    assert chart.parse_precision(None) is None
    assert chart.parse_precision("full") is None
    assert chart.parse_precision("2") == 2
    assert chart.rounded(1.23456, 2) == 1.23
    for bad in ("19", "-1", "x"):
        with pytest.raises(ParamError):
            chart.parse_precision(bad)


def test_chart_body_shape_and_values():
    from coingecko_sim import prices

    points = chart.range_points(NOW - 3 * HOUR, NOW, NOW, "hourly", 0)
    body = chart.chart("bitcoin", "usd", points, seed=5)
    assert list(body) == ["prices", "market_caps", "total_volumes"]
    assert [p[0] for p in body["prices"]] == points
    assert body["prices"][0][1] == prices.price_at("bitcoin", "usd", points[0], 5)
    assert body["market_caps"][1][1] == prices.market_cap_at("bitcoin", "usd", points[1], 5)
    assert body["total_volumes"][2][1] == prices.volume_at("bitcoin", "usd", points[2], 5)
