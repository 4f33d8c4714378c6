"""The query service: price series, coverage, landed days and valuation over Trino.

It is the only component that reads the price table through Trino for others: the api
asks it for valuations, ingest for the days already landed before a backfill.

Run with ``gunicorn -c python:coinstream_common.gunicorn_conf 'coinstream_query.app:create_app()'``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from coinstream_common import logs
from coinstream_common.settings import ServiceSettings, TrinoSettings, load
from coinstream_common.timeutil import grid, to_iso
from coinstream_common.web import create_app as create_web_app
from coinstream_common.web import error_response, json_body
from coinstream_contract.vocabulary import INTERVAL_MS
from flask import Flask, request

from . import coverage, params, sql, valuation
from .openapi import document
from .settings import QuerySettings
from .trino_access import TrinoGateway, TrinoUnavailable


def series_response(coin: str, vs: str, win: params.Window, rows: list[tuple]) -> dict[str, Any]:
    return {
        "coin": coin,
        "vs_currency": vs,
        "interval": win.interval,
        "from": to_iso(win.from_ms),
        "to": to_iso(win.to_ms),
        "points": [
            {"ts": to_iso(bucket), "price": price, "market_cap": cap, "total_volume": volume, "observed_at": to_iso(ts)}
            for bucket, ts, price, cap, volume in rows
        ],
    }


def coverage_response(coins: list[str], vs: str, win: params.Window, rows: list[tuple]) -> dict[str, Any]:
    islands: dict[str, list[coverage.Island]] = {c: [] for c in coins}
    for coin, first, last, buckets in rows:
        islands.setdefault(coin, []).append(coverage.Island(first, last, buckets))
    per_coin = {c: coverage.coin_coverage(list(win.points), win.step_ms, islands[c]) for c in coins}
    expected = sum(c.expected for c in per_coin.values())
    present = sum(c.present for c in per_coin.values())
    return {
        "vs_currency": vs,
        "interval": win.interval,
        "from": to_iso(win.from_ms),
        "to": to_iso(win.to_ms),
        "coins": {
            coin: {
                "expected": cov.expected,
                "present": cov.present,
                "missing": [{"from": to_iso(f), "to": to_iso(t)} for f, t in cov.missing],
            }
            for coin, cov in per_coin.items()
        },
        "expected": expected,
        "present": present,
        "fraction": present / expected if expected else 1.0,
    }


def landed_response(coin: str, vs: str, interval: str, from_ms: int, to_ms: int, days: list[tuple[int, int]]):
    return {
        "coin": coin,
        "vs_currency": vs,
        "interval": interval,
        "from": to_iso(from_ms),
        "to": to_iso(to_ms),
        "days": [{"from": to_iso(lo), "to": to_iso(hi)} for lo, hi in days],
    }


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def landed_gateway_for(trino_settings: TrinoSettings, query_settings: QuerySettings) -> TrinoGateway:
    """A gateway whose queries (and each HTTP request to Trino) end within ``landed_timeout_s``.

    The lookup is best effort for its caller (ingest fetches everything without it), so it
    must answer quickly or not at all, however long the valuations may run.
    """
    limit = query_settings.landed_timeout_s
    return TrinoGateway(
        trino_settings.model_copy(update={"request_timeout_s": min(trino_settings.request_timeout_s, limit)}),
        query_settings.model_copy(update={"query_timeout_s": min(query_settings.query_timeout_s, limit)}),
    )


def create_app(
    trino_settings: TrinoSettings | None = None,
    query_settings: QuerySettings | None = None,
    service_settings: ServiceSettings | None = None,
    gateway: TrinoGateway | None = None,
    landed_gateway: TrinoGateway | None = None,
) -> Flask:
    """The WSGI app; settings come from the environment unless given (tests pass a gateway double,
    which then also serves the landed-days lookup unless ``landed_gateway`` is given)."""
    service_settings = service_settings or load(ServiceSettings)
    trino_settings = trino_settings or load(TrinoSettings)
    query_settings = query_settings or load(QuerySettings)
    logs.configure("query", service_settings.log_level)
    if landed_gateway is None:
        landed_gateway = gateway or landed_gateway_for(trino_settings, query_settings)
    gateway = gateway or TrinoGateway(trino_settings, query_settings)

    app = create_web_app("query", document(), readiness=[gateway.ping], settings=service_settings)
    app.extensions["trino_gateway"] = gateway

    @app.errorhandler(TrinoUnavailable)
    def _trino_unavailable(exc: TrinoUnavailable):
        return error_response(503, "trino_unavailable", str(exc), {"Retry-After": str(exc.retry_after_s)})

    def range_args() -> tuple[str, params.Window]:
        vs = params.currency(request.args.get("vs_currency", "usd"))
        win = params.window(
            request.args.get("from"),
            request.args.get("to"),
            request.args.get("interval", "daily"),
            query_settings.max_points,
        )
        return vs, win

    @app.get("/v1/prices/<coin>")
    def prices(coin: str):
        coin = params.coin(coin)
        vs, win = range_args()
        stmt = sql.series(gateway.table, coin, vs, win.first_ms, win.last_ms + win.step_ms, win.step_ms)
        return series_response(coin, vs, win, gateway.fetch(stmt, "series"))

    @app.get("/v1/coverage")
    def coverage_view():
        coins = params.coins(request.args.get("coins"))
        vs, win = range_args()
        stmt = sql.coverage(gateway.table, coins, vs, win.first_ms, win.last_ms + win.step_ms, win.step_ms)
        return coverage_response(coins, vs, win, gateway.fetch(stmt, "coverage"))

    @app.get("/v1/landed/<coin>")
    def landed_view(coin: str):
        coin = params.coin(coin)
        vs = params.currency(request.args.get("vs_currency", "usd"))
        from_ms, to_ms, interval = params.landed_range(
            request.args.get("from"), request.args.get("to"), request.args.get("interval", "hourly")
        )
        source = params.source(request.args.get("source"))
        points = grid(from_ms, to_ms, interval)
        if not points:
            return landed_response(coin, vs, interval, from_ms, to_ms, [])
        stmt = sql.day_buckets(landed_gateway.table, coin, vs, points[0], to_ms, INTERVAL_MS[interval], source)
        counts = {_as_date(day): int(buckets) for day, buckets in landed_gateway.fetch(stmt, "landed")}
        days = coverage.complete_days(counts, points[0], to_ms, interval)
        return landed_response(coin, vs, interval, from_ms, to_ms, days)

    @app.post("/v1/valuation")
    def valuation_view():
        req = params.valuation_request(
            json_body(), query_settings.max_points, query_settings.max_valuation_cells, query_settings.staleness_s
        )
        win = req.window
        stmt = sql.valuation(
            gateway.table, req.holdings, req.vs_currency, win.first_ms, len(win.points), win.step_ms, req.staleness_ms
        )
        points = valuation.points_from_rows(gateway.fetch(stmt, "valuation"))
        return valuation.response(
            req.vs_currency, win.interval, win.from_ms, win.to_ms, req.staleness_ms, points, win.step_ms
        )

    return app
