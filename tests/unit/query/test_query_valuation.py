"""Valuation rules on hand-worked cases, properties of the reference, and the JSON answer."""

import math

import pytest
from coinstream_query import valuation
from coinstream_query.sql import Holding
from coinstream_query.valuation import Cell, Point
from coinstream_testkit.valuation_reference import Observation, classify, valuate
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

D = 86_400_000
H = 3_600_000
D0 = 1767225600000  # 2026-01-01T00:00:00Z
GRID = [D0 + i * D for i in range(5)]


def obs(coin, ts, price, event_id=None, ingested=None):
    return Observation(coin, ts, price, event_id or f"{coin}-{ts}", ingested)


def hand_case():
    """bitcoin 1.5 held throughout; ethereum 2 acquired on day 2. Staleness two days."""
    holdings = [Holding("bitcoin", 1.5), Holding("ethereum", 2.0, D0 + 2 * D)]
    observations = [
        obs("bitcoin", D0, 100.0),
        obs("bitcoin", D0 + D + 12 * H, 110.0),
        *(obs("ethereum", D0 + i * D, 10.0 + i) for i in range(4)),
        obs("solana", D0, 999.0),  # not held: ignored
    ]
    return valuate(holdings, observations, GRID, D, 2 * D)


def test_hand_worked_statuses_prices_and_values():
    pts = hand_case()
    btc = [(p.cells["bitcoin"].status, p.cells["bitcoin"].price, p.cells["bitcoin"].value) for p in pts]
    assert btc == [
        ("observed", 100.0, 150.0),  # day 0: observed that instant
        ("carried", 100.0, 150.0),  # day 1: 24 h old, not < one interval, within 48 h
        ("observed", 110.0, 165.0),  # day 2: 12 h old
        ("carried", 110.0, 165.0),  # day 3: 36 h old
        ("missing", None, None),  # day 4: 60 h old > 48 h
    ]
    eth = [(p.cells["ethereum"].amount, p.cells["ethereum"].status, p.cells["ethereum"].value) for p in pts]
    assert eth == [
        (0.0, "observed", 0.0),  # not acquired yet: counts 0, whatever the price
        (0.0, "observed", 0.0),
        (2.0, "observed", 24.0),  # acquired exactly at the point: counts
        (2.0, "observed", 26.0),
        (2.0, "carried", 26.0),  # day 3's price, 24 h old
    ]
    assert [(p.value, p.status) for p in pts] == [
        (150.0, "observed"),
        (150.0, "carried"),
        (189.0, "observed"),
        (191.0, "carried"),
        (None, "missing"),  # a counted holding is missing: no value
    ]
    assert pts[1].cells["bitcoin"].price_ts == D0
    assert pts[4].cells["bitcoin"].price_ts is None
    assert "solana" not in pts[0].cells


def test_hand_worked_coverage():
    cov = valuation.coverage(hand_case(), D)
    # Expected: bitcoin 5 points + ethereum 3 held points. Observed: bitcoin days 0 and 2, ethereum days 2 and 3.
    assert (cov.expected, cov.present, cov.fraction) == (8, 4, 0.5)
    assert cov.missing == [
        ("bitcoin", D0, D0 + D),  # day 1 needs an observation in (day 0, day 1]
        ("bitcoin", D0 + 2 * D, D0 + 4 * D),  # days 3-4
        ("ethereum", D0 + 3 * D, D0 + 4 * D),  # day 4
    ]


def test_classify_boundaries():
    assert classify(10 * H, None, H, 2 * H) == "missing"
    assert classify(10 * H, 10 * H, H, 2 * H) == "observed"
    assert classify(10 * H, 9 * H + 1, H, 2 * H) == "observed"
    assert classify(10 * H, 9 * H, H, 2 * H) == "carried"  # exactly one interval old
    assert classify(10 * H, 8 * H, H, 2 * H) == "carried"  # exactly at the bound
    assert classify(10 * H, 8 * H - 1, H, 2 * H) == "missing"
    assert classify(10 * H, 9 * H + 1, H, 0) == "observed"  # a tight bound never hides a fresh price


def test_lots_of_one_coin_sum_from_their_acquisition():
    holdings = [Holding("bitcoin", 1.0), Holding("bitcoin", 2.0, D0 + D), Holding("bitcoin", 4.0, D0 + 10 * D)]
    pts = valuate(holdings, [obs("bitcoin", D0 + i * D, 10.0) for i in range(5)], GRID, D, 2 * D)
    assert [p.cells["bitcoin"].amount for p in pts] == [1.0, 3.0, 3.0, 3.0, 3.0]
    assert [p.value for p in pts] == [10.0, 30.0, 30.0, 30.0, 30.0]


def test_ties_and_duplicates_resolve_by_event_id_then_latest_ingest():
    holdings = [Holding("x", 1.0)]
    rows = [
        obs("x", D0, 5.0, "b", 1),
        obs("x", D0, 7.0, "b", 3),  # a later copy of event b: wins
        obs("x", D0, 6.0, "a", 9),  # another source at the same instant, smaller event id
        obs("x", D0 - H, None, "z"),  # no price: ignored
    ]
    (p,) = valuate(holdings, rows, [D0], D, D)
    assert (p.cells["x"].price, p.value) == (7.0, 7.0)
    # Copies indistinguishable but for the price: the higher price, whatever the input order.
    twins = [obs("x", D0, 8.0, "c", 4), obs("x", D0, 9.0, "c", 4)]
    for order in (twins, twins[::-1]):
        (p,) = valuate(holdings, rows + order, [D0], D, D)
        assert p.cells["x"].price == 9.0


