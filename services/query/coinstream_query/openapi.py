"""The query service's OpenAPI document (served at /openapi.json): its operations and answer models."""

from __future__ import annotations

from typing import Annotated, Any

from coinstream_common import openapi as oa
from coinstream_contract.vocabulary import COIN_ID, INTERVAL_MS, SOURCE, VS_CURRENCY, Interval
from coinstream_contract.vocabulary import PointStatus as Status
from pydantic import BaseModel, Field

from .params import MAX_COINS, MAX_LANDED_DAYS, ValuationRequest

Instant = Annotated[str, Field(json_schema_extra=oa.INSTANT_DOC)]


class SeriesPoint(BaseModel):
    ts: Instant = Field(description="Bucket start; the bucket covers [ts, ts + interval).")
    price: float
    market_cap: float | None
    total_volume: float | None
    observed_at: Instant = Field(description="Time of the bucket's last observation (the one shown).")


class Series(BaseModel):
    coin: str
    vs_currency: str
    interval: Interval
    from_: Instant = Field(alias="from")
    to: Instant
    points: list[SeriesPoint] = Field(
        description="One point per bucket holding data, ascending; empty buckets are absent."
    )


class Range(BaseModel):
    from_: Instant = Field(alias="from")
    to: Instant


class CoinCoverage(BaseModel):
    expected: int
    present: int
    missing: list[Range] = Field(
        description="Merged runs of empty buckets: from the first one's start to the last one's end."
    )


class Coverage(BaseModel):
    vs_currency: str
    interval: Interval
    from_: Instant = Field(alias="from")
    to: Instant
    coins: dict[str, CoinCoverage]
    expected: int
    present: int
    fraction: float = Field(ge=0, le=1)


class LandedDays(BaseModel):
    coin: str
    vs_currency: str
    interval: Interval
    from_: Instant = Field(alias="from")
    to: Instant
    days: list[Range] = Field(
        description="Merged runs of complete UTC days, clipped to [from, to] (inclusive, to the millisecond): a day "
        "is complete when every grid bucket of the interval inside the range holds an observation."
    )


class HoldingValue(BaseModel):
    amount: float = Field(description="Held at this point (0 before acquisition: not counted).")
    price: float | None
    price_ts: Instant | None = Field(description="When the price used was observed.")
    value: float | None
    status: Status = Field(
        description="observed: price_ts in (ts - interval, ts]; carried: older but within staleness; "
        "missing: none within staleness."
    )


class ValuationPoint(BaseModel):
    ts: Instant
    value: float | None = Field(description="Null when a counted holding is missing.")
    status: Status = Field(description="Worst status of the counted holdings.")
    holdings: dict[str, HoldingValue]


class MissingRun(BaseModel):
    coin: str
    from_: Instant = Field(alias="from")
    to: Instant


class ValuationCoverage(BaseModel):
    expected: int = Field(description="Counted coin-points.")
    present: int = Field(description="Counted coin-points with status observed.")
    fraction: float
    missing: list[MissingRun] = Field(
        description="Runs of non-observed points per coin: [first ts - interval, last ts], "
        "the span where observations would make them observed."
    )


class Valuation(BaseModel):
    vs_currency: str
    interval: Interval
    from_: Instant = Field(alias="from")
    to: Instant
    staleness_s: int
    points: list[ValuationPoint]
    coverage: ValuationCoverage


ERRORS = {
    "400": oa.error("invalid request (the error message says what is wrong)"),
    "503": oa.error(
        "Trino unavailable or timed out (code trino_unavailable); retry after Retry-After seconds",
        retry_after="seconds to wait",
    ),
}
INSTANT = {"type": "string", **oa.INSTANT_DOC}
RANGE_PARAMS = [
    oa.param("vs_currency", "query", {"type": "string", "pattern": VS_CURRENCY, "default": "usd"}, "Quote currency."),
    oa.param("from", "query", INSTANT, "Start of the range (ISO 8601, UTC).", required=True),
    oa.param("to", "query", INSTANT, "End of the range (ISO 8601, UTC), after from.", required=True),
    oa.param(
        "interval",
        "query",
        {"type": "string", "enum": list(INTERVAL_MS), "default": "daily"},
        "Grid step; grid points are multiples of it since the epoch (UTC) within [from, to].",
    ),
]

PATHS: dict[str, Any] = {
    "/v1/prices/{coin}": {
        "get": oa.operation(
            "Price series: the last observation in each bucket",
            {"200": oa.response("series", Series), **ERRORS},
            parameters=[oa.param("coin", "path", {"type": "string", "pattern": COIN_ID}), *RANGE_PARAMS],
        )
    },
    "/v1/coverage": {
        "get": oa.operation(
            "Which buckets of the range hold data, per coin",
            {"200": oa.response("coverage", Coverage), **ERRORS},
            parameters=[
                oa.param("coins", "query", None, f"Comma-separated coin ids (at most {MAX_COINS}).", required=True),
                *RANGE_PARAMS,
            ],
        )
    },
    "/v1/landed/{coin}": {
        "get": oa.operation(
            "The UTC days of a range that already landed completely (ingest asks before a backfill)",
            {"200": oa.response("landed days", LandedDays), **ERRORS},
            parameters=[
                oa.param("coin", "path", {"type": "string", "pattern": COIN_ID}),
                RANGE_PARAMS[0],
                RANGE_PARAMS[1],
                oa.param(
                    "to",
                    "query",
                    INSTANT,
                    f"End of the range (ISO 8601, UTC), not before from, at most {MAX_LANDED_DAYS} days on.",
                    required=True,
                ),
                oa.param(
                    "interval",
                    "query",
                    {"type": "string", "enum": list(INTERVAL_MS), "default": "hourly"},
                    "Grid whose buckets must all hold data.",
                ),
                oa.param(
                    "source",
                    "query",
                    {"type": "string", "pattern": SOURCE},
                    "Count only observations of this source (default: any).",
                ),
            ],
            description="Bounded in time by the landed_timeout_s setting: a slow or absent Trino answers 503 "
            "quickly, and the caller fetches the whole range instead.",
        )
    },
    "/v1/valuation": {
        "post": oa.operation(
            "A portfolio's value at each grid point, computed in one Trino query",
            {"200": oa.response("valuation", Valuation), **ERRORS},
            body=ValuationRequest,
        )
    },
}


def document() -> dict[str, Any]:
    return oa.document(
        "coinstream query", PATHS, requests=[ValuationRequest], responses=[Series, Coverage, LandedDays, Valuation]
    )
