"""The api under gunicorn refuses every non-probe request without a valid API key (401 JSON), and only those.

Operations come from the document the api serves, so an endpoint is covered
as soon as it is documented (tests/unit/security covers every route the app
registers, documented or not).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests

pytestmark = pytest.mark.integration

PROBES = ("/healthz", "/readyz", "/metrics", "/openapi.json")
DAY = 86_400_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def api(secure_stack):
    """The api's URL, a valid portfolio body, and the id of a complete portfolio owned by the first key."""
    start = (int(time.time() * 1000) // DAY - 20) * DAY
    secure_stack.land("bitcoin", start, 11)
    body = {
        "holdings": [{"coin": "bitcoin", "amount": 1}],
        "vs_currency": "usd",
        "from": _iso(start),
        "to": _iso(start + 10 * DAY),
        "interval": "daily",
    }
    base = secure_stack.url("api")
    created = requests.post(
        base + "/v1/portfolios", json=body, headers={"X-API-Key": secure_stack.api_keys[0]}, timeout=30
    )
    assert created.status_code == 201, created.text[:300]
    return {"base": base, "body": body, "id": created.json()["id"]}


def _operations(secure_stack, portfolio_id: str) -> list[tuple[str, str]]:
    doc = secure_stack.openapi("api")
    ops = []
    for path, item in doc["paths"].items():
        if path in PROBES:
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                ops.append((method.upper(), path.replace("{id}", portfolio_id)))
    return ops


def _send(api, method: str, path: str, headers: dict[str, str], **kw) -> requests.Response:
    body = api["body"] if method == "POST" else None
    return requests.request(method, api["base"] + path, json=body, headers=headers, timeout=30, **kw)


def _assert_401(resp: requests.Response, code: str, what: str) -> None:
    assert resp.status_code == 401, f"{what}: {resp.status_code} {resp.text[:200]}"
    assert resp.headers["Content-Type"].startswith("application/json"), what
    error = resp.json()["error"]
    assert error["code"] == code and error["message"], f"{what}: {error}"
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer"), f"{what}: no WWW-Authenticate"


def test_every_documented_operation_needs_a_valid_key(secure_stack, api):
    key = secure_stack.api_keys[0]
    ops = _operations(secure_stack, api["id"])
    assert len(ops) >= 5, f"the api documents fewer operations than expected: {ops}"
    wrong = {
        "no key": ({}, "unauthenticated"),
        "empty X-API-Key": ({"X-API-Key": ""}, "unauthenticated"),
        "wrong X-API-Key": ({"X-API-Key": "not-a-key"}, "invalid_api_key"),
        "wrong bearer": ({"Authorization": "Bearer not-a-key"}, "invalid_api_key"),
        "key as basic auth": ({"Authorization": f"Basic {key}"}, "unauthenticated"),
        "prefix of a key": ({"X-API-Key": key[:-1]}, "invalid_api_key"),
        "key plus a suffix": ({"X-API-Key": key + "x"}, "invalid_api_key"),
        "key in the other case": ({"X-API-Key": key.upper()}, "invalid_api_key"),
    }
    for method, path in ops:
        for what, (headers, code) in wrong.items():
            _assert_401(_send(api, method, path, headers), code, f"{method} {path} with {what}")
        # a key in the URL would end up in access logs: it is not accepted
        _assert_401(
            _send(api, method, path, {}, params={"api_key": key}), "unauthenticated", f"{method} {path} ?api_key"
        )
        for headers in ({"X-API-Key": key}, {"Authorization": f"Bearer {key}"}):
            resp = _send(api, method, path, headers)
            assert resp.status_code in (200, 201, 202), (
                f"{method} {path} with the key: {resp.status_code} {resp.text[:200]}"
            )


def test_another_valid_key_does_not_see_the_portfolio(secure_stack, api):
    other = {"X-API-Key": secure_stack.api_keys[1]}
    owned = [(m, p) for m, p in _operations(secure_stack, api["id"]) if api["id"] in p]
    assert owned, "no documented operation on one portfolio"
    for method, path in owned:
        resp = _send(api, method, path, other)
        assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found", (
            f"{method} {path}: {resp.text[:200]}"
        )


def test_undocumented_paths_and_methods_need_a_key_too(api):
    for method, path in (
        ("GET", "/v1/portfolios"),
        ("DELETE", f"/v1/portfolios/{api['id']}"),
        ("GET", "/v1/admin"),
        ("GET", "/"),
        ("PUT", "/v1/portfolios"),
    ):
        _assert_401(requests.request(method, api["base"] + path, timeout=10), "unauthenticated", f"{method} {path}")


def test_probes_answer_without_a_key(api):
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        resp = requests.get(api["base"] + path, timeout=10)
        assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text[:200]}"
