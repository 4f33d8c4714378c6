"""CoinGecko API v3 under ``/api/v3``: CoinGecko's parameters, JSON shapes, status codes and error bodies.

Error bodies are CoinGecko's, not coinstream's: ``{"error": "coin not found"}``
(404), ``{"error": "<reason>"}`` (400), ``{"error": {"status": {"timestamp",
"error_code", "error_message"}}}`` (401: history or interval beyond the
plan), ``{"status": {"error_code": 429, "error_message"}}`` with
``Retry-After`` (429).

Plans: a ``x-cg-pro-api-key`` header (or ``x_cg_pro_api_key`` query
parameter) is the pro plan, ``x-cg-demo-api-key`` / ``x_cg_demo_api_key`` the
demo plan (any non-empty key is accepted), neither the keyless public plan.
Rate limits count per key, or per client address for the public plan.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from coinstream_common.timeutil import parse_instant
from flask import Blueprint, Response, g, jsonify, request

from . import chart, market, prices
from .catalog import COINS, VS_CURRENCIES
from .chart import ParamError, PlanError
from .faults import MALFORMED_BODY, truncate
from .state import current

bp = Blueprint("coingecko", __name__, url_prefix="/api/v3")

RATE_LIMIT_MESSAGE = (
    "You've exceeded the Rate Limit. Please wait Retry-After seconds or use a plan with a higher limit."
)
MAX_PER_PAGE = 250


class CoinGeckoError(Exception):
    """An answer in CoinGecko's error shape."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def _answer(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def rate_limited(retry_after_s: int) -> Response:
    return _answer(
        429, {"status": {"error_code": 429, "error_message": RATE_LIMIT_MESSAGE}}, {"Retry-After": str(retry_after_s)}
    )


