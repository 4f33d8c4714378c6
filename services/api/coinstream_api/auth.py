"""API keys, portfolio ownership and the per-key rate limit.

A portfolio records ``owner = sha256(api key)`` (hex), never the key, so the
events on Kafka reveal nothing usable. The rate limit is a token bucket per
key *per process*: each process lets a key burst ``rate_per_minute`` requests
and refills at ``rate_per_minute / 60`` per second. With R replicas of W
gunicorn workers behind a load balancer, a key's effective ceiling is up to
R x W times that; the limit protects each process, not a global quota.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Callable, Iterable

from coinstream_common.ratelimit import PerCaller, TokenBucket
from coinstream_common.web import ApiError


def owner_of(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def parse_keys(setting: str) -> list[str]:
    return [k.strip() for k in setting.split(",") if k.strip()]


def presented_key(headers) -> str | None:
    """The key from ``X-API-Key`` or ``Authorization: Bearer <key>``."""
    key = headers.get("X-API-Key")
    if key:
        return key.strip()
    auth = headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class KeyRing:
    """The accepted keys; compares in constant time."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [k.encode() for k in keys]

    def authenticate(self, headers) -> str:
        """The caller's owner id, or a 401."""
        key = presented_key(headers)
        if not key:
            raise ApiError(
                401,
                "unauthenticated",
                "an API key is required (X-API-Key or Authorization: Bearer)",
                headers={"WWW-Authenticate": 'Bearer realm="coinstream"'},
            )
        matched = False
        for known in self._keys:
            matched |= hmac.compare_digest(known, key.encode())
        if not matched:
            raise ApiError(
                401,
                "invalid_api_key",
                "the API key is not valid",
                headers={"WWW-Authenticate": 'Bearer realm="coinstream", error="invalid_token"'},
            )
        return owner_of(key)


class RateLimiter:
    """Token bucket per key: capacity ``rate_per_minute``, refill ``rate_per_minute/60`` per second."""

    def __init__(self, rate_per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets = PerCaller(lambda: TokenBucket(rate_per_minute, capacity=rate_per_minute, clock=clock))

    def acquire(self, key: str) -> float:
        """Take a token: 0.0 when allowed, else the seconds until one is available."""
        return self._buckets(key).try_take()

    def check(self, key: str) -> None:
        wait = self.acquire(key)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests for this API key; retry in {retry} s",
                headers={"Retry-After": str(retry)},
                retry_after_s=retry,
            )
