"""The shared test kit: what its helpers promise the tests, k8s-tests and benchmarks that use them."""

from __future__ import annotations

import json
import math
import random
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from coingecko_sim.app import create_app as create_sim
from coingecko_sim.catalog import COINS
from coingecko_sim.prices import price_at
from coinstream_api import sse as product_sse
from coinstream_common.timeutil import to_iso
from coinstream_contract.vocabulary import INTERVAL_MS
from coinstream_testkit import portfolios, sim, sse
from coinstream_testkit.net import free_port
from coinstream_testkit.stats import percentile
from werkzeug.serving import make_server

pytestmark = pytest.mark.unit

DAY = INTERVAL_MS["daily"]
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z


def test_free_port_can_be_bound_at_once():
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        assert s.getsockname()[1] == port


# --- percentile: nearest rank ------------------------------------------------------------------


def test_percentile_is_the_nearest_rank_sample():
    hundred = random.Random(3).sample(range(1, 101), 100)  # 1..100 in no order
    assert percentile(hundred, 50) == 50
    assert percentile(hundred, 99) == 99
    assert percentile(hundred, 99.5) == 100
    assert percentile(hundred, 100) == 100
    assert percentile(hundred, 0) == 1
    assert percentile([10.0, 20.0, 30.0], 50) == 20.0  # never interpolated
    assert percentile([10.0, 20.0, 30.0], 34) == 20.0  # ceil(1.02) = rank 2
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 20.0  # not the median's 25
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_nothing_is_nan_and_q_is_a_percent():
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)
    with pytest.raises(ValueError):
        percentile([1.0], -1)


# --- SSE ---------------------------------------------------------------------------------------


def test_parse_reads_what_the_api_frames():
    body = (
        product_sse.retry(3000)
        + product_sse.comment("heartbeat")
        + product_sse.event("update", {"n": 1, "text": "a\nb"}, 7)
        + product_sse.comment("two\nlines")
        + product_sse.event("complete", {"n": 2})
    )
    events = sse.parse(body)
    assert [e["event"] for e in events] == ["update", "complete"]
    assert events[0]["id"] == "7" and "id" not in events[1]
    assert json.loads(events[0]["data"]) == {"n": 1, "text": "a\nb"}


def test_parse_joins_data_lines_and_skips_comments_and_dataless_events():
    body = "event: a\ndata: one\ndata: two\n\n: just a comment\n\nevent: nodata\n\ndata: plain\r\n\r\n"
    assert sse.parse(body) == [
        {"event": "a", "data": "one\ntwo"},
        {"event": "message", "data": "plain"},
    ]


def test_parse_leaves_out_an_event_not_ended_yet():
    assert sse.parse('event: a\ndata: 1\n\nevent: b\ndata: {"half') == [{"event": "a", "data": "1"}]
    assert sse.parse("event: a\ndata: 1\n") == []


def test_stream_puts_together_events_split_over_chunks():
    body = (product_sse.event("update", {"x": 1}, 1) + product_sse.event("complete", {"x": 2}, 2)).encode()
    chunks = [body[i : i + 5] for i in range(0, len(body), 5)]
    events = list(sse.stream(iter(chunks)))
    assert [(e["event"], e["id"], json.loads(e["data"])) for e in events] == [
        ("update", "1", {"x": 1}),
        ("complete", "2", {"x": 2}),
    ]


# --- portfolios ----------------------------------------------------------------------------------


def test_seeded_values_follow_the_grid_from_from_to_to():
    body = portfolios.body(["bitcoin", "ethereum"], T0, 10, rng=random.Random(1))
    assert body["from"] == to_iso(T0) and body["to"] == to_iso(T0 + 9 * DAY)
    grid, values = portfolios.seeded_values(body)
    assert grid == [T0 + i * DAY for i in range(10)]
    a, b = (h["amount"] for h in body["holdings"])
    assert values[3] == pytest.approx(
        a * price_at("bitcoin", "usd", grid[3]) + b * price_at("ethereum", "usd", grid[3])
    )
    hourly = portfolios.body(["bitcoin"], T0, 49, interval="hourly")
    assert len(portfolios.seeded_values(hourly)[0]) == 49


