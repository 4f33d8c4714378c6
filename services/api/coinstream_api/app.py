"""The api service: the public face of coinstream (``coinstream_api.app:create_app()``).

Every route except /healthz, /readyz, /metrics and /openapi.json needs an API
key (``X-API-Key`` or ``Authorization: Bearer``) and counts against that key's
rate limit. Each process (gunicorn worker) runs its own Kafka readers for
portfolios and landed notifications, so any replica serves any portfolio.
"""

from __future__ import annotations

from coinstream_common import logs
from coinstream_common.kafka import EventProducer, broker_metadata
from coinstream_common.settings import KafkaSettings, ServiceSettings, TopicSettings, load
from coinstream_common.web import ApiError, json_body
from coinstream_common.web import create_app as create_web_app
from flask import Flask, Response, g, request

from . import sse
from .auth import KeyRing, RateLimiter, parse_keys
from .chart import CONTENT_TYPES
from .coins import KnownCoins
from .landed import LandedWatcher
from .openapi import OPENAPI
from .query_client import QueryClient
from .service import PortfolioService, encode_json
from .settings import ApiSettings
from .store import PortfolioStore

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})


def create_app(*, start: bool = True, **deps) -> Flask:
    """The Flask app; ``deps`` replace collaborators in tests (store, watcher, producer, query, coins, clock).

    ``start=False`` leaves the Kafka readers and the coin-list fetch unstarted (unit tests).
    """
    configure_logging = deps.pop("configure_logging", start)
    service_settings = deps.pop("service_settings", None) or load(ServiceSettings)
    settings = deps.pop("settings", None) or load(ApiSettings)
    kafka = deps.pop("kafka", None) or load(KafkaSettings)
    topics = deps.pop("topics", None) or load(TopicSettings)
    if configure_logging:
        logs.configure("api", service_settings.log_level)

    store = deps.pop("store", None) or PortfolioStore(kafka, topics.portfolio_events, settings.group_id)
    watcher = deps.pop("watcher", None) or LandedWatcher(kafka, topics.prices_landed, settings.group_id)
    producer = deps.pop("producer", None) or EventProducer(kafka, "api")
    query = deps.pop("query", None) or QueryClient(settings.query_url, settings.query_timeout_s)
    coins = deps.pop("coins", None) or KnownCoins(settings.ingest_url)
    service = PortfolioService(settings, topics, store, watcher, producer, query, coins, **deps)

    def kafka_ready() -> tuple[bool, str]:
        info = broker_metadata(kafka.bootstrap_servers, timeout_s=3.0)
        return info["brokers"] > 0, f"kafka: {info['brokers']} brokers"

    app = create_web_app("api", OPENAPI, readiness=[query.healthy, kafka_ready], settings=service_settings)
    app.extensions["coinstream"] = service
    keyring = KeyRing(parse_keys(settings.api_keys))
    limiter = RateLimiter(settings.rate_limit_per_minute)

    @app.before_request
    def _authenticate() -> None:
        if request.path in PUBLIC_PATHS:
            return
        g.owner = keyring.authenticate(request.headers)
        limiter.check(g.owner)

    @app.post("/v1/portfolios")
    def create_portfolio():
        if not request.is_json and (request.content_length or 0) > 0:
            raise ApiError(415, "unsupported_media_type", "send the body as JSON with Content-Type: application/json")
        state = service.create(json_body(), g.owner)
        resp = Response(
            encode_json(state.document()), status=201 if state.complete else 202, mimetype="application/json"
        )
        resp.headers["Location"] = f"/v1/portfolios/{state.portfolio.id}"
        return resp

    @app.get("/v1/portfolios/<portfolio_id>")
    def get_portfolio(portfolio_id: str):
        portfolio = service.lookup(portfolio_id, g.owner)
        return Response(service.document_body(portfolio), mimetype="application/json")

    @app.get("/v1/portfolios/<portfolio_id>/stream")
    def stream_portfolio(portfolio_id: str):
        portfolio = service.lookup(portfolio_id, g.owner)
        last_id = sse.parse_last_event_id(request.headers.get("Last-Event-ID"))
        return Response(
            service.stream(portfolio, last_id),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/v1/portfolios/<portfolio_id>/chart.<fmt>")
    def chart(portfolio_id: str, fmt: str):
        if fmt not in CONTENT_TYPES:
            raise ApiError(404, "not_found", f"no chart format {fmt!r}; use chart.png or chart.svg")
        portfolio = service.lookup(portfolio_id, g.owner)
        return Response(
            service.chart(portfolio, fmt), mimetype=CONTENT_TYPES[fmt], headers={"Cache-Control": "no-cache"}
        )

    if start:
        store.start()
        watcher.start()
        coins.start()
    return app
