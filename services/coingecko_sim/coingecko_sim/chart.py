"""CoinGecko's chart rules as pure functions: granularity, plan limits, which points a range holds.

Granularity without ``interval`` (CoinGecko's "auto-granularity"):

- 5-minutely: a range of at most 1 day that starts within the last day ("1 day
  from current time");
- hourly: any other range of at most 90 days;
- daily (00:00 UTC): ranges above 90 days.

``interval`` overrides it within the plan's rules (CoinGecko offers ``5m`` and
``hourly`` to its Enterprise plan only; the simulator treats the pro key as
that plan):

- ``daily``: every plan, any range;
- public and demo: ``hourly`` only where auto-granularity is hourly or finer
  (at most 90 days), ``5m`` only where it is 5-minutely (the last day);
- pro: ``hourly`` for ranges of at most 100 days, ``5m`` for at most 10 days,
  anywhere in the coin's history.

History: public and demo reach 365 days back from now (configurable), pro
reaches back to the coin's genesis. A few minutes of grace (``GRACE_MS``)
absorb the clock skew and queueing between a client computing "now - 1 day"
or "now - 365 days" and the simulator reading its own clock.

Points lie on an exact UTC grid: the multiples of the granularity's step
inside ``[from, min(to, now)]`` and not before the pair's first instant. The
``days`` form (``/market_chart``) also ends with the latest tick (now floored
to the minute, the instant ``/simple/price`` quotes), as CoinGecko ends its
charts with the current price.
"""

from __future__ import annotations

import math

from coinstream_common.timeutil import grid
from coinstream_contract.vocabulary import INTERVAL_MS

from . import prices

MINUTE_MS = 60_000
DAY_MS = 86_400_000
GRACE_MS = 15 * MINUTE_MS
#: CoinGecko refreshes current prices about once a minute: "now" in answers is the last whole minute.
TICK_MS = MINUTE_MS

PLANS = ("public", "demo", "pro")
AUTO_5M_MAX_MS = DAY_MS
AUTO_HOURLY_MAX_MS = 90 * DAY_MS
PRO_INTERVAL_MAX_MS = {"5m": 10 * DAY_MS, "hourly": 100 * DAY_MS}


class ParamError(ValueError):
    """A bad parameter: 400 ``{"error": message}``."""


class PlanError(Exception):
    """Not allowed on the caller's plan: 401 with CoinGecko's ``{"error": {"status": ...}}`` body."""

    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def tick(now_ms: int) -> int:
    """The instant current prices refer to: now floored to the minute."""
    return now_ms - now_ms % TICK_MS


def auto_granularity(from_ms: int, to_ms: int, now_ms: int) -> str:
    span = min(to_ms, now_ms) - from_ms
    if span <= AUTO_5M_MAX_MS + GRACE_MS and from_ms >= now_ms - AUTO_5M_MAX_MS - GRACE_MS:
        return "5m"
    if span <= AUTO_HOURLY_MAX_MS:
        return "hourly"
    return "daily"


def granularity(from_ms: int, to_ms: int, now_ms: int, plan: str, interval: str | None = None) -> str:
    """The granularity CoinGecko answers a range with, or ParamError/PlanError for a refused ``interval``."""
    auto = auto_granularity(from_ms, to_ms, now_ms)
    if not interval:
        return auto
    if interval not in INTERVAL_MS:
        raise ParamError(f"invalid interval {interval!r}: use 5m, hourly or daily")
    if interval == "daily":
        return "daily"
    span = min(to_ms, now_ms) - from_ms
    if plan == "pro":
        limit = PRO_INTERVAL_MAX_MS[interval]
        if span > limit:
            raise ParamError(f"interval={interval} supports at most {limit // DAY_MS} days per request")
        return interval
    if INTERVAL_MS[interval] < INTERVAL_MS[auto]:
        where = "the last day" if interval == "5m" else "ranges of at most 90 days"
        raise PlanError(
            10005,
            f"interval={interval} is available on the {plan} plan only for {where} "
            "(CoinGecko: Enterprise plan); omit interval for auto granularity",
        )
    return interval


def check_history(from_ms: int, now_ms: int, plan: str, limit_days: int) -> None:
    """Public and demo plans see ``limit_days`` back from now; pro sees everything."""
    if plan == "pro" or from_ms >= now_ms - limit_days * DAY_MS - GRACE_MS:
        return
    raise PlanError(
        10012,
        "Your request exceeds the allowed time range. Public API users are limited to querying "
        f"historical data within the past {limit_days} days.",
    )


def grid_points(from_ms: int, to_ms: int, now_ms: int, step: str, first_ms: int) -> list[int]:
    """Grid instants of ``step`` within ``[max(from, first), min(to, now)]``."""
    lo, hi = max(from_ms, first_ms), min(to_ms, now_ms)
    if lo > hi:
        return []
    return grid(lo, hi, step)


def range_points(from_ms: int, to_ms: int, now_ms: int, step: str, first_ms: int) -> list[int]:
    """The instants ``/market_chart/range`` answers: grid points only."""
    return grid_points(from_ms, to_ms, now_ms, step, first_ms)


def days_points(days_from_ms: int, now_ms: int, step: str, first_ms: int) -> list[int]:
    """The instants ``/market_chart?days=`` answers: grid points, then the latest tick."""
    points = grid_points(days_from_ms, now_ms, now_ms, step, first_ms)
    latest = tick(now_ms)
    if latest >= first_ms and (not points or points[-1] < latest):
        points.append(latest)
    return points


def parse_days(days: str, now_ms: int, first_ms: int) -> int:
    """``days`` (a positive number, or ``max``) as the range's start."""
    text = (days or "").strip().lower()
    if not text:
        raise ParamError("Missing parameter days")
    if text == "max":
        return first_ms
    try:
        value = float(text)
    except ValueError:
        raise ParamError(f"invalid days {days!r}: a positive number or max") from None
    if not value > 0 or math.isnan(value) or math.isinf(value):
        raise ParamError(f"invalid days {days!r}: a positive number or max")
    return now_ms - int(value * DAY_MS)


def parse_precision(value: str | None) -> int | None:
    """``precision``: ``full`` (or absent) keeps every digit; 0..18 decimal places rounds prices."""
    if value is None or value == "" or value == "full":
        return None
    if value.isascii() and value.isdigit() and 0 <= int(value) <= 18:
        return int(value)
    raise ParamError(f"invalid precision {value!r}: full or 0..18")


def rounded(value: float, precision: int | None) -> float:
    return value if precision is None else round(value, precision)


def chart(coin_id: str, vs_currency: str, points: list[int], seed: int, precision: int | None = None) -> dict:
    """CoinGecko's market chart body for these instants."""
    prices_, caps, volumes = [], [], []
    quote = prices.quote
    for t in points:
        q = quote(coin_id, vs_currency, t, seed)
        prices_.append([t, rounded(q.price, precision)])
        caps.append([t, q.market_cap])
        volumes.append([t, q.total_volume])
    return {"prices": prices_, "market_caps": caps, "total_volumes": volumes}