class _Api(BaseHTTPRequestHandler):
    """Answers POST /v1/portfolios with the queued (status, error code) answers, then 202."""

    answers: ClassVar[list[tuple[int, str | None]]] = []
    seen: ClassVar[int] = 0

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen += 1
        status, code = self.answers.pop(0) if self.answers else (202, None)
        payload = json.dumps({"error": {"code": code, "message": code}} if code else {"id": "pf_1"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Api.answers, _Api.seen = [], 0
    yield _Api, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_post_portfolio_asks_again_while_the_coin_is_unknown(api, monkeypatch):
    handler, url = api
    monkeypatch.setattr(portfolios, "COIN_LIST_MISS_RELOAD_S", 5)
    handler.answers = [(400, "unknown_coin"), (400, "unknown_coin")]
    created = portfolios.post_portfolio(url, {"holdings": []}, {"X-API-Key": "k"}, every_s=0.01)
    assert created.status_code == 202 and handler.seen == 3


def test_post_portfolio_returns_any_other_answer_at_once(api, monkeypatch):
    handler, url = api
    monkeypatch.setattr(portfolios, "COIN_LIST_MISS_RELOAD_S", 5)
    handler.answers = [(400, "invalid_range")]
    created = portfolios.post_portfolio(url, {}, {}, every_s=0.01)
    assert created.status_code == 400 and created.json()["error"]["code"] == "invalid_range" and handler.seen == 1


def test_post_portfolio_gives_up_after_the_reload_interval(api, monkeypatch):
    handler, url = api
    monkeypatch.setattr(portfolios, "COIN_LIST_MISS_RELOAD_S", 0)
    handler.answers = [(400, "unknown_coin")] * 1000
    created = portfolios.post_portfolio(url, {}, {}, margin_s=0.3, every_s=0.05)
    assert created.status_code == 400 and 2 <= handler.seen < 1000


# --- the simulator's control API -------------------------------------------------------------------


@pytest.fixture
def sim_url():
    server = make_server("127.0.0.1", 0, create_sim(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_sim_admin_drives_faults_rate_limits_and_stats(sim_url):
    import requests

    admin = sim.SimAdmin(sim_url)
    admin.reset()
    admin.fault(endpoint="ping", error_rate=1.0, times=1)
    assert requests.get(sim_url + "/api/v3/ping", timeout=5).status_code == 500
    assert requests.get(sim_url + "/api/v3/ping", timeout=5).status_code == 200
    assert admin.calls("ping") == 2 and admin.stats()["calls"]["ping"] == {"500": 1, "200": 1}
    admin.rate_limits(public=1)
    assert [requests.get(sim_url + "/api/v3/ping", timeout=5).status_code for _ in range(2)] == [200, 429]
    admin.fault(endpoint="ping", error_rate=1.0)
    admin.clear_faults()
    admin.reset()
    assert requests.get(sim_url + "/api/v3/ping", timeout=5).status_code == 200
    assert admin.calls("ping") == 1


def test_listed_fresh_coins_are_priced_here_and_in_the_simulator(sim_url):
    admin = sim.SimAdmin(sim_url)
    ids = [f"{sim.new_tag('unit')}-{n}" for n in range(3)]
    assert sim.list_fresh_coins(admin.list_coin, ids, random.Random(5)) == ids
    other = next(c for c in ("bitcoin", "ethereum") if not COINS[ids[0]].name.startswith(COINS[c].name + " ("))
    assert admin.list_coin({"id": ids[0], "like": other}) == 409  # the id is taken by a coin priced otherwise
    likes = set(sim.coins_with_history())
    for coin_id in ids:
        assert coin_id in COINS and coin_id not in likes
        assert price_at(coin_id, "usd", T0) > 0


def test_a_listing_the_simulator_refuses_fails_naming_it():
    with pytest.raises(AssertionError, match="x-1"):
        sim.list_fresh_coins(lambda listing: 409, ["x-1"])
