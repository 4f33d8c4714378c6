"""An independent, plain-Python valuation, used only by tests to check the SQL.

It follows the rules in ``valuation``'s docstring with a different algorithm
(a binary search per coin and point instead of a window over a merged time
line), from the raw observations, so a mistake in the SQL cannot hide in a
shared helper. Observations with the same timestamp are ordered like the
SQL orders them (event_id, then ingested_at, missing last/first, then
price), so duplicates and ties resolve the same way.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from coinstream_query.sql import Holding
from coinstream_query.valuation import Cell, Point

SEVERITY = {"observed": 0, "carried": 1, "missing": 2}


@dataclass(frozen=True)
class Observation:
    coin: str
    ts_ms: int
    price: float | None
    event_id: str | None = None
    ingested_ms: int | None = None


def classify(t: int, price_ts: int | None, step_ms: int, staleness_ms: int) -> str:
    if price_ts is None:
        return "missing"
    age = t - price_ts
    if age < step_ms:
        return "observed"
    if age <= staleness_ms:
        return "carried"
    return "missing"


def _order(o: Observation) -> tuple:
    # Trino sorts NULL last by default (event_id) and first where asked (ingested_at).
    return (
        o.ts_ms,
        o.event_id is None,
        o.event_id or "",
        o.ingested_ms is not None,
        o.ingested_ms or 0,
        o.price,
    )


def valuate(
    holdings: list[Holding],
    observations: Iterable[Observation],
    grid: list[int],
    step_ms: int,
    staleness_ms: int,
) -> list[Point]:
    coins = sorted({h.coin for h in holdings})
    by_coin: dict[str, list[Observation]] = {c: [] for c in coins}
    for o in observations:
        if o.coin in by_coin and o.price is not None:
            by_coin[o.coin].append(o)
    timelines = {c: sorted(obs, key=_order) for c, obs in by_coin.items()}
    stamps = {c: [o.ts_ms for o in obs] for c, obs in timelines.items()}

    points = []
    for t in grid:
        cells: dict[str, Cell] = {}
        worst = 0
        total = 0.0
        any_missing = False
        for c in coins:
            amount = 0.0
            for h in holdings:
                if h.coin == c and (h.acquired_ms is None or h.acquired_ms <= t):
                    amount += h.amount
            i = bisect_right(stamps[c], t) - 1
            last = timelines[c][i] if i >= 0 else None
            status = classify(t, last.ts_ms if last else None, step_ms, staleness_ms)
            price = last.price if last and status != "missing" else None
            price_ts = last.ts_ms if last and status != "missing" else None
            value: float | None
            if amount == 0:
                value = 0.0
            elif price is None:  # status "missing"
                value = None
            else:
                value = amount * price
            cells[c] = Cell(c, amount, price, price_ts, status, value)
            if amount > 0:
                worst = max(worst, SEVERITY[status])
                if value is None:
                    any_missing = True
                else:
                    total += value
        status_of_point = next(s for s, v in SEVERITY.items() if v == worst)
        points.append(Point(t, None if any_missing else total, status_of_point, cells))
    return points
