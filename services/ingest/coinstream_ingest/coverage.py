"""Which parts of a range already landed in the price table (best effort, bounded in time).

The backfill worker asks before fetching; if Trino is down, slow, or the table
does not exist yet, the answer is "nothing known" and the whole range is
fetched (the events dedupe by event_id downstream, so that is only wasteful).
A UTC day counts as landed when it holds an observation in every grid bucket
of the asked interval that falls inside the range.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, date, datetime, timedelta

from coinstream_common.settings import TrinoSettings
from coinstream_common.timeutil import grid
from coinstream_contract.vocabulary import INTERVAL_MS

from .backfill import Range, merge_ranges
from .history import DAY_MS, SOURCE, first_grid_point

log = logging.getLogger(__name__)

#: The whole lookup (connect, plan, run) may take at most this long.
LOOKUP_DEADLINE_S = 5.0


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def complete_days(buckets_by_day: Mapping[date, int], from_ms: int, to_ms: int, interval: str) -> list[Range]:
    """Ranges of the days whose bucket count reaches the grid points of that day within [from, to]."""
    covered: list[Range] = []
    d = _day(from_ms)
    while _day_start(d) <= to_ms:
        lo, hi = max(_day_start(d), from_ms), min(_day_start(d) + DAY_MS - 1, to_ms)
        expected = len(grid(lo, hi, interval))
        if expected and buckets_by_day.get(d, 0) >= expected:
            covered.append((lo, hi))
        d += timedelta(days=1)
    return merge_ranges(covered)


class TrinoCoverage:
    """``landed(coin, vs_currency, interval, from_ms, to_ms) -> covered ranges`` via the ``trino`` client."""

    def __init__(self, settings: TrinoSettings) -> None:
        self.settings = settings
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="trino-coverage")

    def _query(self, coin: str, vs: str, interval: str, from_ms: int, to_ms: int) -> dict[date, int]:
        import trino  # imported lazily: only the backfill worker needs it

        s = self.settings
        step_s = INTERVAL_MS[interval] // 1000
        conn = trino.dbapi.connect(
            host=s.host,
            port=s.port,
            user=s.user,
            catalog=s.catalog,
            schema=s.schema_,
            request_timeout=min(s.request_timeout_s, LOOKUP_DEADLINE_S),
            max_attempts=1,
        )
        try:
            cur = conn.cursor()
            cur.execute(
                f'SELECT day, count(DISTINCT floor(to_unixtime(ts) / {step_s})) FROM "{s.table}" '
                "WHERE coin_id = ? AND vs_currency = ? AND source = ? AND day BETWEEN ? AND ? "
                "AND ts BETWEEN ? AND ? GROUP BY day",
                [
                    coin,
                    vs,
                    SOURCE,
                    _day(from_ms),
                    _day(to_ms),
                    datetime.fromtimestamp(from_ms / 1000, tz=UTC).replace(tzinfo=None),
                    datetime.fromtimestamp(to_ms / 1000, tz=UTC).replace(tzinfo=None),
                ],
            )
            return {row[0]: int(row[1]) for row in cur.fetchall()}
        finally:
            conn.close()

    def __call__(self, coin: str, vs_currency: str, interval: str, from_ms: int, to_ms: int) -> list[Range]:
        start = first_grid_point(from_ms, interval)
        if start > to_ms:
            return []
        future = self._pool.submit(self._query, coin, vs_currency, interval, start, to_ms)
        try:
            counts = future.result(timeout=LOOKUP_DEADLINE_S)
        except FutureTimeout:
            log.info("landed-coverage lookup took over %.0fs; fetching the whole range", LOOKUP_DEADLINE_S)
            return []
        except Exception as exc:  # noqa: BLE001 - best effort by design
            log.info("landed-coverage lookup failed (%s); fetching the whole range", str(exc).splitlines()[0][:200])
            return []
        return complete_days(counts, start, to_ms, interval)
