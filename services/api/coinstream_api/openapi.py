"""The api service's OpenAPI 3.1 document (served at /openapi.json): its operations and answer models.

The request body is the model ``validation`` checks it with; ``Portfolio`` is
what ``state.PortfolioState.document`` answers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from coinstream_common import openapi as oa
from coinstream_contract.vocabulary import Interval as IntervalName
from coinstream_contract.vocabulary import PointStatus as Status
from pydantic import BaseModel, Field

from .validation import PortfolioRequest

Instant = Annotated[str, Field(json_schema_extra=oa.INSTANT_DOC)]


class Lot(BaseModel):
    coin: str
    amount: float
    acquired_at: Instant | None
    acquired_price: float | None


class CoinFigures(BaseModel):
    amount: float
    start_value: float
    end_value: float
    purchases: float
    pnl: float
    contribution: float | None = Field(description="pnl / portfolio invested; sums to total_return")


class Figures(BaseModel):
    start: Instant | None
    end: Instant | None
    valued_points: int
    start_value: float | None
    end_value: float | None
    purchases: float = Field(description="cash paid for lots bought inside the range")
    invested: float | None
    pnl: float | None
    total_return: float | None = Field(description="pnl / invested")
    time_weighted_return: float | None
    max_drawdown: float | None = Field(description="largest fall from a peak, as a positive fraction")
    volatility_annualised: float | None
    volatility_basis: str
    periods_per_year: float
    holdings: dict[str, CoinFigures]


class MissingRange(BaseModel):
    coin: str
    from_: Instant = Field(alias="from")
    to: Instant


class Completeness(BaseModel):
    fraction: float = Field(ge=0, le=1)
    expected: int
    present: int
    missing: list[MissingRange]


class ValuedPoint(BaseModel):
    ts: Instant
    value: float | None
    status: Status


class PortfolioValuation(BaseModel):
    figures: Figures
    points: list[ValuedPoint]


class Portfolio(BaseModel):
    id: str
    status: Literal["pending", "complete"]
    vs_currency: str
    from_: Instant = Field(alias="from")
    to: Instant
    interval: IntervalName
    created_at: Instant
    holdings: list[Lot]
    completeness: Completeness
    valuation: PortfolioValuation
    as_of: Instant
    stale: bool = Field(description="true: the query service is down; this is the last known state")


# One Server-Sent Event as OpenAPI tools read a text/event-stream body: event by event.
SSE_EVENT = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["update", "complete", "timeout"]},
        "id": {"type": "string"},
        "data": {"type": "string", "description": "a Portfolio document as JSON"},
        "retry": {"type": "integer"},
    },
}
ERRORS = {
    "401": oa.error("missing or wrong API key"),
    "404": oa.error("no such portfolio for this API key"),
    "429": oa.error("rate limit of this API key exceeded", retry_after="seconds to wait"),
    "503": oa.error("Kafka or the query service (Trino) unavailable, and no last known valuation"),
}
ID = oa.param("id", "path", {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"})
KEY: list[dict[str, list[str]]] = [{"apiKey": []}, {"bearer": []}]
LOCATION = {"Location": {"type": "string"}}


def _chart(kind: str, media_type: str) -> dict[str, Any]:
    return {
        "get": oa.operation(
            f"Performance chart ({kind})",
            {"200": oa.response(f"{kind} image", media_type=media_type), **ERRORS},
            parameters=[ID],
            security=KEY,
        )
    }


PATHS = {
    "/v1/portfolios": {
        "post": oa.operation(
            "Create a portfolio; answers at once with what is known and requests the missing data",
            {
                "201": oa.response("created; every price in the range is known", Portfolio, headers=LOCATION),
                "202": oa.response("created; missing data requested, follow /stream", Portfolio, headers=LOCATION),
                "400": oa.error("invalid request: the message names what is wrong"),
                "413": oa.error("body too large"),
                **ERRORS,
            },
            body=PortfolioRequest,
            security=KEY,
        )
    },
    "/v1/portfolios/{id}": {
        "get": oa.operation(
            "The portfolio's state, valued now",
            {"200": oa.response("the portfolio", Portfolio), **ERRORS},
            parameters=[ID],
            security=KEY,
        )
    },
    "/v1/portfolios/{id}/stream": {
        "get": oa.operation(
            "Server-Sent Events: `update` per landed batch touching the portfolio, then `complete` "
            "(or `timeout`); `: heartbeat` comments; resumes after Last-Event-ID",
            {
                "200": oa.response("event stream; each event's data is a Portfolio", SSE_EVENT, "text/event-stream"),
                **ERRORS,
            },
            parameters=[ID, oa.param("Last-Event-ID", "header")],
            security=KEY,
        )
    },
    "/v1/portfolios/{id}/chart.png": _chart("PNG", "image/png"),
    "/v1/portfolios/{id}/chart.svg": _chart("SVG", "image/svg+xml"),
}

OPENAPI = oa.document(
    "coinstream api",
    PATHS,
    requests=[PortfolioRequest],
    responses=[Portfolio],
    security_schemes={
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "bearer": {"type": "http", "scheme": "bearer"},
    },
)
