"""Which parts of a range already landed in the table, asked of the query service (best effort, bounded in time).

The backfill worker asks before fetching. The query service owns the table and
the rule (a UTC day counts as landed when every grid bucket of the asked
interval inside the range holds an observation; ``GET /v1/landed/{coin}``);
ingest never talks to Trino. If the query service is down, slow, or answers
anything but the expected shape, the answer is "nothing known" and the whole
range is fetched (the events dedupe by event_id downstream, so that is only
wasteful).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import requests
from coinstream_common.timeutil import merge_ranges, parse_instant, to_iso

from .backfill import Range
from .history import SOURCE, first_grid_point

log = logging.getLogger(__name__)

#: The whole lookup (connect, the query service's Trino query, the answer) may take at most this long.
LOOKUP_DEADLINE_S = 5.0


class LandedLookupError(ValueError):
    """The query service answered, but not with landed days of the asked range."""


class QueryServiceCoverage:
    """``landed(coin, vs_currency, interval, from_ms, to_ms) -> covered ranges`` via the query service."""

    def __init__(self, base_url: str, deadline_s: float = LOOKUP_DEADLINE_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.deadline_s = deadline_s
        self._session = requests.Session()  # used by the one pool thread only
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="landed-lookup")

    def _ask(self, coin: str, vs: str, interval: str, from_ms: int, to_ms: int) -> list[Range]:
        resp = self._session.get(
            f"{self.base_url}/v1/landed/{coin}",
            params={
                "vs_currency": vs,
                "interval": interval,
                "from": to_iso(from_ms),
                "to": to_iso(to_ms),
                "source": SOURCE,
            },
            timeout=(min(2.0, self.deadline_s), self.deadline_s),
        )
        if resp.status_code != 200:
            raise LandedLookupError(f"query service answered {resp.status_code}")
        days = resp.json().get("days")
        if not isinstance(days, list):
            raise LandedLookupError("query service answered without days")
        ranges = []
        for d in days:
            lo, hi = parse_instant(d["from"]), parse_instant(d["to"])
            if not from_ms <= lo <= hi <= to_ms:
                raise LandedLookupError(f"landed range {d} is outside the asked one")
            ranges.append((lo, hi))
        return merge_ranges(ranges)

    def __call__(self, coin: str, vs_currency: str, interval: str, from_ms: int, to_ms: int) -> list[Range]:
        start = first_grid_point(from_ms, interval)
        if start > to_ms:
            return []
        future = self._pool.submit(self._ask, coin, vs_currency, interval, start, to_ms)
        try:
            return future.result(timeout=self.deadline_s)
        except FutureTimeout:
            log.info("landed-days lookup took over %.0fs; fetching the whole range", self.deadline_s)
            return []
        except Exception as exc:  # noqa: BLE001 - best effort by design
            log.info("landed-days lookup failed (%s); fetching the whole range", str(exc).splitlines()[0][:200])
            return []
