"""Compaction of finished days: many per-batch files -> a few sorted ones, same rows.

Streaming writes one file per day per batch, so a live day collects a file per
trigger. Once a day is over (its end plus ``FINISHED_AFTER_MS``) and holds at
least ``min_files`` files, the driver rewrites it, between two batches:

1. read the day's files, write them sorted by (coin_id, ts) into
   ``<table>/_compact/day=D/`` (hidden), ``ceil(bytes / target)`` files;
2. check the row count is unchanged, rename the files to ``part-c...``, drop a
   ``_READY`` marker;
3. swap directories: ``day=D`` -> ``_compact/old-day=D``, then
   ``_compact/day=D`` -> ``day=D`` (two NameNode renames, a millisecond apart:
   a query listing the partition in between fails with "location does not
   exist" rather than returning fewer or duplicated rows); delete the old one.

``recover`` finishes or rolls back a swap a crash interrupted. Only files of
batches Spark has committed are compacted (see ``Runner``), so a batch re-run
after a crash can never add its rows a second time next to a compacted file.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from coinstream_contract.tables import PARTITION_COLUMN

from .publish import HadoopFiles, hidden

log = logging.getLogger("coinstream_lander")

COMPACT_DIR = "_compact"
READY = "_READY"
COMPACTED_RE = re.compile(r"^part-c\d{14}-\d{3}\.parquet$")
OLD_PREFIX = "old-"
MS_PER_DAY = 86_400_000
FINISHED_AFTER_MS = 3_600_000
"""A day is finished one hour after its end (late events still go in; a later pass takes them)."""


@dataclass(frozen=True)
class Compacted:
    day_dir: str
    files_before: int
    files_after: int
    rows: int


def day_of_dir(day_dir: str) -> date | None:
    prefix = f"{PARTITION_COLUMN.name}="
    if not day_dir.startswith(prefix):
        return None
    try:
        return date.fromisoformat(day_dir[len(prefix) :])
    except ValueError:
        return None


def is_finished(day_dir: str, now_ms: int) -> bool:
    d = day_of_dir(day_dir)
    if d is None:
        return False
    end_ms = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000) + MS_PER_DAY
    return end_ms + FINISHED_AFTER_MS <= now_ms


def candidates(listing: dict[str, list[tuple[str, int]]], now_ms: int, min_files: int) -> list[str]:
    """Finished day directories with at least ``min_files`` visible files, most files first."""
    visible = {d: sum(1 for f, _ in files if not hidden(f)) for d, files in listing.items()}
    eligible = [d for d in listing if is_finished(d, now_ms) and visible[d] >= min_files]
    return sorted(eligible, key=lambda d: (-visible[d], d))


def compacted_name(stamp: str, n: int) -> str:
    return f"part-c{stamp}-{n:03d}.parquet"


def target_files(total_bytes: int, target_bytes: int) -> int:
    return max(1, math.ceil(total_bytes / max(1, target_bytes)))


class Compactor:
    def __init__(self, spark, files: HadoopFiles, table_uri: str, target_bytes: int) -> None:
        self.spark = spark
        self.files = files
        self.table = table_uri.rstrip("/")
        self.work = f"{self.table}/{COMPACT_DIR}"
        self.target_bytes = target_bytes

    def _visible_files(self, directory: str) -> list[tuple[str, int]]:
        return [(n, size) for n, is_dir, size in self.files.entries(directory) if not is_dir and not hidden(n)]

    def listing(self) -> dict[str, list[tuple[str, int]]]:
        return {
            name: self._visible_files(f"{self.table}/{name}")
            for name, is_dir in self.files.list(self.table)
            if is_dir and day_of_dir(name) is not None
        }

    def recover(self) -> None:
        """Finish (or undo) a swap a crash interrupted, then clear the work directory."""
        for name, is_dir in self.files.list(self.work):
            if not (is_dir and name.startswith(OLD_PREFIX)):
                continue
            day_dir = name[len(OLD_PREFIX) :]
            live, new, old = f"{self.table}/{day_dir}", f"{self.work}/{day_dir}", f"{self.work}/{name}"
            if self.files.exists(live):
                pass  # swap done; only the clean-up was missing
            elif self.files.exists(f"{new}/{READY}"):
                self.files.rename(new, live)
                log.info("compaction of %s completed after a crash", day_dir)
            else:
                self.files.rename(old, live)
                log.info("compaction of %s rolled back after a crash", day_dir)
        for name, is_dir in self.files.list(self.table):
            if is_dir and day_of_dir(name) is not None and self.files.exists(f"{self.table}/{name}/{READY}"):
                self.files.delete(f"{self.table}/{name}/{READY}", recursive=False)
        self.files.delete(self.work)

    def compact_day(self, day_dir: str) -> Compacted | None:
        live = f"{self.table}/{day_dir}"
        sources = self._visible_files(live)
        if len(sources) < 2:
            return None
        new = f"{self.work}/{day_dir}"
        self.files.delete(new)
        df = self.spark.read.parquet(*[f"{live}/{name}" for name, _ in sources])
        rows_in = df.count()
        n_out = target_files(sum(size for _, size in sources), self.target_bytes)
        ordered = df.repartitionByRange(n_out, "coin_id", "ts") if n_out > 1 else df.coalesce(1)
        ordered.sortWithinPartitions("coin_id", "ts").write.mode("overwrite").parquet(new)
        written = sorted(name for name, _ in self._visible_files(new))
        rows_out = self.spark.read.parquet(*[f"{new}/{name}" for name in written]).count()
        if rows_out != rows_in:
            self.files.delete(new)
            raise RuntimeError(f"compaction of {day_dir} wrote {rows_out} rows, read {rows_in}: left as is")
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        for n, name in enumerate(written):
            self.files.rename(f"{new}/{name}", f"{new}/{compacted_name(stamp, n)}")
        self.files.touch(f"{new}/{READY}")
        old = f"{self.work}/{OLD_PREFIX}{day_dir}"
        self.files.delete(old)
        self.files.rename(live, old)
        self.files.rename(new, live)
        self.files.delete(f"{live}/{READY}", recursive=False)
        self.files.delete(old)
        return Compacted(day_dir, len(sources), len(written), rows_in)

    def run(self, now_ms: int, min_files: int, max_days: int) -> list[Compacted]:
        done = []
        for day_dir in candidates(self.listing(), now_ms, min_files)[:max_days]:
            result = self.compact_day(day_dir)
            if result:
                log.info(
                    "compacted %s: %d files -> %d, %d rows",
                    day_dir,
                    result.files_before,
                    result.files_after,
                    result.rows,
                )
                done.append(result)
        self.files.delete(self.work)
        return done
