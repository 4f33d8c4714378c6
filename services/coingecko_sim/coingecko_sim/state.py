"""Everything the simulator holds between calls (one process: run one gunicorn worker)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import current_app

from .config import SimConfig
from .faults import FaultBoard, Stats
from .ratelimit import SlidingWindowLimiter

EXTENSION = "coingecko_sim"


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SimState:
    """Config, clock, rate-limit windows, faults and call statistics."""

    def __init__(
        self,
        config: SimConfig,
        clock_ms: Callable[[], int] = wall_clock_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.seed = config.seed
        self.now_ms = clock_ms
        self.sleep = sleep
        self.limiter = SlidingWindowLimiter(clock=lambda: self.now_ms() / 1000.0)
        self.faults = FaultBoard(config.seed)
        self.stats = Stats()
        self._lock = threading.Lock()
        self.rate_limits: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        """Back to the start-up configuration: its rate limits and faults, empty windows and stats."""
        with self._lock:
            self.rate_limits = self.config.rate_limits()
        self.limiter.reset()
        self.stats.reset()
        self.faults.clear()
        for spec in self.config.faults:
            self.faults.set(spec)

    def set_rate_limits(self, limits: dict[str, int]) -> dict[str, int]:
        with self._lock:
            self.rate_limits = {**self.rate_limits, **limits}
            current = dict(self.rate_limits)
        self.limiter.reset()
        return current

    def rate_limit(self, plan: str) -> int:
        return self.rate_limits[plan]


def current() -> SimState:
    return current_app.extensions[EXTENSION]
