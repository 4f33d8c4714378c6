"""What a portfolio request must satisfy, checked before anything is created.

Pure: the known coins, accepted currencies, limits and the clock are passed
in, so every rule is unit-testable. Each failure is an ``ApiError`` (400)
whose code and message say what is wrong, naming the offending value.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated

from coinstream_common.openapi import INSTANT_DOC
from coinstream_common.timeutil import parse_instant
from coinstream_common.web import ApiError, parse
from coinstream_contract.events import Holding
from coinstream_contract.vocabulary import COIN_ID, INTERVAL_MS, MAX_AMOUNT, Interval
from pydantic import BaseModel, ConfigDict, Field, field_validator

DAY_MS = 86_400_000
CLOCK_SKEW_MS = 60_000
Instant = str | int | float


class HoldingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    coin: Annotated[str, Field(pattern=COIN_ID, description="CoinGecko coin id, e.g. bitcoin")]
    amount: Annotated[
        float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False, description="Units held (> 0, at most 1e15)")
    ]
    acquired_at: Instant | None = Field(
        None,
        description="When the lot was bought (ISO 8601 UTC); inside the range it is a purchase (cash flow)",
        json_schema_extra=INSTANT_DOC,  # parsed by hand (_instant)
    )
    acquired_price: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="Price paid per unit in vs_currency (default: the market price then)"
    )

    @field_validator("amount", "acquired_price", mode="before")
    @classmethod
    def _json_number(cls, value: object) -> object:
        if isinstance(value, (bool, str)):
            raise ValueError("must be a JSON number")  # noqa: TRY004 - pydantic reports only ValueError
        return value


class PortfolioRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    holdings: Annotated[list[HoldingRequest], Field(min_length=1)]
    vs_currency: str = Field(examples=["usd"])
    from_: Instant = Field(alias="from", json_schema_extra=INSTANT_DOC)
    to: Instant = Field(json_schema_extra=INSTANT_DOC)
    interval: Interval | None = Field(None, description="default: daily beyond 90 days, hourly beyond 1 day, else 5m")


@dataclass(frozen=True)
class Limits:
    max_holdings: int
    max_range_days: int
    max_points: int
    vs_currencies: Collection[str]


@dataclass(frozen=True)
class ValidPortfolio:
    holdings: list[Holding]
    vs_currency: str
    from_ms: int
    to_ms: int
    interval: str


def default_interval(from_ms: int, to_ms: int) -> str:
    """Daily beyond 90 days, hourly beyond one day, else 5-minute (CoinGecko's own granularity rule)."""
    span = to_ms - from_ms
    if span > 90 * DAY_MS:
        return "daily"
    if span > DAY_MS:
        return "hourly"
    return "5m"


def point_count(from_ms: int, to_ms: int, interval: str) -> int:
    """How many grid points (``timeutil.grid``) the range has, without building the list."""
    step = INTERVAL_MS[interval]
    first = -(-from_ms // step) * step
    return max(0, (to_ms - first) // step + 1)


def _instant(name: str, value: Instant) -> int:
    try:
        return parse_instant(value)
    except (ValueError, OverflowError, OSError):
        raise ApiError(400, "invalid_instant", f"{name}: {value!r} is not an ISO 8601 date-time") from None


def validate_portfolio(data: dict, limits: Limits, known_coins: Collection[str] | None, now_ms: int) -> ValidPortfolio:
    """Check a POST /v1/portfolios body; ``known_coins`` None means only the id pattern is checked."""
    if isinstance(data.get("holdings"), list) and len(data["holdings"]) > limits.max_holdings:
        raise ApiError(
            400, "too_many_holdings", f"{len(data['holdings'])} holdings; at most {limits.max_holdings} are allowed"
        )
    req = parse(PortfolioRequest, data)
    vs = req.vs_currency.lower()
    if vs not in limits.vs_currencies:
        raise ApiError(
            400,
            "unsupported_currency",
            f"vs_currency {req.vs_currency!r} is not supported; use one of {', '.join(sorted(limits.vs_currencies))}",
        )
    from_ms, to_ms = _instant("from", req.from_), _instant("to", req.to)
    if from_ms >= to_ms:
        raise ApiError(400, "invalid_range", f"from ({req.from_}) must be before to ({req.to})")
    if to_ms > now_ms + CLOCK_SKEW_MS:
        raise ApiError(400, "invalid_range", f"to ({req.to}) is in the future; prices are only known up to now")
    if to_ms - from_ms > limits.max_range_days * DAY_MS:
        raise ApiError(
            400,
            "range_too_long",
            f"range of {(to_ms - from_ms) / DAY_MS:.1f} days; at most {limits.max_range_days} are allowed",
        )
    interval = req.interval or default_interval(from_ms, to_ms)
    points = point_count(from_ms, to_ms, interval)
    if not 1 <= points <= limits.max_points:
        raise ApiError(
            400,
            "too_many_points" if points else "invalid_range",
            f"{points} {interval} points in this range; choose an interval giving 1 to {limits.max_points}",
        )
    if known_coins is not None:
        unknown = sorted({h.coin for h in req.holdings if h.coin not in known_coins})
        if unknown:
            raise ApiError(400, "unknown_coin", f"unknown coin id(s): {', '.join(unknown)}", coins=unknown)
    holdings = []
    for n, h in enumerate(req.holdings):
        acquired = _instant(f"holdings.{n}.acquired_at", h.acquired_at) if h.acquired_at is not None else None
        if acquired is not None and acquired > to_ms:
            raise ApiError(400, "invalid_holding", f"holdings.{n}.acquired_at ({h.acquired_at}) is after to")
        holdings.append(Holding(coin=h.coin, amount=h.amount, acquired_at=acquired, acquired_price=h.acquired_price))
    return ValidPortfolio(holdings, vs, from_ms, to_ms, interval)
