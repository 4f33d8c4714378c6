"""The generated OpenAPI documents: valid OpenAPI 3.1, every reference resolves, and answers match them.

Each service's answers (in-process, with doubles for Trino) are checked against the
schema its document gives for that operation and status, as the fuzz tests do over HTTP.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
from coingecko_sim.app import create_app as create_sim
from coingecko_sim.config import SimConfig
from coingecko_sim.openapi import DOCUMENT as SIM_DOC
from coinstream_api.openapi import OPENAPI as API_DOC
from coinstream_common.settings import ServiceSettings, TrinoSettings
from coinstream_ingest.openapi import document as ingest_document
from coinstream_query.app import create_app as create_query
from coinstream_query.openapi import document as query_document
from coinstream_query.settings import QuerySettings
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

pytestmark = pytest.mark.unit

DOCS = {"api": API_DOC, "ingest": ingest_document(), "query": query_document(), "coingecko-sim": SIM_DOC}
D0 = 1767225600000  # 2026-01-01T00:00:00Z
D, H = 86_400_000, 3_600_000


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def body_errors(doc: dict, path: str, method: str, status: int, body) -> list[str]:
    """Why ``body`` is not what ``doc`` says ``method path`` answers with ``status`` (JSON)."""
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": doc["components"]})
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(body)]


@pytest.mark.parametrize("service", sorted(DOCS))
def test_documents_are_valid_openapi_31_with_resolvable_refs(service):
    doc = json.loads(json.dumps(DOCS[service]))  # what /openapi.json serves
    OPENAPI_31_VALIDATOR.validate(doc)
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert "$defs" not in schema, f"{name} keeps definitions of its own"
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")) and "application/json" in answer.get("content", {}):
                    assert answer["content"]["application/json"]["schema"], f"{method} {path} {status}"


@pytest.mark.parametrize("service", sorted(DOCS))
def test_request_bodies_are_the_validating_models(service):
    """A body schema is a reference to a model, and that model forbids what the service refuses."""
    doc = DOCS[service]
    bodies = [
        op["requestBody"]["content"]["application/json"]["schema"]
        for item in doc["paths"].values()
        for op in item.values()
        if "requestBody" in op
    ]
    assert bodies
    for schema in bodies:
        refs = list(_refs(schema))
        assert refs, schema
        for ref in refs:
            model = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert model["type"] == "object" and model["properties"]


def test_query_answers_match_the_document():
    class Gateway:
        table = '"hive"."coinstream"."coin_prices"'

        def __init__(self, rows=None, error=None):
            self.rows, self.error = rows or [], error

        def fetch(self, statement, kind):
            if self.error:
                raise self.error
            return self.rows

        def ping(self):
            return True, "fake"

    def client(rows=None, error=None):
        app = create_query(TrinoSettings(), QuerySettings(), ServiceSettings(), gateway=Gateway(rows, error))
        return app.test_client()

    doc = DOCS["query"]
    series = client([(D0, D0 + 23 * H, 101.5, 2e12, 3e10), (D0 + 2 * D, D0 + 2 * D + 5, 99.0, None, None)]).get(
        "/v1/prices/bitcoin?from=2026-01-01&to=2026-01-03"
    )
    assert series.status_code == 200 and series.get_json()["points"]
    assert body_errors(doc, "/v1/prices/{coin}", "get", 200, series.get_json()) == []

    coverage = client([("bitcoin", D0, D0 + H, 2)]).get(
        "/v1/coverage?coins=bitcoin,ethereum&from=2026-01-01T00:00:00Z&to=2026-01-01T05:00:00Z&interval=hourly"
    )
    assert coverage.status_code == 200
    assert body_errors(doc, "/v1/coverage", "get", 200, coverage.get_json()) == []

    valuation = client(
        [
            (D0, "bitcoin", 1.5, 100.0, D0, "observed", 150.0, 150.0, 0),
            (D0 + D, "bitcoin", 1.5, None, None, "missing", None, None, 1),
        ]
    ).post(
        "/v1/valuation",
        json={"holdings": [{"coin": "bitcoin", "amount": 1.5}], "from": "2026-01-01", "to": "2026-01-02"},
    )
    assert valuation.status_code == 200, valuation.get_json()
    assert body_errors(doc, "/v1/valuation", "post", 200, valuation.get_json()) == []
    # The document is not so loose that anything passes.
    assert body_errors(doc, "/v1/valuation", "post", 200, {**valuation.get_json(), "points": [{"ts": 1}]})

    refused = client().post("/v1/valuation", json={"holdings": [], "from": "2026-01-01", "to": "2026-01-02"})
    assert refused.status_code == 400
    assert body_errors(doc, "/v1/valuation", "post", 400, refused.get_json()) == []


def test_simulator_answers_match_the_document():
    now = D0 + 10 * D
    sim = create_sim(SimConfig(seed=5, rate_limit_per_minute=1000), clock_ms=lambda: now, sleep=lambda s: None)
    client = sim.test_client()
    doc = DOCS["coingecko-sim"]
    coins = client.get("/api/v3/coins/list")
    assert body_errors(doc, "/api/v3/coins/list", "get", 200, coins.get_json()) == []
    query = {"vs_currency": "usd", "from": (now - 3 * D) // 1000, "to": now // 1000}
    chart = client.get("/api/v3/coins/bitcoin/market_chart/range", query_string=query)
    assert chart.status_code == 200 and chart.get_json()["prices"]
    assert body_errors(doc, "/api/v3/coins/{id}/market_chart/range", "get", 200, chart.get_json()) == []
    unknown = client.get("/api/v3/coins/no-such-coin/market_chart/range", query_string=query)
    assert body_errors(doc, "/api/v3/coins/{id}/market_chart/range", "get", 404, unknown.get_json()) == []
    bad_fault = client.post("/__sim/faults", json={"endpoint": "nope"})
    assert bad_fault.status_code == 400
    assert body_errors(doc, "/__sim/faults", "post", 400, bad_fault.get_json()) == []
