"""Valuations from the query service, kept until a landed batch could change them.

A valuation over a year of days is 365 partitions for Trino (~0.6 s on two
cores) while the answer only changes when data for its coins and range lands,
and every landing is announced on ``coin.prices.landed``. So each process
keeps recent valuations by what they cover (coins, currency, range, interval:
amounts do not matter, the api asks for unit holdings) and drops an entry the
moment its ``LandedWatcher`` reads a notification that touches it, before the
streams it wakes recompute.

Two races are closed with a generation number bumped by every notification: a
valuation asked before a notification and answered after it is not kept, and
nothing is kept until the watcher knows its start offsets (a notification
before those would never be seen).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coinstream_common import metrics
from coinstream_common.events import LandedNotification, PortfolioEvent

from .landed import touches_range


@dataclass(frozen=True)
class ValuationKey:
    coins: tuple[str, ...]
    vs_currency: str
    from_ms: int
    to_ms: int
    interval: str

    @classmethod
    def of(cls, portfolio: PortfolioEvent) -> ValuationKey:
        return cls(tuple(sorted({h.coin for h in portfolio.holdings})), portfolio.vs_currency, portfolio.from_,
                   portfolio.to, portfolio.interval)

    def touched_by(self, note: LandedNotification) -> bool:
        return touches_range(note, self.coins, self.vs_currency, self.from_ms, self.to_ms, self.interval)


class ValuationCache:
    def __init__(self, entries: int, watcher_ready: Callable[[], bool]) -> None:
        self.entries = entries
        self._watcher_ready = watcher_ready
        self._items: OrderedDict[ValuationKey, dict[str, Any]] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        for result in ("hit", "miss"):
            metrics.VALUATION_CACHE.labels(result)

    def get_or_compute(self, key: ValuationKey, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            generation = self._generation if self._watcher_ready() else None
        if found is not None:
            metrics.VALUATION_CACHE.labels("hit").inc()
            return found
        metrics.VALUATION_CACHE.labels("miss").inc()
        valuation = compute()
        with self._lock:
            if generation is not None and generation == self._generation:
                self._items[key] = valuation
                while len(self._items) > self.entries:
                    self._items.popitem(last=False)
        return valuation

    def on_landed(self, note: LandedNotification) -> None:
        with self._lock:
            for key in [k for k in self._items if k.touched_by(note)]:
                del self._items[key]
            self._generation += 1

    def __len__(self) -> int:
        return len(self._items)
