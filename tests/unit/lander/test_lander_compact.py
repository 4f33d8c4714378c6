"""Compaction of finished days on the local file system: fewer files, the same rows, crash-safe swap."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from coinstream_contract.events import PriceEvent
from coinstream_lander import compact as cp
from coinstream_lander import publish as pub
from coinstream_lander import transforms as tf
from coinstream_lander.job import BatchLander

pytestmark = pytest.mark.unit

DAY0 = 1_767_139_200_000  # 2025-12-31T00:00:00Z
NOW = DAY0 + 3 * 86_400_000
QUERY_ID = "0123abcd-0000-0000-0000-000000000000"


class Null:
    def sync_partitions(self):
        pass

    def send(self, notification):
        pass

    def write(self, records):
        pass


def _land(spark, lander, batch_id, evs):
    rows = [(b"k", e.to_json(), "coin.prices", 0, i) for i, e in enumerate(evs)]
    df = spark.createDataFrame(rows, "key binary, value binary, topic string, partition int, offset long")
    lander.land(tf.dedupe(tf.parse(df)), batch_id)


def _rows(directory):
    out = []
    for path in sorted(directory.glob("*.parquet")):
        if not pub.hidden(path.name):
            out += pq.read_table(path).to_pylist()
    return sorted(out, key=lambda r: r["event_id"])


@pytest.fixture
def landed(spark, tmp_path):
    """Three batches into 2025-12-31 (finished) and one into today (NOW's day, not finished)."""
    table = tmp_path / "coin_prices"
    files = pub.HadoopFiles(spark, table.as_uri())
    lander = BatchLander(table.as_uri(), files, Null(), Null(), Null(), set())
    lander.query_started(QUERY_ID)
    for b in range(3):
        evs = [
            PriceEvent.observe(coin, "usd", DAY0 + b * 3_600_000 + i * 1000, 1.0 + i, "t", ingested_at=DAY0)
            for coin in ("solana", "bitcoin")
            for i in range(50)
        ]
        _land(spark, lander, b, evs)
    _land(spark, lander, 3, [PriceEvent.observe("bitcoin", "usd", NOW - 1000, 5.0, "t", ingested_at=NOW)])
    return table, files


def test_finished_days_are_compacted_into_one_sorted_file_with_the_same_rows(spark, landed):
    table, files = landed
    day = table / "day=2025-12-31"
    before = _rows(day)
    assert len(list(day.glob("part-b*.parquet"))) == 3

    done = cp.Compactor(spark, files, table.as_uri(), 128 << 20).run(NOW, min_files=2, max_days=4)

    assert [(d.day_dir, d.files_before, d.files_after, d.rows) for d in done] == [("day=2025-12-31", 3, 1, 300)]
    (only,) = [p for p in day.iterdir() if not pub.hidden(p.name)]
    assert cp.COMPACTED_RE.match(only.name)
    assert _rows(day) == before
    keys = [(r["coin_id"], r["ts"]) for r in pq.read_table(only).to_pylist()]
    assert keys == sorted(keys)
    assert not (table / cp.COMPACT_DIR).exists() and not (day / cp.READY).exists()
    today = [p for p in table.iterdir() if p.name.startswith("day=") and p.name != day.name]
    assert len(today) == 1 and len(list(today[0].glob("part-b*.parquet"))) == 1  # not finished: untouched


@pytest.mark.parametrize("ready, expect_compacted", [(True, True), (False, False)])
def test_recover_completes_or_rolls_back_an_interrupted_swap(spark, landed, ready, expect_compacted):
    table, files = landed
    uri = table.as_uri()
    day = "day=2025-12-31"
    before = _rows(table / day)
    compactor = cp.Compactor(spark, files, uri, 128 << 20)

    class CrashAfterFirstSwapRename(pub.HadoopFiles):
        def rename(self, src, dst):
            super().rename(src, dst)
            if src.endswith(f"/{day}") and cp.OLD_PREFIX in dst:
                raise RuntimeError("driver killed mid swap")

        def touch(self, path):
            if ready:
                super().touch(path)

    compactor.files = CrashAfterFirstSwapRename(spark, uri)
    with pytest.raises(RuntimeError, match="mid swap"):
        compactor.compact_day(day)
    assert not (table / day).exists()  # the crash window: the partition is gone

    cp.Compactor(spark, files, uri, 128 << 20).recover()
    names = [p.name for p in (table / day).iterdir() if not pub.hidden(p.name)]
    assert _rows(table / day) == before
    assert all(cp.COMPACTED_RE.match(n) for n in names) == expect_compacted
    assert not (table / cp.COMPACT_DIR).exists()


def test_candidates_are_finished_days_with_enough_files():
    listing = {
        "day=2025-12-31": [("a", 1), ("b", 1), (".a.crc", 1)],
        "day=2026-01-01": [("a", 1), ("b", 1), ("c", 1)],
        "day=2026-01-02": [("a", 1), ("b", 1), ("c", 1)],  # ended at NOW: late events may still come
        "day=2025-12-30": [("a", 1)],
    }
    assert cp.candidates(listing, NOW, min_files=2) == ["day=2026-01-01", "day=2025-12-31"]
    assert not cp.is_finished("day=2026-01-02", NOW) and cp.is_finished("day=2026-01-02", NOW + cp.FINISHED_AFTER_MS)
    assert not cp.is_finished("_staging", NOW)
    assert cp.target_files(300 << 20, 128 << 20) == 3 and cp.target_files(0, 128 << 20) == 1
