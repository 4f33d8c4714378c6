"""The api service's OpenAPI 3.1 document (served at /openapi.json)."""

from __future__ import annotations

from coinstream_common.web import openapi_document
from coinstream_contract.vocabulary import COIN_ID, INTERVALS, POINT_STATUSES, PORTFOLIO_ID

ERROR = {"$ref": "#/components/schemas/Error"}
ISO = {"type": "string", "format": "date-time", "examples": ["2026-01-01T00:00:00Z"]}
NUMBER_OR_NULL = {"type": ["number", "null"]}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": ERROR}}}


ERRORS = {
    "401": _error("missing or wrong API key"),
    "404": _error("no such portfolio for this API key"),
    "429": {
        **_error("rate limit of this API key exceeded"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}},
    },
    "503": _error("Kafka or the query service (Trino) unavailable, and no last known valuation"),
}

ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": PORTFOLIO_ID},
}

SCHEMAS = {
    "HoldingRequest": {
        "type": "object",
        "required": ["coin", "amount"],
        "additionalProperties": False,
        "properties": {
            "coin": {"type": "string", "pattern": COIN_ID, "description": "CoinGecko coin id"},
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "acquired_at": {
                **ISO,
                "type": ["string", "null"],
                "description": "when bought; inside the range it is a purchase (cash flow)",
            },
            "acquired_price": {
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "description": "price paid per unit for a purchase inside the range (default: market)",
            },
        },
    },
    "PortfolioRequest": {
        "type": "object",
        "required": ["holdings", "vs_currency", "from", "to"],
        "additionalProperties": False,
        "properties": {
            "holdings": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/HoldingRequest"}},
            "vs_currency": {"type": "string", "examples": ["usd"]},
            "from": ISO,
            "to": ISO,
            "interval": {
                "type": "string",
                "enum": list(INTERVALS),
                "description": "default: daily beyond 90 days, hourly beyond 1 day, else 5m",
            },
        },
    },
    "Figures": {
        "type": "object",
        "properties": {
            "start": {**ISO, "type": ["string", "null"]},
            "end": {**ISO, "type": ["string", "null"]},
            "valued_points": {"type": "integer"},
            "start_value": NUMBER_OR_NULL,
            "end_value": NUMBER_OR_NULL,
            "purchases": {"type": "number", "description": "cash paid for lots bought inside the range"},
            "invested": NUMBER_OR_NULL,
            "pnl": NUMBER_OR_NULL,
            "total_return": {**NUMBER_OR_NULL, "description": "pnl / invested"},
            "time_weighted_return": NUMBER_OR_NULL,
            "max_drawdown": {**NUMBER_OR_NULL, "description": "largest fall from a peak, as a positive fraction"},
            "volatility_annualised": NUMBER_OR_NULL,
            "volatility_basis": {"type": "string"},
            "periods_per_year": {"type": "number"},
            "holdings": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "amount": {"type": "number"},
                        "start_value": {"type": "number"},
                        "end_value": {"type": "number"},
                        "purchases": {"type": "number"},
                        "pnl": {"type": "number"},
                        "contribution": {
                            **NUMBER_OR_NULL,
                            "description": "pnl / portfolio invested; sums to total_return",
                        },
                    },
                },
            },
        },
    },
    "Portfolio": {
        "type": "object",
        "required": [
            "id",
            "status",
            "vs_currency",
            "from",
            "to",
            "interval",
            "holdings",
            "completeness",
            "valuation",
            "as_of",
            "stale",
        ],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": ["pending", "complete"]},
            "vs_currency": {"type": "string"},
            "from": ISO,
            "to": ISO,
            "interval": {"type": "string", "enum": list(INTERVALS)},
            "created_at": ISO,
            "holdings": {"type": "array", "items": {"$ref": "#/components/schemas/HoldingRequest"}},
            "completeness": {
                "type": "object",
                "properties": {
                    "fraction": {"type": "number", "minimum": 0, "maximum": 1},
                    "expected": {"type": "integer"},
                    "present": {"type": "integer"},
                    "missing": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"coin": {"type": "string"}, "from": ISO, "to": ISO}},
                    },
                },
            },
            "valuation": {
                "type": "object",
                "properties": {
                    "figures": {"$ref": "#/components/schemas/Figures"},
                    "points": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "ts": ISO,
                                "value": NUMBER_OR_NULL,
                                "status": {"type": "string", "enum": list(POINT_STATUSES)},
                            },
                        },
                    },
                },
            },
            "as_of": ISO,
            "stale": {
                "type": "boolean",
                "description": "true: the query service is down; this is the last known state",
            },
        },
    },
}

PORTFOLIO = {"application/json": {"schema": {"$ref": "#/components/schemas/Portfolio"}}}

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

PATHS = {
    "/v1/portfolios": {
        "post": {
            "summary": "Create a portfolio; answers at once with what is known and requests the missing data",
            "security": [{"apiKey": []}, {"bearer": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PortfolioRequest"}}},
            },
            "responses": {
                "201": {
                    "description": "created; every price in the range is known",
                    "content": PORTFOLIO,
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                "202": {
                    "description": "created; missing data requested, follow /stream",
                    "content": PORTFOLIO,
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                "400": _error("invalid request: the message names what is wrong"),
                "413": _error("body too large"),
                **ERRORS,
            },
        }
    },
    "/v1/portfolios/{id}": {
        "get": {
            "summary": "The portfolio's state, valued now",
            "security": [{"apiKey": []}, {"bearer": []}],
            "parameters": [ID_PARAM],
            "responses": {"200": {"description": "the portfolio", "content": PORTFOLIO}, **ERRORS},
        }
    },
    "/v1/portfolios/{id}/stream": {
        "get": {
            "summary": "Server-Sent Events: `update` per landed batch touching the portfolio, then `complete` "
            "(or `timeout`); `: heartbeat` comments; resumes after Last-Event-ID",
            "security": [{"apiKey": []}, {"bearer": []}],
            "parameters": [
                ID_PARAM,
                {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "event stream; each event's data is a Portfolio",
                    "content": {"text/event-stream": {"schema": SSE_EVENT}},
                },
                **ERRORS,
            },
        }
    },
    "/v1/portfolios/{id}/chart.png": {
        "get": {
            "summary": "Performance chart (PNG)",
            "security": [{"apiKey": []}, {"bearer": []}],
            "parameters": [ID_PARAM],
            "responses": {"200": {"description": "PNG image", "content": {"image/png": {}}}, **ERRORS},
        }
    },
    "/v1/portfolios/{id}/chart.svg": {
        "get": {
            "summary": "Performance chart (SVG)",
            "security": [{"apiKey": []}, {"bearer": []}],
            "parameters": [ID_PARAM],
            "responses": {"200": {"description": "SVG image", "content": {"image/svg+xml": {}}}, **ERRORS},
        }
    },
}

COMPONENTS = {
    "schemas": SCHEMAS,
    "securitySchemes": {
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "bearer": {"type": "http", "scheme": "bearer"},
    },
}

OPENAPI = openapi_document("coinstream api", PATHS, COMPONENTS)
