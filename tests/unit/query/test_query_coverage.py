"""Coverage math: islands of present buckets to merged missing ranges."""

import pytest
from coinstream_query.coverage import CoinCoverage, Island, coin_coverage, holes, runs
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

H = 3_600_000


def test_holes_between_islands_and_at_both_ends():
    grid = [i * H for i in range(10)]  # buckets 0..9
    islands = [Island(2 * H, 3 * H, 2), Island(6 * H, 6 * H, 1)]
    cov = coin_coverage(grid, H, islands)
    assert cov == CoinCoverage(10, 3, [(0, 2 * H), (4 * H, 6 * H), (7 * H, 10 * H)])


def test_full_and_empty_coverage():
    grid = [i * H for i in range(4)]
    assert coin_coverage(grid, H, [Island(0, 3 * H, 4)]) == CoinCoverage(4, 4, [])
    assert coin_coverage(grid, H, []) == CoinCoverage(4, 0, [(0, 4 * H)])
    assert coin_coverage([], H, []) == CoinCoverage(0, 0, [])


def test_islands_outside_the_grid_are_clipped_and_unordered_islands_merge():
    gaps = holes(2 * H, 8 * H, H, [Island(7 * H, 12 * H, 6), Island(0, 3 * H, 4), Island(3 * H, 4 * H, 2)])
    assert gaps == [(5 * H, 7 * H)]


def test_runs_merge_consecutive_points_only():
    assert runs([5 * H, H, 2 * H, 3 * H, 7 * H, 2 * H], H) == [(H, 3 * H), (5 * H, 5 * H), (7 * H, 7 * H)]
    assert runs([], H) == []


@given(st.lists(st.booleans(), min_size=1, max_size=60))
def test_holes_agree_with_bucket_flags(flags):
    """Islands built from presence flags give back exactly the absent buckets."""
    grid = [i * H for i in range(len(flags))]
    present = [t for t, f in zip(grid, flags) if f]
    islands = [Island(a, b, (b - a) // H + 1) for a, b in runs(present, H)]
    cov = coin_coverage(grid, H, islands)
    absent = {t for t, f in zip(grid, flags) if not f}
    from_gaps = {t for frm, to in cov.missing for t in range(frm, to, H)}
    assert from_gaps == absent
    assert cov.present == len(present) and cov.expected == len(grid)
    # Ranges are maximal: two missing ranges never touch.
    assert all(a[1] < b[0] for a, b in zip(cov.missing, cov.missing[1:]))
