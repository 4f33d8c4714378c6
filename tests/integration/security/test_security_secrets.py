"""No secret (the api keys, the CoinGecko key) appears in any service's log output or /metrics.

Every service runs with every secret in its environment and logs at DEBUG.
The traffic uses the secrets the way production does (api calls with either
key, as X-API-Key and as Bearer; ingest calling the simulator with the demo
key, through its error paths too), then each service's whole output (gunicorn
stdout and stderr) and its /metrics are searched for each secret.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import requests

pytestmark = pytest.mark.integration

DAY = 86_400_000
SERVICES = ("coingecko-sim", "ingest", "query", "api")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _api_traffic(stack) -> None:
    base = stack.url("api")
    start = (int(time.time() * 1000) // DAY - 30) * DAY
    stack.land("ethereum", start, 5)
    key1, key2 = stack.api_keys
    body = {
        "holdings": [{"coin": "ethereum", "amount": 2}],
        "vs_currency": "usd",
        "from": _iso(start),
        "to": _iso(start + 4 * DAY),
        "interval": "daily",
    }
    created = requests.post(base + "/v1/portfolios", json=body, headers={"X-API-Key": key1}, timeout=30)
    assert created.status_code == 201, created.text[:300]
    pid = created.json()["id"]
    pending = dict(body, to=_iso(start + 9 * DAY))  # days without prices: a backfill request is published
    assert (
        requests.post(
            base + "/v1/portfolios", json=pending, headers={"Authorization": f"Bearer {key2}"}, timeout=30
        ).status_code
        == 202
    )
    for suffix in ("", "/stream", "/chart.svg", "/chart.png"):
        assert requests.get(f"{base}/v1/portfolios/{pid}{suffix}", headers={"X-API-Key": key1}, timeout=30).ok
        assert (
            requests.get(
                f"{base}/v1/portfolios/{pid}{suffix}", headers={"Authorization": f"Bearer {key2}"}, timeout=30
            ).status_code
            == 404
        )
    for headers in ({"X-API-Key": key1 + "-wrong"}, {"Authorization": f"Bearer {key2[:-2]}"}, {}):
        assert requests.get(f"{base}/v1/portfolios/{pid}", headers=headers, timeout=30).status_code == 401
    bad = requests.post(base + "/v1/portfolios", json={"holdings": []}, headers={"X-API-Key": key1}, timeout=30)
    assert bad.status_code == 400


def _ingest_traffic(stack) -> None:
    base, sim = stack.url("ingest"), stack.url("coingecko-sim")
    now = int(time.time() * 1000)
    assert (
        requests.post(base + "/v1/fetch/prices", json={"coins": ["bitcoin", "ethereum"]}, timeout=60).status_code == 202
    )
    history = {"coin": "bitcoin", "from": _iso(now - 3 * DAY), "to": _iso(now - DAY), "interval": "hourly"}
    assert requests.post(base + "/v1/fetch/history", json=history, timeout=60).status_code == 202
    assert requests.post(base + "/v1/fetch/prices", json={"coins": ["no-such-coin-zz"]}, timeout=60).status_code in (
        202,
        404,
    )
    # error paths, where a client library's exception text could carry request headers
    for fault in (
        {"endpoint": "*", "error_rate": 1.0, "error_status": 503},
        {"endpoint": "*", "malformed": True},
        {"endpoint": "*", "rate_limit_storm": True, "retry_after_s": 0},
    ):
        assert requests.post(sim + "/__sim/faults", json=fault, timeout=10).status_code == 200
        resp = requests.post(base + "/v1/fetch/prices", json={"coins": ["bitcoin"]}, timeout=120)
        assert resp.status_code in (502, 503), f"{fault}: {resp.status_code} {resp.text[:200]}"
        assert requests.post(sim + "/__sim/reset", timeout=10).status_code == 200
    # proof that ingest sends its key: with the demo plan limited to one call a minute (keyless calls
    # unlimited), its second call is refused; without a key both would pass
    assert requests.put(sim + "/__sim/rate_limits", json={"public": 0, "demo": 1}, timeout=10).status_code == 200
    try:
        assert requests.post(base + "/v1/fetch/prices", json={"coins": ["bitcoin"]}, timeout=60).status_code == 202
        limited = requests.post(base + "/v1/fetch/prices", json={"coins": ["bitcoin"]}, timeout=120)
        assert limited.status_code == 503 and limited.json()["error"]["code"] == "coingecko_rate_limited", limited.text
    finally:
        requests.post(sim + "/__sim/reset", timeout=10)


def _query_traffic(stack) -> None:
    base = stack.url("query")
    now = int(time.time() * 1000) // DAY * DAY
    body = {"holdings": [{"coin": "bitcoin", "amount": 1}], "from": _iso(now - 5 * DAY), "to": _iso(now)}
    assert requests.post(base + "/v1/valuation", json=body, timeout=60).status_code == 200
    params = {"from": _iso(now - 5 * DAY), "to": _iso(now)}
    assert requests.get(base + "/v1/prices/bitcoin", params=params, timeout=60).status_code == 200
    assert requests.get(base + "/v1/coverage", params=params | {"coins": "bitcoin"}, timeout=60).status_code == 200


def test_no_secret_in_logs_or_metrics_after_traffic(secure_stack):
    _api_traffic(secure_stack)
    _ingest_traffic(secure_stack)
    _query_traffic(secure_stack)
    time.sleep(1.0)  # let the workers flush their last log lines
    leaks = []
    for service in SERVICES:
        server = secure_stack.servers[service]
        output = server.log_path.read_text(errors="replace")
        metrics = requests.get(server.base_url + "/metrics", timeout=10).text
        assert "coinstream_http_request_duration_seconds" in metrics, f"{service}: no request metrics"
        assert output.strip(), f"{service} logged nothing at DEBUG: the search below would prove nothing"
        for secret in secure_stack.secrets:
            for where, text in (("log", output), ("/metrics", metrics)):
                if secret in text:
                    line = next(ln for ln in text.splitlines() if secret in ln)
                    leaks.append(f"{service} {where}: {line[:300]}")
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)
