"""Staging and publishing a batch on the local file system, including a crash between the two."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from coinstream_contract.events import PriceEvent
from coinstream_lander import publish as pub
from coinstream_lander import transforms as tf
from coinstream_lander.job import BatchLander
from coinstream_lander.progress import kafka_lag

pytestmark = pytest.mark.unit

T0 = 1_767_225_599_999  # last ms of 2025-12-31 (UTC)
TAG = "0123abcd"


def test_plan_publish_is_deterministic_and_skips_hidden_files():
    staged = {"day=2026-01-02": ["b.parquet", "a.parquet", ".a.parquet.crc"], "day=2026-01-01": ["x.parquet"]}
    moves = pub.plan_publish("hdfs://nn/wh/coin_prices/", 42, TAG, staged)
    assert [m.dst for m in moves] == [
        "hdfs://nn/wh/coin_prices/day=2026-01-01/part-b0000000042-0123abcd-000.parquet",
        "hdfs://nn/wh/coin_prices/day=2026-01-02/part-b0000000042-0123abcd-000.parquet",
        "hdfs://nn/wh/coin_prices/day=2026-01-02/part-b0000000042-0123abcd-001.parquet",
    ]
    assert moves[1].src == "hdfs://nn/wh/coin_prices/_staging/batch=42/day=2026-01-02/a.parquet"
    assert pub.plan_publish("hdfs://nn/wh/coin_prices", 42, TAG, staged) == moves
    assert all(not pub.hidden(m.dst.rsplit("/", 1)[1]) for m in moves)
    assert pub.hidden(pub.STAGING_DIR)


def test_stale_parts_are_only_this_batchs_leftovers():
    moves = pub.plan_publish("/t", 5, TAG, {"day=2026-01-01": ["a"]})
    existing = {
        "/t/day=2026-01-01": [
            pub.part_name(5, TAG, 0),  # overwritten by this run
            pub.part_name(5, TAG, 1),  # a crashed run wrote two files: stale
            pub.part_name(4, TAG, 1),  # another batch
            pub.part_name(5, "ffffffff", 1),  # another checkpoint's batch 5
        ]
    }
    assert pub.stale_parts(existing, 5, TAG, moves) == [f"/t/day=2026-01-01/{pub.part_name(5, TAG, 1)}"]


def test_kafka_lag_sums_latest_minus_end_over_partitions():
    progress = {
        "sources": [
            {"endOffset": {"coin.prices": {"0": 10, "1": 5}}, "latestOffset": '{"coin.prices": {"0": 15, "1": 5}}'}
        ]
    }
    assert kafka_lag(progress) == 5
    assert kafka_lag({"sources": [{"endOffset": None, "latestOffset": None}]}) is None


class FakeCatalog:
    def __init__(self):
        self.syncs = 0

    def sync_partitions(self):
        self.syncs += 1


class FakeSink:
    def __init__(self):
        self.sent = []

    def send(self, notification):
        self.sent.append(notification)

    def write(self, records):
        self.sent.extend(records.collect())


class CrashAfterFirstRename(pub.HadoopFiles):
    def __init__(self, spark, uri):
        super().__init__(spark, uri)
        self.renames = 0

    def rename_over(self, src, dst):
        if self.renames >= 1:
            raise RuntimeError("driver killed")
        self.renames += 1
        super().rename_over(src, dst)


def _events(n_per_day: int):
    evs = []
    for i in range(n_per_day):
        for coin in ("ethereum", "bitcoin"):
            evs.append(PriceEvent.observe(coin, "usd", T0 - 60_000 * i, 100.0 + i, "test", ingested_at=T0))
            evs.append(PriceEvent.observe(coin, "usd", T0 + 1 + 60_000 * i, 200.0 + i, "test", ingested_at=T0))
    return evs


def _batch(spark, evs, extra=()):
    values = [e.to_json() for e in evs] + list(extra)
    rows = [(b"k", v, "coin.prices", 0, i) for i, v in enumerate(values)]
    df = spark.createDataFrame(rows, "key binary, value binary, topic string, partition int, offset long")
    return tf.dedupe(tf.parse(df))


def _table(root):
    """{relative path: rows} of the visible Parquet files, plus all rows."""
    files = {}
    rows = []
    for path in sorted(root.rglob("*.parquet")):
        rel = path.relative_to(root)
        if any(pub.hidden(part) for part in rel.parts):
            continue
        t = pq.read_table(path)
        files[str(rel)] = t.num_rows
        rows += t.to_pylist()
    return files, rows


def test_land_publishes_sorted_files_once_and_a_rerun_replaces_them(spark, tmp_path):
    table = tmp_path / "coin_prices"
    uri = table.as_uri()
    catalog, sink, dlq = FakeCatalog(), FakeSink(), FakeSink()
    files = pub.HadoopFiles(spark, uri)
    lander = BatchLander(uri, files, catalog, sink, dlq, known_days=set())
    lander.query_started("0123abcd-0000-0000-0000-000000000000")
    evs = _events(5)
    batch = _batch(spark, evs + evs[:3], extra=[b"garbage"])

    lander.land(batch, 3)
    layout, rows = _table(table)
    assert sorted(layout) == [
        f"day=2025-12-31/{pub.part_name(3, TAG, 0)}",
        f"day=2026-01-01/{pub.part_name(3, TAG, 0)}",
    ]
    assert len(rows) == len(evs) == len({r["event_id"] for r in rows})
    assert "day" not in rows[0]  # the partition lives in the path only
    for path in layout:
        t = pq.read_table(table / path).to_pylist()
        keys = [(r["coin_id"], r["ts"]) for r in t]
        assert keys == sorted(keys)
    assert catalog.syncs == 1  # two new days, one sync
    assert len(dlq.sent) == 1
    (note,) = sink.sent
    assert note.batch_id == 3 and note.rows == len(evs)
    assert not (table / pub.STAGING_DIR / "batch=3").exists()

    # Spark re-runs batch 3 after a crash: the same files are replaced, nothing is added.
    lander.land(_batch(spark, evs), 3)
    layout_again, rows_again = _table(table)
    assert layout_again == layout and len(rows_again) == len(evs)
    assert catalog.syncs == 1  # days already known


def test_crash_mid_publish_then_rerun_lands_each_event_once(spark, tmp_path):
    table = tmp_path / "coin_prices"
    uri = table.as_uri()
    evs = _events(4)
    crashing = BatchLander(uri, CrashAfterFirstRename(spark, uri), FakeCatalog(), FakeSink(), FakeSink(), set())
    crashing.query_started("0123abcd-0000-0000-0000-000000000000")
    with pytest.raises(RuntimeError, match="driver killed"):
        crashing.land(_batch(spark, evs), 0)
    layout, rows = _table(table)
    assert len(layout) == 1 and 0 < len(rows) < len(evs)  # half published, no partial file
    assert (table / pub.STAGING_DIR / "batch=0").exists()
    # Say the crashed run had split that day into two files: the re-run writes one, so the
    # second would be a duplicate left behind unless the first batch after a start removes it.
    (published,) = layout
    extra = (table / published).with_name(pub.part_name(0, TAG, 1))
    extra.write_bytes((table / published).read_bytes())

    restarted = BatchLander(uri, pub.HadoopFiles(spark, uri), FakeCatalog(), FakeSink(), FakeSink(), set())
    restarted.query_started("0123abcd-0000-0000-0000-000000000000")
    restarted.land(_batch(spark, evs), 0)
    _, rows = _table(table)
    assert sorted(r["event_id"] for r in rows) == sorted(e.event_id for e in evs)


def test_stop_requested_batch_raises_and_lands_nothing(spark, tmp_path):
    import threading

    from coinstream_lander.job import StopRequested

    uri = (tmp_path / "coin_prices").as_uri()
    stopping = threading.Event()
    stopping.set()
    lander = BatchLander(uri, pub.HadoopFiles(spark, uri), FakeCatalog(), FakeSink(), FakeSink(), set(), stopping)
    lander.query_started("0123abcd-0000-0000-0000-000000000000")
    with pytest.raises(StopRequested):
        lander(_batch(spark, _events(1)), 0)
    assert not (tmp_path / "coin_prices").exists()
