"""Every operation of every service's OpenAPI document, fuzzed with schemathesis against the service under gunicorn.

Cases are generated from the document the running service serves at
/openapi.json, valid (positive) and invalid (negative) per its schemas, and
sent over HTTP with every dependency up. Each answer must:

- not be a 5xx (dependencies are up, so not even a documented 503);
- use a status code, content type, headers and body the document declares;
- be standard JSON when it says it is JSON (no NaN/Infinity tokens);
- if it is an error (>= 400), be JSON ``{"error": {"code": str, "message": str}}``;
- refuse (4xx) input the schema forbids;
- for Server-Sent Events: every event's data a document-conforming Portfolio.

Most valid cases get realistic values for the fields a service can only
accept when they are real (a known coin, a short range in the past) so they
reach past validation; resource ids are, half the time, one that exists.

Bounded: ``COINSTREAM_FUZZ_EXAMPLES`` cases per operation (default 30). The
draws are derandomized (the same inputs every run: CI is not flaky) unless
``COINSTREAM_FUZZ_RANDOM=1``, which explores new ones.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from datetime import UTC, datetime

import jsonschema
import pytest
import schemathesis
from coinstream_testkit import sse
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("COINSTREAM_FUZZ_EXAMPLES", "30"))
RANDOM = os.environ.get("COINSTREAM_FUZZ_RANDOM") == "1"
DAY_MS = 86_400_000
KNOWN_COINS = ("bitcoin", "ethereum")  # listed by the simulator and the stub, priced in the api's stub

# service -> (fixture giving the running Target, module and attribute of its OpenAPI document)
SERVICES = {
    "coingecko-sim": ("sim_target", "coingecko_sim.openapi", "DOCUMENT"),
    "ingest": ("ingest_target", "coinstream_ingest.openapi", "document"),
    "query": ("query_target", "coinstream_query.openapi", "document"),
    "api": ("api_target", "coinstream_api.openapi", "OPENAPI"),
}
METHODS = ("get", "put", "post", "delete", "patch")


def _operations() -> list:
    """(service, METHOD, path) of every documented operation; a service without a document fails visibly."""
    params = []
    for service, (_, module, attr) in SERVICES.items():
        try:
            doc = getattr(importlib.import_module(module), attr)
            doc = doc() if callable(doc) else doc
        except (ImportError, AttributeError) as exc:
            params.append(pytest.param(service, None, f"{module}.{attr}: {exc}", id=f"{service}-missing-document"))
            continue
        for path, item in doc["paths"].items():
            for method in METHODS:
                if method in item:
                    params.append(pytest.param(service, method.upper(), path, id=f"{service}-{method.upper()} {path}"))
    return params


# --- checks of our own (schemathesis check signature: ctx, response, case) ----------------


def _content_type(response) -> str:
    return (response.headers.get("content-type") or [""])[0]


def _reject_constant(token: str):
    raise ValueError(f"non-standard JSON token {token}")


def strict_json(ctx, response, case) -> None:
    """A JSON body is RFC 8259 JSON: Python's json module would accept NaN and Infinity, browsers do not."""
    if not _content_type(response).startswith("application/json"):
        return
    try:
        json.loads(response.content, parse_constant=_reject_constant)
    except ValueError as exc:
        raise AssertionError(
            f"{response.status_code} body is not standard JSON ({exc}): {response.content[:300]!r}"
        ) from None


