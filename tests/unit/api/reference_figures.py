"""An independent, deliberately plain re-computation of the portfolio figures.

It follows the definitions in coinstream_api.figures' docstring but computes
them differently: the time-weighted return by splitting the valued points
into segments at each purchase and chaining segment returns (the API chains
per-step factors), the drawdown by comparing every pair of points, the
volatility with ``statistics.stdev``, P&L from the per-lot cash flows.
"""

from __future__ import annotations

import itertools
import math
import statistics


def reference(ts, prices, lots, periods_per_year):
    def held(lot, t):
        return lot["acquired_at"] is None or lot["acquired_at"] <= t

    valued = []
    for i, t in enumerate(ts):
        if all(prices[l["coin"]][i] is not None for l in lots if held(l, t)):
            valued.append(i)
    if not valued:
        return None

    def value(i, which=None):
        total = 0.0
        for l in lots:
            if held(l, ts[i]) and (which is None or which(l)):
                total += l["amount"] * prices[l["coin"]][i]
        return total

    first, last = valued[0], valued[-1]
    # Entry point of each lot not held at the start: the first valued point where it is held.
    entry = {}
    for n, l in enumerate(lots):
        if held(l, ts[first]):
            continue
        for i in valued:
            if held(l, ts[i]):
                entry[n] = i
                break

    def cost(n):
        l = lots[n]
        price = l["acquired_price"] if l["acquired_price"] is not None else prices[l["coin"]][entry[n]]
        return l["amount"] * price

    def value_of(lot_ids, i):
        return sum(lots[n]["amount"] * prices[lots[n]["coin"]][i] for n in lot_ids)

    purchases = sum(cost(n) for n in entry)
    start, end = value(first), value(last)
    pnl = end - start - purchases
    invested = start + purchases

    # Time-weighted: one segment from each purchase point to the next. A segment holds the lots
    # held at its start; it starts with the capital there (before + purchases) and ends with
    # what those lots are worth at the next purchase point, before that purchase.
    starts = [first] + sorted(set(entry.values()))
    index = {}
    level = 1.0
    for k, a in enumerate(starts):
        b = starts[k + 1] if k + 1 < len(starts) else None
        lot_ids = [n for n, l in enumerate(lots) if held(l, ts[a])]
        if k == 0:
            capital = start
        else:
            new = [n for n in entry if entry[n] == a]
            before = value_of([n for n in lot_ids if n not in new], a)
            capital = before + sum(cost(n) for n in new)
        for i in valued:
            if i >= a and (b is None or i < b):
                index[i] = level * (value_of(lot_ids, i) / capital if capital > 0 else 1.0)
        if b is not None:
            level *= value_of(lot_ids, b) / capital if capital > 0 else 1.0
    twr = index[last] - 1.0

    series = [index[i] for i in valued]
    max_dd = 0.0
    for j in range(len(series)):
        for i in range(j):
            max_dd = max(max_dd, 1.0 - series[j] / series[i])

    returns = []
    for a, b in itertools.pairwise(valued):
        if value(a) == 0 and b not in entry.values():
            continue
        returns.append(index[b] / index[a] - 1.0)
    vol = statistics.stdev(returns) * math.sqrt(periods_per_year) if len(returns) >= 2 else None

    per_coin = {}
    for coin in {l["coin"] for l in lots}:
        mine = lambda l, c=coin: l["coin"] == c
        coin_purchases = sum(cost(n) for n in entry if lots[n]["coin"] == coin)
        coin_pnl = value(last, mine) - value(first, mine) - coin_purchases
        per_coin[coin] = coin_pnl / invested if invested > 0 else None

    return {
        "start_value": start,
        "end_value": end,
        "purchases": purchases,
        "pnl": pnl,
        "total_return": pnl / invested if invested > 0 else None,
        "time_weighted_return": twr,
        "max_drawdown": max_dd,
        "volatility_annualised": vol,
        "contributions": per_coin,
    }
