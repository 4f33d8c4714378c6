"""The query service's OpenAPI document (served at /openapi.json)."""

from __future__ import annotations

from typing import Any

from coinstream_common.events import COIN_ID, VS_CURRENCY
from coinstream_common.timeutil import INTERVAL_MS
from coinstream_common.web import openapi_document

from .params import MAX_COINS, MAX_HOLDINGS, MAX_LANDED_DAYS, MAX_STALENESS_S

_ERROR = {"$ref": "#/components/schemas/Error"}
_INSTANT = {"type": "string", "format": "date-time", "examples": ["2026-01-01T00:00:00Z"]}
_NULL_INSTANT = {"type": ["string", "null"], "format": "date-time"}
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_INTERVAL = {"type": "string", "enum": list(INTERVAL_MS)}
_STATUS = {"type": "string", "enum": ["observed", "carried", "missing"]}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors() -> dict[str, Any]:
    return {
        "400": {"description": "invalid request (the error message says what is wrong)", **_json(_ERROR)},
        "503": {
            "description": "Trino unavailable or timed out (code trino_unavailable); retry after Retry-After seconds",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
            **_json(_ERROR),
        },
    }


def _query_param(name: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


_RANGE_PARAMS = [
    _query_param("vs_currency", {"type": "string", "pattern": VS_CURRENCY, "default": "usd"}, "Quote currency."),
    _query_param("from", _INSTANT, "Start of the range (ISO 8601, UTC).", required=True),
    _query_param("to", _INSTANT, "End of the range (ISO 8601, UTC), after from.", required=True),
    _query_param(
        "interval",
        {**_INTERVAL, "default": "daily"},
        "Grid step; grid points are multiples of it since the epoch (UTC) within [from, to].",
    ),
]

SCHEMAS: dict[str, Any] = {
    "SeriesPoint": {
        "type": "object",
        "required": ["ts", "price", "market_cap", "total_volume", "observed_at"],
        "properties": {
            "ts": {**_INSTANT, "description": "Bucket start; the bucket covers [ts, ts + interval)."},
            "price": {"type": "number"},
            "market_cap": _NUMBER_OR_NULL,
            "total_volume": _NUMBER_OR_NULL,
            "observed_at": {**_INSTANT, "description": "Time of the bucket's last observation (the one shown)."},
        },
    },
    "Series": {
        "type": "object",
        "required": ["coin", "vs_currency", "interval", "from", "to", "points"],
        "properties": {
            "coin": {"type": "string"},
            "vs_currency": {"type": "string"},
            "interval": _INTERVAL,
            "from": _INSTANT,
            "to": _INSTANT,
            "points": {
                "type": "array",
                "items": _ref("SeriesPoint"),
                "description": "One point per bucket holding data, ascending; empty buckets are absent.",
            },
        },
    },
    "Range": {"type": "object", "required": ["from", "to"], "properties": {"from": _INSTANT, "to": _INSTANT}},
    "CoinCoverage": {
        "type": "object",
        "required": ["expected", "present", "missing"],
        "properties": {
            "expected": {"type": "integer"},
            "present": {"type": "integer"},
            "missing": {
                "type": "array",
                "items": _ref("Range"),
                "description": "Merged runs of empty buckets: from the first one's start to the last one's end.",
            },
        },
    },
    "Coverage": {
        "type": "object",
        "required": ["vs_currency", "interval", "from", "to", "coins", "expected", "present", "fraction"],
        "properties": {
            "vs_currency": {"type": "string"},
            "interval": _INTERVAL,
            "from": _INSTANT,
            "to": _INSTANT,
            "coins": {"type": "object", "additionalProperties": _ref("CoinCoverage")},
            "expected": {"type": "integer"},
            "present": {"type": "integer"},
            "fraction": {"type": "number", "minimum": 0, "maximum": 1},
        },
    },
    "LandedDays": {
        "type": "object",
        "required": ["coin", "vs_currency", "interval", "from", "to", "days"],
        "properties": {
            "coin": {"type": "string"},
            "vs_currency": {"type": "string"},
            "interval": _INTERVAL,
            "from": _INSTANT,
            "to": _INSTANT,
            "days": {
                "type": "array",
                "items": _ref("Range"),
                "description": "Merged runs of complete UTC days, clipped to [from, to] (inclusive, to the "
                "millisecond): a day is complete when every grid bucket of the interval inside the range "
                "holds an observation.",
            },
        },
    },
    "HoldingIn": {
        "type": "object",
        "required": ["coin", "amount"],
        "properties": {
            "coin": {"type": "string", "pattern": COIN_ID},
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "acquired_at": {**_NULL_INSTANT, "description": "Counted from this instant on; always when null."},
        },
    },
    "ValuationRequest": {
        "type": "object",
        "required": ["holdings", "from", "to"],
        "additionalProperties": False,
        "properties": {
            "holdings": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_HOLDINGS,
                "items": _ref("HoldingIn"),
                "description": "Lots; several lots of one coin are summed (each from its acquired_at).",
            },
            "vs_currency": {"type": "string", "pattern": VS_CURRENCY, "default": "usd"},
            "from": _INSTANT,
            "to": _INSTANT,
            "interval": {**_INTERVAL, "default": "daily"},
            "staleness_s": {
                "type": ["integer", "null"],
                "minimum": 0,
                "maximum": MAX_STALENESS_S,
                "description": "Carry a price forward at most this long; default: the service "
                "setting, or two intervals.",
            },
        },
    },
    "HoldingValue": {
        "type": "object",
        "required": ["amount", "price", "price_ts", "value", "status"],
        "properties": {
            "amount": {"type": "number", "description": "Held at this point (0 before acquisition: not counted)."},
            "price": _NUMBER_OR_NULL,
            "price_ts": {**_NULL_INSTANT, "description": "When the price used was observed."},
            "value": _NUMBER_OR_NULL,
            "status": {
                **_STATUS,
                "description": "observed: price_ts in (ts - interval, ts]; carried: older but "
                "within staleness; missing: none within staleness.",
            },
        },
    },
    "ValuationPoint": {
        "type": "object",
        "required": ["ts", "value", "status", "holdings"],
        "properties": {
            "ts": _INSTANT,
            "value": {**_NUMBER_OR_NULL, "description": "Null when a counted holding is missing."},
            "status": {**_STATUS, "description": "Worst status of the counted holdings."},
            "holdings": {"type": "object", "additionalProperties": _ref("HoldingValue")},
        },
    },
    "Valuation": {
        "type": "object",
        "required": ["vs_currency", "interval", "from", "to", "staleness_s", "points", "coverage"],
        "properties": {
            "vs_currency": {"type": "string"},
            "interval": _INTERVAL,
            "from": _INSTANT,
            "to": _INSTANT,
            "staleness_s": {"type": "integer"},
            "points": {"type": "array", "items": _ref("ValuationPoint")},
            "coverage": {
                "type": "object",
                "required": ["expected", "present", "fraction", "missing"],
                "properties": {
                    "expected": {"type": "integer", "description": "Counted coin-points."},
                    "present": {"type": "integer", "description": "Counted coin-points with status observed."},
                    "fraction": {"type": "number"},
                    "missing": {
                        "type": "array",
                        "description": "Runs of non-observed points per coin: [first ts - interval, last ts], "
                        "the span where observations would make them observed.",
                        "items": {
                            "type": "object",
                            "required": ["coin", "from", "to"],
                            "properties": {"coin": {"type": "string"}, "from": _INSTANT, "to": _INSTANT},
                        },
                    },
                },
            },
        },
    },
}

