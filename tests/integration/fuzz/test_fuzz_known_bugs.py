"""Faults the OpenAPI fuzzing found, each pinned by its smallest input, fixed, and kept as regressions.

Each input class is fuzzed again in test_fuzz_openapi.py; these tests keep the
smallest known input of each fault as a plain regression.
"""

from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.integration


def _reject_constant(token: str):
    raise ValueError(f"non-standard JSON token {token}")


def assert_client_error_or_standard_json(resp: requests.Response) -> None:
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:300]}"
    json.loads(resp.content, parse_constant=_reject_constant)  # raises on NaN/Infinity


def test_query_valuation_of_overflowing_amounts(query_target):
    body = {
        "from": "2026-02-02T00:00:00Z",
        "to": "2026-02-04T00:00:00Z",
        "holdings": [{"coin": "ethereum", "amount": 1e308}, {"coin": "ethereum", "amount": 1e308}],
    }
    resp = requests.post(query_target.base_url + "/v1/valuation", json=body, timeout=60)
    assert_client_error_or_standard_json(resp)


@pytest.mark.parametrize("amounts", [[1e308], [1e308, 1e308]], ids=["value-overflows", "sum-overflows"])
def test_api_portfolio_with_overflowing_amounts(api_target, amounts):
    window = {"from": "2026-10-20T00:00:00Z", "to": "2026-11-19T00:00:00Z", "interval": "daily"}
    body = {"holdings": [{"coin": "bitcoin", "amount": a} for a in amounts], "vs_currency": "usd", **window}
    resp = requests.post(api_target.base_url + "/v1/portfolios", json=body, headers=api_target.headers, timeout=60)
    assert_client_error_or_standard_json(resp)


@pytest.mark.parametrize(
    "raw",
    [
        '{"coin": "bitcoin", "from": -1.7976931348623155e+308}',
        '{"coin": "bitcoin", "from": Infinity}',
        '{"coin": "bitcoin", "from": "2026-11-01", "to": 1e300}',
    ],
    ids=["from-overflows-ms", "from-infinity", "to-beyond-year-9999"],
)
def test_ingest_history_with_instants_out_of_range(ingest_target, raw):
    resp = requests.post(
        ingest_target.base_url + "/v1/fetch/history", data=raw, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert resp.status_code == 400, f"{resp.status_code}: {resp.text[:300]}"


def test_sim_precision_that_is_a_digit_but_not_decimal(sim_target):
    resp = requests.get(
        sim_target.base_url + "/api/v3/coins/bitcoin/market_chart",
        params={"vs_currency": "usd", "days": "1", "precision": "\u00b3"},
        timeout=30,
    )
    assert resp.status_code == 400, f"{resp.status_code}: {resp.text[:300]}"


def test_api_stream_events_match_the_document(api_target):
    schema = schemathesis.openapi.from_url(api_target.base_url + "/openapi.json")
    case = schema["/v1/portfolios/{id}/stream"]["GET"].Case(path_parameters={"id": api_target.ids["id"]})
    response = case.call(headers=api_target.headers, timeout=30)
    assert response.status_code == 200
    case.validate_response(response, checks=[response_schema_conformance], headers=api_target.headers)
