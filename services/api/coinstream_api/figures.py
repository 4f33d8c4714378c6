"""Portfolio performance figures from a price table: pure functions, no I/O.

The model, stated once so the API, the chart and the tests agree:

- A portfolio is a list of *lots* (coin, amount, acquired_at, acquired_price).
  A lot is held at point ``ts`` when it has no ``acquired_at`` or
  ``acquired_at <= ts``; its value there is ``amount * price(coin, ts)``.
- A point is *valued* when every lot held there has a price; the figures use
  the valued points only (while data is missing they are provisional).
- The lots held at the first valued point are the starting holdings (their
  market value is the start value). A lot that becomes held at a later
  valued point is a purchase there: a cash flow of ``amount * acquired_price``
  (or of its market value at that point when no price was given).
- P&L = end value - start value - purchases. Total return = P&L / invested
  capital, where invested capital = start value + purchases.
- Time-weighted return: sub-period growth factors chained, split at every
  purchase. Step p -> t contributes ``(V_t - E_t) / V_p`` (growth of what was
  held at p) times ``V_t / (V_t - E_t + CF_t)`` (the purchase at t: market value
  E_t bought for CF_t). Without purchases it equals the total return.
- Maximum drawdown: the largest fall from a running peak of the
  time-weighted index (so a purchase is not mistaken for a gain).
- Annualised volatility: sample standard deviation of the *simple* step
  returns of that index, times sqrt(periods per year) of the interval (crypto
  trades every day: 365 days a year). A step across missing points counts as
  one period; steps before anything is invested are left out.
- Contribution of a coin: its P&L (end - start - its purchases) divided by the
  invested capital, so the contributions add up to the total return.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from coinstream_contract.vocabulary import INTERVAL_MS

PERIODS_PER_YEAR = {interval: 365.0 * INTERVAL_MS["daily"] / step for interval, step in INTERVAL_MS.items()}


@dataclass(frozen=True)
class Lot:
    coin: str
    amount: float
    acquired_at: int | None = None  # epoch ms
    acquired_price: float | None = None

    def held_at(self, ts: int) -> bool:
        return self.acquired_at is None or self.acquired_at <= ts


Prices = Mapping[str, Sequence[float | None]]


@dataclass(frozen=True)
class CoinFigures:
    amount: float
    start_value: float
    end_value: float
    purchases: float
    pnl: float
    contribution: float | None


@dataclass(frozen=True)
class Figures:
    start_ts: int | None
    end_ts: int | None
    valued_points: int
    start_value: float | None
    end_value: float | None
    purchases: float
    invested: float | None
    pnl: float | None
    total_return: float | None
    time_weighted_return: float | None
    max_drawdown: float | None
    volatility_annualised: float | None
    periods_per_year: float
    coins: dict[str, CoinFigures] = field(default_factory=dict)
    volatility_basis: str = "simple step returns, sample stdev x sqrt(periods per year)"


@dataclass(frozen=True)
class Series:
    """Per-point results the chart draws: value, growth index, each coin's cumulative P&L."""

    ts: list[int]
    value: list[float | None]
    index: list[float | None]
    coin_pnl: dict[str, list[float | None]]


def point_values(ts: Sequence[int], prices: Prices, lots: Sequence[Lot]) -> list[float | None]:
    """Portfolio value at each point, None where a held lot has no price."""
    out: list[float | None] = []
    for i, t in enumerate(ts):
        total = 0.0
        for lot in lots:
            if not lot.held_at(t):
                continue
            price = prices[lot.coin][i]
            if price is None:
                out.append(None)
                break
            total += lot.amount * price
        else:
            out.append(total)
    return out


def _entering(lots: Sequence[Lot], prev_ts: int, ts: int) -> list[Lot]:
    return [lot for lot in lots if lot.held_at(ts) and not lot.held_at(prev_ts)]


def _cost(lot: Lot, price: float) -> float:
    return lot.amount * (lot.acquired_price if lot.acquired_price is not None else price)