def error_envelope(ctx, response, case) -> None:
    """An error is JSON ``{"error": {"code", "message"}}``, never a stack trace or an HTML page."""
    if response.status_code < 400:
        return
    assert _content_type(response).startswith("application/json"), (
        f"{response.status_code} error answered as {_content_type(response)!r}: {response.content[:200]!r}"
    )
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} error body is not JSON: {response.content[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"{response.status_code} error body has no 'error' object: {body!r:.300}"
    assert isinstance(error.get("code"), str) and error["code"], f"error.code missing: {body!r:.300}"
    assert isinstance(error.get("message"), str) and error["message"], f"error.message missing: {body!r:.300}"
    assert "Traceback" not in response.content.decode(errors="replace"), "a stack trace in the error body"


def json_error(ctx, response, case) -> None:
    """CoinGecko's own error bodies (the simulator's /api/v3 mirrors them): JSON, no stack trace."""
    if response.status_code < 400:
        return
    assert _content_type(response).startswith("application/json"), (
        f"{response.status_code} error answered as {_content_type(response)!r}: {response.content[:200]!r}"
    )
    assert "Traceback" not in response.content.decode(errors="replace"), "a stack trace in the error body"


def sse_portfolio_events(ctx, response, case) -> None:
    """The stream's documented contract: update events, then complete (or timeout); update/complete data a Portfolio."""
    if response.status_code != 200 or not _content_type(response).startswith("text/event-stream"):
        return
    doc = case.operation.schema.raw_schema
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Portfolio", "components": doc["components"]}
    )
    events = sse.parse(response.content)
    assert events, f"empty event stream: {response.content[:300]!r}"
    for n, event in enumerate(events):
        assert event.get("event") in ("update", "complete", "timeout"), f"event #{n}: unknown event {event!r:.200}"
        try:
            data = json.loads(event.get("data", ""), parse_constant=_reject_constant)
        except ValueError as exc:
            raise AssertionError(f"event #{n} data is not standard JSON ({exc}): {event!r:.300}") from None
        if event["event"] == "timeout":  # not a Portfolio: which one gave up, and why
            assert isinstance(data, dict) and data.get("id") and data.get("message"), f"event #{n}: {data!r:.200}"
            continue
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        assert not errors, f"event #{n} data violates Portfolio at {list(errors[0].path)}: {errors[0].message}"
    assert events[-1]["event"] in ("complete", "timeout"), f"stream ended without complete/timeout: {events[-1]!r:.200}"


def documented_json_schema(ctx, response, case) -> None:
    """The body against its documented schema with a plain Draft 2020-12 validator (OpenAPI 3.1's dialect).

    Stands in for schemathesis' response_schema_conformance where that one fails on a valid
    schema (``prefixItems``: schemathesis issues #3842/#4099, still in 4.32.5).
    """
    if not _content_type(response).startswith("application/json"):
        return
    doc = case.operation.schema.raw_schema
    definition = case.operation.definition.raw["responses"].get(str(response.status_code))
    schema = ((definition or {}).get("content") or {}).get("application/json", {}).get("schema")
    if schema is None:
        return
    validator = jsonschema.Draft202012Validator({**schema, "components": doc.get("components", {})})
    errors = sorted(validator.iter_errors(json.loads(response.content)), key=lambda e: list(e.path))
    assert not errors, f"{response.status_code} body violates its schema at {list(errors[0].path)}: {errors[0].message}"


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    strict_json,
    error_envelope,
    sse_portfolio_events,
]


# --- known bugs ------------------------------------------------------------------------------

# Faults found earlier have regression tests in test_fuzz_known_bugs.py and are fuzzed again here.
# An entry sets aside a class of input (skip_input) or one check (skip_checks) while a fault is open.
KNOWN_BUGS: dict = {}
# Not bugs of ours: where schemathesis itself fails on a valid document, a plain validator stands in.
TOOL_WORKAROUNDS = {
    ("coingecko-sim", "GET", path): {
        "skip_checks": [response_schema_conformance],
        "add_checks": [documented_json_schema],
    }
    for path in ("/api/v3/coins/{id}/market_chart", "/api/v3/coins/{id}/market_chart/range")
}


