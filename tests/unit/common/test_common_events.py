import json

import pytest
from coinstream_contract.events import (
    BackfillRequest,
    EventError,
    LandedNotification,
    PortfolioEvent,
    PriceEvent,
    price_event_id,
)
from coinstream_testkit.events import parse_any

pytestmark = pytest.mark.unit


def test_price_event_round_trips_and_id_is_deterministic():
    e = PriceEvent.observe("bitcoin", "usd", 1_700_000_000_000, 37000.5, "coingecko", market_cap=7e11, ingested_at=1)
    again = PriceEvent.observe("bitcoin", "usd", 1_700_000_000_000, 99.0, "coingecko", ingested_at=2)
    assert e.event_id == again.event_id  # same keys, same id: replays dedupe
    assert e.event_id != PriceEvent.observe("bitcoin", "eur", 1_700_000_000_000, 1.0, "coingecko").event_id
    wire = json.loads(e.to_json())
    assert wire["schema"] == "coinstream.price.v1"
    assert PriceEvent.from_json(e.to_json()) == e
    assert parse_any(e.to_json()) == e


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda d: d.update(price=-1), "price"),
        (lambda d: d.update(coin_id="Bit Coin"), "coin_id"),
        (lambda d: d.pop("ts"), "ts"),
        (lambda d: d.update(schema="coinstream.price.v0"), "schema"),
        (lambda d: d.update(event_id="0" * 32), "event_id"),
        (lambda d: d.update(extra=1), "extra"),
    ],
)
def test_price_event_rejects_invalid(mutate, reason):
    d = json.loads(PriceEvent.observe("bitcoin", "usd", 1_000, 1.0, "coingecko").to_json())
    mutate(d)
    with pytest.raises(EventError) as err:
        PriceEvent.from_json(json.dumps(d))
    assert reason in str(err.value)


def test_not_json_is_an_event_error():
    with pytest.raises(EventError, match="not JSON"):
        PriceEvent.from_json(b"{truncated")
    with pytest.raises(EventError, match="unknown schema"):
        parse_any(b'{"schema": "nope"}')


def test_event_id_depends_on_every_key():
    base = price_event_id("a", "usd", 1, "s")
    assert (
        len(
            {
                base,
                price_event_id("b", "usd", 1, "s"),
                price_event_id("a", "eur", 1, "s"),
                price_event_id("a", "usd", 2, "s"),
                price_event_id("a", "usd", 1, "t"),
            }
        )
        == 5
    )


def test_backfill_and_portfolio_order_checks():
    BackfillRequest.model_validate({"coin": "bitcoin", "vs_currency": "usd", "from": 1, "to": 2, "requested_by": "t"})
    with pytest.raises(ValueError, match="from is after to"):
        BackfillRequest.model_validate(
            {"coin": "bitcoin", "vs_currency": "usd", "from": 3, "to": 2, "requested_by": "t"}
        )
    with pytest.raises(ValueError):
        PortfolioEvent.model_validate(
            {
                "id": "p" * 10,
                "owner": "o",
                "holdings": [{"coin": "bitcoin", "amount": 0}],
                "vs_currency": "usd",
                "from": 1,
                "to": 2,
            }
        )


def test_landed_notification_wire_name():
    n = LandedNotification(batch_id=3, coins=[], min_ts=1, max_ts=2, rows=0)
    assert json.loads(n.to_json())["schema"] == "coinstream.landed.v1"
    assert LandedNotification.from_json(n.to_json()).batch_id == 3
