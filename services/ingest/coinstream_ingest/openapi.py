"""The ingest service's OpenAPI document (served at /openapi.json): its operations and answer models.

The request bodies are the models ``app`` validates them with.
"""

from __future__ import annotations

from typing import Any

from coinstream_common import openapi as oa
from pydantic import BaseModel, Field, WithJsonSchema

# What HistoryRequest's instants accept (its validator turns them into epoch ms).
_INSTANT_IN: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "description": "ISO 8601 date or date-time (UTC if no offset)"},
        {"type": "number", "description": "epoch seconds, or milliseconds above 1e11"},
    ]
}
INSTANT = WithJsonSchema(_INSTANT_IN)
INSTANT_OR_NOW = WithJsonSchema({**_INSTANT_IN, "description": "defaults to now; clipped to now"})


class PricesAccepted(BaseModel):
    requested: dict[str, Any]
    produced: int
    missing: list[str] = []
    topic: str


class Fetched(BaseModel):
    from_: str = Field(alias="from")
    to: str
    calls: int


class HistoryAccepted(BaseModel):
    requested: dict[str, Any]
    fetched: Fetched
    produced: int
    topic: str


ERRORS = {
    "400": oa.error("malformed body, bad range (from after to, beyond the plan's history), unknown vs_currency"),
    "404": oa.error("unknown coin; error.coins names it"),
    "502": oa.error("CoinGecko unreachable or kept failing after retries", retry_after="seconds to wait"),
    "503": oa.error(
        "CoinGecko rate limit exhausted, or Kafka did not acknowledge the events", retry_after="seconds to wait"
    ),
}
ACKED = "every event produced was acknowledged by the broker"


def document() -> dict[str, Any]:
    from .app import HistoryRequest, PricesRequest  # app serves this document: imported when it is built

    paths = {
        "/v1/fetch/prices": {
            "post": oa.operation(
                "Fetch current prices now and publish them to coin.prices",
                {"202": oa.response(ACKED, PricesAccepted), **ERRORS},
                body=PricesRequest,
            )
        },
        "/v1/fetch/history": {
            "post": oa.operation(
                "Fetch a coin's history and publish it to coin.prices",
                {"202": oa.response(ACKED, HistoryAccepted), **ERRORS},
                body=HistoryRequest,
                description="The range is split into CoinGecko calls that return the asked granularity; "
                "points are reported on the interval's UTC grid inside [from, to].",
            )
        },
    }
    return oa.document(
        "coinstream ingest",
        paths,
        requests=[PricesRequest, HistoryRequest],
        responses=[PricesAccepted, HistoryAccepted],
    )
