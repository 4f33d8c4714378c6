"""The state built from a valuation answer, and the chart drawn from it."""

import io
import xml.etree.ElementTree as ET

import matplotlib.image
import pytest
from coinstream_api import chart
from coinstream_api.state import BadValuation, build_state
from coinstream_common.timeutil import to_iso
from coinstream_contract.events import Holding, PortfolioEvent

pytestmark = pytest.mark.unit

DAY = 86_400_000
T0 = 1_735_689_600_000


def portfolio(days=10, holdings=None, interval="daily"):
    return PortfolioEvent(
        id="pf_test12345",
        owner="o",
        vs_currency="usd",
        from_=T0,
        to=T0 + (days - 1) * DAY,
        interval=interval,
        holdings=holdings
        or [
            Holding(coin="bitcoin", amount=1.0),
            Holding(coin="ethereum", amount=3.0, acquired_at=T0 + 4 * DAY, acquired_price=95.0),
        ],
    )


def valuation(p, stub_query, table):
    body = {
        "holdings": [{"coin": h.coin, "amount": h.amount} for h in p.holdings],
        "vs_currency": p.vs_currency,
        "from": to_iso(p.from_),
        "to": to_iso(p.to),
        "interval": p.interval,
    }
    return stub_query.valuation(table, body)


@pytest.fixture
def stub_query():
    from coinstream_testkit import stub_query

    return stub_query


def test_state_recomputes_values_with_lots_and_marks_points(stub_query):
    table = stub_query.PriceTable()
    table.add("bitcoin", "usd", {T0 + i * DAY: 1000.0 + 10 * i for i in range(10)})
    table.add("ethereum", "usd", {T0 + i * DAY: 100.0 for i in range(10) if i not in (2, 3, 7)})
    p = portfolio()
    s = build_state(p, valuation(p, stub_query, table), as_of_ms=T0 + 20 * DAY)
    doc = s.document()
    # Ethereum is missing on days 2, 3 (before it is held: irrelevant) and 7 (carried from day 6).
    assert [pt["status"] for pt in doc["valuation"]["points"]] == ["observed"] * 7 + ["carried"] + ["observed"] * 2
    assert doc["valuation"]["points"][4]["value"] == 1040.0 + 300.0
    assert doc["valuation"]["points"][1]["value"] == 1010.0  # ethereum not yet held
    assert doc["status"] == "pending" and not s.complete
    assert {m["coin"] for m in doc["completeness"]["missing"]} == {"ethereum"}
    f = doc["valuation"]["figures"]
    assert f["purchases"] == 285.0 and f["holdings"]["ethereum"]["pnl"] == pytest.approx(300 - 285)
    assert doc["as_of"] == to_iso(T0 + 20 * DAY) and doc["stale"] is False


def test_bad_valuation_is_reported():
    with pytest.raises(BadValuation):
        build_state(portfolio(), {"points": [{"ts": "garbage"}], "coverage": {}}, 0)
    with pytest.raises(BadValuation):
        build_state(portfolio(), {"points": []}, 0)


def _states(stub_query):
    table = stub_query.PriceTable()
    p = portfolio(days=60)
    empty = build_state(p, valuation(p, stub_query, table), 0)
    table.add("bitcoin", "usd", {T0 + i * DAY: 40000.0 * (1.01**i) for i in range(60)})
    table.add("ethereum", "usd", {T0 + i * DAY: 100.0 - i / 2 for i in range(60) if not 20 <= i < 30})
    partial = build_state(p, valuation(p, stub_query, table), 0)
    table.add("ethereum", "usd", {T0 + i * DAY: 100.0 - i / 2 for i in range(20, 30)})
    complete = build_state(p, valuation(p, stub_query, table), 0)
    return empty, partial, complete


def test_chart_renders_valid_png_and_svg_in_every_state(stub_query):
    empty, partial, complete = _states(stub_query)
    assert complete.complete and not partial.complete and empty.figures.valued_points == 0
    for state in (empty, partial, complete):
        png = chart.render(state, "png")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 600 and pixels.shape[1] > 1000
        svg = chart.render(state, "svg")
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
    text = chart.render(partial, "svg").decode()
    assert "no data yet" in text and "Total return" in text and "pending" in text
    assert "complete" in chart.render(complete, "svg").decode()
    assert "STALE" in chart.render(complete, "svg", stale=True).decode()
    with pytest.raises(ValueError):
        chart.render(complete, "gif")
