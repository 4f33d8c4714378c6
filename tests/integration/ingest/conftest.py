"""The real coingecko-sim (under gunicorn, ephemeral port) and a fresh Kafka topic per test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from coinstream_common.kafka import ensure_topics, make_consumer
from coinstream_common.settings import KafkaSettings
from coinstream_contract.events import PriceEvent
from coinstream_contract.topics import TopicSpec
from coinstream_testkit.net import free_port
from coinstream_testkit.sim import SimAdmin
from confluent_kafka.admin import AdminClient

SIM_SEED = 42


class Sim(SimAdmin):
    """A coingecko-sim process and its control API (/__sim)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(self.url, timeout_s=5)
        self.log = workdir / "sim.log"
        env = os.environ | {
            "COINSTREAM_HTTP_HOST": "127.0.0.1",
            "COINSTREAM_HTTP_PORT": str(self.port),
            "COINSTREAM_HTTP_WORKERS": "1",
            "COINSTREAM_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
            "COINGECKO_SIM_SEED": str(SIM_SEED),
            "COINGECKO_SIM_RATE_LIMIT_PER_MINUTE": "0",
        }
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    gunicorn,
                    "-c",
                    "python:coinstream_common.gunicorn_conf",
                    "--no-control-socket",
                    "coingecko_sim.app:create_app()",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"coingecko-sim exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/api/v3/ping", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("coingecko-sim did not answer within 30s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="session")
def sim(tmp_path_factory):
    s = Sim(tmp_path_factory.mktemp("coingecko-sim"))
    yield s
    s.stop()


@pytest.fixture
def fresh_sim(sim):
    sim.reset()
    yield sim
    sim.clear_faults()


@pytest.fixture
def new_topic(kafka_bootstrap):
    """Make a fresh topic (``new_topic(prefix)``); every one is deleted after the test."""
    made: list[str] = []

    def make(prefix: str, partitions: int = 3) -> str:
        name = f"test.ingest.{prefix}.{uuid.uuid4().hex[:8]}"
        ensure_topics(KafkaSettings(bootstrap_servers=kafka_bootstrap), [TopicSpec(name, partitions, {})])
        made.append(name)
        return name

    yield make
    if made:
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})  # kept alive until the futures resolve
        for future in admin.delete_topics(made, operation_timeout=15).values():
            future.result(timeout=20)


@pytest.fixture
def prices_topic(new_topic, monkeypatch) -> str:
    topic = new_topic("prices")
    monkeypatch.setenv("COINSTREAM_TOPIC_PRICES", topic)
    return topic


@pytest.fixture
def ingest_env(fresh_sim, kafka_bootstrap, prices_topic, monkeypatch):
    """Environment of an ingest app pointed at the sim, the broker and this test's topic."""
    env = {
        "COINSTREAM_COINGECKO_BASE_URL": fresh_sim.url + "/api/v3",
        "COINSTREAM_COINGECKO_RATE_LIMIT_PER_MINUTE": "60000",
        "COINSTREAM_COINGECKO_TIMEOUT_S": "1",
        "COINSTREAM_COINGECKO_MAX_ATTEMPTS": "6",
        "COINSTREAM_COINGECKO_BACKOFF_BASE_S": "0.05",
        "COINSTREAM_COINGECKO_BACKOFF_MAX_S": "5",
        "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "COINSTREAM_INGEST_POLLER_ENABLED": "false",
        "COINSTREAM_INGEST_BACKFILL_ENABLED": "false",
        "COINSTREAM_INGEST_FETCH_CONCURRENCY": "4",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env


def read_events(
    bootstrap: str, topic: str, expect: int, timeout_s: float = 60.0, idle_s: float = 3.0
) -> list[PriceEvent]:
    """Every event on ``topic`` (from the start): until ``expect`` were read and nothing more came for ``idle_s``."""
    consumer = make_consumer(KafkaSettings(bootstrap_servers=bootstrap), f"test-{uuid.uuid4().hex[:8]}", [topic])
    events: list[PriceEvent] = []
    deadline, last = time.monotonic() + timeout_s, time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = [m for m in consumer.consume(1000, timeout=0.5) if not m.error()]
            for m in batch:
                event = PriceEvent.from_json(m.value())
                assert m.key() == event.coin_id.encode()  # keyed by coin
                events.append(event)
            if batch:
                last = time.monotonic()
            elif len(events) >= expect and time.monotonic() - last >= idle_s:
                break
    finally:
        consumer.close()
    return events