def test_no_observation_at_all_is_missing():
    (p,) = valuate([Holding("x", 1.0)], [], [D0], D, D)
    assert (p.value, p.status, p.cells["x"].status) == (None, "missing", "missing")


def test_observation_after_the_point_is_not_used():
    (p,) = valuate([Holding("x", 1.0)], [obs("x", D0 + 1, 3.0)], [D0], D, 10 * D)
    assert p.cells["x"].status == "missing"


prices = st.floats(min_value=0.0001, max_value=1e6, allow_nan=False)


@st.composite
def portfolios(draw):
    coins = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4))
    holdings = [
        Holding(
            c,
            draw(st.floats(min_value=0.001, max_value=1e4)),
            draw(st.none() | st.integers(min_value=D0 - D, max_value=D0 + 6 * D)),
        )
        for c in coins
    ]
    observations = [
        Observation(
            draw(st.sampled_from(["a", "b", "c"])), draw(st.integers(D0 - 3 * D, D0 + 5 * D)), draw(prices), f"e{i}"
        )
        for i in range(draw(st.integers(0, 25)))
    ]
    staleness = draw(st.sampled_from([0, D, 2 * D, 5 * D]))
    return holdings, observations, staleness


@settings(max_examples=200, deadline=None)
@given(portfolios())
def test_reference_properties(case):
    holdings, observations, staleness = case
    pts = valuate(holdings, observations, GRID, D, staleness)
    for p in pts:
        counted = [c for c in p.cells.values() if c.amount > 0]
        if any(c.status == "missing" for c in counted):
            assert p.value is None and p.status == "missing"
        else:
            assert p.value == pytest.approx(math.fsum(c.value for c in counted), rel=1e-12)
        for c in p.cells.values():
            assert (c.price is None) == (c.status == "missing") == (c.price_ts is None)
            if c.price_ts is not None:
                assert c.price_ts <= p.t
                assert p.t - c.price_ts < D or p.t - c.price_ts <= staleness
            # Every lot acquired by t is counted, and only those.
            expected_amount = sum(
                h.amount for h in holdings if h.coin == c.coin and (h.acquired_ms is None or h.acquired_ms <= p.t)
            )
            assert c.amount == pytest.approx(expected_amount)
    # Doubling every amount doubles every value.
    doubled = valuate(
        [Holding(h.coin, 2 * h.amount, h.acquired_ms) for h in holdings], observations, GRID, D, staleness
    )
    for p, q in zip(pts, doubled):
        assert (p.value is None) == (q.value is None)
        if p.value is not None:
            assert q.value == pytest.approx(2 * p.value, rel=1e-12)
    # A wider staleness bound never makes a cell worse.
    wider = valuate(holdings, observations, GRID, D, staleness + D)
    rank = {"observed": 0, "carried": 1, "missing": 2}
    for p, q in zip(pts, wider):
        for coin in p.cells:
            assert rank[q.cells[coin].status] <= rank[p.cells[coin].status]


def sql_row(t, coin, amount, price, price_ts, status, value, point_value, severity):
    return (t, coin, amount, price, price_ts, status, value, point_value, severity)


def test_points_from_rows_groups_by_time():
    rows = [
        sql_row(D0, "a", 1.0, 2.0, D0, "observed", 2.0, 5.0, 1),
        sql_row(D0, "b", 1.0, 3.0, D0 - D, "carried", 3.0, 5.0, 1),
        sql_row(D0 + D, "a", 1.0, None, None, "missing", None, None, 2),
        sql_row(D0 + D, "b", 0.0, 3.0, D0 - D, "carried", 0.0, None, 2),
    ]
    pts = valuation.points_from_rows(rows)
    assert [(p.t, p.value, p.status) for p in pts] == [(D0, 5.0, "carried"), (D0 + D, None, "missing")]
    assert pts[0].cells["b"] == Cell("b", 1.0, 3.0, D0 - D, "carried", 3.0)
    assert valuation.points_from_rows([]) == []


def test_response_shape():
    pts = [
        Point(D0, 150.0, "observed", {"bitcoin": Cell("bitcoin", 1.5, 100.0, D0 - H, "observed", 150.0)}),
        Point(D0 + D, None, "missing", {"bitcoin": Cell("bitcoin", 1.5, None, None, "missing", None)}),
    ]
    body = valuation.response("usd", "daily", D0 - 5, D0 + D, 2 * D, pts, D)
    assert body == {
        "vs_currency": "usd",
        "interval": "daily",
        "from": "2025-12-31T23:59:59.995Z",
        "to": "2026-01-02T00:00:00Z",
        "staleness_s": 172800,
        "points": [
            {
                "ts": "2026-01-01T00:00:00Z",
                "value": 150.0,
                "status": "observed",
                "holdings": {
                    "bitcoin": {
                        "amount": 1.5,
                        "price": 100.0,
                        "price_ts": "2025-12-31T23:00:00Z",
                        "value": 150.0,
                        "status": "observed",
                    }
                },
            },
            {
                "ts": "2026-01-02T00:00:00Z",
                "value": None,
                "status": "missing",
                "holdings": {
                    "bitcoin": {"amount": 1.5, "price": None, "price_ts": None, "value": None, "status": "missing"}
                },
            },
        ],
        "coverage": {
            "expected": 2,
            "present": 1,
            "fraction": 0.5,
            "missing": [{"coin": "bitcoin", "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}],
        },
    }
