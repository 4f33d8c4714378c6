"""Every route the api registers (documented or not) needs a key, except the probes; the document says so too.

The integration test walks the OpenAPI document; this one walks the Flask
url_map, so a route added without documentation cannot slip past auth.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

_spec = importlib.util.spec_from_file_location(
    "security_api_harness", Path(__file__).parents[2] / "unit" / "api" / "conftest.py"
)
_harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_harness)

PROBES = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


@pytest.fixture(scope="module")
def harness():
    return _harness.Harness()


def _routes(app) -> list[tuple[str, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: "pf_abcdefgh12" if m.group(1) != "fmt" else "svg", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def test_every_registered_route_but_the_probes_needs_a_key(harness):
    routes = _routes(harness.app)
    guarded = [(m, p) for m, p in routes if p not in PROBES]
    assert len(guarded) >= 4, routes
    for method, path in guarded:
        resp = harness.client.open(path, method=method)
        assert resp.status_code == 401, f"{method} {path}: {resp.status_code}"
        assert resp.get_json()["error"]["code"] == "unauthenticated"
        resp = harness.client.open(path, method=method, headers={"X-API-Key": "wrong"})
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "invalid_api_key", f"{method} {path}"
        resp = harness.client.open(path, method=method, headers={"X-API-Key": harness.KEY})
        assert resp.status_code != 401, f"{method} {path}: the right key was refused"


def test_probes_answer_without_a_key(harness):
    probes = [(m, p) for m, p in _routes(harness.app) if p in PROBES]
    assert {p for _, p in probes} == PROBES
    for method, path in probes:
        assert harness.client.open(path, method=method).status_code in (200, 503), f"{method} {path}"


def test_the_document_declares_a_key_on_every_guarded_operation():
    from coinstream_api.openapi import OPENAPI

    schemes = OPENAPI["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    for path, item in OPENAPI["paths"].items():
        for method, op in item.items():
            if path in PROBES:
                assert not op.get("security"), f"{method} {path}: a probe must not require a key"
                continue
            assert op.get("security"), f"{method} {path} does not declare its API key"
            assert "401" in op["responses"], f"{method} {path} does not document its 401"
