"""A stand-in for the query service (and ingest's coin list, GET /v1/coins), for the api's tests and bench.

It answers ``POST /v1/valuation`` per the query service's contract from an
in-memory price table, and lets a test "land" prices: add them to the table
and publish a LandedNotification on the landed topic, as the Spark job does
after a committed batch. Semantics: a point is *observed* when the table has
a price at exactly its timestamp, *carried* when the last earlier price is at
most two intervals old, else *missing*; coverage counts observed points.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

from coinstream_common.timeutil import grid, parse_instant, to_iso
from coinstream_contract.events import LandedCoin, LandedNotification
from coinstream_contract.vocabulary import INTERVAL_MS
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

# Twelve coins every CoinGecko-like list has: what the stand-in and the benchmarks value.
WELL_KNOWN_COINS = (
    "bitcoin",
    "ethereum",
    "solana",
    "cardano",
    "dogecoin",
    "ripple",
    "litecoin",
    "polkadot",
    "tron",
    "chainlink",
    "stellar",
    "monero",
)


class PriceTable:
    def __init__(self) -> None:
        self._prices: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
        self._lock = threading.Lock()

    def add(self, coin: str, vs: str, points: dict[int, float]) -> None:
        with self._lock:
            self._prices[(coin, vs)].update(points)

    def series(self, coin: str, vs: str) -> tuple[list[int], list[float]]:
        with self._lock:
            items = sorted(self._prices.get((coin, vs), {}).items())
        return [t for t, _ in items], [p for _, p in items]


def valuation(table: PriceTable, body: dict) -> dict:
    """The query service's valuation answer, computed plainly from the table."""
    vs, interval = body["vs_currency"], body["interval"]
    step = INTERVAL_MS[interval]
    points_ts = grid(parse_instant(body["from"]), parse_instant(body["to"]), interval)
    holdings = body["holdings"]
    per_coin = {h["coin"]: table.series(h["coin"], vs) for h in holdings}
    points, present, missing = [], 0, []
    open_runs: dict[str, int | None] = {h["coin"]: None for h in holdings}
    last_missing: dict[str, int] = {}
    for t in points_ts:
        total: float | None = 0.0
        point_status, held = "observed", {}
        for h in holdings:
            coin = h["coin"]
            times, prices = per_coin[coin]
            k = bisect.bisect_right(times, t) - 1
            if k >= 0 and times[k] == t:
                status, price, price_ts = "observed", prices[k], times[k]
            elif k >= 0 and t - times[k] <= 2 * step:
                status, price, price_ts = "carried", prices[k], times[k]
            else:
                status, price, price_ts = "missing", None, None
            if status == "observed":
                present += 1
                run_start = open_runs[coin]
                if run_start is not None:
                    missing.append({"coin": coin, "from": to_iso(run_start), "to": to_iso(last_missing[coin])})
                    open_runs[coin] = None
            else:
                if open_runs[coin] is None:
                    open_runs[coin] = t
                last_missing[coin] = t
            value = h["amount"] * price if price is not None else None
            held[coin] = {
                "amount": h["amount"],
                "price": price,
                "price_ts": to_iso(price_ts) if price_ts else None,
                "value": value,
                "status": status,
            }
            if status == "missing":
                point_status, total = "missing", None
            elif status == "carried" and point_status == "observed":
                point_status = "carried"
            if total is not None and value is not None:
                total += value
        points.append({"ts": to_iso(t), "value": total, "status": point_status, "holdings": held})
    for coin, start in open_runs.items():
        if start is not None:
            missing.append({"coin": coin, "from": to_iso(start), "to": to_iso(last_missing[coin])})
    expected = len(points_ts) * len(holdings)
    return {
        "vs_currency": vs,
        "interval": interval,
        "from": body["from"],
        "to": body["to"],
        "points": points,
        "coverage": {
            "expected": expected,
            "present": present,
            "fraction": present / expected if expected else 0.0,
            "missing": missing,
        },
    }


class StubQuery:
    """The stub as a real HTTP server on an ephemeral port (``base_url``)."""

    def __init__(self, coins: list[str] | None = None) -> None:
        self.table = PriceTable()
        self.down = False  # answer 503 trino_unavailable, like the real one with Trino down
        self.reject: str | None = None  # answer 400 with this error code
        self.calls = 0
        self.coins = coins or list(WELL_KNOWN_COINS)
        self._batch = 0
        app = Flask("stub-query")

        @app.post("/v1/valuation")
        def _valuation():
            self.calls += 1
            if self.down:
                return jsonify({"error": {"code": "trino_unavailable", "message": "Trino is down"}}), 503
            if self.reject:
                return jsonify({"error": {"code": self.reject, "message": "refused by the stub"}}), 400
            return jsonify(valuation(self.table, request.get_json()))

        @app.get("/healthz")
        def _health():
            return {"status": "ok"}

        @app.get("/v1/coins")
        def _coins():  # ingest's shape (the api's coin list comes from ingest)
            coins = [{"id": c, "symbol": c[:3], "name": c.title()} for c in sorted(self.coins)]
            return jsonify({"coins": coins, "count": len(coins)})

        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.ingest_url = self.base_url  # serves GET /v1/coins like ingest
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def land(self, coin: str, vs: str, points: dict[int, float], producer=None, topic: str | None = None) -> None:
        """Add prices; with a producer, also publish the landed notification for them."""
        self.table.add(coin, vs, points)
        if producer is not None:
            self._batch += 1
            note = LandedNotification(
                batch_id=self._batch,
                coins=[
                    LandedCoin(coin_id=coin, vs_currency=vs, min_ts=min(points), max_ts=max(points), rows=len(points))
                ],
                min_ts=min(points),
                max_ts=max(points),
                rows=len(points),
            )
            producer.send_and_wait(topic, [note])

    def close(self) -> None:
        self._server.shutdown()
