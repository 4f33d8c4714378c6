"""The simulator's OpenAPI 3.1 document (served at /openapi.json)."""

from __future__ import annotations

from coinstream_common.web import openapi_document
from coinstream_contract.vocabulary import COIN_ID

from .faults import ENDPOINTS


def _q(name: str, description: str, required: bool = False, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COIN_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "examples": ["bitcoin"]},
    "description": "coin id (see /api/v3/coins/list)",
}
VS = _q("vs_currency", "quote currency (see /api/v3/simple/supported_vs_currencies)", True)
PRECISION = _q("precision", "full (default) or 0..18 decimal places of prices")
INTERVAL = _q(
    "interval",
    "5m, hourly or daily; within the plan's rules (README)",
    schema={"type": "string", "enum": ["5m", "hourly", "daily"]},
)
KEYS = [
    {
        "name": "x-cg-demo-api-key",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "demo plan key",
    },
    {
        "name": "x-cg-pro-api-key",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "pro plan key",
    },
]

CG_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
CG_PLAN_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {"status": {"$ref": "#/components/schemas/CgStatus"}}}},
}
CG_RATE_LIMITED = {"type": "object", "properties": {"status": {"$ref": "#/components/schemas/CgStatus"}}}
PAIRS = {
    "type": "array",
    "items": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "number"}], "minItems": 2, "maxItems": 2},
}

ERRORS = {
    "400": _json("bad parameter", CG_ERROR),
    "401": _json("beyond the plan: history limit (10012) or interval (10005)", CG_PLAN_ERROR),
    "429": {
        **_json("rate limited", CG_RATE_LIMITED),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds until a call is allowed"}},
    },
    "5XX": {"description": "injected fault"},
}


def _get(summary: str, params: list[dict], ok: dict, not_found: bool = False) -> dict:
    responses = {"200": ok, **ERRORS}
    if not_found:
        responses["404"] = _json('unknown coin: {"error": "coin not found"}', CG_ERROR)
    return {"get": {"summary": summary, "parameters": params + KEYS, "responses": responses}}


PATHS = {
    "/api/v3/ping": _get("Server status", [], _json("up", {"type": "object"})),
    "/api/v3/simple/supported_vs_currencies": _get(
        "Quote currencies", [], _json("codes", {"type": "array", "items": {"type": "string"}})
    ),
    "/api/v3/simple/price": _get(
        "Current prices (the latest whole minute)",
        [
            _q("ids", "coin ids, comma separated", True),
            _q("vs_currencies", "comma separated", True),
            _q("include_market_cap", "true/false"),
            _q("include_24hr_vol", "true/false"),
            _q("include_24hr_change", "true/false"),
            _q("include_last_updated_at", "true/false"),
            PRECISION,
        ],
        _json("{id: {vs: price, vs_market_cap, vs_24h_vol, vs_24h_change, last_updated_at}}", {"type": "object"}),
    ),
    "/api/v3/coins/list": _get(
        "Every coin",
        [_q("include_platform", "true/false")],
        _json("coins", {"type": "array", "items": {"$ref": "#/components/schemas/CoinListItem"}}),
    ),
    "/api/v3/coins/markets": _get(
        "Market data of coins, ranked by market cap",
        [
            VS,
            _q("ids", "coin ids, comma separated"),
            _q("order", "market_cap_desc (default), market_cap_asc, volume_desc, volume_asc, id_asc, id_desc"),
            _q("per_page", "1..250, default 100", schema={"type": "integer"}),
            _q("page", "from 1", schema={"type": "integer"}),
            _q("sparkline", "true/false"),
            _q("price_change_percentage", "1h,24h,7d,14d,30d,200d,1y"),
            PRECISION,
        ],
        _json("one page", {"type": "array", "items": {"type": "object"}}),
    ),
    "/api/v3/coins/{id}/market_chart": _get(
        "Chart of the last N days (grid points, then the latest minute)",
        [COIN_ID, VS, _q("days", "a positive number, or max", True), INTERVAL, PRECISION],
        _json("chart", {"$ref": "#/components/schemas/MarketChart"}),
        not_found=True,
    ),
    "/api/v3/coins/{id}/market_chart/range": _get(
        "Chart of a range (grid points only)",
        [
            COIN_ID,
            VS,
            _q("from", "UNIX seconds or ISO date (YYYY-MM-DD, YYYY-MM-DDTHH:MM)", True),
            _q("to", "UNIX seconds or ISO date", True),
            INTERVAL,
            PRECISION,
        ],
        _json("chart", {"$ref": "#/components/schemas/MarketChart"}),
        not_found=True,
    ),
    "/api/v3/coins/{id}/history": _get(
        "A coin at 00:00 UTC of a day",
        [COIN_ID, _q("date", "dd-mm-yyyy", True), _q("localization", "true (default) / false")],
        _json("snapshot (market_data absent before the coin's first day)", {"type": "object"}),
        not_found=True,
    ),
}

