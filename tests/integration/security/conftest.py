"""The four services under gunicorn with known secrets in their environment and a small body limit.

One stack for the session's security tests: the CoinGecko simulator, ingest
(demo plan key, pointed at the simulator), query (real Trino), and the api
(stub query service). Every service sees every secret in its environment, as
a careless deployment would give them, and logs at DEBUG, so a leak has every
chance to show in its output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from coinstream_testkit import servers
from coinstream_testkit.stub_query import StubQuery

API_KEYS = ("sec-api-key-7f3a9c1e55", "sec-api-key-b2d4e6f802")
COINGECKO_KEY = "sec-cg-key-5e1d0a9b33"
SECRETS = (*API_KEYS, COINGECKO_KEY)
MAX_BODY_BYTES = 4096
DAY = 86_400_000


class SecureStack:
    api_keys = API_KEYS
    coingecko_key = COINGECKO_KEY
    secrets = SECRETS
    max_body_bytes = MAX_BODY_BYTES

    def __init__(self, kafka_bootstrap: str, trino_port: int, tmp: Path) -> None:
        common = {
            "COINSTREAM_API_API_KEYS": ",".join(API_KEYS),
            "COINSTREAM_COINGECKO_API_KEY": COINGECKO_KEY,
            "COINSTREAM_COINGECKO_API_PLAN": "demo",
            "COINSTREAM_COINGECKO_BACKOFF_MAX_S": "1",
            "COINSTREAM_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
            "COINSTREAM_LOG_LEVEL": "DEBUG",
        }
        self.stub = StubQuery()
        self.topics = servers.FreshTopics(kafka_bootstrap, "security")
        self.servers: dict[str, servers.Gunicorn] = {}
        try:
            self._start("coingecko-sim", common | {"COINGECKO_SIM_RATE_LIMIT_PER_MINUTE": "0"}, tmp)
            sim_url = self.servers["coingecko-sim"].base_url + "/api/v3"
            self._start("ingest", servers.ingest_env(self.topics, sim_url) | common, tmp)
            self._start("query", common | {"COINSTREAM_TRINO_PORT": str(trino_port)}, tmp)
            self._start("api", servers.api_env(self.topics, self.stub, ",".join(API_KEYS)) | common, tmp)
        except BaseException:
            self.close()
            raise

    def _start(self, name: str, env: dict[str, str], tmp: Path) -> None:
        self.servers[name] = servers.Gunicorn(name, env, tmp)

    def url(self, service: str) -> str:
        return self.servers[service].base_url

    def openapi(self, service: str) -> dict:
        resp = requests.get(self.url(service) + "/openapi.json", timeout=10)
        assert resp.status_code == 200, resp.text[:200]
        return resp.json()

    def land(self, coin: str, start_ms: int, days: int) -> None:
        """Prices for ``days`` days from ``start_ms`` in the stub query service (the api's portfolios complete)."""
        self.stub.table.add(coin, "usd", {start_ms + d * DAY: 100.0 + d for d in range(days)})

    def close(self) -> None:
        for server in self.servers.values():
            server.close()
        self.stub.close()
        self.topics.delete()


@pytest.fixture(scope="session")
def secure_stack(kafka_bootstrap, trino_port, tmp_path_factory):
    stack = SecureStack(kafka_bootstrap, trino_port, tmp_path_factory.mktemp("security"))
    yield stack
    stack.close()
