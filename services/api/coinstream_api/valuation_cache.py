"""Valuations from the query service, kept until a landed batch could change them.

A valuation over a year of days is 365 partitions for Trino (~0.6 s on two
cores) while the answer only changes when data for its coins and range lands,
and every landing is announced on ``coin.prices.landed``. So each process
keeps recent valuations (up to ``valuation_cache_cells`` coin x point cells)
by what they cover (coins, currency, range, interval: amounts do not matter,
the api asks for unit holdings) and drops an entry the
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

from coinstream_contract.events import LandedNotification, PortfolioEvent

from . import metrics
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
        return cls(
            tuple(sorted({h.coin for h in portfolio.holdings})),
            portfolio.vs_currency,
            portfolio.from_,
            portfolio.to,
            portfolio.interval,
        )

    def touched_by(self, note: LandedNotification) -> bool:
        return touches_range(note, self.coins, self.vs_currency, self.from_ms, self.to_ms, self.interval)


def cell_count(key: ValuationKey, valuation: dict[str, Any]) -> int:
    """The size that matters for memory: coins x points (~450 bytes each as parsed JSON)."""
    return len(key.coins) * max(1, len(valuation.get("points") or ()))


class ValuationCache:
    """Least recently used first out, bounded by ``max_cells`` in all."""

    def __init__(self, max_cells: int, watcher_ready: Callable[[], bool]) -> None:
        self.max_cells = max_cells
        self._watcher_ready = watcher_ready
        self._items: OrderedDict[ValuationKey, tuple[dict[str, Any], int]] = OrderedDict()
        self._cells = 0
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
            return found[0]
        metrics.VALUATION_CACHE.labels("miss").inc()
        valuation = compute()
        size = cell_count(key, valuation)
        with self._lock:
            if generation is not None and generation == self._generation and size <= self.max_cells:
                self._drop(key)
                self._items[key] = (valuation, size)
                self._cells += size
                while self._cells > self.max_cells:
                    self._drop(next(iter(self._items)))
        return valuation

    def _drop(self, key: ValuationKey) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self._cells -= entry[1]

    def on_landed(self, note: LandedNotification) -> None:
        with self._lock:
            for key in [k for k in self._items if k.touched_by(note)]:
                self._drop(key)
            self._generation += 1

    @property
    def generation(self) -> int:
        """How many landed notifications this process has read (a valuation begun at an older one may be outdated)."""
        return self._generation

    def __len__(self) -> int:
        return len(self._items)

    @property
    def cells(self) -> int:
        return self._cells