def _sample_stdev(xs: Sequence[float]) -> float | None:
    if len(xs) < 2:
        return None
    mean = math.fsum(xs) / len(xs)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))


def compute(ts: Sequence[int], prices: Prices, lots: Sequence[Lot], interval: str) -> tuple[Figures, Series]:
    """All figures and the per-point series, over the valued points."""
    ppy = PERIODS_PER_YEAR[interval]
    values = point_values(ts, prices, lots)
    coins = sorted({lot.coin for lot in lots})
    value_at = {i: v for i, v in enumerate(values) if v is not None}
    valued = list(value_at)
    index: list[float | None] = [None] * len(ts)
    coin_pnl: dict[str, list[float | None]] = {c: [None] * len(ts) for c in coins}
    series = Series(list(ts), values, index, coin_pnl)
    if not valued:
        empty = Figures(None, None, 0, None, None, 0.0, None, None, None, None, None, None, ppy)
        return empty, series

    def price(coin: str, i: int) -> float:
        """A held coin's price at a valued point (there is one: that is what valued means)."""
        p = prices[coin][i]
        if p is None:
            raise ValueError(f"{coin} has no price at valued point {i}")
        return p

    def coin_value(coin: str, i: int) -> float:
        return math.fsum(l.amount * price(coin, i) for l in lots if l.coin == coin and l.held_at(ts[i]))

    first = valued[0]
    start_value = value_at[first]
    start_by_coin = {c: coin_value(c, first) for c in coins}
    purchases_by_coin = {c: 0.0 for c in coins}
    level = 1.0
    index[first] = level
    step_returns: list[float] = []
    peak, max_dd = level, 0.0
    for c in coins:
        coin_pnl[c][first] = 0.0
    prev = first
    for i in valued[1:]:
        new_lots = _entering(lots, ts[prev], ts[i])
        bought_cost = math.fsum(_cost(l, price(l.coin, i)) for l in new_lots)
        for l in new_lots:
            purchases_by_coin[l.coin] += _cost(l, price(l.coin, i))
        # What was held at prev, valued now (summed directly: V_t - E_t would cancel badly).
        before = math.fsum(l.amount * price(l.coin, i) for l in lots if l.held_at(ts[prev]))
        growth = before / value_at[prev] if value_at[prev] > 0 else 1.0
        entry = value_at[i] / (before + bought_cost) if bought_cost > 0 else 1.0
        factor = growth * entry
        if value_at[prev] > 0 or bought_cost > 0:  # a step with nothing invested is no return
            step_returns.append(factor - 1.0)
        level *= factor
        index[i] = level
        peak = max(peak, level)
        max_dd = max(max_dd, 1.0 - level / peak)
        for c in coins:
            coin_pnl[c][i] = coin_value(c, i) - start_by_coin[c] - purchases_by_coin[c]
        prev = i

    last = valued[-1]
    end_value = value_at[last]
    purchases = math.fsum(purchases_by_coin.values())
    invested = start_value + purchases
    pnl = end_value - start_value - purchases
    stdev = _sample_stdev(step_returns)
    per_coin = {}
    for c in coins:
        end_c = coin_value(c, last)
        pnl_c = end_c - start_by_coin[c] - purchases_by_coin[c]
        per_coin[c] = CoinFigures(
            amount=math.fsum(l.amount for l in lots if l.coin == c),
            start_value=start_by_coin[c],
            end_value=end_c,
            purchases=purchases_by_coin[c],
            pnl=pnl_c,
            contribution=pnl_c / invested if invested > 0 else None,
        )
    figures = Figures(
        start_ts=ts[first],
        end_ts=ts[last],
        valued_points=len(valued),
        start_value=start_value,
        end_value=end_value,
        purchases=purchases,
        invested=invested,
        pnl=pnl,
        total_return=pnl / invested if invested > 0 else None,
        time_weighted_return=level - 1.0,
        max_drawdown=max_dd,
        volatility_annualised=stdev * math.sqrt(ppy) if stdev is not None else None,
        periods_per_year=ppy,
        coins=per_coin,
    )
    return figures, series
