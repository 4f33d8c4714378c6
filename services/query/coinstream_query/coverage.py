"""Which buckets of a grid hold data: pure functions over what Trino returns.

A coverage bucket ``t`` covers [t, t + step). Trino answers with islands of
consecutive present buckets; the holes between them are the missing ranges,
each reported as [first missing bucket, end of the last missing bucket).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
