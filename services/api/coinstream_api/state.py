"""A portfolio's state: the query service's prices and coverage turned into figures.

Pure: ``build_state`` takes the portfolio and the query's valuation answer
and returns everything the JSON answers, the stream and the chart show.
The value of each point is recomputed here from the prices (not taken from
the query's total) because lots bought inside the range are only held from
their ``acquired_at`` on, and the figures need each coin separately.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from coinstream_common.timeutil import parse_instant, to_iso
from coinstream_contract.events import PortfolioEvent
from coinstream_contract.vocabulary import STATUS_CARRIED, STATUS_MISSING, STATUS_OBSERVED

from . import figures as fig


@dataclass(frozen=True)
class MissingRange:
    coin: str
    from_ms: int
    to_ms: int


@dataclass(frozen=True)
class PortfolioState:
    portfolio: PortfolioEvent
    figures: fig.Figures
    series: fig.Series
    statuses: list[str]
    expected: int
    present: int
    fraction: float
    missing: list[MissingRange]
    as_of_ms: int

    @property
    def complete(self) -> bool:
        return self.expected > 0 and self.present >= self.expected and not self.missing

    def document(self, stale: bool = False) -> dict[str, Any]:
        """The JSON body of POST/GET answers and of stream events."""
        p = self.portfolio
        return {
            "id": p.id,
            "status": "complete" if self.complete else "pending",
            "vs_currency": p.vs_currency,
            "from": to_iso(p.from_),
            "to": to_iso(p.to),
            "interval": p.interval,
            "created_at": to_iso(p.created_at),
            "holdings": [holding_document(h) for h in p.holdings],
            "completeness": {
                "fraction": self.fraction,
                "expected": self.expected,
                "present": self.present,
                "missing": [{"coin": m.coin, "from": to_iso(m.from_ms), "to": to_iso(m.to_ms)} for m in self.missing],
            },
            "valuation": {
                "figures": figures_document(self.figures),
                "points": [
                    {"ts": to_iso(t), "value": v, "status": s}
                    for t, v, s in zip(self.series.ts, self.series.value, self.statuses)
                ],
            },
            "as_of": to_iso(self.as_of_ms),
            "stale": stale,
        }


def holding_document(h) -> dict[str, Any]:
    return {
        "coin": h.coin,
        "amount": h.amount,
        "acquired_at": to_iso(h.acquired_at) if h.acquired_at is not None else None,
        "acquired_price": h.acquired_price,
    }


def figures_document(f: fig.Figures) -> dict[str, Any]:
    doc = asdict(f)
    doc.pop("coins")
    doc["start"] = to_iso(doc.pop("start_ts")) if f.start_ts is not None else None
    doc["end"] = to_iso(doc.pop("end_ts")) if f.end_ts is not None else None
    doc["holdings"] = {c: asdict(cf) for c, cf in f.coins.items()}
    return doc


def lots_of(portfolio: PortfolioEvent) -> list[fig.Lot]:
    return [fig.Lot(h.coin, h.amount, h.acquired_at, h.acquired_price) for h in portfolio.holdings]


class BadValuation(ValueError):
    """The query's answer does not have the contract's shape."""


def build_state(portfolio: PortfolioEvent, valuation: dict[str, Any], as_of_ms: int) -> PortfolioState:
    lots = lots_of(portfolio)
    coins = sorted({lot.coin for lot in lots})
    try:
        points = valuation["points"]
        ts = [parse_instant(p["ts"]) for p in points]
        prices: dict[str, list[float | None]] = {c: [] for c in coins}
        coin_status: dict[str, list[str]] = {c: [] for c in coins}
        for p in points:
            held = p.get("holdings") or {}
            for c in coins:
                h = held.get(c) or {}
                price, status = h.get("price"), h.get("status", STATUS_MISSING)
                if status != STATUS_MISSING and isinstance(price, (int, float)) and not isinstance(price, bool):
                    prices[c].append(float(price))
                    coin_status[c].append(status)
                else:
                    prices[c].append(None)
                    coin_status[c].append(STATUS_MISSING)
        cov = valuation["coverage"]
        missing = [
            MissingRange(m["coin"], parse_instant(m["from"]), parse_instant(m["to"])) for m in cov.get("missing", [])
        ]
        expected, present = int(cov["expected"]), int(cov["present"])
        fraction = float(cov.get("fraction", present / expected if expected else 0.0))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadValuation(f"valuation answer not understood: {type(exc).__name__}: {exc}") from None

    figures, series = fig.compute(ts, prices, lots, portfolio.interval)
    statuses = []
    for i, t in enumerate(ts):
        held = [c for c in coins if any(l.coin == c and l.held_at(t) for l in lots)]
        if series.value[i] is None:
            statuses.append(STATUS_MISSING)
        elif any(coin_status[c][i] == STATUS_CARRIED for c in held):
            statuses.append(STATUS_CARRIED)
        else:
            statuses.append(STATUS_OBSERVED)
    return PortfolioState(portfolio, figures, series, statuses, expected, present, fraction, missing, as_of_ms)
