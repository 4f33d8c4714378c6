"""The ingest service's OpenAPI document (served at /openapi.json)."""

from __future__ import annotations

from coinstream_common.web import openapi_document
from coinstream_contract.vocabulary import COIN_ID, INTERVALS, VS_CURRENCY

_ERR = {"$ref": "#/components/schemas/Error"}
_INSTANT = {
    "oneOf": [
        {"type": "string", "description": "ISO 8601 date or date-time (UTC if no offset)"},
        {"type": "number", "description": "epoch seconds, or milliseconds above 1e11"},
    ]
}


def _error(description: str, retry: bool = False) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": _ERR}}}
    if retry:
        out["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
    return out


_COMMON_ERRORS = {
    "400": _error("malformed body, bad range (from after to, beyond the plan's history), unknown vs_currency"),
    "404": _error("unknown coin; error.coins names it"),
    "502": _error("CoinGecko unreachable or kept failing after retries", retry=True),
    "503": _error("CoinGecko rate limit exhausted, or Kafka did not acknowledge the events", retry=True),
}

PATHS = {
    "/v1/fetch/prices": {
        "post": {
            "summary": "Fetch current prices now and publish them to coin.prices",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PricesRequest"}}},
            },
            "responses": {
                "202": {
                    "description": "every event produced was acknowledged by the broker",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PricesAccepted"}}},
                },
                **_COMMON_ERRORS,
            },
        }
    },
    "/v1/fetch/history": {
        "post": {
            "summary": "Fetch a coin's history and publish it to coin.prices",
            "description": "The range is split into CoinGecko calls that return the asked granularity; "
            "points are reported on the interval's UTC grid inside [from, to].",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HistoryRequest"}}},
            },
            "responses": {
                "202": {
                    "description": "every event produced was acknowledged by the broker",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HistoryAccepted"}}},
                },
                **_COMMON_ERRORS,
            },
        }
    },
}

SCHEMAS = {
    "PricesRequest": {
        "type": "object",
        "required": ["coins"],
        "additionalProperties": False,
        "properties": {
            "coins": {"type": "array", "minItems": 1, "maxItems": 250, "items": {"type": "string", "pattern": COIN_ID}},
            "vs_currency": {"type": "string", "pattern": VS_CURRENCY, "default": "usd"},
        },
    },
    "HistoryRequest": {
        "type": "object",
        "required": ["coin", "from"],
        "additionalProperties": False,
        "properties": {
            "coin": {"type": "string", "pattern": COIN_ID},
            "vs_currency": {"type": "string", "pattern": VS_CURRENCY, "default": "usd"},
            "from": _INSTANT,
            "to": {**_INSTANT, "description": "defaults to now; clipped to now"},
            "interval": {"type": "string", "enum": list(INTERVALS), "default": "hourly"},
        },
    },
    "PricesAccepted": {
        "type": "object",
        "required": ["requested", "produced", "topic"],
        "properties": {
            "requested": {"type": "object"},
            "produced": {"type": "integer"},
            "missing": {"type": "array", "items": {"type": "string"}},
            "topic": {"type": "string"},
        },
    },
    "HistoryAccepted": {
        "type": "object",
        "required": ["requested", "fetched", "produced", "topic"],
        "properties": {
            "requested": {"type": "object"},
            "fetched": {
                "type": "object",
                "properties": {"from": {"type": "string"}, "to": {"type": "string"}, "calls": {"type": "integer"}},
            },
            "produced": {"type": "integer"},
            "topic": {"type": "string"},
        },
    },
}


def document() -> dict:
    return openapi_document("coinstream ingest", PATHS, {"schemas": SCHEMAS})
