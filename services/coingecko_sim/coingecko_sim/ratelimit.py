"""A per-caller sliding-window rate limit: at most N accepted calls in any 60 seconds.

Only accepted calls take a place in the window, so ``Retry-After`` (the
seconds until the oldest of them leaves the window) is exact: a client that
waits that long gets through. The window and the per-caller table are the
shared ones of ``coinstream_common.ratelimit``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from coinstream_common.ratelimit import PerCaller, SlidingWindow

WINDOW_S = 60.0


class SlidingWindowLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._windows = PerCaller(lambda: SlidingWindow(window_s, clock))

    def check(self, caller: str, per_window: int) -> int | None:
        """Admit one call of ``caller`` (None) or say how many whole seconds to wait. 0 means unlimited."""
        if per_window <= 0:
            return None
        wait = self._windows(caller).admit(per_window)
        return None if wait == 0.0 else max(1, math.ceil(wait))

    def reset(self) -> None:
        self._windows.clear()