FAULT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "endpoint": {"type": "string", "enum": [*ENDPOINTS, "*"]},
        "latency_ms": {"type": "integer", "minimum": 0},
        "error_rate": {"type": "number", "minimum": 0, "maximum": 1},
        "error_status": {"type": "integer", "minimum": 500, "maximum": 599},
        "rate_limit_storm": {"type": "boolean"},
        "retry_after_s": {"type": "integer", "minimum": 0},
        "malformed": {"type": "boolean"},
        "truncated": {"type": "boolean"},
        "hang_s": {"type": "number", "minimum": 0, "maximum": 600},
        "times": {"type": ["integer", "null"], "minimum": 1},
    },
}
COINSTREAM_ERROR = {
    "description": "bad request",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}

ADMIN = {
    "/__sim/config": {
        "get": {
            "summary": "Seed, rate limits, history limit",
            "responses": {"200": _json("config", {"type": "object"})},
        }
    },
    "/__sim/rate_limits": {
        "put": {
            "summary": "Change per-minute rate limits (0: unlimited) and empty the windows",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {p: {"type": "integer", "minimum": 0} for p in ("public", "demo", "pro")},
                        }
                    }
                }
            },
            "responses": {"200": _json("config", {"type": "object"}), "400": COINSTREAM_ERROR},
        }
    },
    "/__sim/faults": {
        "get": {"summary": "Faults in force", "responses": {"200": _json("faults", {"type": "object"})}},
        "post": {
            "summary": "Set faults (each replaces its endpoint's)",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/Fault"},
                                {"type": "array", "items": {"$ref": "#/components/schemas/Fault"}},
                            ]
                        }
                    }
                }
            },
            "responses": {"200": _json("faults", {"type": "object"}), "400": COINSTREAM_ERROR},
        },
        "delete": {
            "summary": "Clear all faults, or one endpoint's",
            "parameters": [_q("endpoint", "endpoint or *")],
            "responses": {"200": _json("faults", {"type": "object"}), "400": COINSTREAM_ERROR},
        },
    },
    "/__sim/stats": {
        "get": {
            "summary": "Calls per endpoint and status, faults injected",
            "responses": {"200": _json("stats", {"type": "object"})},
        },
        "delete": {"summary": "Zero the statistics", "responses": {"200": _json("stats", {"type": "object"})}},
    },
    "/__sim/coins": {
        "post": {
            "summary": "List a new coin with a catalog coin's parameters and a price path of its own",
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["id", "like"],
                            "additionalProperties": False,
                            "properties": {"id": {"type": "string", "pattern": COIN_ID}, "like": {"type": "string"}},
                        }
                    }
                }
            },
            "responses": {
                "200": _json("listed already", {"type": "object"}),
                "201": _json("listed", {"type": "object"}),
                "400": COINSTREAM_ERROR,
                "409": COINSTREAM_ERROR,
            },
        }
    },
    "/__sim/reset": {
        "post": {
            "summary": "Back to the start-up configuration",
            "responses": {"200": _json("config", {"type": "object"})},
        }
    },
}

SCHEMAS = {
    "CgStatus": {
        "type": "object",
        "properties": {
            "timestamp": {"type": "string"},
            "error_code": {"type": "integer"},
            "error_message": {"type": "string"},
        },
    },
    "CoinListItem": {
        "type": "object",
        "required": ["id", "symbol", "name"],
        "properties": {"id": {"type": "string"}, "symbol": {"type": "string"}, "name": {"type": "string"}},
    },
    "MarketChart": {
        "type": "object",
        "required": ["prices", "market_caps", "total_volumes"],
        "properties": {"prices": PAIRS, "market_caps": PAIRS, "total_volumes": PAIRS},
    },
    "Fault": FAULT,
}

DOCUMENT = openapi_document("coingecko-sim (CoinGecko API v3 simulator)", {**PATHS, **ADMIN}, {"schemas": SCHEMAS})
