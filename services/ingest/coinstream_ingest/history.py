"""History requests as CoinGecko calls, and CoinGecko charts as price events (pure).

CoinGecko picks the granularity of ``/coins/{id}/market_chart/range`` from the
length of the range (no ``interval`` parameter below the Enterprise plan):

- 1 day ending at the current time: about 5-minutely;
- up to 90 days: hourly;
- above 90 days: daily (00:00 UTC).

So a request for a granularity is split into calls whose ranges make CoinGecko
answer with at least that granularity: 5m from the last day only (one call
ending now), hourly in calls of at most 90 days, daily in calls of more than 90
days (a short daily range is widened, then filtered). Whatever comes back is
reduced to the asked grid: a grid bucket ``[g, g + step)`` keeps its first
observation, with the timestamp CoinGecko gave it (an observation is never
moved to another instant). Buckets start at grid points inside ``[from, to]``,
so points before the first grid point are not reported.

The chunks' own ranges partition the grid points of ``[from, to]`` and chunk
boundaries are grid points, so two chunks never produce the same bucket and a
retried request produces exactly the same event ids.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from coinstream_common.timeutil import floor_to
from coinstream_contract.events import PriceEvent
from coinstream_contract.vocabulary import INTERVAL_MS

SOURCE = "coingecko"
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

#: Longest call answered hourly (CoinGecko: "2-90 days = hourly").
HOURLY_MAX_SPAN_MS = 90 * DAY_MS
#: Shortest call answered daily ("above 90 days = daily"), with a margin.
DAILY_MIN_SPAN_MS = 91 * DAY_MS
#: Daily ranges of years are split so the calls can run concurrently.
DAILY_MAX_SPAN_MS = 365 * DAY_MS
#: 5-minutely data exists only for "1 day from current time".
FIVE_MINUTE_WINDOW_MS = DAY_MS
#: Kept away from the plan's history limit so clock skew does not cross it.
LIMIT_MARGIN_MS = HOUR_MS

MAX_SPAN_MS = {"5m": FIVE_MINUTE_WINDOW_MS, "hourly": HOURLY_MAX_SPAN_MS, "daily": DAILY_MAX_SPAN_MS}


class RangeError(ValueError):
    """A history range CoinGecko cannot serve at the asked granularity; the message says why."""


@dataclass(frozen=True)
class Chunk:
    """One CoinGecko call: what it asks for, and the part of the answer it owns.

    ``own_from``/``own_to`` (epoch ms, inclusive) partition the request's grid
    points between chunks; ``fetch_from_s``/``fetch_to_s`` (epoch seconds) are
    the ``from``/``to`` sent to CoinGecko and may be wider.
    """

    own_from: int
    own_to: int
    fetch_from_s: int
    fetch_to_s: int


def earliest_ms(now_ms: int, history_limit_days: int) -> int:
    """The oldest instant the plan serves, with a margin for clock skew."""
    oldest = now_ms - history_limit_days * DAY_MS + LIMIT_MARGIN_MS
    return -(-oldest // 1000) * 1000  # whole seconds: CoinGecko's from/to are seconds


def check_range(from_ms: int, to_ms: int, interval: str, now_ms: int, history_limit_days: int) -> tuple[int, int]:
    """Validate a history range; returns it with ``to`` clipped to now (the future has no prices yet)."""
    if interval not in INTERVAL_MS:
        raise RangeError(f"interval must be one of {', '.join(INTERVAL_MS)}, not {interval!r}")
    if from_ms > to_ms:
        raise RangeError("from is after to")
    if from_ms > now_ms:
        raise RangeError("from is in the future")
    to_ms = min(to_ms, now_ms)
    oldest = now_ms - history_limit_days * DAY_MS
    if from_ms < oldest:
        days = math.ceil((now_ms - from_ms) / DAY_MS)
        raise RangeError(
            f"from is {days} days ago; the CoinGecko plan serves at most {history_limit_days} days of history"
        )
    if interval == "5m" and from_ms < now_ms - FIVE_MINUTE_WINDOW_MS:
        raise RangeError("5-minute data exists only for the last 24 hours (CoinGecko's automatic granularity)")
    return from_ms, to_ms


def first_grid_point(from_ms: int, interval: str) -> int:
    start = floor_to(from_ms, interval)
    return start if start >= from_ms else start + INTERVAL_MS[interval]


def plan_chunks(from_ms: int, to_ms: int, interval: str, now_ms: int, earliest: int) -> list[Chunk]:
    """Split a checked range into calls that each return the asked granularity.

    ``earliest`` is the oldest instant a call may ask for (see ``earliest_ms``):
    widened daily calls stay inside the plan.
    """
    step = INTERVAL_MS[interval]
    span = MAX_SPAN_MS[interval]
    g0 = first_grid_point(from_ms, interval)
    if g0 > to_ms:
        return []
    starts = list(range(g0, to_ms, span)) or [g0]
    chunks = []
    for i, start in enumerate(starts):
        last = i == len(starts) - 1
        own_to = to_ms if last else starts[i + 1] - 1
        # The end the call must reach: the next boundary (a grid point, excluded by own_to) or `to`.
        end = to_ms if last else starts[i + 1]
        fetch_from, fetch_to = start, end
        if interval == "5m":
            fetch_to = now_ms  # "1 day from current time" is what CoinGecko answers 5-minutely
        elif interval == "daily" and end - start < DAILY_MIN_SPAN_MS:
            fetch_from = min(start, max(earliest, end - DAILY_MIN_SPAN_MS))
            fetch_to = max(end, min(now_ms, fetch_from + DAILY_MIN_SPAN_MS))
        if fetch_to - fetch_from < step:  # a call for an instant: ask for one step around it
            fetch_from = min(fetch_from, max(earliest, fetch_to - step))
        chunks.append(Chunk(start, own_to, fetch_from // 1000, -(-fetch_to // 1000)))
    return chunks


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def _series(pairs: object) -> dict[int, float | None]:
    out: dict[int, float | None] = {}
    if not isinstance(pairs, list):
        return out
    for pair in pairs:
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and _finite(pair[0]) is not None:
            out.setdefault(int(pair[0]), _finite(pair[1]))
    return out


def join_chart(payload: Mapping[str, object]) -> dict[int, tuple[float, float | None, float | None]]:
    """``prices``/``market_caps``/``total_volumes`` joined by timestamp; points without a valid price dropped."""
    prices = _series(payload.get("prices"))
    caps = _series(payload.get("market_caps"))
    volumes = _series(payload.get("total_volumes"))
    return {ts: (p, caps.get(ts), volumes.get(ts)) for ts, p in prices.items() if p is not None}


def resample(timestamps: Iterable[int], interval: str, own_from: int, own_to: int) -> list[int]:
    """The first timestamp of each grid bucket ``[g, g+step)`` with ``own_from <= g`` and the point ``<= own_to``."""
    kept: dict[int, int] = {}
    for ts in sorted(timestamps):
        if ts < own_from or ts > own_to:
            continue
        kept.setdefault(floor_to(ts, interval), ts)
    return sorted(kept.values())


def normalise(
    payload: Mapping[str, object],
    coin_id: str,
    vs_currency: str,
    interval: str,
    own_from: int,
    own_to: int,
    ingested_at: int,
) -> list[PriceEvent]:
    """A market_chart response as price events on the asked grid within one chunk's own range."""
    points = join_chart(payload)
    return [
        PriceEvent.observe(coin_id, vs_currency, ts, points[ts][0], SOURCE, points[ts][1], points[ts][2], ingested_at)
        for ts in resample(points, interval, own_from, own_to)
    ]


def simple_price_events(payload: Mapping[str, object], vs_currency: str, now_ms: int) -> list[PriceEvent]:
    """A ``/simple/price`` answer as events stamped with CoinGecko's ``last_updated_at`` (else now)."""
    events = []
    for coin_id, quote in sorted(payload.items()):
        if not isinstance(quote, Mapping):
            continue
        price = _finite(quote.get(vs_currency))
        if price is None:
            continue
        updated = _finite(quote.get("last_updated_at"))
        ts = int(updated * 1000) if updated else now_ms
        events.append(
            PriceEvent.observe(
                coin_id,
                vs_currency,
                ts,
                price,
                SOURCE,
                _finite(quote.get(f"{vs_currency}_market_cap")),
                _finite(quote.get(f"{vs_currency}_24h_vol")),
                now_ms,
            )
        )
    return events
