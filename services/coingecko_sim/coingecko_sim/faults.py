"""Switchable faults per endpoint, chosen deterministically so tests are reproducible.

A fault is set for one endpoint (or ``*``, every endpoint without its own
fault). Each call to a faulted endpoint is that fault's call number k (from 0,
counted since it was set); whether call k fails with a 5xx is
``uniform(seed, endpoint, k) < error_rate``, a pure function: setting the same
fault again replays the same pattern. With ``times`` the fault applies to the
next ``times`` calls only, then clears itself.

A call meets its fault in this order: ``hang_s`` (sleep, then answer as
usual, long after the client gave up), ``latency_ms``, ``rate_limit_storm``
(429 with ``Retry-After: retry_after_s``), the real rate limit, the 5xx draw
(``error_status``), the handler, then ``malformed`` (a 200 whose body is not
JSON) or ``truncated`` (a 200 whose body stops halfway through its
Content-Length, connection closed).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .seeded import stream_key, uniform

ENDPOINTS = (
    "ping",
    "simple_price",
    "supported_vs_currencies",
    "coins_list",
    "coins_markets",
    "market_chart",
    "market_chart_range",
    "history",
)
ANY = "*"


class FaultSpec(BaseModel):
    """The body of ``POST /__sim/faults`` (and one item of ``COINGECKO_SIM_FAULTS``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(
        ANY,
        description="One of ENDPOINTS, or * for every endpoint without its own fault.",
        json_schema_extra={"enum": [*ENDPOINTS, ANY]},  # checked by _known, with a message naming them
    )
    latency_ms: int = Field(0, ge=0, le=600_000, description="Added before answering.")
    error_rate: float = Field(0.0, ge=0.0, le=1.0, description="Fraction of calls answered with error_status.")
    error_status: int = Field(500, ge=500, le=599, description="Status of the injected server errors.")
    rate_limit_storm: bool = Field(False, description="Every call answered 429.")
    retry_after_s: int = Field(1, ge=0, le=3600, description="Retry-After of storm 429s.")
    malformed: bool = Field(False, description="200 with a body that is not JSON.")
    truncated: bool = Field(False, description="200 with a body cut halfway through its Content-Length.")
    hang_s: float = Field(0.0, ge=0.0, le=600.0, description="Hold the call this long before answering.")
    times: int | None = Field(None, ge=1, description="Apply to the next N calls only, then clear.")

    @field_validator("endpoint")
    @classmethod
    def _known(cls, value: str) -> str:
        if value != ANY and value not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {value!r}; one of {', '.join(ENDPOINTS)} or *")
        return value


@dataclass(frozen=True)
class Decision:
    """What one call suffers."""

    fault_endpoint: str
    hang_s: float = 0.0
    latency_s: float = 0.0
    storm_retry_after_s: int | None = None
    error_status: int | None = None
    malformed: bool = False
    truncated: bool = False


class _Active:
    __slots__ = ("calls", "key", "spec")

    def __init__(self, spec: FaultSpec, seed: int) -> None:
        self.spec = spec
        self.calls = 0
        self.key = stream_key(seed, "fault", spec.endpoint)


class FaultBoard:
    """The faults in force; thread-safe."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._faults: dict[str, _Active] = {}
        self._lock = threading.Lock()

    def set(self, spec: FaultSpec) -> None:
        with self._lock:
            self._faults[spec.endpoint] = _Active(spec, self.seed)

    def clear(self, endpoint: str | None = None) -> None:
        with self._lock:
            if endpoint is None:
                self._faults.clear()
            else:
                self._faults.pop(endpoint, None)

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**a.spec.model_dump(), "calls": a.calls} for _, a in sorted(self._faults.items())]

    def draw(self, endpoint: str) -> Decision | None:
        """The fault this call of ``endpoint`` meets, if any (advances that fault's call counter)."""
        with self._lock:
            active = self._faults.get(endpoint) or self._faults.get(ANY)
            if active is None:
                return None
            k = active.calls
            active.calls += 1
            spec = active.spec
            if spec.times is not None and active.calls >= spec.times:
                del self._faults[spec.endpoint]
        failed = spec.error_rate > 0 and uniform(active.key, k) < spec.error_rate
        return Decision(
            fault_endpoint=spec.endpoint,
            hang_s=spec.hang_s,
            latency_s=spec.latency_ms / 1000.0,
            storm_retry_after_s=spec.retry_after_s if spec.rate_limit_storm else None,
            error_status=spec.error_status if failed else None,
            malformed=spec.malformed,
            truncated=spec.truncated and not spec.malformed,
        )


class Stats:
    """Calls per endpoint and status, and faults injected per endpoint and kind."""

    def __init__(self) -> None:
        self._calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._faults: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def record(self, endpoint: str, status: int, injected: list[str]) -> None:
        """One call of ``endpoint`` answered ``status`` after the faults named in ``injected``."""
        with self._lock:
            self._calls[endpoint][str(status)] += 1
            for kind in injected:
                self._faults[endpoint][kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            calls = {e: dict(sorted(s.items())) for e, s in sorted(self._calls.items())}
            faults = {e: dict(sorted(s.items())) for e, s in sorted(self._faults.items())}
        return {"total": sum(sum(s.values()) for s in calls.values()), "calls": calls, "faults": faults}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults.clear()


MALFORMED_BODY = b'{"prices": [[<html><body>coingecko-sim: malformed body (fault)</body></html>'


def truncate(body: bytes) -> bytes:
    """The part of a body a truncated answer sends: the first half (at least one byte short)."""
    return body[: max(0, min(len(body) - 1, len(body) // 2))]
