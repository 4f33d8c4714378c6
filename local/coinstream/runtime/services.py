"""coinstream's own HTTP services, run under gunicorn like in the containers.

Their settings are derived from the local runtime's ports, so the services
find Kafka, Trino and each other without any extra configuration.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import ClassVar

import requests

from .component import Component, Health


def service_env(cfg) -> dict[str, str]:
    """The service settings (docs/SETTINGS.md) that point at the local stack."""
    return {
        "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": cfg.kafka_bootstrap,
        "COINSTREAM_TRINO_HOST": cfg.host,
        "COINSTREAM_TRINO_PORT": str(cfg.trino_port),
        "COINSTREAM_STORAGE_WAREHOUSE_URI": f"{cfg.hdfs_uri}/coinstream/warehouse",
        "COINSTREAM_STORAGE_CHECKPOINT_URI": f"{cfg.hdfs_uri}/coinstream/checkpoints",
        # The simulator, unless the user points ingest at the real API.
        "COINSTREAM_COINGECKO_BASE_URL": os.environ.get(
            "COINSTREAM_COINGECKO_BASE_URL", f"http://{cfg.host}:{cfg.sim_port}/api/v3"
        ),
        "COINSTREAM_API_QUERY_URL": f"http://{cfg.host}:{cfg.query_port}",
        # The api learns the coin list from ingest (the only CoinGecko client), ingest which days
        # already landed from the query service (the only Trino client for the others).
        "COINSTREAM_API_INGEST_URL": f"http://{cfg.host}:{cfg.ingest_port}",
        "COINSTREAM_INGEST_QUERY_URL": f"http://{cfg.host}:{cfg.query_port}",
    }


class GunicornService(Component):
    """A Flask app from ``app_module`` (``module:factory()``) under gunicorn."""

    app_module = ""
    port_setting = ""
    workers = 2
    extra_env: ClassVar[dict[str, str]] = {}
    start_timeout_s = 60.0

    @property
    def port(self) -> int:
        return getattr(self.cfg, self.port_setting)

    @property
    def base_url(self) -> str:
        return f"http://{self.cfg.host}:{self.port}"

    def ports(self) -> list[int]:
        return [self.port]

    def command(self) -> tuple[list[str], dict[str, str]]:
        metrics_dir = self.home / "metrics"
        env = (
            service_env(self.cfg)
            | {
                "COINSTREAM_HTTP_HOST": self.cfg.host,
                "COINSTREAM_HTTP_PORT": str(self.port),
                "COINSTREAM_HTTP_WORKERS": str(self.workers),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            }
            | self.extra_env
        )
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        return [gunicorn, "-c", "python:coinstream_common.gunicorn_conf", self.app_module], env

    def health(self) -> Health:
        resp = requests.get(f"{self.base_url}/readyz", timeout=3)
        if resp.status_code == 200:
            return Health(True, f"ready at {self.base_url}")
        try:
            why = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            why = f"HTTP {resp.status_code}"
        return Health(False, why)

    def endpoints(self) -> dict[str, str]:
        return {"http": self.base_url}


class CoinGeckoSim(GunicornService):
    name = "coingecko-sim"
    app_module = "coingecko_sim.app:create_app()"
    port_setting = "sim_port"
    workers = 1  # its rate limiter and fault switches live in one process


class Ingest(GunicornService):
    name = "ingest"
    requires = ("kafka", "coingecko-sim")
    app_module = "coinstream_ingest.app:create_app()"
    port_setting = "ingest_port"
    workers = 1  # one poller and one backfill worker; CoinGecko's rate limit is the bottleneck


class Query(GunicornService):
    name = "query"
    requires = ("trino",)
    app_module = "coinstream_query.app:create_app()"
    port_setting = "query_port"


class Api(GunicornService):
    name = "api"
    requires = ("kafka", "query", "ingest")  # ingest: the coin list (the api checks the id pattern only without it)
    app_module = "coinstream_api.app:create_app()"
    port_setting = "api_port"
