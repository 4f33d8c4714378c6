"""The tree's rate limiting: one token bucket, one sliding window, and a table of them per caller.

- ``TokenBucket``: ingest's process-wide CoinGecko budget (blocking ``acquire``,
  ``pause`` for a Retry-After) and, per API key, the api's request limit
  (non-blocking ``try_take``).
- ``SlidingWindow``: at most N calls in any window, with the exact wait; the
  simulator answers CoinGecko's per-minute limit with it.
- ``PerCaller``: one of either per caller key, idle ones forgotten past a bound.

Kept by hand rather than taken from a library: ingest's bucket must let a
caller reserve a token in debt and sleep outside the lock (so threads are
served in turn, evenly spaced), be paused by every caller at once when
CoinGecko says Retry-After, give a token back to a caller that will not wait
(readiness), and all of it must run on an injected clock so the tests need no
sleeping; the simulator must say exactly when a refused caller would get in.
Of the libraries that would fit (``limits``, ``pyrate-limiter``,
``token-bucket``), none offers a pause every caller observes or a reservation
in debt, and ``limits`` reads the wall clock; wrapping one to add them would
take more code than this module.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

Clock = Callable[[], float]


class TokenBucket:
    """Thread-safe token bucket: ``rate_per_minute`` tokens per minute, ``capacity`` at most (and at first)."""

    def __init__(self, rate_per_minute: float, capacity: float = 1.0, clock: Clock = time.monotonic) -> None:
        self.rate_per_s = rate_per_minute / 60.0
        self.capacity = max(1.0, capacity)
        self._clock = clock
        self._tokens = self.capacity
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def _refill(self) -> float:
        """Add the tokens earned since the last call (never above capacity); returns now. Holds the lock."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate_per_s)
        self._stamp = now
        return now

    def _reserve(self) -> float:
        """Take a token (possibly going into debt); returns how long the caller must wait for it."""
        with self._lock:
            now = self._refill()
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate_per_s
            return max(wait, self._paused_until - now)

    def try_take(self) -> float:
        """Take a token if one is there (0.0), else take nothing and say how many seconds until one is."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate_per_s

    def acquire(self, max_wait_s: float | None = None) -> bool:
        """Block until a token is ours. With ``max_wait_s``, give up (False, token returned) if longer."""
        wait = self._reserve()
        if max_wait_s is not None and wait > max_wait_s:
            with self._lock:
                self._tokens += 1.0
            return False
        if wait > 0:
            time.sleep(wait)
        return True

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (an upstream Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def idle(self) -> bool:
        """Full again: forgetting this bucket changes nothing."""
        with self._lock:
            now = self._refill()
            return self._tokens >= self.capacity and self._paused_until <= now


class SlidingWindow:
    """At most ``limit`` admitted calls in any ``window_s``; only admitted calls take a place in the window."""

    def __init__(self, window_s: float = 60.0, clock: Clock = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def _expire(self) -> float:
        now = self._clock()
        while self._calls and self._calls[0] <= now - self.window_s:
            self._calls.popleft()
        return now

    def admit(self, limit: int) -> float:
        """Admit one call (0.0) or say how long until ``limit`` calls fit again (the oldest that must leave)."""
        with self._lock:
            now = self._expire()
            if len(self._calls) < limit:
                self._calls.append(now)
                return 0.0
            return self._calls[len(self._calls) - limit] + self.window_s - now

    def idle(self) -> bool:
        with self._lock:
            self._expire()
            return not self._calls


class _Limiter(Protocol):
    def idle(self) -> bool: ...


L = TypeVar("L", bound=_Limiter)

#: Above this many callers, idle ones are forgotten (bounds memory when clients rotate keys).
MAX_CALLERS = 10_000


class PerCaller(Generic[L]):
    """One limiter per caller key, made by ``factory`` on first use."""

    def __init__(self, factory: Callable[[], L], max_callers: int = MAX_CALLERS) -> None:
        self._factory = factory
        self.max_callers = max_callers
        self._limiters: dict[str, L] = {}
        self._lock = threading.Lock()

    def __call__(self, caller: str) -> L:
        with self._lock:
            limiter = self._limiters.get(caller)
            if limiter is None:
                if len(self._limiters) >= self.max_callers:
                    for key in [k for k, v in self._limiters.items() if v.idle()]:
                        del self._limiters[key]
                limiter = self._limiters[caller] = self._factory()
            return limiter

    def clear(self) -> None:
        with self._lock:
            self._limiters.clear()
