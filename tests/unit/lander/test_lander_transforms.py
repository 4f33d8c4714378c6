"""Parse, validate, dedupe, table rows, DLQ records and batch summary on a local SparkSession."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from coinstream_contract.events import EventError, PriceEvent, price_event_id
from coinstream_contract.tables import PARTITION_COLUMN, PRICE_COLUMNS
from coinstream_contract.vocabulary import MAX_INSTANT_MS
from coinstream_lander import transforms as tf
from coinstream_lander.schema import field_rules, java_regex

pytestmark = pytest.mark.unit

T0 = 1_767_225_599_999  # 2025-12-31T23:59:59.999Z, the last ms of a day


def event(coin="bitcoin", ts=T0, price=87000.5, source="coingecko", **kw) -> PriceEvent:
    return PriceEvent.observe(coin, "usd", ts, price, source, ingested_at=kw.pop("ingested_at", T0 + 5), **kw)


def records(spark, values, topic="coin.prices"):
    rows = [(b"k", v if v is None or isinstance(v, bytes) else v.encode(), topic, 0, i) for i, v in enumerate(values)]
    return spark.createDataFrame(rows, "key binary, value binary, topic string, partition int, offset long")


def wire(e: PriceEvent, **changes) -> str:
    data = json.loads(e.to_json())
    for k, v in changes.items():
        if v is ...:
            data.pop(k)
        else:
            data[k] = v
    return json.dumps(data)


def resigned(**changes) -> str:
    """A wire event with changed keys and a *matching* event_id, so only the changed rule can fail."""
    data = json.loads(event().to_json()) | changes
    data["event_id"] = price_event_id(str(data["coin_id"]), str(data["vs_currency"]), data["ts"], str(data["source"]))
    return json.dumps(data)


GOOD = event()
CASES = [
    ("valid", GOOD.to_json().decode()),
    ("valid, no market data", event(coin="ethereum", market_cap=None).to_json().decode()),
    ("valid, zero price", event(coin="tether", price=0.0).to_json().decode()),
    ("not JSON", "{not json"),
    ("JSON array", "[1, 2]"),
    ("wrong schema", wire(GOOD, schema="coinstream.price.v0")),
    ("schema missing", wire(GOOD, schema=...)),
    ("price missing", wire(GOOD, price=...)),
    ("ingested_at missing", wire(GOOD, ingested_at=...)),
    ("price is a string", wire(GOOD, price="cheap")),
    ("ts is fractional", wire(GOOD, ts=1.5)),
    ("negative price", wire(GOOD, price=-1.0)),
    ("negative market cap", wire(GOOD, market_cap=-5.0)),
    ("ts beyond year 3000", resigned(ts=MAX_INSTANT_MS)),
    ("negative ts", resigned(ts=-1)),
    ("coin id upper case", resigned(coin_id="Bitcoin")),
    ("coin id trailing newline", resigned(coin_id="bitcoin\n")),
    ("vs_currency too long", resigned(vs_currency="usdollar")),
    ("source with space", resigned(source="coin gecko")),
    ("event_id not hex", wire(GOOD, event_id="z" * 32)),
    ("event_id of other keys", wire(GOOD, event_id=event(coin="solana").event_id)),
]


def pydantic_accepts(raw: str) -> bool:
    try:
        PriceEvent.from_json(raw)
        return True
    except EventError:
        return False


def test_spark_rules_accept_exactly_what_the_model_accepts(spark):
    parsed = tf.parse(records(spark, [raw for _, raw in CASES])).orderBy("offset").collect()
    assert len(parsed) == len(CASES)
    for (name, raw), row in zip(CASES, parsed):
        assert (row.reason is None) == pydantic_accepts(raw), f"{name}: spark reason {row.reason!r}"
    reasons = {name: row.reason for (name, _), row in zip(CASES, parsed)}
    assert reasons["wrong schema"] == "schema 'coinstream.price.v0' is not 'coinstream.price.v1'"
    assert reasons["price missing"] == "price: missing"
    assert reasons["not JSON"].startswith("malformed")
    assert reasons["event_id of other keys"].startswith("event_id: does not match")
    assert reasons["coin id trailing newline"].startswith("coin_id: does not match")


def test_tombstone_and_nan_are_rejected(spark):
    nan = GOOD.to_json().decode().replace('"price":87000.5', '"price":NaN')
    assert "NaN" in nan
    rows = tf.parse(records(spark, [None, nan])).orderBy("offset").collect()
    assert rows[0].reason.startswith("empty value")
    assert rows[1].reason == "price: not a finite number"


def test_rules_cover_the_shared_spark_rules():
    from coinstream_contract.events import PRICE_EVENT_SPARK_RULES as R

    by_name = {r.name: r for r in field_rules()}
    assert {n for n, r in by_name.items() if r.required} >= set(R["required"])
    assert by_name["coin_id"].pattern == R["coin_id_pattern"]
    assert by_name["event_id"].pattern == R["event_id_pattern"]
    assert by_name["schema"].const == R["schema"]
    assert java_regex("^[a-z]{3,5}$") == r"^[a-z]{3,5}\z"


def test_dedupe_keeps_one_row_per_event_id_and_every_reject(spark):
    a, b = event(coin="bitcoin"), event(coin="ethereum")
    replay = event(coin="bitcoin", price=1.0, ingested_at=T0 + 999)  # same keys, same id
    assert replay.event_id == a.event_id
    values = [a.to_json(), b.to_json(), a.to_json(), replay.to_json(), b"junk", b"junk"]
    rows = tf.dedupe(tf.parse(records(spark, values))).collect()
    valid = [r for r in rows if r.reason is None]
    assert sorted(r.event_id for r in valid) == sorted({a.event_id, b.event_id})
    assert len([r for r in rows if r.reason is not None]) == 2


def test_table_rows_match_the_table_and_keep_milliseconds(spark):
    last_ms, next_day = event(ts=T0), event(ts=T0 + 1, coin="solana", market_cap=3.5e10, total_volume=1e9)
    out = tf.table_rows(tf.parse(records(spark, [last_ms.to_json(), next_day.to_json(), b"bad"])))
    assert out.columns == [c.name for c in PRICE_COLUMNS] + [PARTITION_COLUMN.name]
    types = dict(out.dtypes)
    assert types["ts"] == "timestamp" and types["day"] == "date" and types["price"] == "double"
    rows = {r.coin_id: r for r in out.collect()}
    assert set(rows) == {"bitcoin", "solana"}
    assert rows["bitcoin"].day == date(2025, 12, 31) and rows["solana"].day == date(2026, 1, 1)
    # Collected timestamps are in the session zone (UTC here): the ms survives.
    assert rows["bitcoin"].ts == datetime(2025, 12, 31, 23, 59, 59, 999000)
    assert rows["solana"].market_cap == 3.5e10 and rows["bitcoin"].market_cap is None


def test_day_does_not_depend_on_the_session_time_zone(spark):
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    try:
        out = tf.table_rows(tf.parse(records(spark, [event(ts=T0).to_json()]))).collect()
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert out[0].day == date(2025, 12, 31)


def test_dlq_records_carry_raw_bytes_and_reason(spark):
    raw = b"\xff\xfe not utf-8"
    out = tf.dlq_records(tf.parse(records(spark, [GOOD.to_json(), raw]))).collect()
    assert len(out) == 1
    assert bytes(out[0].value) == raw and bytes(out[0].key) == b"k"
    headers = {h.key: bytes(h.value).decode() for h in out[0].headers}
    assert headers[tf.DLQ_HEADER_REASON].startswith("malformed")
    assert headers[tf.DLQ_HEADER_TOPIC] == "coin.prices" and headers[tf.DLQ_HEADER_OFFSET] == "1"


def test_batch_summary_and_landed_notification(spark):
    evs = [
        event(coin="bitcoin", ts=T0 - 1000, ingested_at=T0 + 10),
        event(coin="bitcoin", ts=T0 + 1),  # next day
        event(coin="ethereum", ts=T0, ingested_at=T0 + 50),
    ]
    summary = tf.BatchSummary.from_rows(
        tf.batch_summary(tf.parse(records(spark, [e.to_json() for e in evs] + [b"x", b"y"]))).collect()
    )
    assert summary.rejected == 2 and summary.rows == 3
    assert summary.days == {date(2025, 12, 31), date(2026, 1, 1)}
    assert summary.max_ingested_at == T0 + 50
    n = tf.landed_notification(7, summary)
    assert n is not None and n.batch_id == 7 and n.rows == 3
    assert (n.min_ts, n.max_ts) == (T0 - 1000, T0 + 1)
    coins = {c.coin_id: c for c in n.coins}
    assert (coins["bitcoin"].rows, coins["bitcoin"].min_ts, coins["bitcoin"].max_ts) == (2, T0 - 1000, T0 + 1)
    assert coins["ethereum"].rows == 1
    assert tf.landed_notification(8, tf.BatchSummary((), 4)) is None
