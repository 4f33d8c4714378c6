"""Services as the runtime runs them (gunicorn, real config), on ephemeral loopback ports.

Shared by the fuzz and security tests and the load benchmark. Each service gets
the env it needs to reach its dependencies *up*: fresh Kafka topics per run (so
fuzzed input never reaches the real pipeline's topics), the real Trino, and the
stub query service or the CoinGecko simulator.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from .net import free_port

ROOT = Path(__file__).resolve().parents[2]  # the checkout: gunicorn runs from there
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

APPS = {
    "coingecko-sim": "coingecko_sim.app:create_app()",
    "ingest": "coinstream_ingest.app:create_app()",
    "query": "coinstream_query.app:create_app()",
    "api": "coinstream_api.app:create_app()",
}


def fresh_topics(label: str, suffix: str):
    """Topic names of their own (``test.<label>.<suffix>.*``; suffix random), so tests on one broker never meet."""
    from coinstream_common.settings import TopicSettings

    prefix = f"test.{label}.{suffix}"
    return TopicSettings(
        prices=f"{prefix}.prices",
        prices_dlq=f"{prefix}.dlq",
        backfill_requests=f"{prefix}.backfill",
        prices_landed=f"{prefix}.landed",
        portfolio_events=f"{prefix}.portfolios",
    )


class Gunicorn:
    """``gunicorn -c python:coinstream_common.gunicorn_conf '<app>'`` with ``env``; output kept in ``log_path``."""

    def __init__(
        self,
        service: str,
        env: dict[str, str],
        tmp: Path,
        workers: int = 1,
        threads: int = 8,
        ready_path: str = "/healthz",
        timeout_s: float = 60.0,
    ) -> None:
        self.service = service
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        tmp.mkdir(parents=True, exist_ok=True)
        metrics_dir = tmp / f"{service}-metrics"
        metrics_dir.mkdir(exist_ok=True)
        self.env = (
            {k: v for k, v in os.environ.items() if not k.startswith("COINSTREAM_")}
            | env
            | {
                "COINSTREAM_HTTP_HOST": "127.0.0.1",
                "COINSTREAM_HTTP_PORT": str(self.port),
                "COINSTREAM_HTTP_WORKERS": str(workers),
                "COINSTREAM_HTTP_THREADS": str(threads),
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            }
        )
        self.log_path = tmp / f"{service}-{self.port}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - the server's output while it runs; closed by close()
        self.proc = subprocess.Popen(
            [GUNICORN, "-c", "python:coinstream_common.gunicorn_conf", APPS[service]],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{service} gunicorn exited {self.proc.returncode}: {self.output()}")
            try:
                if requests.get(self.base_url + ready_path, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.close()
        raise RuntimeError(f"{service} did not answer {ready_path} in {timeout_s} s: {self.output()}")

    def output(self, tail: int = 4000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-tail:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


class FreshTopics:
    """Every topic of ``TopicSettings`` (prices, DLQ, backfill requests, landed, portfolio events) under
    a unique prefix, created on the broker, deleted by ``delete()``."""

    def __init__(self, bootstrap: str, label: str) -> None:
        from coinstream_common.kafka import ensure_topics
        from coinstream_common.settings import KafkaSettings
        from coinstream_contract.topics import topic_specs

        suffix = uuid.uuid4().hex[:8]
        self.bootstrap = bootstrap
        self.topics = fresh_topics(label, suffix)
        specs = topic_specs(self.topics)
        ensure_topics(KafkaSettings(bootstrap_servers=bootstrap), specs)
        self.names = [s.name for s in specs]
        self.suffix = suffix
        self.env = {
            "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "COINSTREAM_TOPIC_PRICES": self.topics.prices,
            "COINSTREAM_TOPIC_PRICES_DLQ": self.topics.prices_dlq,
            "COINSTREAM_TOPIC_BACKFILL_REQUESTS": self.topics.backfill_requests,
            "COINSTREAM_TOPIC_PRICES_LANDED": self.topics.prices_landed,
            "COINSTREAM_TOPIC_PORTFOLIO_EVENTS": self.topics.portfolio_events,
        }

    def delete(self) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for future in admin.delete_topics(self.names, operation_timeout=10).values():
            with contextlib.suppress(Exception):  # a leftover test topic harms nothing
                future.result()


def api_env(topics: FreshTopics, stub, keys: str, **extra: str) -> dict[str, str]:
    """The api pointed at fresh topics and the stub query service (which also serves ingest's coin list)."""
    return (
        topics.env
        | {
            "COINSTREAM_API_QUERY_URL": stub.base_url,
            "COINSTREAM_API_INGEST_URL": stub.ingest_url,
            "COINSTREAM_API_API_KEYS": keys,
            "COINSTREAM_API_RATE_LIMIT_PER_MINUTE": "1000000",
            "COINSTREAM_API_HEARTBEAT_S": "0.5",
            "COINSTREAM_API_STREAM_TIMEOUT_S": "5",
            "COINSTREAM_API_GROUP_ID": f"test-api-{topics.suffix}",
            "COINSTREAM_LOG_LEVEL": "INFO",
        }
        | extra
    )


def ingest_env(topics: FreshTopics, sim_url: str, **extra: str) -> dict[str, str]:
    """Ingest pointed at fresh topics and the simulator; no poller/backfill threads (only the HTTP surface)."""
    return (
        topics.env
        | {
            "COINSTREAM_COINGECKO_BASE_URL": sim_url,
            "COINSTREAM_COINGECKO_RATE_LIMIT_PER_MINUTE": "100000",
            "COINSTREAM_COINGECKO_MAX_ATTEMPTS": "2",
            "COINSTREAM_COINGECKO_BACKOFF_BASE_S": "0.1",
            "COINSTREAM_INGEST_POLLER_ENABLED": "false",
            "COINSTREAM_INGEST_BACKFILL_ENABLED": "false",
            "COINSTREAM_LOG_LEVEL": "INFO",
        }
        | extra
    )
