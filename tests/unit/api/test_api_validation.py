"""Request validation rules, as pure functions."""

import pytest
from coinstream_api.validation import Limits, default_interval, point_count, validate_portfolio
from coinstream_common.timeutil import grid, parse_instant
from coinstream_common.web import ApiError

pytestmark = pytest.mark.unit

DAY = 86_400_000
NOW = parse_instant("2026-01-01T00:00:00Z")
LIMITS = Limits(max_holdings=3, max_range_days=400, max_points=1000, vs_currencies=frozenset({"usd", "eur"}))
KNOWN = {"bitcoin", "ethereum"}


def body(**extra):
    return {
        "holdings": [{"coin": "bitcoin", "amount": 0.5}],
        "vs_currency": "usd",
        "from": "2025-01-01T00:00:00Z",
        "to": "2025-12-31T00:00:00Z",
    } | extra


def error(data, known=KNOWN):
    with pytest.raises(ApiError) as info:
        validate_portfolio(data, LIMITS, known, NOW)
    assert info.value.status == 400
    return info.value


def test_default_interval_follows_the_range():
    assert default_interval(0, 91 * DAY) == "daily"
    assert default_interval(0, 90 * DAY) == "hourly"
    assert default_interval(0, DAY + 1) == "hourly"
    assert default_interval(0, DAY) == "5m"


@pytest.mark.parametrize(
    "f, t, interval",
    [
        (0, 10 * DAY, "daily"),
        (1, 10 * DAY, "daily"),
        (5, 6, "5m"),
        (1_000, 7 * 3_600_000 + 3, "hourly"),
        (300_000, 300_000 * 9, "5m"),
    ],
)
def test_point_count_matches_the_grid(f, t, interval):
    assert point_count(f, t, interval) == len(grid(f, t, interval))


def test_valid_request_is_normalised():
    v = validate_portfolio(
        body(
            vs_currency="EUR",
            holdings=[
                {"coin": "bitcoin", "amount": 1},
                {"coin": "ethereum", "amount": 2.5, "acquired_at": "2025-06-01", "acquired_price": 3000},
            ],
        ),
        LIMITS,
        KNOWN,
        NOW,
    )
    assert v.vs_currency == "eur" and v.interval == "daily"
    assert v.from_ms == parse_instant("2025-01-01") and v.to_ms == parse_instant("2025-12-31")
    assert v.holdings[1].acquired_at == parse_instant("2025-06-01T00:00:00Z") and v.holdings[1].acquired_price == 3000


def test_unknown_coin_is_named_and_pattern_only_when_the_list_is_unavailable():
    err = error(body(holdings=[{"coin": "bitcoin", "amount": 1}, {"coin": "dogecoin", "amount": 1}]))
    assert err.code == "unknown_coin" and err.details["coins"] == ["dogecoin"] and "dogecoin" in err.message
    assert validate_portfolio(body(holdings=[{"coin": "dogecoin", "amount": 1}]), LIMITS, None, NOW)
    assert error(body(holdings=[{"coin": "Not A Coin", "amount": 1}]), known=None).code == "invalid_request"


@pytest.mark.parametrize("amount", [0, -1, "1", True, float("inf"), None])
def test_amount_must_be_a_positive_number(amount):
    err = error(body(holdings=[{"coin": "bitcoin", "amount": amount}]))
    assert "amount" in err.message


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"from": "2025-12-31T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, "invalid_range"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}, "invalid_range"),
        ({"to": "2026-03-01T00:00:00Z"}, "invalid_range"),  # in the future
        ({"from": "2023-01-01T00:00:00Z"}, "range_too_long"),
        ({"interval": "5m"}, "too_many_points"),
        ({"from": "2025-01-01T00:00:01Z", "to": "2025-01-01T00:04:00Z", "interval": "5m"}, "invalid_range"),  # no point
        ({"vs_currency": "gbp"}, "unsupported_currency"),
        ({"from": "not a date"}, "invalid_instant"),
        ({"holdings": [{"coin": "bitcoin", "amount": 1}] * 4}, "too_many_holdings"),
        ({"holdings": [{"coin": "bitcoin", "amount": 1, "acquired_at": "2026-01-01T00:00:00Z"}]}, "invalid_holding"),
        ({"holdings": [{"coin": "bitcoin", "amount": 1, "acquired_price": 0}]}, "invalid_request"),
        ({"interval": "weekly"}, "invalid_request"),
        ({"extra": True}, "invalid_request"),
    ],
)
def test_each_rule(changes, code):
    assert error(body(**changes)).code == code
