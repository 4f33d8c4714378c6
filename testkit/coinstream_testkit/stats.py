"""The one percentile the benchmarks report."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (``q`` in [0, 100]) by the nearest-rank method.

    The smallest sample such that at least ``q`` percent of the samples are at or below
    it: ``sorted(values)[ceil(q / 100 * n) - 1]``, and the smallest sample for ``q = 0``.
    Always one of the samples (no interpolation), so a p99 of 100 samples is the
    99th smallest and the p100 the maximum. NaN for no samples.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside [0, 100]")
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]
