"""The whole local stack, as a user sees it through curl.

A portfolio over coin-days nobody asked for yet answers 202 at once; the
backfill goes CoinGecko(sim) -> ingest -> Kafka -> Spark -> HDFS -> Trino; the
stream shows updates as batches land and ends with `complete`; the final
figures equal what the simulator's seeded prices imply.
"""

from __future__ import annotations

import json
import random
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from coingecko_sim.catalog import COINS
from coingecko_sim.prices import price_at
from coinstream_common.timeutil import INTERVAL_MS, parse_instant, to_iso

pytestmark = pytest.mark.e2e
KEY = {"X-API-Key": "dev-key"}
DAY = INTERVAL_MS["daily"]


def _fresh_portfolio(cfg) -> dict:
    """Coins and days with no landed data (the state directory survives runs)."""
    rng = random.Random()
    query = f"http://{cfg.host}:{cfg.query_port}"
    today = int(time.time() * 1000) // DAY * DAY
    candidates = [c for c, coin in COINS.items() if parse_instant(coin.genesis) < today - 400 * DAY]
    for _ in range(20):
        coins = rng.sample(candidates, 3)
        start = today - rng.randint(30, 330) * DAY
        body = {"vs_currency": "usd", "from": to_iso(start), "to": to_iso(start + 9 * DAY), "interval": "daily",
                "holdings": [{"coin": c, "amount": round(rng.uniform(0.5, 50), 3)} for c in coins]}
        cov = requests.get(f"{query}/v1/coverage", params={"coins": ",".join(coins), "vs_currency": "usd",
                                                           "from": body["from"], "to": body["to"],
                                                           "interval": "daily"}, timeout=30).json()
        if cov["present"] == 0:
            return body
    pytest.fail("could not find coin-days without data after 20 tries")


def _sse(resp):
    """Yield (event, id, data) from a streaming response."""
    event, ident, data = "message", None, []
    for raw in resp.iter_lines(decode_unicode=True):
        if raw is None:
            continue
        if raw == "":
            if data:
                yield event, ident, json.loads("\n".join(data))
            event, ident, data = "message", None, []
        elif raw.startswith(":"):
            continue
        else:
            field, _, value = raw.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "id":
                ident = value
            elif field == "data":
                data.append(value)


def test_portfolio_backfills_streams_to_complete_and_matches_seeded_prices(whole_stack):
    cfg = whole_stack
    api = f"http://{cfg.host}:{cfg.api_port}"
    body = _fresh_portfolio(cfg)

    started = time.monotonic()
    created = requests.post(f"{api}/v1/portfolios", json=body, headers=KEY, timeout=30)
    assert created.status_code == 202, created.text
    assert time.monotonic() - started < 10, "the first answer must come at once"
    doc = created.json()
    assert doc["completeness"]["fraction"] < 1 and doc["completeness"]["missing"]
    location = created.headers["Location"]
    assert location.endswith(doc["id"])

    events = []
    with requests.get(f"{api}{location}/stream", headers=KEY, stream=True, timeout=(10, 120)) as resp:
        assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        deadline = time.monotonic() + 300
        for event in _sse(resp):
            events.append(event)
            if event[0] in ("complete", "timeout") or time.monotonic() > deadline:
                break
        # After `complete` the server ends the stream: nothing more arrives.
        assert list(_sse(resp)) == []
    kinds = [e[0] for e in events]
    assert kinds[-1] == "complete", f"stream ended with {kinds[-1]} after {kinds}"
    assert "update" in kinds
    fractions = [e[2]["completeness"]["fraction"] for e in events]
    assert fractions == sorted(fractions), "completeness only grows as data lands"

    final = requests.get(f"{api}{location}", headers=KEY, timeout=30).json()
    assert final["status"] == "complete" and final["completeness"]["fraction"] == 1

    # Independent computation from the simulator's seeded prices.
    start_ms = parse_instant(body["from"])
    grid = [start_ms + i * DAY for i in range(10)]
    values = [sum(h["amount"] * price_at(h["coin"], "usd", t) for h in body["holdings"]) for t in grid]
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
    bad = requests.post(f"{api}/v1/portfolios", headers=KEY, timeout=10, json={
        "holdings": [{"coin": "not-a-real-coin-xyz", "amount": 1}], "vs_currency": "usd",
        "from": "2026-01-01", "to": "2026-01-05"})
    assert bad.status_code in (400, 404) and "not-a-real-coin-xyz" in bad.json()["error"]["message"]
