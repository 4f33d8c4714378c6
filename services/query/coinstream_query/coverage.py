"""Which buckets of a grid hold data: pure functions over what Trino returns.

A coverage bucket ``t`` covers [t, t + step). Trino answers with islands of
consecutive present buckets; the holes between them are the missing ranges,
each reported as [first missing bucket, end of the last missing bucket).

Landed days (``complete_days``, what ingest asks before a backfill): a UTC day
counts as landed when it holds an observation in every grid bucket of the asked
interval that falls inside the range.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from coinstream_common.timeutil import grid, merge_ranges

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Island:
    """A run of consecutive present buckets: starts first_ms .. last_ms, ``buckets`` of them."""

    first_ms: int
    last_ms: int
    buckets: int


@dataclass(frozen=True)
class CoinCoverage:
    expected: int
    present: int
    missing: list[tuple[int, int]]


def holes(first_ms: int, last_ms: int, step_ms: int, islands: Iterable[Island]) -> list[tuple[int, int]]:
    """Missing ranges of the grid first..last (bucket starts) given the present islands.

    Islands are clipped to the grid and may come in any order; overlapping or
    touching islands merge.
    """
    cursor = first_ms  # first bucket not yet known to be present
    gaps: list[tuple[int, int]] = []
    for island in sorted(islands, key=lambda i: i.first_ms):
        lo, hi = max(island.first_ms, first_ms), min(island.last_ms, last_ms)
        if lo > hi:
            continue
        if lo > cursor:
            gaps.append((cursor, lo))
        cursor = max(cursor, hi + step_ms)
    if cursor <= last_ms:
        gaps.append((cursor, last_ms + step_ms))
    return gaps


def coin_coverage(grid: list[int], step_ms: int, islands: list[Island]) -> CoinCoverage:
    """Expected, present and missing buckets of one coin over ``grid`` (bucket starts)."""
    if not grid:
        return CoinCoverage(0, 0, [])
    first, last = grid[0], grid[-1]
    gaps = holes(first, last, step_ms, islands)
    missing_buckets = sum((to - frm) // step_ms for frm, to in gaps)
    return CoinCoverage(len(grid), len(grid) - missing_buckets, gaps)


def runs(points: Iterable[int], step_ms: int) -> list[tuple[int, int]]:
    """Sorted instants merged into runs (first, last) of consecutive grid points."""
    merged: list[tuple[int, int]] = []
    for t in sorted(set(points)):
        if merged and t - merged[-1][1] == step_ms:
            merged[-1] = (merged[-1][0], t)
        else:
            merged.append((t, t))
    return merged


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def complete_days(buckets_by_day: Mapping[date, int], from_ms: int, to_ms: int, interval: str) -> list[tuple[int, int]]:
    """Inclusive ranges of the days whose bucket count reaches the grid points of that day within [from, to]."""
    covered: list[tuple[int, int]] = []
    d = _day(from_ms)
    while _day_start(d) <= to_ms:
        lo, hi = max(_day_start(d), from_ms), min(_day_start(d) + DAY_MS - 1, to_ms)
        expected = len(grid(lo, hi, interval))
        if expected and buckets_by_day.get(d, 0) >= expected:
            covered.append((lo, hi))
        d += timedelta(days=1)
    return merge_ranges(covered)
