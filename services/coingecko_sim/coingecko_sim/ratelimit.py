"""A per-caller sliding-window rate limit: at most N accepted calls in any 60 seconds.

Only accepted calls take a place in the window, so ``Retry-After`` (the
seconds until the oldest of them leaves the window) is exact: a client that
waits that long gets through.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

WINDOW_S = 60.0
#: Above this many callers, idle ones are forgotten (bounds memory when clients rotate keys).
MAX_CALLERS = 10_000


class SlidingWindowLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, window_s: float = WINDOW_S) -> None:
        self._clock = clock
        self.window_s = window_s
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, caller: str, per_window: int) -> int | None:
        """Admit one call of ``caller`` (None) or say how many whole seconds to wait. 0 means unlimited."""
        if per_window <= 0:
            return None
        now = self._clock()
        with self._lock:
            if caller not in self._calls and len(self._calls) >= MAX_CALLERS:
                self._prune(now)
            calls = self._calls.setdefault(caller, deque())
            while calls and calls[0] <= now - self.window_s:
                calls.popleft()
            if len(calls) < per_window:
                calls.append(now)
                return None
            wait = calls[len(calls) - per_window] + self.window_s - now
            return max(1, math.ceil(wait))

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()

    def _prune(self, now: float) -> None:
        for caller in [c for c, calls in self._calls.items() if not calls or calls[-1] <= now - self.window_s]:
            del self._calls[caller]
