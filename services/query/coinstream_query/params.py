"""Request validation: every input becomes a typed value or a 400 saying what is wrong.

Nothing here touches Trino, so a bad request never costs a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from coinstream_common.openapi import INSTANT_DOC, doc
from coinstream_common.timeutil import grid, parse_instant
from coinstream_common.web import ApiError, parse
from coinstream_contract.vocabulary import COIN_ID, INTERVAL_MS, MAX_AMOUNT, MAX_INSTANT_MS, VS_CURRENCY
from pydantic import BaseModel, ConfigDict, Field

from .sql import Holding

MAX_HOLDINGS = 100
MAX_COINS = 100
# Longest range one landed-days lookup may span (a backfill asks for at most the plan's history).
MAX_LANDED_DAYS = 3660
# Carrying a price forward further than a year would scan a year of partitions for nothing.
MAX_STALENESS_S = 366 * 86_400

_COIN = re.compile(COIN_ID)
_CURRENCY = re.compile(VS_CURRENCY)
_SOURCE = re.compile(r"^[a-z0-9_.-]{1,32}$")  # as PriceEvent.source


@dataclass(frozen=True)
class Window:
    """A validated range and interval with its grid of bucket starts (never empty)."""

    from_ms: int
    to_ms: int
    interval: str
    points: tuple[int, ...] = field(repr=False)

    @property
    def step_ms(self) -> int:
        return INTERVAL_MS[self.interval]

    @property
    def first_ms(self) -> int:
        return self.points[0]

    @property
    def last_ms(self) -> int:
        return self.points[-1]


def interval(raw: Any) -> str:
    if raw not in INTERVAL_MS:
        raise ApiError(400, "invalid_interval", f"interval must be one of {', '.join(INTERVAL_MS)}, not {raw!r}")
    return raw


def coin(raw: Any) -> str:
    if not isinstance(raw, str) or not _COIN.match(raw):
        raise ApiError(400, "invalid_coin", f"coin id {raw!r} does not match {COIN_ID}")
    return raw


def currency(raw: Any) -> str:
    if not isinstance(raw, str) or not _CURRENCY.match(raw):
        raise ApiError(400, "invalid_currency", f"vs_currency {raw!r} does not match {VS_CURRENCY}")
    return raw


def coins(raw: Any) -> list[str]:
    """A comma-separated coin list, deduplicated in order."""
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, "invalid_coin", "coins is required: a comma-separated list of coin ids")
    found = list(dict.fromkeys(coin(part.strip()) for part in raw.split(",")))
    if len(found) > MAX_COINS:
        raise ApiError(400, "too_many_coins", f"at most {MAX_COINS} coins per request, got {len(found)}")
    return found


def instant(name: str, raw: Any) -> int:
    if raw is None or raw == "":
        raise ApiError(400, "invalid_instant", f"{name} is required (ISO 8601 UTC, e.g. 2026-01-01T00:00:00Z)")
    try:
        ms = parse_instant(raw)
    except (ValueError, TypeError, OverflowError):
        raise ApiError(400, "invalid_instant", f"{name}={raw!r} is not an ISO 8601 instant") from None
    if not 0 <= ms < MAX_INSTANT_MS:
        raise ApiError(400, "invalid_instant", f"{name}={raw!r} is outside 1970..3000")
    return ms


def window(from_raw: Any, to_raw: Any, interval_raw: Any, max_points: int) -> Window:
    """from < to, a known interval, and between 1 and ``max_points`` grid points."""
    iv = interval(interval_raw)
    from_ms, to_ms = instant("from", from_raw), instant("to", to_raw)
    if from_ms >= to_ms:
        raise ApiError(400, "invalid_range", "from must be before to")
    step = INTERVAL_MS[iv]
    count = _grid_size(from_ms, to_ms, step)
    if count > max_points:
        raise ApiError(
            400,
            "too_many_points",
            f"{count} {iv} points from {from_raw} to {to_raw}; at most {max_points}: shorten the range or widen the interval",
            max_points=max_points,
        )
    points = tuple(grid(from_ms, to_ms, iv))
    if not points:
        raise ApiError(
            400,
            "empty_range",
            f"no {iv} grid point lies between from and to (points are at multiples of the interval since the epoch, UTC)",
        )
    return Window(from_ms, to_ms, iv, points)


def landed_range(from_raw: Any, to_raw: Any, interval_raw: Any) -> tuple[int, int, str]:
    """(from_ms, to_ms, interval) of a landed-days lookup: from <= to, at most ``MAX_LANDED_DAYS`` apart."""
    iv = interval(interval_raw)
    from_ms, to_ms = instant("from", from_raw), instant("to", to_raw)
    if from_ms > to_ms:
        raise ApiError(400, "invalid_range", "from must not be after to")
    if to_ms - from_ms > MAX_LANDED_DAYS * 86_400_000:
        raise ApiError(400, "invalid_range", f"at most {MAX_LANDED_DAYS} days from from to to")
    return from_ms, to_ms, iv


def source(raw: Any) -> str | None:
    """An optional ``source`` filter (None: every source)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _SOURCE.match(raw):
        raise ApiError(400, "invalid_request", f"source {raw!r} does not match {_SOURCE.pattern}")
    return raw


