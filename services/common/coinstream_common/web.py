"""The Flask skeleton every service shares.

``create_app`` gives a service JSON errors (never a stack trace), request
latency metrics by route, a body-size limit, and the endpoints every
service has: /healthz, /readyz, /metrics, /openapi.json.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Flask, Response, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from . import metrics
from .settings import ServiceSettings

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

ReadinessCheck = Callable[[], tuple[bool, str]]


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details


def error_response(status: int, code: str, message: str, headers: dict | None = None, **details: Any) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(details)
    resp = jsonify({"error": body})
    resp.status_code = status
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _http_code(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_").replace("'", "")


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 saying why not."""
    if not request.get_data(cache=True):
        raise ApiError(400, "malformed_json", "request body must be a JSON object")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "malformed_json", "request body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "request body must be a JSON object")
    return data


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "invalid_request", validation_message(exc)) from None


def create_app(
    service: str,
    openapi: dict[str, Any],
    readiness: Sequence[ReadinessCheck] | None = None,
    settings: ServiceSettings | None = None,
) -> Flask:
    settings = settings or ServiceSettings()
    app = Flask(service)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    json_provider = DefaultJSONProvider(app)  # Flask's own, keeping the documents' key order
    json_provider.sort_keys = False
    app.json = json_provider
    checks = list(readiness or [])

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16]
        metrics.HTTP_REQUESTS_IN_FLIGHT.labels(service).inc()
        # A chunked body has no Content-Length: werkzeug stops reading at the limit
        # without an error, so a body cut there must not be taken for the whole.
        chunked = request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower()
        if chunked and len(request.get_data(cache=True)) >= settings.max_body_bytes:
            raise ApiError(413, "request_entity_too_large", f"request body larger than {settings.max_body_bytes} bytes")

    @app.teardown_request
    def _in_flight_done(_exc) -> None:
        if "started" in g:
            metrics.HTTP_REQUESTS_IN_FLIGHT.labels(service).dec()

    @app.after_request
    def _observe(resp: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        if "started" in g:
            metrics.HTTP_REQUEST_SECONDS.labels(service, request.method, route, str(resp.status_code)).observe(
                time.perf_counter() - g.started
            )
        resp.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        return resp

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"request body larger than {settings.max_body_bytes} bytes"
        headers = {}
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return error_response(exc.code or 500, _http_code(exc), message, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500,
            "internal_error",
            "internal error; the request id identifies it in the logs",
            request_id=g.get("request_id"),
        )

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": service}

    @app.get("/readyz")
    def readyz():
        failures = []
        for check in checks:
            try:
                ok, why = check()
            except Exception as exc:  # noqa: BLE001 - a readiness probe must answer, not raise
                ok, why = False, f"{type(exc).__name__}: {exc}"
            if not ok:
                failures.append(why)
        if failures:
            return error_response(503, "not_ready", "; ".join(failures))
        return {"status": "ready", "service": service}

    @app.get("/metrics")
    def prometheus_metrics():
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.get("/openapi.json")
    def openapi_document():
        return jsonify(openapi)

    return app
