"""Trino unreachable or silent: every endpoint answers 503 trino_unavailable with Retry-After, quickly."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from coinstream_common.settings import ServiceSettings, TrinoSettings
from coinstream_query.app import create_app
from coinstream_query.settings import QuerySettings
from coinstream_testkit.net import free_port

pytestmark = pytest.mark.integration

VALUATION = {"holdings": [{"coin": "bitcoin", "amount": 1}], "from": "2026-01-01", "to": "2026-01-05"}


@pytest.fixture
def silent_port():
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def assert_all_unavailable(client) -> None:
    responses = [
        client.get("/v1/prices/bitcoin?from=2026-01-01&to=2026-01-05"),
        client.get("/v1/coverage?coins=bitcoin,ethereum&from=2026-01-01&to=2026-01-05"),
        client.post("/v1/valuation", json=VALUATION),
    ]
    for resp in responses:
        assert resp.status_code == 503
        body = resp.get_json()
        assert body["error"]["code"] == "trino_unavailable"
        assert int(resp.headers["Retry-After"]) >= 1
        assert "Traceback" not in resp.get_data(as_text=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["error"]["code"] == "not_ready"
    assert client.get("/healthz").status_code == 200  # alive, just not ready


def test_closed_port_is_503(tmp_path):
    app = create_app(TrinoSettings(port=free_port()), QuerySettings(), ServiceSettings())
    started = time.monotonic()
    assert_all_unavailable(app.test_client())
    assert time.monotonic() - started < 15


def test_silent_server_times_out_as_503(silent_port):
    app = create_app(TrinoSettings(port=silent_port, request_timeout_s=0.5), QuerySettings(), ServiceSettings())
    started = time.monotonic()
    assert_all_unavailable(app.test_client())
    assert time.monotonic() - started < 30
