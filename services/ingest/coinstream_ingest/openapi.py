"""The ingest service's OpenAPI document (served at /openapi.json)."""

from __future__ import annotations

from coinstream_common.events import COIN_ID, VS_CURRENCY
from coinstream_common.web import openapi_document

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
    "/v1/coins": {
        "get": {
            "summary": "Every coin CoinGecko lists (ingest's cached copy; what the api accepts in portfolios)",
            "description": "Loaded through ingest's CoinGecko client and its shared token bucket, cached for an hour. "
            "Ids named in reload_missing that the cached list lacks (a coin listed since) reload it at once, "
            "unless a load was tried within the last minute. The ETag names the list's version: with "
            "If-None-Match of the current one the answer is 304 without a body.",
            "parameters": [
                {
                    "name": "reload_missing",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Comma-separated coin ids (at most 250) a caller did not find in its copy.",
                }
            ],
            "responses": {
                "200": {
                    "description": "the coin list, sorted by id",
                    "headers": {"ETag": {"schema": {"type": "string"}, "description": "version of the list"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CoinList"}}},
                },
                "304": {"description": "the list is the one named by If-None-Match"},
                "400": _error("reload_missing names a malformed id or too many"),
                "502": _error("CoinGecko unreachable, refused our key, or kept failing after retries", retry=True),
                "503": _error("CoinGecko rate limit exhausted", retry=True),
            },
        }
    },
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
    "CoinList": {
        "type": "object",
        "required": ["coins", "count"],
        "properties": {
            "coins": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "symbol", "name"],
                    "properties": {"id": {"type": "string"}, "symbol": {"type": "string"}, "name": {"type": "string"}},
                },
            },
            "count": {"type": "integer", "minimum": 1},
        },
    },
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
            "interval": {"type": "string", "enum": ["5m", "hourly", "daily"], "default": "hourly"},
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
