"""The streaming half: dedupe state across batches and restarts, and progress metrics."""

from __future__ import annotations

import time

import pytest
from coinstream_contract.events import PriceEvent
from coinstream_lander import transforms as tf
from coinstream_lander.progress import ProgressListener, ProgressMetrics
from pyspark.sql import functions as F

pytestmark = pytest.mark.unit

T0 = 1_767_225_600_000


def _events(coin, n, price=1.0):
    return [PriceEvent.observe(coin, "usd", T0 + i * 1000, price, "t", ingested_at=T0) for i in range(n)]


def _write(directory, name, evs):
    (directory / name).write_bytes(b"\n".join(e.to_json() for e in evs) + b"\n")


def _start(spark, inbox, checkpoint, landed):
    """Kafka-shaped records from text files (one event per line) through parse + stateful dedupe."""
    records = spark.readStream.text(str(inbox)).select(
        F.lit(b"k").alias("key"),
        F.col("value").cast("binary").alias("value"),
        F.lit("coin.prices").alias("topic"),
        F.lit(0).alias("partition"),
        F.lit(0).cast("long").alias("offset"),
    )

    def collect(df, batch_id):
        landed.extend(r.event_id for r in df.where(tf.is_valid()).select("event_id").collect())

    return (
        tf.dedupe(tf.parse(records))
        .writeStream.option("checkpointLocation", str(checkpoint))
        .foreachBatch(collect)
        .start()
    )


def test_replays_are_dropped_across_batches_and_restarts(spark, tmp_path):
    inbox, checkpoint = tmp_path / "in", tmp_path / "ckpt"
    inbox.mkdir()
    landed: list[str] = []
    metrics = ProgressMetrics()
    listener = ProgressListener(metrics)
    spark.streams.addListener(listener)
    try:
        first, second = _events("bitcoin", 30), _events("ethereum", 20)
        _write(inbox, "1.json", first + first[:10])  # duplicates within a batch
        query = _start(spark, inbox, checkpoint, landed)
        query.processAllAvailable()
        _write(inbox, "2.json", second + _events("bitcoin", 30, price=2.0))  # replays, other prices
        query.processAllAvailable()
        query.stop()
        assert sorted(landed) == sorted(e.event_id for e in first + second)

        # After a restart from the checkpoint, the state still knows every id.
        landed.clear()
        _write(inbox, "3.json", first[:5] + second[:5] + _events("solana", 3))
        query = _start(spark, inbox, checkpoint, landed)
        query.processAllAvailable()
        query.stop()
        assert sorted(landed) == sorted(e.event_id for e in _events("solana", 3))

        deadline = time.monotonic() + 10  # listener events are delivered asynchronously
        while metrics.committed_batch < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert metrics.committed_batch >= 2
    finally:
        spark.streams.removeListener(listener)


def test_only_the_known_kafka_progress_bug_skips_the_back_off():
    from coinstream_lander.runner import is_kafka_metrics_npe

    spark_4_1_1 = (
        "[STREAM_FAILED] Query [id = 1, runId = 2] terminated with exception: Cannot invoke "
        '"scala.collection.IterableOps.map(scala.Function1)" because the return value of "scala.Option.get()" is null'
    )
    assert is_kafka_metrics_npe(spark_4_1_1)
    assert not is_kafka_metrics_npe("terminated with exception: java.lang.NullPointerException at Foo")
