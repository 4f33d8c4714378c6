"""Ingest learns which days already landed from the query service (its real app on a local port,
over a Trino stand-in), and falls back to "nothing known" when it is down, slow or wrong."""

from __future__ import annotations

import socket
import threading
import time
from datetime import date

import pytest
from coinstream_common.settings import ServiceSettings, TrinoSettings
from coinstream_ingest.coverage import QueryServiceCoverage
from coinstream_ingest.history import DAY_MS, HOUR_MS
from coinstream_query.app import create_app as create_query_app
from coinstream_query.settings import QuerySettings
from coinstream_query.trino_access import TrinoUnavailable
from flask import Flask
from werkzeug.serving import make_server

pytestmark = pytest.mark.unit

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


class Gateway:
    """Trino as the query service's gateway sees it: day -> bucket count rows, or a failure, or a stall."""

    table = '"hive"."coinstream"."coin_prices"'

    def __init__(self, rows=(), error=None, stall_s=0.0) -> None:
        self.rows, self.error, self.stall_s = list(rows), error, stall_s
        self.statements = []

    def fetch(self, statement, kind):
        self.statements.append((kind, statement))
        if self.stall_s:
            time.sleep(self.stall_s)
        if self.error:
            raise self.error
        return self.rows

    def ping(self):
        return True, "fake"


class Served:
    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def query_service():
    servers = []

    def start(gateway) -> str:
        app = create_query_app(TrinoSettings(), QuerySettings(), ServiceSettings(log_level="WARNING"), gateway=gateway)
        servers.append(Served(app))
        return servers[-1].url

    yield start
    for s in servers:
        s.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_complete_days_come_back_as_ranges_of_the_asked_range(query_service):
    gateway = Gateway([(date(2026, 1, 1), 12), (date(2026, 1, 2), 23), (date(2026, 1, 3), 24)])
    landed = QueryServiceCoverage(query_service(gateway))
    frm, to = T0 + 12 * HOUR_MS - 60_000, T0 + 3 * DAY_MS - 1
    assert landed("bitcoin", "usd", "hourly", frm, to) == [
        (T0 + 12 * HOUR_MS, T0 + DAY_MS - 1),
        (T0 + 2 * DAY_MS, T0 + 3 * DAY_MS - 1),
    ]
    kind, stmt = gateway.statements[0]
    # Only ingest's own observations count, and the scan starts at the first grid point.
    assert kind == "landed" and "source = ?" in stmt.sql and "coingecko" in stmt.params
    assert "bitcoin" in stmt.params and T0 + 12 * HOUR_MS in stmt.params


def test_a_range_without_a_grid_point_asks_nobody():
    landed = QueryServiceCoverage(f"http://127.0.0.1:{closed_port()}")
    assert landed("bitcoin", "usd", "daily", T0 + HOUR_MS, T0 + 2 * HOUR_MS) == []


@pytest.mark.parametrize(
    "gateway",
    [
        Gateway(error=TrinoUnavailable("the price store (Trino) is unavailable: connection refused")),
        Gateway(error=RuntimeError("a bug: 500")),
    ],
    ids=["trino-down-503", "query-500"],
)
def test_a_failing_query_service_means_nothing_known(query_service, gateway):
    landed = QueryServiceCoverage(query_service(gateway))
    assert landed("bitcoin", "usd", "hourly", T0, T0 + DAY_MS) == []
    assert gateway.statements  # it was asked


def test_an_unreachable_query_service_means_nothing_known_at_once():
    landed = QueryServiceCoverage(f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    assert landed("bitcoin", "usd", "hourly", T0, T0 + DAY_MS) == []
    assert time.monotonic() - started < 2


def test_a_slow_query_service_is_given_up_on_at_the_deadline(query_service):
    gateway = Gateway([(date(2026, 1, 1), 24)], stall_s=3.0)
    landed = QueryServiceCoverage(query_service(gateway), deadline_s=0.5)
    started = time.monotonic()
    assert landed("bitcoin", "usd", "hourly", T0, T0 + DAY_MS - 1) == []
    assert time.monotonic() - started < 1.5


def test_an_answer_outside_the_asked_range_is_not_trusted():
    app = Flask("not-the-query-service")

    @app.get("/v1/landed/<coin>")
    def _landed(coin):
        return {"days": [{"from": "2025-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}]}

    served = Served(app)
    try:
        assert QueryServiceCoverage(served.url)("bitcoin", "usd", "hourly", T0, T0 + DAY_MS - 1) == []
    finally:
        served.close()
