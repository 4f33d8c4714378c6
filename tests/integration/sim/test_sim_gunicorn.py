"""coingecko-sim under real gunicorn (one worker, as it runs): values, rate limiting and every fault mode."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from coingecko_sim import prices
from coingecko_sim.seeded import stream_key, uniform
from coinstream_testkit.net import free_port

pytestmark = pytest.mark.integration

SEED = 7
DAY_S = 86_400


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("sim") / "gunicorn.log"
    env = {
        **os.environ,
        "COINSTREAM_HTTP_HOST": "127.0.0.1",
        "COINSTREAM_HTTP_PORT": str(port),
        "COINSTREAM_HTTP_WORKERS": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("metrics")),
        "COINGECKO_SIM_SEED": str(SEED),
        "COINGECKO_SIM_RATE_LIMIT_PER_MINUTE": "0",
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [gunicorn, "-c", "python:coinstream_common.gunicorn_conf", "coingecko_sim.app:create_app()"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "sim did not start: " + log.read_text()
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def clean(sim):
    requests.post(sim + "/__sim/reset", timeout=5).raise_for_status()
    yield
    requests.delete(sim + "/__sim/faults", timeout=5)


def _range(sim, coin="bitcoin", vs="usd", days=30, timeout=10.0, headers=None):
    now = int(time.time())
    params = {"vs_currency": vs, "from": now - days * DAY_S, "to": now}
    return requests.get(
        f"{sim}/api/v3/coins/{coin}/market_chart/range", params=params, timeout=timeout, headers=headers
    )


def _fault(sim, **fault):
    resp = requests.post(sim + "/__sim/faults", json=fault, timeout=5)
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("vs", "days", "step_ms"), [("usd", 30, 3_600_000), ("eur", 200, 86_400_000), ("btc", 1, 300_000)]
)
def test_market_chart_range_equals_price_at_point_for_point(sim, vs, days, step_ms):
    body = _range(sim, "bitcoin" if vs != "btc" else "ethereum", vs, days).json()
    coin = "bitcoin" if vs != "btc" else "ethereum"
    assert len(body["prices"]) >= days * 86_400_000 // step_ms - 1
    for t, price in body["prices"]:
        assert t % step_ms == 0
        assert price == prices.price_at(coin, vs, t, SEED)
    for (t, cap), (_, vol) in zip(body["market_caps"], body["total_volumes"]):
        assert cap == prices.market_cap_at(coin, vs, t, SEED) and vol == prices.volume_at(coin, vs, t, SEED)


def test_rate_limit_answers_429_with_retry_after(sim):
    requests.put(sim + "/__sim/rate_limits", json={"public": 3, "demo": 2}, timeout=5).raise_for_status()
    statuses = [requests.get(sim + "/api/v3/ping", timeout=5).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    resp = requests.get(sim + "/api/v3/ping", timeout=5)
    assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.json()["status"]["error_code"] == 429
    demo = [
        requests.get(sim + "/api/v3/ping", headers={"x-cg-demo-api-key": "d"}, timeout=5).status_code for _ in range(3)
    ]
    assert demo == [200, 200, 429]
    assert requests.get(sim + "/api/v3/ping", headers={"x-cg-pro-api-key": "p"}, timeout=5).status_code == 200


def test_latency(sim):
    _fault(sim, endpoint="market_chart_range", latency_ms=600)
    started = time.monotonic()
    assert _range(sim, days=2).status_code == 200
    assert time.monotonic() - started >= 0.6


def test_server_errors_follow_the_seeded_pattern(sim):
    _fault(sim, endpoint="market_chart_range", error_rate=0.5, error_status=502)
    statuses = [_range(sim, days=2).status_code for _ in range(12)]
    key = stream_key(SEED, "fault", "market_chart_range")
    assert statuses == [502 if uniform(key, k) < 0.5 else 200 for k in range(12)]
    assert 0 < statuses.count(502) < 12


def test_rate_limit_storm(sim):
    _fault(sim, endpoint="*", rate_limit_storm=True, retry_after_s=2)
    for resp in (_range(sim), requests.get(sim + "/api/v3/ping", timeout=5)):
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "2"


def test_malformed_body(sim):
    _fault(sim, endpoint="market_chart_range", malformed=True)
    resp = _range(sim)
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()


def test_truncated_body(sim):
    _fault(sim, endpoint="market_chart_range", truncated=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        _range(sim)
    assert requests.get(sim + "/api/v3/ping", timeout=5).status_code == 200  # the server lives on


def test_hang_past_the_client_timeout(sim):
    _fault(sim, endpoint="market_chart_range", hang_s=3, times=1)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _range(sim, timeout=1.0)
    assert time.monotonic() - started < 2.5
    assert requests.get(sim + "/api/v3/ping", timeout=5).status_code == 200  # other threads still answer
    assert _range(sim).status_code == 200  # times=1: the next call is served


def test_stats_and_metrics_count_calls_by_endpoint_and_status(sim):
    _fault(sim, endpoint="market_chart_range", error_rate=1.0, times=2)
    assert [_range(sim).status_code for _ in range(3)] == [500, 500, 200]
    assert requests.get(f"{sim}/api/v3/coins/nope/market_chart?vs_currency=usd&days=1", timeout=5).status_code == 404
    stats = requests.get(sim + "/__sim/stats", timeout=5).json()
    assert stats["calls"]["market_chart_range"] == {"200": 1, "500": 2}
    assert stats["calls"]["market_chart"] == {"404": 1}
    assert stats["faults"]["market_chart_range"] == {"error": 2}
    metrics = requests.get(sim + "/metrics", timeout=5).text
    line = [
        m
        for m in metrics.splitlines()
        if m.startswith("coinstream_http_request_duration_seconds_count")
        and 'route="/api/v3/coins/<coin_id>/market_chart/range"' in m
        and 'status="500"' in m
    ]
    assert line and float(line[0].rsplit(" ", 1)[1]) >= 2
