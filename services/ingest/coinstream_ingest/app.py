"""The ingest service: operators' fetch endpoints, the coin list, the live poller and the backfill worker.

``create_app()`` is what gunicorn runs (one worker: the poller, the backfill
worker and the CoinGecko token bucket are per process). Both fetch endpoints
answer 202 only once the broker acknowledged every event they produced.

Ingest is the only component that talks to CoinGecko: the api learns which coin
ids exist from ``GET /v1/coins`` here, which draws on the same token bucket.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any

import requests
from coinstream_common import logs, web
from coinstream_common.kafka import DeliveryError, EventProducer, broker_metadata
from coinstream_common.settings import (
    KafkaSettings,
    ServiceSettings,
    TopicSettings,
    load,
)
from coinstream_common.timeutil import parse_instant, to_iso
from coinstream_contract.events import CoinId, EventError, VsCurrency
from coinstream_contract.vocabulary import COIN_ID, Interval
from confluent_kafka import KafkaException
from flask import Flask, Response, request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from . import history, openapi
from .backfill import BackfillWorker
from .coingecko import (
    BadRequest,
    CoinGeckoClient,
    CoinGeckoRateLimited,
    CoinGeckoUnavailable,
    CoinList,
    UnknownCoin,
)
from .coverage import QueryServiceCoverage
from .ingestor import Ingestor
from .poller import Poller, split_list
from .settings import CoinGeckoSettings, IngestSettings

log = logging.getLogger(__name__)

KAFKA_RETRY_AFTER_S = 5
#: Most ids one ``GET /v1/coins?reload_missing=`` may name (a portfolio's holdings, with room).
MAX_RELOAD_MISSING = 250
_COIN = re.compile(COIN_ID)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class PricesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    coins: Annotated[list[CoinId], Field(min_length=1, max_length=250)]
    vs_currency: VsCurrency = "usd"

    @field_validator("coins", mode="before")
    @classmethod
    def _coins(cls, value: Any) -> Any:
        return list(dict.fromkeys(_lower(v) for v in value)) if isinstance(value, list) else value

    @field_validator("vs_currency", mode="before")
    @classmethod
    def _vs(cls, value: Any) -> Any:
        return _lower(value)


class HistoryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    coin: CoinId
    vs_currency: VsCurrency = "usd"
    from_: Annotated[int, openapi.INSTANT] = Field(alias="from")
    to: Annotated[int | None, openapi.INSTANT_OR_NOW] = None
    interval: Interval = "hourly"

    @field_validator("coin", "vs_currency", "interval", mode="before")
    @classmethod
    def _lowered(cls, value: Any) -> Any:
        return _lower(value)

    @field_validator("from_", "to", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, (int, float, str)):  # parse_instant refuses booleans
            try:
                return parse_instant(value)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
        return value


class CachedCheck:
    """A readiness check answered from cache: ``ok_ttl_s`` after success, ``fail_ttl_s`` after failure."""

    def __init__(self, check: Callable[[], tuple[bool, str]], ok_ttl_s: float, fail_ttl_s: float) -> None:
        self.check = check
        self.ok_ttl_s, self.fail_ttl_s = ok_ttl_s, fail_ttl_s
        self._result: tuple[bool, str] | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> tuple[bool, str]:
        with self._lock:
            if self._result is not None:
                ttl = self.ok_ttl_s if self._result[0] else self.fail_ttl_s
                if time.monotonic() - self._at < ttl:
                    return self._result
            try:
                self._result = self.check()
            except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
                self._result = (False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            self._at = time.monotonic()
            return self._result


def kafka_check(kafka: KafkaSettings, topic: str) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        md = broker_metadata(kafka.bootstrap_servers, timeout_s=3.0)
        if not md["brokers"]:
            return False, "kafka: no broker in metadata"
        if topic not in md["topics"]:
            return False, f"kafka: topic {topic} does not exist"
        return True, "kafka ok"

    return check


def coingecko_check(client: CoinGeckoClient, fresh_s: float) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        if client.last_success and time.monotonic() - client.last_success < fresh_s:
            return True, "coingecko answered recently"  # no call spent on the probe
        try:
            if client.ping():
                return True, "coingecko ok"
        except requests.RequestException as exc:
            return False, f"coingecko: {type(exc).__name__} on {client.base_url}/ping"
        return False, f"coingecko: {client.base_url}/ping did not answer 200"

    return check


def reload_missing_arg(raw: str | None) -> list[str]:
    """The ids of ``?reload_missing=a,b``: each a well-formed coin id, at most ``MAX_RELOAD_MISSING``."""
    if raw is None:
        return []
    ids = list(dict.fromkeys(part.strip().lower() for part in raw.split(",") if part.strip()))
    bad = [i for i in ids if not _COIN.match(i)]
    if bad:
        raise web.ApiError(400, "invalid_request", f"reload_missing: {bad[0]!r} does not match {COIN_ID}")
    if len(ids) > MAX_RELOAD_MISSING:
        raise web.ApiError(400, "invalid_request", f"reload_missing names at most {MAX_RELOAD_MISSING} ids")
    return ids


class CoinListBodies:
    """The JSON body of each coin-list version, made once (the real list is ~17k coins)."""

    def __init__(self) -> None:
        self._version = ""
        self._body = b""
        self._lock = threading.Lock()

    def __call__(self, listed: CoinList) -> bytes:
        with self._lock:
            if listed.version != self._version:
                coins = [{"id": c.id, "symbol": c.symbol, "name": c.name} for c in listed.coins]
                self._body = json.dumps({"coins": coins, "count": len(coins)}, separators=(",", ":")).encode()
                self._version = listed.version
            return self._body


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def register_errors(app: Flask) -> None:
    """Map the client's and the broker's failures to the statuses the contract promises."""

    @app.errorhandler(history.RangeError)
    def _range(exc: history.RangeError):
        return web.error_response(400, "invalid_range", str(exc))

    @app.errorhandler(UnknownCoin)
    def _unknown(exc: UnknownCoin):
        return web.error_response(404, "unknown_coin", str(exc), coins=exc.coins)

    @app.errorhandler(BadRequest)
    def _bad(exc: BadRequest):
        if exc.status in (401, 403):
            return web.error_response(
                502, "coingecko_refused", f"CoinGecko refused our key or plan: {exc}", _retry_after(60)
            )
        code = "unknown_vs_currency" if "vs_currency" in str(exc) else "bad_request"
        return web.error_response(400, code, str(exc))

    @app.errorhandler(CoinGeckoRateLimited)
    def _limited(exc: CoinGeckoRateLimited):
        return web.error_response(
            503,
            "coingecko_rate_limited",
            str(exc),
            _retry_after(exc.retry_after_s),
            retry_after_s=math.ceil(exc.retry_after_s),
        )

    @app.errorhandler(CoinGeckoUnavailable)
    def _unavailable(exc: CoinGeckoUnavailable):
        return web.error_response(
            502,
            "coingecko_unavailable",
            str(exc),
            _retry_after(exc.retry_after_s),
            retry_after_s=math.ceil(exc.retry_after_s),
        )

    @app.errorhandler(DeliveryError)
    @app.errorhandler(KafkaException)
    def _kafka(exc: Exception):
        log.warning("kafka failure: %s", exc)
        return web.error_response(
            503,
            "kafka_unavailable",
            f"events not acknowledged by Kafka: {exc}",
            _retry_after(KAFKA_RETRY_AFTER_S),
            retry_after_s=KAFKA_RETRY_AFTER_S,
        )

    @app.errorhandler(EventError)
    def _event(exc: EventError):
        return web.error_response(502, "coingecko_bad_data", f"CoinGecko data did not make a valid event: {exc}")


_workers_lock = threading.Lock()
_workers: list[Poller | BackfillWorker] = []


def start_workers(ingestor: Ingestor, ingest: IngestSettings, kafka: KafkaSettings, topics: TopicSettings) -> None:
    """Start the poller and the backfill worker once per process, whatever creates apps."""
    with _workers_lock:
        if _workers:
            return
        if ingest.poller_enabled:
            _workers.append(
                Poller(
                    ingestor, split_list(ingest.tracked_coins), split_list(ingest.vs_currencies), ingest.poll_interval_s
                )
            )
        if ingest.backfill_enabled:
            landed = QueryServiceCoverage(ingest.query_url) if ingest.backfill_check_landed else None
            _workers.append(
                BackfillWorker(ingestor, kafka, topics.backfill_requests, ingest.backfill_group_id, landed=landed)
            )
        for w in _workers:
            w.start()
        if _workers:
            atexit.register(stop_workers)


def stop_workers() -> None:
    with _workers_lock:
        for w in _workers:
            w.stop()
        _workers.clear()


def create_app() -> Flask:
    service = load(ServiceSettings)
    logs.configure("ingest", service.log_level)
    gecko, ingest = load(CoinGeckoSettings), load(IngestSettings)
    kafka, topics = load(KafkaSettings), load(TopicSettings)

    client = CoinGeckoClient(gecko)
    producer = EventProducer(kafka, "ingest")
    ingestor = Ingestor(client, producer, topics.prices, ingest.fetch_concurrency, gecko.history_limit_days)

    readiness = [
        CachedCheck(kafka_check(kafka, topics.prices), ok_ttl_s=5.0, fail_ttl_s=2.0),
        CachedCheck(coingecko_check(client, fresh_s=30.0), ok_ttl_s=30.0, fail_ttl_s=5.0),
    ]
    app = web.create_app("ingest", openapi.document(), readiness=readiness, settings=service)
    app.extensions["ingestor"] = ingestor
    register_errors(app)

    @app.post("/v1/fetch/prices")
    def fetch_prices():
        req = web.parse(PricesRequest, web.json_body())
        result = ingestor.fetch_prices(req.coins, req.vs_currency)
        return {
            "requested": {"coins": req.coins, "vs_currency": req.vs_currency},
            "produced": result.produced,
            "missing": result.missing,
            "topic": topics.prices,
        }, 202

    @app.post("/v1/fetch/history")
    def fetch_history():
        req = web.parse(HistoryRequest, web.json_body())
        to_ms = req.to if req.to is not None else ingestor.clock_ms()
        result = ingestor.fetch_history(req.coin, req.vs_currency, req.from_, to_ms, req.interval)
        return {
            "requested": {
                "coin": req.coin,
                "vs_currency": req.vs_currency,
                "from": to_iso(req.from_),
                "to": to_iso(to_ms),
                "interval": req.interval,
            },
            "fetched": {"from": to_iso(result.from_ms), "to": to_iso(result.to_ms), "calls": result.chunks},
            "produced": result.produced,
            "topic": topics.prices,
        }, 202

    coin_list_bodies = CoinListBodies()

    @app.get("/v1/coins")
    def coins():
        """Every coin CoinGecko lists; ``reload_missing`` ids not in the cached list reload it (at most once a minute)."""
        listed = client.coin_list(missing=reload_missing_arg(request.args.get("reload_missing")))
        resp = Response(coin_list_bodies(listed), mimetype="application/json")
        resp.set_etag(listed.version)
        resp.headers["Cache-Control"] = "no-cache"
        return resp.make_conditional(request)

    start_workers(ingestor, ingest, kafka, topics)
    return app
