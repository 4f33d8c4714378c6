"""Instants on the wire: ISO 8601 (UTC) over HTTP, epoch milliseconds in events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from coinstream_contract.vocabulary import INTERVAL_MS, MAX_INSTANT_MS


def parse_instant(value: str | float) -> int:
    """ISO 8601 date or date-time (UTC when no offset), or epoch seconds/ms, to epoch ms in [1970, 3000)."""
    ms = _parse(value)
    if not 0 <= ms < MAX_INSTANT_MS:
        raise ValueError(f"{value!r} is not between 1970-01-01 and {to_iso(MAX_INSTANT_MS)[:10]}")
    return ms


def _parse(value: str | float) -> int:
    if isinstance(value, bool):
        raise ValueError("not an instant")  # noqa: TRY004 - callers (pydantic validators, params) catch ValueError
    if isinstance(value, (int, float)):
        if not -1e15 < value < 1e15:  # also rejects inf/nan: beyond any date we handle
            raise ValueError(f"{value!r} is out of range for an instant")
        # Heuristic CoinGecko also uses: values above 1e11 are milliseconds.
        return int(value if value > 1e11 else value * 1000)
    text = str(value).strip()
    if text.isdigit():
        return _parse(int(text))
    try:
        # FURB162 kept: fromisoformat alone would reject a date with a Z ("2024-01-01Z"), accepted so far
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: FURB162
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date or date-time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def to_iso(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + "Z"


def floor_to(ms: int, interval: str) -> int:
    step = INTERVAL_MS[interval]
    return ms - ms % step


def grid(from_ms: int, to_ms: int, interval: str) -> list[int]:
    """Bucket starts covering [from, to]: the points a series or valuation is reported at."""
    step = INTERVAL_MS[interval]
    start = floor_to(from_ms, interval)
    if start < from_ms:
        start += step
    return list(range(start, to_ms + 1, step))


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Union of inclusive ranges, sorted; ranges that touch (b + 1 == c) join."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out
