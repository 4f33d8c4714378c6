"""The whole local stack, as a user sees it through curl.

A portfolio over coin-days nobody asked for yet answers 202 at once; the
backfill goes CoinGecko(sim) -> ingest -> Kafka -> Spark -> HDFS -> Trino; the
stream shows updates as batches land and ends with `complete`; the final
figures equal what the simulator's seeded prices imply.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from coinstream_common.timeutil import to_iso
from coinstream_testkit import sse
from coinstream_testkit.portfolios import seeded_values

from .conftest import post_portfolio

pytestmark = pytest.mark.e2e
KEY = {"X-API-Key": "dev-key"}


def test_portfolio_backfills_streams_to_complete_and_matches_seeded_prices(whole_stack, fresh_coins):
    cfg = whole_stack
    api = f"http://{cfg.host}:{cfg.api_port}"
    body = fresh_coins.portfolio()

    created = post_portfolio(api, body)
    assert created.status_code == 202, created.text
    doc = created.json()
    assert doc["completeness"]["fraction"] < 1 and doc["completeness"]["missing"]
    location = created.headers["Location"]
    assert location.endswith(doc["id"])

    events = []
    with requests.get(f"{api}{location}/stream", headers=KEY, stream=True, timeout=(10, 120)) as resp:
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        deadline = time.monotonic() + 300
        stream = sse.stream(resp.iter_content(chunk_size=None))
        for event in stream:
            events.append(event)
            if event["event"] in ("complete", "timeout") or time.monotonic() > deadline:
                break
        # After `complete` the server ends the stream: nothing more arrives.
        assert list(stream) == []
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "complete", f"stream ended with {kinds[-1]} after {kinds}"
    assert "update" in kinds
    fractions = [json.loads(e["data"])["completeness"]["fraction"] for e in events]
    assert fractions == sorted(fractions), "completeness only grows as data lands"

    final = requests.get(f"{api}{location}", headers=KEY, timeout=30).json()
    assert final["status"] == "complete" and final["completeness"]["fraction"] == 1

    # Independent computation from the simulator's seeded prices.
    grid, values = seeded_values(body)
    points = final["valuation"]["points"]
    assert [p["ts"] for p in points] == [to_iso(t) for t in grid]
    for got, want in zip(points, values):
        assert got["value"] == pytest.approx(want, rel=1e-9)
    figures = final["valuation"]["figures"]
    assert figures["total_return"] == pytest.approx(values[-1] / values[0] - 1, rel=1e-9)
    assert figures["pnl"] == pytest.approx(values[-1] - values[0], rel=1e-9)
    peak, drawdown = values[0], 0.0
    for v in values:
        peak = max(peak, v)
        drawdown = max(drawdown, 1 - v / peak)
    assert figures["max_drawdown"] == pytest.approx(drawdown, rel=1e-9, abs=1e-12)

    png = requests.get(f"{api}{location}/chart.png", headers=KEY, timeout=60)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = requests.get(f"{api}{location}/chart.svg", headers=KEY, timeout=60)
    assert svg.status_code == 200 and ET.fromstring(svg.content).tag.endswith("svg")


def test_other_keys_cannot_see_it_and_bad_input_is_refused(whole_stack):
    cfg = whole_stack
    api = f"http://{cfg.host}:{cfg.api_port}"
    assert requests.get(f"{api}/v1/portfolios/pf_doesnotexist", headers=KEY, timeout=10).status_code == 404
    no_key = requests.post(f"{api}/v1/portfolios", json={}, timeout=10)
    assert no_key.status_code == 401 and no_key.json()["error"]["code"]
    bad = requests.post(
        f"{api}/v1/portfolios",
        headers=KEY,
        timeout=10,
        json={
            "holdings": [{"coin": "not-a-real-coin-xyz", "amount": 1}],
            "vs_currency": "usd",
            "from": "2026-01-01",
            "to": "2026-01-05",
        },
    )
    assert bad.status_code in (400, 404) and "not-a-real-coin-xyz" in bad.json()["error"]["message"]
