"""Portfolio valuation: the rules, the rows of the SQL turned into points, and the JSON answer.

At each grid point t and for each coin, the price is the last observation at
or before t. Its age t - price_ts gives the status:

- ``observed``: age < one interval, i.e. an observation in (t - step, t];
- ``carried``: older, but age <= the staleness bound (carried forward);
- ``missing``: nothing within the bound (price and price_ts are null).

A coin's amount at t is the sum of its lots acquired at or before t (a lot
without ``acquired_at`` always counts); a coin with amount 0 at t does not
count: its value is 0 and it does not affect the point. A point's value is
the sum of its holdings' values, or null when a counted holding is missing;
its status is the worst counted status (missing > carried > observed).

Coverage counts the counted coin-points whose status is observed; the
missing list merges consecutive non-observed points of a coin into ranges
[first t - step, last t]: the span in which new observations would fix them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coinstream_common.timeutil import to_iso
from coinstream_contract.vocabulary import STATUS_OBSERVED

from .coverage import runs
from .sql import SEVERITY

STATUS_BY_SEVERITY = {v: k for k, v in SEVERITY.items()}


@dataclass(frozen=True)
class Cell:
    """One coin at one point."""

    coin: str
    amount: float
    price: float | None
    price_ts: int | None
    status: str
    value: float | None


@dataclass(frozen=True)
class Point:
    t: int
    value: float | None
    status: str
    cells: dict[str, Cell]


def points_from_rows(rows: list[tuple]) -> list[Point]:
    """Rows of ``sql.valuation`` (ordered by t, coin) grouped into points."""
    points: list[Point] = []
    current_t = None
    cells: dict[str, Cell] = {}
    head: tuple = ()
    for t, coin, amount, price, price_ts, status, value, point_value, point_severity in rows:
        if t != current_t:
            if current_t is not None:
                points.append(Point(current_t, head[0], STATUS_BY_SEVERITY[head[1]], cells))
            current_t, cells = t, {}
        head = (point_value, int(point_severity))
        cells[coin] = Cell(coin, float(amount), price, price_ts, status, value)
    if current_t is not None:
        points.append(Point(current_t, head[0], STATUS_BY_SEVERITY[head[1]], cells))
    return points


@dataclass(frozen=True)
class Coverage:
    expected: int
    present: int
    missing: list[tuple[str, int, int]]  # (coin, from_ms, to_ms)

    @property
    def fraction(self) -> float:
        return self.present / self.expected if self.expected else 1.0


def coverage(points: list[Point], step_ms: int) -> Coverage:
    expected = present = 0
    lacking: dict[str, list[int]] = {}
    for p in points:
        for cell in p.cells.values():
            if cell.amount <= 0:
                continue
            expected += 1
            if cell.status == STATUS_OBSERVED:
                present += 1
            else:
                lacking.setdefault(cell.coin, []).append(p.t)
    missing = [
        (coin, first - step_ms, last) for coin in sorted(lacking) for first, last in runs(lacking[coin], step_ms)
    ]
    return Coverage(expected, present, missing)


def _cell_json(cell: Cell) -> dict[str, Any]:
    return {
        "amount": cell.amount,
        "price": cell.price,
        "price_ts": None if cell.price_ts is None else to_iso(cell.price_ts),
        "value": cell.value,
        "status": cell.status,
    }


def response(
    vs_currency: str, interval: str, from_ms: int, to_ms: int, staleness_ms: int, points: list[Point], step_ms: int
) -> dict[str, Any]:
    cov = coverage(points, step_ms)
    return {
        "vs_currency": vs_currency,
        "interval": interval,
        "from": to_iso(from_ms),
        "to": to_iso(to_ms),
        "staleness_s": staleness_ms // 1000,
        "points": [
            {
                "ts": to_iso(p.t),
                "value": p.value,
                "status": p.status,
                "holdings": {coin: _cell_json(cell) for coin, cell in p.cells.items()},
            }
            for p in points
        ],
        "coverage": {
            "expected": cov.expected,
            "present": cov.present,
            "fraction": cov.fraction,
            "missing": [{"coin": c, "from": to_iso(f), "to": to_iso(t)} for c, f, t in cov.missing],
        },
    }
