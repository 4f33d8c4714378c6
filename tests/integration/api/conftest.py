"""The api against the real Kafka, with a stub query service, on fresh topics per test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from coinstream_common.kafka import EventProducer, ensure_topics
from coinstream_common.settings import KafkaSettings
from coinstream_contract.topics import topic_specs
from coinstream_testkit import sse, stub_query
from coinstream_testkit.net import free_port
from coinstream_testkit.servers import fresh_topics
from werkzeug.serving import make_server

KEY, OTHER_KEY = "it-key-alice", "it-key-bob"
DAY = 86_400_000
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z


class Env:
    """Fresh topics and the env vars that point an api at them, the broker and the stub."""

    def __init__(self, bootstrap: str, stub, monkeypatch) -> None:
        suffix = uuid.uuid4().hex[:8]
        self.topics = fresh_topics("api", suffix)
        self.kafka = KafkaSettings(bootstrap_servers=bootstrap)
        specs = [s for s in topic_specs(self.topics) if s.name != self.topics.prices]
        ensure_topics(self.kafka, specs)
        self.stub = stub
        self.vars = {
            "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "COINSTREAM_TOPIC_BACKFILL_REQUESTS": self.topics.backfill_requests,
            "COINSTREAM_TOPIC_PRICES_LANDED": self.topics.prices_landed,
            "COINSTREAM_TOPIC_PORTFOLIO_EVENTS": self.topics.portfolio_events,
            "COINSTREAM_API_QUERY_URL": stub.base_url,
            "COINSTREAM_API_INGEST_URL": stub.ingest_url,
            "COINSTREAM_API_API_KEYS": f"{KEY},{OTHER_KEY}",
            "COINSTREAM_API_HEARTBEAT_S": "0.5",
            "COINSTREAM_API_STREAM_TIMEOUT_S": "60",
            "COINSTREAM_API_GROUP_ID": f"test-api-{suffix}",
            "COINSTREAM_LOG_LEVEL": "WARNING",
        }
        for k, v in self.vars.items():
            monkeypatch.setenv(k, v)
        self.producer = EventProducer(self.kafka, "test-api")
        self.created = [spec.name for spec in specs]

    def delete_topics(self) -> None:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.kafka.bootstrap_servers})
        for future in admin.delete_topics(self.created, operation_timeout=10).values():
            with contextlib.suppress(Exception):  # best effort: a leftover test topic harms nothing
                future.result()

    def land_days(self, coin: str, prices: dict[int, float], vs: str = "usd") -> None:
        """Land {day index: price}: into the stub's table, then a landed notification on Kafka."""
        self.stub.land(coin, vs, {T0 + d * DAY: p for d, p in prices.items()}, self.producer, self.topics.prices_landed)


class InProcessApi:
    """create_app() served by werkzeug on an ephemeral port (threads started, real Kafka)."""

    def __init__(self, **env) -> None:
        from coinstream_api.app import create_app

        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.app = create_app(configure_logging=False)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        self.service = self.app.extensions["coinstream"]
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        assert self.service.watcher.wait_ready(30), "landed watcher did not start"

    def close(self) -> None:
        self._server.shutdown()
        self.service.store.stop()
        self.service.watcher.stop()


class GunicornApi:
    """The api as the runtime starts it: gunicorn with two workers, in its own process."""

    def __init__(self, env: dict[str, str], tmp: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        full = (
            os.environ
            | env
            | {
                "COINSTREAM_HTTP_HOST": "127.0.0.1",
                "COINSTREAM_HTTP_PORT": str(self.port),
                "COINSTREAM_HTTP_WORKERS": "2",
                "COINSTREAM_HTTP_THREADS": "8",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
            }
        )
        (tmp / "metrics").mkdir(exist_ok=True)  # label-less gauges write their file at import
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.log = open(tmp / "gunicorn.log", "w+")  # noqa: SIM115 - gunicorn writes it while running; closed by stop()
        self.proc = subprocess.Popen(
            [gunicorn, "-c", "python:coinstream_common.gunicorn_conf", "coinstream_api.app:create_app()"],
            env=full,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.output()}")
            try:
                if requests.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    time.sleep(2.0)  # both workers up, their Kafka readers assigned
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer: {self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-3000:]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture
def stub():
    s = stub_query.StubQuery()
    yield s
    s.close()


@pytest.fixture
def env(kafka_bootstrap, stub, monkeypatch):
    e = Env(kafka_bootstrap, stub, monkeypatch)
    yield e
    e.delete_topics()


@pytest.fixture
def api(env):
    instance = InProcessApi()
    yield instance
    instance.close()


@pytest.fixture
def gunicorn_api(env, tmp_path):
    instance = GunicornApi(env.vars, tmp_path)
    yield instance
    instance.close()


@pytest.fixture
def it():
    """The helpers above, for test modules (which cannot import this conftest by name)."""
    import types

    return types.SimpleNamespace(
        KEY=KEY,
        OTHER_KEY=OTHER_KEY,
        DAY=DAY,
        T0=T0,
        InProcessApi=InProcessApi,
        GunicornApi=GunicornApi,
        SseReader=SseReader,
    )


class SseReader:
    """Reads a stream in a thread; ``events`` fills as they arrive (each with its arrival time)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.resp = requests.get(url, headers=headers, stream=True, timeout=(5, 30))
        self.raw = ""
        self.events: list[dict] = []
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for chunk in self.resp.iter_content(chunk_size=None):
                self.raw += chunk.decode()
                parsed = sse.parse(self.raw)
                for e in parsed[len(self.events) :]:
                    e["at"] = time.monotonic()
                    self.events.append(e)
        except (requests.RequestException, AttributeError, ValueError, OSError):
            pass  # closed by the test (close() from another thread ends the read abruptly)
        finally:
            self.done.set()

    def wait_for(self, name: str, timeout_s: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for e in self.events:
                if e.get("event") == name:
                    return e
            if self.done.is_set():
                break
            time.sleep(0.05)
        raise AssertionError(f"no {name!r} event; got {[e.get('event') for e in self.events]}: {self.raw[-500:]}")

    def close(self) -> None:
        self.resp.close()