PATHS: dict[str, Any] = {
    "/v1/prices/{coin}": {
        "get": {
            "summary": "Price series: the last observation in each bucket",
            "parameters": [
                {"name": "coin", "in": "path", "required": True, "schema": {"type": "string", "pattern": COIN_ID}},
                *_RANGE_PARAMS,
            ],
            "responses": {"200": {"description": "series", **_json(_ref("Series"))}, **_errors()},
        }
    },
    "/v1/coverage": {
        "get": {
            "summary": "Which buckets of the range hold data, per coin",
            "parameters": [
                _query_param(
                    "coins", {"type": "string"}, f"Comma-separated coin ids (at most {MAX_COINS}).", required=True
                ),
                *_RANGE_PARAMS,
            ],
            "responses": {"200": {"description": "coverage", **_json(_ref("Coverage"))}, **_errors()},
        }
    },
    "/v1/landed/{coin}": {
        "get": {
            "summary": "The UTC days of a range that already landed completely (ingest asks before a backfill)",
            "description": "Bounded in time by the landed_timeout_s setting: a slow or absent Trino answers 503 "
            "quickly, and the caller fetches the whole range instead.",
            "parameters": [
                {"name": "coin", "in": "path", "required": True, "schema": {"type": "string", "pattern": COIN_ID}},
                _query_param(
                    "vs_currency", {"type": "string", "pattern": VS_CURRENCY, "default": "usd"}, "Quote currency."
                ),
                _query_param("from", _INSTANT, "Start of the range (ISO 8601, UTC).", required=True),
                _query_param(
                    "to",
                    _INSTANT,
                    f"End of the range (ISO 8601, UTC), not before from, at most {MAX_LANDED_DAYS} days on.",
                    required=True,
                ),
                _query_param("interval", {**_INTERVAL, "default": "hourly"}, "Grid whose buckets must all hold data."),
                _query_param(
                    "source",
                    {"type": "string", "pattern": "^[a-z0-9_.-]{1,32}$"},
                    "Count only observations of this source (default: any).",
                ),
            ],
            "responses": {"200": {"description": "landed days", **_json(_ref("LandedDays"))}, **_errors()},
        }
    },
    "/v1/valuation": {
        "post": {
            "summary": "A portfolio's value at each grid point, computed in one Trino query",
            "requestBody": {"required": True, **_json(_ref("ValuationRequest"))},
            "responses": {"200": {"description": "valuation", **_json(_ref("Valuation"))}, **_errors()},
        }
    },
}


def document() -> dict[str, Any]:
    return openapi_document("coinstream query", PATHS, {"schemas": SCHEMAS})