def _grid_size(from_ms: int, to_ms: int, step: int) -> int:
    first = -(-from_ms // step) * step
    return 0 if first > to_ms else (to_ms - first) // step + 1


class HoldingIn(BaseModel):
    """One lot; the coin id's pattern and the instant are checked by hand (``coin``, ``instant``)."""

    model_config = ConfigDict(extra="ignore")  # e.g. acquired_price, which valuation does not need

    coin: str = doc(pattern=COIN_ID)
    amount: float = Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)
    acquired_at: str | int | None = Field(
        None, json_schema_extra={**INSTANT_DOC, "description": "Counted from this instant on; always when null."}
    )


class ValuationRequest(BaseModel):
    """The body of POST /v1/valuation; currency, range and interval are checked by hand (``window``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    holdings: list[HoldingIn] = Field(
        min_length=1,
        json_schema_extra={
            "maxItems": MAX_HOLDINGS,
            "description": "Lots; several lots of one coin are summed (each from its acquired_at).",
        },
    )
    vs_currency: str = Field("usd", json_schema_extra={"pattern": VS_CURRENCY})
    from_: str | int = Field(alias="from", json_schema_extra=INSTANT_DOC)
    to: str | int = Field(json_schema_extra=INSTANT_DOC)
    interval: str = Field("daily", json_schema_extra={"enum": list(INTERVAL_MS)})
    staleness_s: int | None = Field(
        None,
        ge=0,
        le=MAX_STALENESS_S,
        description="Carry a price forward at most this long; default: the service setting, or two intervals.",
    )


@dataclass(frozen=True)
class ValidValuation:
    window: Window
    vs_currency: str
    holdings: list[Holding]
    staleness_ms: int


def staleness_ms(requested_s: int | None, default_s: int, step_ms: int) -> int:
    """The carry-forward bound: the request's, else the setting's, else (0) two intervals."""
    if requested_s is not None:
        return requested_s * 1000
    return default_s * 1000 if default_s > 0 else 2 * step_ms


def valuation_request(
    data: dict[str, Any], max_points: int, max_cells: int, default_staleness_s: int
) -> ValidValuation:
    holdings_raw = data.get("holdings")
    if isinstance(holdings_raw, list) and len(holdings_raw) > MAX_HOLDINGS:
        raise ApiError(400, "too_many_holdings", f"at most {MAX_HOLDINGS} holdings, got {len(holdings_raw)}")
    body = parse(ValuationRequest, data)
    vs = currency(body.vs_currency)
    win = window(body.from_, body.to, body.interval, max_points)
    holdings = [
        Holding(
            coin(h.coin),
            h.amount,
            None if h.acquired_at is None else instant(f"holdings[{i}].acquired_at", h.acquired_at),
        )
        for i, h in enumerate(body.holdings)
    ]
    distinct = len({h.coin for h in holdings})
    if distinct * len(win.points) > max_cells:
        raise ApiError(
            400,
            "too_many_points",
            f"{distinct} coins x {len(win.points)} points is more than {max_cells} prices; "
            "shorten the range, widen the interval or split the portfolio",
            max_points=max_cells,
        )
    return ValidValuation(win, vs, holdings, staleness_ms(body.staleness_s, default_staleness_s, win.step_ms))
