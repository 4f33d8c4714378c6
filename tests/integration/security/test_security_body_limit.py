"""Every service refuses a request body over COINSTREAM_MAX_BODY_BYTES with a 413 JSON error.

Each operation that takes a body (per the document the service serves) is
sent one over the limit with a Content-Length, and one chunked (no length up
front, so only counting while reading can stop it). A body under the limit
is not refused for its size, which shows the limit is the configured one and
not a blanket refusal.
"""

from __future__ import annotations

import json

import pytest
import requests

pytestmark = pytest.mark.integration

SERVICES = ("coingecko-sim", "ingest", "query", "api")


def _json_of_size(size: int) -> bytes:
    """A JSON object of exactly ``size`` bytes."""
    head, tail = b'{"padding": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def _body_operations(secure_stack, service: str) -> list[tuple[str, str]]:
    ops = []
    for path, item in secure_stack.openapi(service)["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "requestBody" in op:
                ops.append((method.upper(), path))
    return ops


def _chunks(data: bytes, size: int = 1000):
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _headers(secure_stack, service: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if service == "api":
        headers["X-API-Key"] = secure_stack.api_keys[0]
    return headers


def _assert_413(resp: requests.Response, limit: int, what: str) -> None:
    assert resp.status_code == 413, f"{what}: {resp.status_code} {resp.text[:200]}"
    assert resp.headers["Content-Type"].startswith("application/json"), f"{what}: {resp.headers['Content-Type']}"
    error = resp.json()["error"]
    assert error["code"] and str(limit) in error["message"], f"{what}: {error}"


@pytest.mark.parametrize("service", SERVICES)
def test_bodies_over_the_limit_get_413_json(secure_stack, service):
    limit, headers = secure_stack.max_body_bytes, _headers(secure_stack, service)
    ops = _body_operations(secure_stack, service)
    assert ops, f"{service} documents no operation with a body"
    base = secure_stack.url(service)
    for method, path in ops:
        what = f"{service} {method} {path}"
        over = _json_of_size(limit + 1)
        _assert_413(requests.request(method, base + path, data=over, headers=headers, timeout=30), limit, what)
        huge = _json_of_size(200 * limit)
        _assert_413(requests.request(method, base + path, data=huge, headers=headers, timeout=30), limit, what)
        under = requests.request(method, base + path, data=_json_of_size(limit - 1), headers=headers, timeout=30)
        assert under.status_code != 413, f"{what}: a body under the limit was refused: {under.text[:200]}"
        assert under.status_code < 500, f"{what}: {under.status_code} {under.text[:200]}"
        json.loads(under.content)  # whatever it answered (likely 400: padding is not a field), it is JSON


@pytest.mark.parametrize("service", SERVICES)
def test_chunked_bodies_over_the_limit_get_413_json(secure_stack, service):
    limit, headers = secure_stack.max_body_bytes, _headers(secure_stack, service)
    base = secure_stack.url(service)
    for method, path in _body_operations(secure_stack, service):
        big = _json_of_size(20 * limit)
        _assert_413(
            requests.request(method, base + path, data=_chunks(big), headers=headers, timeout=30),
            limit,
            f"{service} {method} {path} (chunked)",
        )


def test_a_chunked_body_over_the_limit_is_not_processed(secure_stack):
    """The worst case of the above, pinned apart: a valid request padded past the limit must not be served.

    werkzeug stops reading a chunked body at MAX_BODY_BYTES without an error, so without
    coinstream_common.web's own check the first bytes would parse and be served.
    """
    limit = secure_stack.max_body_bytes
    valid = (
        b'{"holdings": [{"coin": "bitcoin", "amount": 1}], "from": "2026-11-01T00:00:00Z", '
        b'"to": "2026-11-03T00:00:00Z"}'
    )
    padded = valid + b" " * (5 * limit)
    resp = requests.post(
        secure_stack.url("query") + "/v1/valuation",
        data=_chunks(padded),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert resp.status_code == 413, f"{resp.status_code}: {resp.text[:200]}"
