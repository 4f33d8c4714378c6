"""Every service under gunicorn with its dependencies up, for the OpenAPI fuzz tests.

One server per service for the whole module (started on first use): Kafka
on fresh topics, the real Trino for query, the stub query service for the
api, the CoinGecko simulator for ingest.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from coinstream_testkit import servers
from coinstream_testkit.stub_query import StubQuery

API_KEY = "fuzz-key-4b1c9e"
DAY = 86_400_000


class Target:
    """A running service: its base URL, extra headers every call sends, ids of resources that exist."""

    def __init__(self, server, headers: dict[str, str] | None = None, ids: dict[str, str] | None = None) -> None:
        self.server = server
        self.base_url = server.base_url
        self.headers = headers or {}
        self.ids = ids or {}

    def reset(self) -> None:
        """The simulator back to its start-up configuration (no faults, no rate limit)."""
        resp = requests.post(self.base_url + "/__sim/reset", timeout=10)
        assert resp.status_code == 200, f"sim reset: {resp.status_code} {resp.text[:200]}"


@pytest.fixture(scope="module")
def fuzz_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


SIM_ENV = {"COINGECKO_SIM_RATE_LIMIT_PER_MINUTE": "0", "COINGECKO_SIM_PRO_RATE_LIMIT_PER_MINUTE": "0"}


@pytest.fixture(scope="module")
def sim_target(fuzz_tmp):
    """The simulator being fuzzed (its admin endpoints included: they set faults, so ingest has its own)."""
    server = servers.Gunicorn("coingecko-sim", SIM_ENV, fuzz_tmp)
    yield Target(server, ids={"id": "bitcoin"})
    server.close()


@pytest.fixture(scope="module")
def ingest_target(kafka_bootstrap, fuzz_tmp):
    sim = servers.Gunicorn("coingecko-sim", SIM_ENV, fuzz_tmp)
    topics = servers.FreshTopics(kafka_bootstrap, "fuzz-ingest")
    server = servers.Gunicorn("ingest", servers.ingest_env(topics, sim.base_url + "/api/v3"), fuzz_tmp)
    yield Target(server)
    server.close()
    sim.close()
    topics.delete()


@pytest.fixture(scope="module")
def query_target(trino_port, hdfs_uri, fuzz_tmp):
    import trino.dbapi
    from coinstream_common.settings import TrinoSettings
    from coinstream_contract import tables

    s = TrinoSettings(port=trino_port)
    conn = trino.dbapi.connect(host=s.host, port=s.port, user=s.user, catalog=s.catalog, request_timeout=60)
    warehouse = f"{hdfs_uri}/coinstream/warehouse"
    for stmt in (
        tables.trino_create_schema(s.catalog, s.schema_, warehouse),
        tables.trino_create_price_table(s.catalog, s.schema_, warehouse),
    ):
        cur = conn.cursor()
        cur.execute(stmt)
        cur.fetchall()
    conn.close()
    server = servers.Gunicorn(
        "query",
        {"COINSTREAM_TRINO_PORT": str(trino_port), "COINSTREAM_LOG_LEVEL": "INFO"},
        fuzz_tmp,
        ready_path="/readyz",
    )
    yield Target(server)
    server.close()


@pytest.fixture(scope="module")
def api_target(kafka_bootstrap, fuzz_tmp):
    stub = StubQuery()
    start = int(
        (datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=40)).timestamp() * 1000
    )
    for n, coin in enumerate(("bitcoin", "ethereum")):
        stub.table.add(coin, "usd", {start + d * DAY: 100.0 * (n + 1) + d for d in range(31)})
    topics = servers.FreshTopics(kafka_bootstrap, "fuzz-api")
    server = servers.Gunicorn("api", servers.api_env(topics, stub, API_KEY), fuzz_tmp, ready_path="/readyz")
    headers = {"X-API-Key": API_KEY}
    time.sleep(1.0)  # the worker's Kafka readers get their assignment
    body = {
        "holdings": [{"coin": "bitcoin", "amount": 1.5}, {"coin": "ethereum", "amount": 2}],
        "vs_currency": "usd",
        "from": _iso(start),
        "to": _iso(start + 30 * DAY),
        "interval": "daily",
    }
    created = requests.post(server.base_url + "/v1/portfolios", json=body, headers=headers, timeout=30)
    assert created.status_code == 201, f"{created.status_code} {created.text[:500]}\n{server.output()}"
    yield Target(server, headers, {"id": created.json()["id"]})
    server.close()
    stub.close()
    topics.delete()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