# --- realistic values -------------------------------------------------------------------------


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@st.composite
def plausible_values(draw) -> dict:
    """What a real client sends: a known coin, usd, and a range of 1 to 90 days ending in the past."""
    today = int(time.time() * 1000) // DAY_MS * DAY_MS
    start = today - draw(st.integers(2, 300)) * DAY_MS
    end = min(start + draw(st.integers(1, 90)) * DAY_MS, today)
    return {
        "coin": draw(st.sampled_from(KNOWN_COINS)),
        "vs_currency": "usd",
        "from": _iso(start),
        "to": _iso(end),
        "days": str((end - start) // DAY_MS),  # CoinGecko's market_chart
        "date": datetime.fromtimestamp(start / 1000, tz=UTC).strftime("%d-%m-%Y"),
    }  # CoinGecko's history


def make_plausible(case, values: dict) -> None:
    """Overwrite, where the case has them, the fields whose random values a service must refuse.

    Random strings never name a known coin and random instants rarely make a short, ordered
    range, so without this nearly every valid-by-schema case stops at validation (400).
    """

    def patch(container: dict, as_query: bool) -> dict:
        out = dict(container)
        for key in ("coin", "vs_currency", "from", "to", "days", "date"):
            if key in out:
                out[key] = values[key]
        for key, listed in (("coins", KNOWN_COINS), ("ids", KNOWN_COINS), ("vs_currencies", ("usd", "eur"))):
            if key in out:
                out[key] = ",".join(listed) if as_query else list(listed)
        holdings = out.get("holdings")
        if isinstance(holdings, list):
            out["holdings"] = [
                {**h, "coin": KNOWN_COINS[n % len(KNOWN_COINS)], "acquired_at": None} if isinstance(h, dict) else h
                for n, h in enumerate(holdings)
            ]
        return out

    if case.path_parameters:
        case.path_parameters = patch(case.path_parameters, True)
    if case.query:
        case.query = patch(case.query, True)
    if isinstance(case.body, dict):
        case.body = patch(case.body, False)


# --- the test -----------------------------------------------------------------------------------

_schemas: dict[str, object] = {}


def _schema(service: str, target):
    if service not in _schemas:
        _schemas[service] = schemathesis.openapi.from_url(target.base_url + "/openapi.json")
    return _schemas[service]


def _code(response) -> str:
    try:
        return str(json.loads(response.content)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "?"


@pytest.mark.parametrize("service,method,path", _operations())
def test_fuzz_operation(service, method, path, request):
    assert method is not None, f"{service} has no importable OpenAPI document: {path}"
    target = request.getfixturevalue(SERVICES[service][0])
    operation = _schema(service, target)[path][method]
    known = KNOWN_BUGS.get((service, method, path), {})
    workaround = TOOL_WORKAROUNDS.get((service, method, path), {})
    skipped = [*known.get("skip_checks", ()), *workaround.get("skip_checks", ())]
    checks = [c for c in CHECKS if c not in skipped] + workaround.get("add_checks", [])
    if service == "coingecko-sim" and path.startswith("/api/v3/"):  # CoinGecko's error bodies, documented as such
        checks = [json_error if c is error_envelope else c for c in checks]
    # two valid cases for one invalid: valid ones reach deeper (past validation), invalid ones test the refusals
    cases = st.sampled_from([GenerationMode.POSITIVE, GenerationMode.POSITIVE, GenerationMode.NEGATIVE]).flatmap(
        operation.as_strategy
    )
    real_ids = {name: value for name, value in target.ids.items() if "{" + name + "}" in path}
    seen: dict[str, int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    # the first element is hypothesis's "simplest" draw, so the realistic choice comes first
    @given(
        case=cases,
        real_id=st.sampled_from([True, False]),
        plausible=st.sampled_from([True, True, True, False]),
        values=plausible_values(),
    )
    def fuzz(case, real_id, plausible, values):
        if case.meta.generation.mode == GenerationMode.POSITIVE:
            if plausible:
                make_plausible(case, values)
            if real_ids and real_id:
                case.path_parameters = {**(case.path_parameters or {}), **real_ids}
        skip = known.get("skip_input")
        assume(not (skip and skip(case)))
        response = case.call(headers=target.headers, timeout=60)
        key = str(response.status_code) + ("" if response.status_code < 400 else " " + _code(response))
        seen[key] = seen.get(key, 0) + 1
        try:
            case.validate_response(response, checks=checks, headers=target.headers)
        except BaseException:
            print(f"--- {service} log tail ---\n{target.server.output(2000)}")
            raise
        finally:
            if path.startswith("/__sim/"):  # faults or rate limits set by the case must not leak into the next
                target.reset()

    fuzz()
    print(f"{service} {method} {path}: {dict(sorted(seen.items()))}")
    assert seen, "no case was sent"