def plan_error(exc: PlanError, now_ms: int) -> CoinGeckoError:
    timestamp = datetime.fromtimestamp(now_ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    status = {"timestamp": timestamp, "error_code": exc.error_code, "error_message": exc.message}
    return CoinGeckoError(401, {"error": {"status": status}})


def caller() -> tuple[str, str]:
    """(plan, rate-limit identity) of this request."""
    pro = request.headers.get("x-cg-pro-api-key") or request.args.get("x_cg_pro_api_key")
    if pro:
        return "pro", "pro:" + pro
    demo = request.headers.get("x-cg-demo-api-key") or request.args.get("x_cg_demo_api_key")
    if demo:
        return "demo", "demo:" + demo
    return "public", "ip:" + (request.remote_addr or "?")


@bp.before_request
def _gate():
    """Faults first (as if in front of CoinGecko), then the plan's rate limit, then the 5xx draw."""
    state = current()
    name = (request.endpoint or "").rpartition(".")[2]
    g.sim_endpoint = name
    g.sim_injected = []
    g.sim_fault = decision = state.faults.draw(name)
    g.sim_plan, identity = caller()
    if decision is not None:
        if decision.hang_s:
            g.sim_injected.append("hang")
            state.sleep(decision.hang_s)
        if decision.latency_s:
            g.sim_injected.append("latency")
            state.sleep(decision.latency_s)
        if decision.storm_retry_after_s is not None:
            g.sim_injected.append("rate_limit_storm")
            return rate_limited(decision.storm_retry_after_s)
    wait = state.limiter.check(identity, state.rate_limit(g.sim_plan))
    if wait is not None:
        return rate_limited(wait)
    if decision is not None and decision.error_status is not None:
        g.sim_injected.append("error")
        return _answer(
            decision.error_status,
            {"status": {"error_code": decision.error_status, "error_message": "coingecko-sim: injected server error"}},
        )
    return None


@bp.after_request
def _finish(resp: Response) -> Response:
    decision = g.get("sim_fault")
    if decision is not None and resp.status_code == 200:
        if decision.malformed:
            g.sim_injected.append("malformed")
            resp.set_data(MALFORMED_BODY)
        elif decision.truncated:
            g.sim_injected.append("truncated")
            _truncate(resp)
    current().stats.record(g.get("sim_endpoint", "?"), resp.status_code, g.get("sim_injected", []))
    return resp


def _truncate(resp: Response) -> None:
    """Send half the body under the full Content-Length, then close the connection (gunicorn's socket)."""
    body = resp.get_data()
    part = truncate(body)
    sock = request.environ.get("gunicorn.socket")

    def stream():
        yield part
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    resp.response = stream()
    resp.headers["Content-Length"] = str(len(body))


@bp.errorhandler(CoinGeckoError)
def _coingecko_error(exc: CoinGeckoError):
    return _answer(exc.status, exc.body, exc.headers)


@bp.errorhandler(ParamError)
def _param_error(exc: ParamError):
    return _answer(400, {"error": str(exc)})


@bp.errorhandler(PlanError)
def _plan_error(exc: PlanError):
    err = plan_error(exc, current().now_ms())
    return _answer(err.status, err.body)


# -- parameters ------------------------------------------------------------------


def _required(name: str) -> str:
    value = request.args.get(name, "").strip()
    if not value:
        raise ParamError(f"Missing parameter {name}")
    return value


def _flag(name: str) -> bool:
    return request.args.get(name, "false").strip().lower() == "true"


def _list(value: str) -> list[str]:
    return [v.strip().lower() for v in value.split(",") if v.strip()]


def _coin(coin_id: str) -> str:
    if not prices.is_coin(coin_id):
        raise CoinGeckoError(404, {"error": "coin not found"})
    return coin_id


def _vs_currency() -> str:
    vs = _required("vs_currency").lower()
    if not prices.is_currency(vs):
        raise ParamError("invalid vs_currency")
    return vs


def _instant(name: str) -> int:
    """``from``/``to``: UNIX seconds (integer or decimal) or an ISO 8601 date / date-time (UTC)."""
    text = _required(name)
    try:
        return parse_instant(float(text))
    except (ValueError, OverflowError):
        pass
    try:
        return parse_instant(text)
    except ValueError:
        raise ParamError(
            f"invalid {name} {text!r}: UNIX seconds or an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None


def _int(name: str, default: int, lo: int, hi: int) -> int:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not lo <= int(text) <= hi:
        raise ParamError(f"invalid {name} {text!r}: an integer from {lo} to {hi}")
    return int(text)


def _precision() -> int | None:
    return chart.parse_precision(request.args.get("precision"))


# -- endpoints -------------------------------------------------------------------


@bp.get("/ping")
def ping():
    return {"gecko_says": "(V3) To the Moon!"}


@bp.get("/simple/supported_vs_currencies")
def supported_vs_currencies():
    return jsonify(list(VS_CURRENCIES))


@bp.get("/simple/price")
def simple_price():
    ids = _list(_required("ids"))
    vs_currencies = _list(_required("vs_currencies"))
    state = current()
    return market.simple_price(
        ids,
        vs_currencies,
        state.now_ms(),
        state.seed,
        market_cap=_flag("include_market_cap"),
        volume=_flag("include_24hr_vol"),
        change=_flag("include_24hr_change"),
        last_updated=_flag("include_last_updated_at"),
        precision=_precision(),
    )


@bp.get("/coins/list")
def coins_list():
    platforms = _flag("include_platform")
    return jsonify(
        [
            {"id": c.id, "symbol": c.symbol, "name": c.name, **({"platforms": {}} if platforms else {})}
            for c in sorted(COINS.values(), key=lambda c: c.id)
        ]
    )


@bp.get("/coins/markets")
def coins_markets():
    vs = _vs_currency()
    ids = _list(request.args.get("ids", "")) or None
    order = request.args.get("order", "market_cap_desc").strip().lower()
    if order not in market.MARKET_ORDERS:
        raise ParamError(f"invalid order {order!r}: one of {', '.join(market.MARKET_ORDERS)}")
    windows = tuple(_list(request.args.get("price_change_percentage", "")))
    unknown = [w for w in windows if w not in market.CHANGE_WINDOWS_MS]
    if unknown:
        raise ParamError(f"invalid price_change_percentage {unknown[0]!r}: {', '.join(market.CHANGE_WINDOWS_MS)}")
    state = current()
    rows = market.markets(
        vs,
        state.now_ms(),
        state.seed,
        ids,
        order,
        per_page=_int("per_page", 100, 1, MAX_PER_PAGE),
        page=_int("page", 1, 1, 1_000_000),
        price_change_windows=windows,
        sparkline=_flag("sparkline"),
        precision=_precision(),
    )
    return jsonify(rows)


@bp.get("/coins/<coin_id>/market_chart")
def market_chart(coin_id: str):
    _coin(coin_id)
    vs = _vs_currency()
    state = current()
    now = state.now_ms()
    first = prices.first_ms(coin_id, vs)
    from_ms = chart.parse_days(request.args.get("days", ""), now, first)
    chart.check_history(from_ms, now, g.sim_plan, state.config.history_limit_days)
    step = chart.granularity(from_ms, now, now, g.sim_plan, request.args.get("interval", "").strip().lower())
    points = chart.days_points(from_ms, now, step, first)
    return chart.chart(coin_id, vs, points, state.seed, _precision())


@bp.get("/coins/<coin_id>/market_chart/range")
def market_chart_range(coin_id: str):
    _coin(coin_id)
    vs = _vs_currency()
    from_ms, to_ms = _instant("from"), _instant("to")
    if from_ms > to_ms:
        raise ParamError("from must not be after to")
    state = current()
    now = state.now_ms()
    chart.check_history(from_ms, now, g.sim_plan, state.config.history_limit_days)
    step = chart.granularity(from_ms, to_ms, now, g.sim_plan, request.args.get("interval", "").strip().lower())
    points = chart.range_points(from_ms, to_ms, now, step, prices.first_ms(coin_id, vs))
    return chart.chart(coin_id, vs, points, state.seed, _precision())


@bp.get("/coins/<coin_id>/history")
def history(coin_id: str):
    _coin(coin_id)
    text = _required("date")
    try:
        day = datetime.strptime(text, "%d-%m-%Y").replace(tzinfo=UTC)
    except ValueError:
        raise ParamError(f"invalid date {text!r}: dd-mm-yyyy") from None
    day_ms = int(day.timestamp() * 1000)
    state = current()
    now = state.now_ms()
    chart.check_history(day_ms, now, g.sim_plan, state.config.history_limit_days)
    localization = request.args.get("localization", "true").strip().lower() != "false"
    return market.history(coin_id, day_ms, now, state.seed, localization)
