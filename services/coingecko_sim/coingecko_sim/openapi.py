"""The simulator's OpenAPI 3.1 document (served at /openapi.json): CoinGecko's endpoints and its own /__sim ones."""

from __future__ import annotations

from typing import Any

from coinstream_common import openapi as oa
from pydantic import BaseModel

from .admin import Listing, RateLimits
from .faults import FaultSpec


class CgStatus(BaseModel):
    timestamp: str | None = None
    error_code: int | None = None
    error_message: str | None = None


class CgError(BaseModel):
    """``{"error": "..."}``: a bad parameter or an unknown coin."""

    error: str


class CgPlanErrorBody(BaseModel):
    status: CgStatus | None = None


class CgPlanError(BaseModel):
    """Beyond the plan: ``{"error": {"status": {...}}}``."""

    error: CgPlanErrorBody | None = None


class CgRateLimited(BaseModel):
    status: CgStatus | None = None


class CoinListItem(BaseModel):
    id: str
    symbol: str
    name: str


class MarketChart(BaseModel):
    prices: list[tuple[int, float]]
    market_caps: list[tuple[int, float]]
    total_volumes: list[tuple[int, float]]


OBJECT: dict[str, Any] = {"type": "object"}


def _q(name: str, description: str, required: bool = False, schema: dict | None = None) -> dict:
    return oa.param(name, "query", schema, description, required)


COIN = oa.param("id", "path", {"type": "string", "examples": ["bitcoin"]}, "coin id (see /api/v3/coins/list)")
VS = _q("vs_currency", "quote currency (see /api/v3/simple/supported_vs_currencies)", True)
PRECISION = _q("precision", "full (default) or 0..18 decimal places of prices")
INTERVAL = _q(
    "interval",
    "5m, hourly or daily; within the plan's rules (README)",
    schema={"type": "string", "enum": ["5m", "hourly", "daily"]},
)
KEYS = [
    oa.param("x-cg-demo-api-key", "header", None, "demo plan key"),
    oa.param("x-cg-pro-api-key", "header", None, "pro plan key"),
]
CG_ERRORS = {
    "400": oa.response("bad parameter", CgError),
    "401": oa.response("beyond the plan: history limit (10012) or interval (10005)", CgPlanError),
    "429": oa.response(
        "rate limited",
        CgRateLimited,
        headers={"Retry-After": {"type": "integer", "description": "seconds until a call is allowed"}},
    ),
    "5XX": oa.response("injected fault"),
}


def _get(summary: str, params: list[dict], ok: dict, not_found: bool = False) -> dict:
    responses = {"200": ok, **CG_ERRORS}
    if not_found:
        responses["404"] = oa.response('unknown coin: {"error": "coin not found"}', CgError)
    return {"get": oa.operation(summary, responses, parameters=params + KEYS)}


PATHS = {
    "/api/v3/ping": _get("Server status", [], oa.response("up", OBJECT)),
    "/api/v3/simple/supported_vs_currencies": _get(
        "Quote currencies", [], oa.response("codes", {"type": "array", "items": {"type": "string"}})
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
        oa.response("{id: {vs: price, vs_market_cap, vs_24h_vol, vs_24h_change, last_updated_at}}", OBJECT),
    ),
    "/api/v3/coins/list": _get(
        "Every coin",
        [_q("include_platform", "true/false")],
        oa.response("coins", {"type": "array", "items": oa.ref(CoinListItem)}),
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
        oa.response("one page", {"type": "array", "items": OBJECT}),
    ),
    "/api/v3/coins/{id}/market_chart": _get(
        "Chart of the last N days (grid points, then the latest minute)",
        [COIN, VS, _q("days", "a positive number, or max", True), INTERVAL, PRECISION],
        oa.response("chart", MarketChart),
        not_found=True,
    ),
    "/api/v3/coins/{id}/market_chart/range": _get(
        "Chart of a range (grid points only)",
        [
            COIN,
            VS,
            _q("from", "UNIX seconds or ISO date (YYYY-MM-DD, YYYY-MM-DDTHH:MM)", True),
            _q("to", "UNIX seconds or ISO date", True),
            INTERVAL,
            PRECISION,
        ],
        oa.response("chart", MarketChart),
        not_found=True,
    ),
    "/api/v3/coins/{id}/history": _get(
        "A coin at 00:00 UTC of a day",
        [COIN, _q("date", "dd-mm-yyyy", True), _q("localization", "true (default) / false")],
        oa.response("snapshot (market_data absent before the coin's first day)", OBJECT),
        not_found=True,
    ),
}

BAD = oa.error("bad request")
ADMIN = {
    "/__sim/config": {
        "get": oa.operation("Seed, rate limits, history limit", {"200": oa.response("config", OBJECT)}),
    },
    "/__sim/rate_limits": {
        "put": oa.operation(
            "Change per-minute rate limits (0: unlimited) and empty the windows",
            {"200": oa.response("config", OBJECT), "400": BAD},
            body=RateLimits,
            body_required=False,
        )
    },
    "/__sim/faults": {
        "get": oa.operation("Faults in force", {"200": oa.response("faults", OBJECT)}),
        "post": oa.operation(
            "Set faults (each replaces its endpoint's)",
            {"200": oa.response("faults", OBJECT), "400": BAD},
            body={"oneOf": [oa.ref(FaultSpec), {"type": "array", "items": oa.ref(FaultSpec)}]},
            body_required=False,
        ),
        "delete": oa.operation(
            "Clear all faults, or one endpoint's",
            {"200": oa.response("faults", OBJECT), "400": BAD},
            parameters=[_q("endpoint", "endpoint or *")],
        ),
    },
    "/__sim/stats": {
        "get": oa.operation("Calls per endpoint and status, faults injected", {"200": oa.response("stats", OBJECT)}),
        "delete": oa.operation("Zero the statistics", {"200": oa.response("stats", OBJECT)}),
    },
    "/__sim/coins": {
        "post": oa.operation(
            "List a new coin with a catalog coin's parameters and a price path of its own",
            {
                "200": oa.response("listed already", OBJECT),
                "201": oa.response("listed", OBJECT),
                "400": BAD,
                "409": BAD,
            },
            body=Listing,
            body_required=False,
        )
    },
    "/__sim/reset": {
        "post": oa.operation("Back to the start-up configuration", {"200": oa.response("config", OBJECT)}),
    },
}

DOCUMENT = oa.document(
    "coingecko-sim (CoinGecko API v3 simulator)",
    {**PATHS, **ADMIN},
    requests=[RateLimits, FaultSpec, Listing],
    responses=[CgError, CgPlanError, CgRateLimited, CoinListItem, MarketChart],
)
