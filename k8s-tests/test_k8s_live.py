"""The live half: against the cluster in KUBECONFIG, install (or reuse) the chart with the
kind values, wait until everything is ready, then through the Ingress create a portfolio
and follow its Server-Sent Events until `complete`.

Skipped, with the reason, when no cluster answers; settings in k8slib/live.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from coinstream_common.timeutil import to_iso
from coinstream_testkit import sse
from coinstream_testkit.portfolios import seeded_values
from k8slib.live import BASE_URL, TIMEOUT_S

pytestmark = pytest.mark.live


def test_api_answers_through_the_ingress(release):
    resp = requests.get(f"{BASE_URL}/healthz", timeout=10)
    assert resp.status_code == 200, resp.text
    spec = requests.get(f"{BASE_URL}/openapi.json", timeout=10).json()
    assert "/v1/portfolios" in spec["paths"]


def test_only_the_api_is_behind_the_ingress(release):
    resp = requests.get(f"{BASE_URL}/v1/coverage", timeout=10)  # a query-service path
    assert resp.status_code in (401, 404), resp.status_code


def test_portfolio_reaches_complete(release, api_key):
    headers = {"X-API-Key": api_key}
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    body = {
        "holdings": [{"coin": "bitcoin", "amount": 0.5}, {"coin": "ethereum", "amount": 2}],
        "vs_currency": "usd",
        "from": (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "interval": "hourly",
    }
    created = requests.post(f"{BASE_URL}/v1/portfolios", json=body, headers=headers, timeout=30)
    assert created.status_code in (201, 202), created.text
    portfolio_id = created.json()["id"]

    events = []
    with requests.get(
        f"{BASE_URL}/v1/portfolios/{portfolio_id}/stream", headers=headers, stream=True, timeout=(10, TIMEOUT_S)
    ) as stream:
        assert stream.status_code == 200, stream.text
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        for event in sse.stream(stream.iter_content(chunk_size=None)):
            events.append(event["event"])
            if event["event"] == "complete":
                break
    assert events and events[-1] == "complete", events
    final = requests.get(f"{BASE_URL}/v1/portfolios/{portfolio_id}", headers=headers, timeout=30)
    assert final.status_code == 200
    # the figures are the simulator's seeded prices, point for point
    grid, values = seeded_values(body)
    points = final.json()["valuation"]["points"]
    assert len(grid) == 49
    assert [p["ts"] for p in points] == [to_iso(t) for t in grid]
    assert [p["value"] for p in points] == pytest.approx(values, rel=1e-9)
    chart = requests.get(f"{BASE_URL}/v1/portfolios/{portfolio_id}/chart.png", headers=headers, timeout=30)
    assert chart.status_code == 200 and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
