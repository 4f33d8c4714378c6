"""The simulator's control API under ``/__sim`` (not CoinGecko's; never rate limited or faulted).

- ``GET /__sim/config``: seed, rate limits, history limit, coins and quote currencies.
- ``PUT /__sim/rate_limits`` ``{"public": n, "demo": n, "pro": n}`` (any subset; 0 = unlimited):
  change the per-minute limits and empty every window.
- ``POST /__sim/faults`` a fault object or a list of them (``faults.FaultSpec``): each replaces
  the fault of its endpoint; ``GET`` lists those in force with their call counts;
  ``DELETE`` clears all, ``DELETE ?endpoint=x`` one.
- ``GET /__sim/stats``: calls per endpoint and status, faults injected per endpoint and kind;
  ``DELETE`` zeroes them.
- ``POST /__sim/coins`` ``{"id": "...", "like": "bitcoin"}``: list a new coin with a catalog
  coin's parameters and a price path of its own (201; 200 when listed already).
- ``POST /__sim/reset``: back to the start-up configuration (its rate limits and faults), empty
  windows and stats.

Errors use coinstream's shape ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from coinstream_common.web import ApiError, json_body, parse
from coinstream_contract.vocabulary import COIN_ID
from flask import Blueprint, request
from pydantic import BaseModel, ConfigDict, Field

from . import prices
from .catalog import COINS, VS_CURRENCIES, ListingConflict, ListingError, list_coin
from .faults import ANY, ENDPOINTS, FaultSpec
from .state import current

bp = Blueprint("sim_admin", __name__, url_prefix="/__sim")


class RateLimits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public: int | None = Field(None, ge=0)
    demo: int | None = Field(None, ge=0)
    pro: int | None = Field(None, ge=0)


def _config() -> dict:
    state = current()
    return {
        "seed": state.seed,
        "default_seed": prices.DEFAULT_SEED,
        "rate_limits_per_minute": dict(state.rate_limits),
        "history_limit_days": state.config.history_limit_days,
        "endpoints": list(ENDPOINTS),
        "coins": len(COINS),
        "vs_currencies": list(VS_CURRENCIES),
    }


class Listing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=COIN_ID)
    like: str


@bp.post("/coins")
def add_coin():
    listing = parse(Listing, json_body())
    try:
        coin, new = list_coin(listing.id, listing.like)
    except ListingError as exc:
        raise ApiError(409 if isinstance(exc, ListingConflict) else 400, "invalid_listing", str(exc)) from None
    return {
        "id": coin.id,
        "symbol": coin.symbol,
        "name": coin.name,
        "genesis": coin.genesis,
        "like": listing.like,
    }, 201 if new else 200


@bp.get("/config")
def config():
    return _config()


@bp.put("/rate_limits")
def rate_limits():
    limits = parse(RateLimits, json_body())
    current().set_rate_limits(limits.model_dump(exclude_none=True))
    return _config()


@bp.get("/faults")
def list_faults():
    return {"faults": current().faults.active()}


@bp.post("/faults")
def set_faults():
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise ApiError(400, "malformed_json", "body must be a fault object or a non-empty list of them")
    specs = [parse(FaultSpec, item) for item in data]
    board = current().faults
    for spec in specs:
        board.set(spec)
    return {"faults": board.active()}


@bp.delete("/faults")
def clear_faults():
    endpoint = request.args.get("endpoint")
    if endpoint is not None and endpoint != ANY and endpoint not in ENDPOINTS:
        raise ApiError(400, "invalid_request", f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)} or *")
    board = current().faults
    board.clear(endpoint)
    return {"faults": board.active()}


@bp.get("/stats")
def stats():
    return current().stats.snapshot()


@bp.delete("/stats")
def reset_stats():
    state = current()
    state.stats.reset()
    return state.stats.snapshot()


@bp.post("/reset")
def reset():
    state = current()
    state.reset()
    return {**_config(), "faults": state.faults.active()}
