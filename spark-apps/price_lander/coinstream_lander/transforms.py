"""Pure DataFrame transformations of the lander, batch or streaming alike.

Kafka records -> ``parse`` (one row per record: the event's fields, a
rejection reason or null, the raw bytes of rejects) -> ``dedupe`` (one row per
event_id; rejects are never merged) -> ``table_rows`` (the coin_prices columns
plus ``day``) or ``dlq_records`` (the Kafka rows of the dead-letter topic).
``batch_summary`` is the one aggregation the driver collects per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from coinstream_contract.events import LandedCoin, LandedNotification
from coinstream_contract.tables import PARTITION_COLUMN, PRICE_COLUMNS
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from .schema import CORRUPT_COLUMN, event_schema, field_rules, rejection_reason

MS_PER_DAY = 86_400_000
EPOCH_MS_COLUMNS = ("ts", "ingested_at")
"""Wire fields in epoch ms that the table stores as timestamps."""

DLQ_HEADER_REASON = "coinstream.dlq.reason"
DLQ_HEADER_TOPIC = "coinstream.dlq.topic"
DLQ_HEADER_PARTITION = "coinstream.dlq.partition"
DLQ_HEADER_OFFSET = "coinstream.dlq.offset"


def parse(records: DataFrame) -> DataFrame:
    """Kafka records (key, value, topic, partition, offset) -> parsed, validated rows.

    Columns: every wire field of PriceEvent, ``reason`` (null when valid),
    ``dedupe_key``, and ``raw_key``/``raw_value``/``topic``/``partition``/
    ``offset``, the raw bytes kept only for rejects (they go to the DLQ as is).
    """
    options = {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}
    parsed = records.select(
        "key",
        "value",
        "topic",
        "partition",
        "offset",
        F.from_json(F.col("value").cast("string"), event_schema(), options).alias("e"),
    )
    reason = rejection_reason("value", "e")
    checked = parsed.select("*", reason.alias("reason"))
    rejected = F.col("reason").isNotNull()
    return checked.select(
        *[F.col(f"e.`{r.name}`").alias(r.name) for r in field_rules()],
        "reason",
        F.when(~rejected, F.col("e.event_id"))
        .otherwise(F.concat_ws(":", F.lit("rejected"), "topic", "partition", "offset"))
        .alias("dedupe_key"),
        F.when(rejected, F.col("key")).alias("raw_key"),
        F.when(rejected, F.col("value")).alias("raw_value"),
        "topic",
        "partition",
        "offset",
    )


def dedupe(rows: DataFrame) -> DataFrame:
    """One row per event_id (rejects are keyed by their offset, so each stays).

    On a streaming DataFrame this is stateful: the seen ids live in the
    checkpoint's state store, so a replay in a later batch, or after a restart,
    is dropped too.
    """
    return rows.dropDuplicates(["dedupe_key"])


def is_valid() -> Column:
    return F.col("reason").isNull()


def day_of(epoch_ms: Column) -> Column:
    """The UTC day of an epoch-ms instant, independent of the session time zone."""
    return F.date_from_unix_date(F.floor(epoch_ms / F.lit(MS_PER_DAY)).cast("int"))


def table_rows(rows: DataFrame) -> DataFrame:
    """Valid rows as the coin_prices columns (tables.PRICE_COLUMNS) plus the day partition."""
    columns = []
    for c in PRICE_COLUMNS:
        source = F.col(c.name)
        if c.name in EPOCH_MS_COLUMNS:
            source = F.timestamp_millis(source)
        columns.append(source.cast(c.spark_type).alias(c.name))
    columns.append(day_of(F.col("ts")).alias(PARTITION_COLUMN.name))
    return rows.where(is_valid()).select(*columns)


def dlq_records(rows: DataFrame) -> DataFrame:
    """Rejected rows as Kafka records: the raw key and value, the reason and origin as headers."""

    def header(name: str, value: Column) -> Column:
        return F.struct(F.lit(name).alias("key"), value.cast("string").cast("binary").alias("value"))

    return rows.where(~is_valid()).select(
        F.col("raw_key").alias("key"),
        F.col("raw_value").alias("value"),
        F.array(
            header(DLQ_HEADER_REASON, F.col("reason")),
            header(DLQ_HEADER_TOPIC, F.col("topic")),
            header(DLQ_HEADER_PARTITION, F.col("partition")),
            header(DLQ_HEADER_OFFSET, F.col("offset")),
        ).alias("headers"),
    )


def batch_summary(rows: DataFrame) -> DataFrame:
    """Per (coin, vs_currency, day): rows, ts span, newest ingested_at; rejects in one null group."""
    valid = is_valid()
    return rows.groupBy(
        F.when(valid, F.col("coin_id")).alias("coin_id"),
        F.when(valid, F.col("vs_currency")).alias("vs_currency"),
        F.when(valid, day_of(F.col("ts"))).alias("day"),
    ).agg(
        F.count(F.lit(1)).alias("rows"),
        F.min(F.when(valid, F.col("ts"))).alias("min_ts"),
        F.max(F.when(valid, F.col("ts"))).alias("max_ts"),
        F.max(F.when(valid, F.col("ingested_at"))).alias("max_ingested_at"),
    )


@dataclass(frozen=True)
class DayGroup:
    coin_id: str
    vs_currency: str
    day: date
    rows: int
    min_ts: int
    max_ts: int
    max_ingested_at: int


@dataclass(frozen=True)
class BatchSummary:
    """What the driver knows about one batch after collecting ``batch_summary``."""

    groups: tuple[DayGroup, ...]
    rejected: int

    @classmethod
    def from_rows(cls, rows) -> BatchSummary:
        groups, rejected = [], 0
        for r in rows:
            d = r.asDict() if hasattr(r, "asDict") else dict(r)
            if d["coin_id"] is None:
                rejected += d["rows"]
            else:
                groups.append(DayGroup(**d))
        groups.sort(key=lambda g: (g.day, g.coin_id, g.vs_currency))
        return cls(tuple(groups), rejected)

    @property
    def rows(self) -> int:
        return sum(g.rows for g in self.groups)

    @property
    def days(self) -> frozenset[date]:
        return frozenset(g.day for g in self.groups)

    @property
    def max_ingested_at(self) -> int | None:
        return max((g.max_ingested_at for g in self.groups), default=None)


def landed_notification(batch_id: int, summary: BatchSummary) -> LandedNotification | None:
    """The coin.prices.landed event of a committed batch; None when it landed no row."""
    if not summary.groups:
        return None
    coins: dict[tuple[str, str], list[DayGroup]] = {}
    for g in summary.groups:
        coins.setdefault((g.coin_id, g.vs_currency), []).append(g)
    landed = [
        LandedCoin(
            coin_id=coin,
            vs_currency=vs,
            min_ts=min(g.min_ts for g in gs),
            max_ts=max(g.max_ts for g in gs),
            rows=sum(g.rows for g in gs),
        )
        for (coin, vs), gs in sorted(coins.items())
    ]
    return LandedNotification(
        batch_id=batch_id,
        coins=landed,
        min_ts=min(c.min_ts for c in landed),
        max_ts=max(c.max_ts for c in landed),
        rows=sum(c.rows for c in landed),
    )
