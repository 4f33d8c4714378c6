"""Coverage math: islands of present buckets to merged missing ranges; complete (landed) days."""

from datetime import date

import pytest
from coinstream_common.timeutil import merge_ranges
from coinstream_query.coverage import CoinCoverage, Island, coin_coverage, complete_days, holes, runs
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

H = 3_600_000
DAY = 86_400_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


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


def test_complete_days_need_every_grid_bucket_of_the_day_inside_the_range():
    frm, to = T0 + 12 * H, T0 + 3 * DAY + 5 * H
    counts = {
        date(2026, 1, 1): 12,  # 12:00..23:00 inside the range: complete
        date(2026, 1, 2): 23,  # one hour missing
        date(2026, 1, 3): 24,
        date(2026, 1, 4): 6,  # 00:00..05:00: complete
    }
    assert complete_days(counts, frm, to, "hourly") == [(frm, T0 + DAY - 1), (T0 + 2 * DAY, to)]
    assert complete_days({}, frm, to, "daily") == []
    assert complete_days({date(2026, 1, 2): 1, date(2026, 1, 3): 1}, frm, to, "daily") == [(T0 + DAY, T0 + 3 * DAY - 1)]


def test_a_day_with_no_grid_point_inside_the_range_is_never_complete():
    # 5m grid from 23:58 to 00:03 of the next day: one point (00:00) on day two, none on day one.
    frm, to = T0 + DAY - 2 * 60_000, T0 + DAY + 3 * 60_000
    assert complete_days({date(2026, 1, 1): 5, date(2026, 1, 2): 1}, frm, to, "5m") == [(T0 + DAY, to)]


def test_merge_ranges_joins_touching_and_overlapping_ranges():
    assert merge_ranges([(10, 20), (0, 4), (5, 9), (15, 30), (32, 40)]) == [(0, 30), (32, 40)]
