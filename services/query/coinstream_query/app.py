"""The query service: price series, coverage and valuation over Trino.

Run with ``gunicorn -c python:coinstream_common.gunicorn_conf 'coinstream_query.app:create_app()'``.
"""

from __future__ import annotations

from typing import Any

from coinstream_common import logs
from coinstream_common.settings import ServiceSettings, TrinoSettings, load
from coinstream_common.timeutil import to_iso
from coinstream_common.web import create_app as create_web_app
from coinstream_common.web import error_response, json_body
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


def create_app(
    trino_settings: TrinoSettings | None = None,
    query_settings: QuerySettings | None = None,
    service_settings: ServiceSettings | None = None,
    gateway: TrinoGateway | None = None,
) -> Flask:
    """The WSGI app; settings come from the environment unless given (tests pass a gateway double)."""
    service_settings = service_settings or load(ServiceSettings)
    trino_settings = trino_settings or load(TrinoSettings)
    query_settings = query_settings or load(QuerySettings)
    logs.configure("query", service_settings.log_level)
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
