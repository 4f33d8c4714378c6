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


class Coin(BaseModel):
    id: str
    symbol: str
    name: str


class CoinList(BaseModel):
    coins: list[Coin]
    count: int = Field(ge=1)


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
        "/v1/coins": {
            "get": oa.operation(
                "Every coin CoinGecko lists (ingest's cached copy; what the api accepts in portfolios)",
                {
                    "200": oa.response(
                        "the coin list, sorted by id",
                        CoinList,
                        headers={"ETag": {"type": "string", "description": "version of the list"}},
                    ),
                    "304": oa.response("the list is the one named by If-None-Match"),
                    "400": oa.error("reload_missing names a malformed id or too many"),
                    "502": oa.error(
                        "CoinGecko unreachable, refused our key, or kept failing after retries",
                        retry_after="seconds to wait",
                    ),
                    "503": oa.error("CoinGecko rate limit exhausted", retry_after="seconds to wait"),
                },
                parameters=[
                    oa.param(
                        "reload_missing",
                        "query",
                        description="Comma-separated coin ids (at most 250) a caller did not find in its copy.",
                    )
                ],
                description="Loaded through ingest's CoinGecko client and its shared token bucket, cached for an "
                "hour. Ids named in reload_missing that the cached list lacks (a coin listed since) reload it at "
                "once, unless a load was tried within the last minute. The ETag names the list's version: with "
                "If-None-Match of the current one the answer is 304 without a body.",
            )
        },
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
        responses=[CoinList, PricesAccepted, HistoryAccepted],
    )
