"""OpenAPI 3.1 documents built from pydantic models: each service names its operations, this builds the rest.

Schemas come from the models themselves (``model_json_schema`` with
``#/components/schemas/{model}`` references), so a request body's schema is
that of the model that validates it, and a response's is that of the model
that describes it. What a model checks by hand after pydantic (a coin id's
pattern, an instant's format) is declared on the field with
``json_schema_extra`` (``doc(...)``), next to the type it refines.

``document`` adds what every service serves (/healthz, /readyz, /metrics and
the ``Error`` body of every error answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

REF_TEMPLATE = "#/components/schemas/{model}"
Schema = dict[str, Any]
ModelOrSchema = type[BaseModel] | Schema | None

INSTANT_DOC: Schema = {"format": "date-time", "examples": ["2026-01-01T00:00:00Z"]}


def doc(**schema: Any) -> Any:
    """A field's extra JSON Schema keywords (checked by hand after pydantic, or only descriptive)."""
    return Field(json_schema_extra=schema)


class ErrorDetail(BaseModel):
    code: str
    message: str


class Error(BaseModel):
    """Every error answer: ``{"error": {"code", "message", ...}}`` (``web.error_response``)."""

    error: ErrorDetail


def ref(model: type[BaseModel] | str) -> Schema:
    return {"$ref": REF_TEMPLATE.format(model=model if isinstance(model, str) else model.__name__)}


def _schema(body: ModelOrSchema) -> Schema:
    return ref(body) if isinstance(body, type) else dict(body or {})


def content(body: ModelOrSchema, media_type: str = "application/json") -> Schema:
    """A ``content`` map: one media type whose schema is ``body`` (a model is referenced)."""
    return {"content": {media_type: {"schema": _schema(body)} if body is not None else {}}}


def response(
    description: str,
    body: ModelOrSchema = None,
    media_type: str = "application/json",
    headers: Mapping[str, Schema] | None = None,
) -> Schema:
    """One response; ``headers`` maps a header's name to its schema (plus an optional description)."""
    out: Schema = {"description": description}
    if body is not None or media_type != "application/json":
        out.update(content(body, media_type))
    if headers:
        out["headers"] = {
            name: {"schema": {k: v for k, v in h.items() if k != "description"}}
            | ({"description": h["description"]} if "description" in h else {})
            for name, h in headers.items()
        }
    return out


def error(description: str, retry_after: str | None = None) -> Schema:
    """An ``Error`` response, with a ``Retry-After`` header when ``retry_after`` says what it means."""
    headers = {"Retry-After": {"type": "integer", "description": retry_after}} if retry_after else None
    return response(description, Error, headers=headers)


def param(
    name: str,
    where: Literal["query", "path", "header"],
    schema: Schema | None = None,
    description: str | None = None,
    required: bool = False,
) -> Schema:
    out: Schema = {"name": name, "in": where, "required": required or where == "path"}
    if description:
        out["description"] = description
    out["schema"] = schema or {"type": "string"}
    return out


def operation(
    summary: str,
    responses: Mapping[str, Schema],
    body: type[BaseModel] | Schema | None = None,
    parameters: Iterable[Schema] = (),
    body_required: bool = True,
    description: str | None = None,
    security: list[dict[str, list[str]]] | None = None,
) -> Schema:
    """One operation: its summary, parameters, request body (a model is referenced) and responses."""
    op: Schema = {"summary": summary}
    if description:
        op["description"] = description
    if security:
        op["security"] = security
    if parameters := list(parameters):
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": body_required, **content(body)}
    op["responses"] = dict(responses)
    return op


def schemas(requests: Iterable[type[BaseModel]] = (), responses: Iterable[type[BaseModel]] = ()) -> dict[str, Schema]:
    """The components' schemas of these models and every model they use.

    Request models as pydantic validates them, response models as they serialize.
    """
    pairs: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = [
        *((m, "validation") for m in requests),
        *((m, "serialization") for m in responses),
    ]
    _, top = models_json_schema(pairs, ref_template=REF_TEMPLATE)
    return dict(top.get("$defs", {}))


def document(
    title: str,
    paths: Mapping[str, Mapping[str, Schema]],
    requests: Iterable[type[BaseModel]] = (),
    responses: Iterable[type[BaseModel]] = (),
    extra_schemas: Mapping[str, Schema] | None = None,
    security_schemes: Mapping[str, Schema] | None = None,
) -> dict[str, Any]:
    """An OpenAPI 3.1 document of ``paths`` plus the endpoints every service shares."""
    common = {
        "/healthz": {"get": operation("Liveness", {"200": response("alive")})},
        "/readyz": {
            "get": operation("Readiness: dependencies reachable", {"200": response("ready"), "503": error("not ready")})
        },
        "/metrics": {
            "get": operation("Prometheus metrics", {"200": response("text exposition", media_type="text/plain")})
        },
    }
    components: dict[str, Any] = {
        "schemas": {**schemas(requests, [Error, *responses]), **(extra_schemas or {})},
    }
    if security_schemes:
        components["securitySchemes"] = dict(security_schemes)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0"},
        "paths": {**paths, **common},
        "components": components,
    }
