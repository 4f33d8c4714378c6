"""Benchmark of the api service.

1. Requests/s of ``GET /v1/portfolios/{id}`` for a complete portfolio, with the
   api under gunicorn as the runtime starts it (2 workers), against the real
   Kafka and a stub query service (so the number is the api's own, not
   Trino's). Load comes from a few client processes with keep-alive
   connections, for a bounded time. Needs Kafka on the local runtime's port.
2. Valuation latency through the api (``POST /v1/portfolios``: validation, a
   valuation, figures, publish) for 10 coins x 365 days daily and 5 coins x
   30 days hourly, p50/p99, when the real stack (``coinstream up``) is
   running; skipped with the reason otherwise. Warm: the same coins and range
   again, answered by the api's valuation cache (valid until a landed batch
   touches them). Uncached: each sample a range not valued before, so a Trino
   query every time. And the query service alone (Trino every time).

Run: ``.venv/bin/python bench/bench_api.py [--seconds 10] [--samples 20]``.
Targets (2-core machine): >= 500 requests/s for 1; p50 < 300 ms for 10 x 365.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from coinstream_testkit.net import free_port
from coinstream_testkit.stats import percentile
from coinstream_testkit.stub_query import WELL_KNOWN_COINS

DAY = 86_400_000


# --- load generator -------------------------------------------------------------


def _client(args: tuple[str, int, str, str, float, int]) -> tuple[int, int, list[float]]:
    host, port, path, key, seconds, threads = args
    results: list[tuple[int, int, list[float]]] = []

    def run() -> None:
        ok = bad = 0
        lat: list[float] = []
        conn = http.client.HTTPConnection(host, port, timeout=10)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t = time.perf_counter()
            try:
                conn.request("GET", path, headers={"X-API-Key": key})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    ok += 1
                else:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
            lat.append(time.perf_counter() - t)
        conn.close()
        results.append((ok, bad, lat))

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(r[0] for r in results), sum(r[1] for r in results), [x for r in results for x in r[2]]


def bench_get_rps(seconds: float, clients: int, threads: int) -> dict:
    from coinstream.runtime.config import LocalSettings
    from coinstream_common.kafka import broker_metadata, ensure_topics
    from coinstream_common.settings import KafkaSettings, TopicSettings
    from coinstream_contract.topics import topic_specs

    local = LocalSettings()
    bootstrap = f"{local.host}:{local.kafka_port}"
    try:
        broker_metadata(bootstrap, timeout_s=3)
    except Exception as exc:  # noqa: BLE001 - any failure means: no broker to bench against
        return {"skipped": f"Kafka not reachable at {bootstrap} ({type(exc).__name__}); run `coinstream up kafka`"}

    from coinstream_testkit.stub_query import StubQuery

    stub = StubQuery()
    suffix = uuid.uuid4().hex[:8]
    topics = TopicSettings(
        backfill_requests=f"bench.api.{suffix}.backfill",
        prices_landed=f"bench.api.{suffix}.landed",
        portfolio_events=f"bench.api.{suffix}.portfolios",
    )
    kafka = KafkaSettings(bootstrap_servers=bootstrap)
    ensure_topics(
        kafka,
        [
            s
            for s in topic_specs(topics)
            if s.name in (topics.backfill_requests, topics.prices_landed, topics.portfolio_events)
        ],
    )
    key = "bench-key"
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    (tmp / "metrics").mkdir()
    env = os.environ | {
        "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "COINSTREAM_TOPIC_BACKFILL_REQUESTS": topics.backfill_requests,
        "COINSTREAM_TOPIC_PRICES_LANDED": topics.prices_landed,
        "COINSTREAM_TOPIC_PORTFOLIO_EVENTS": topics.portfolio_events,
        "COINSTREAM_API_QUERY_URL": stub.base_url,
        "COINSTREAM_API_INGEST_URL": stub.ingest_url,
        "COINSTREAM_API_API_KEYS": key,
        "COINSTREAM_API_RATE_LIMIT_PER_MINUTE": "100000000",
        "COINSTREAM_HTTP_HOST": "127.0.0.1",
        "COINSTREAM_HTTP_PORT": str(port),
        "COINSTREAM_HTTP_WORKERS": "2",
        "COINSTREAM_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    import subprocess

    log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 - gunicorn writes it while the bench runs; closed below
    proc = subprocess.Popen(
        [gunicorn, "-c", "python:coinstream_common.gunicorn_conf", "coinstream_api.app:create_app()"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_http(base + "/healthz", 60)
        time.sleep(2)
        coins = ["bitcoin", "ethereum", "solana", "cardano", "dogecoin"]
        t0 = _midnight_days_ago(91)
        for n, coin in enumerate(coins):
            stub.table.add(coin, "usd", {t0 + d * DAY: 100.0 * (n + 1) + d for d in range(91)})
        body = {
            "holdings": [{"coin": c, "amount": 1.0 + i} for i, c in enumerate(coins)],
            "vs_currency": "usd",
            "from": _iso(t0),
            "to": _iso(t0 + 90 * DAY),
            "interval": "daily",
        }
        created = requests.post(base + "/v1/portfolios", json=body, headers={"X-API-Key": key}, timeout=30)
        if created.status_code != 201:
            raise RuntimeError(f"bench portfolio not complete: {created.status_code} {created.text[:300]}")
        path = created.headers["Location"]
        size = len(requests.get(base + path, headers={"X-API-Key": key}, timeout=30).content)
        for _ in range(50):  # warm both workers' caches
            requests.get(base + path, headers={"X-API-Key": key}, timeout=30)
        started = time.monotonic()
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            parts = pool.map(_client, [("127.0.0.1", port, path, key, seconds, threads)] * clients)
        elapsed = time.monotonic() - started
        ok = sum(p[0] for p in parts)
        bad = sum(p[1] for p in parts)
        lat = [x for p in parts for x in p[2]]
        return {
            "what": "GET /v1/portfolios/{id}, complete portfolio (5 coins x 91 days daily), gunicorn 2 workers",
            "response_bytes": size,
            "seconds": round(elapsed, 2),
            "clients": f"{clients} processes x {threads} keep-alive connections",
            "requests_ok": ok,
            "errors": bad,
            "requests_per_s": round(ok / elapsed, 1),
            "latency_ms_p50": round(percentile(lat, 50) * 1000, 2) if lat else None,
            "latency_ms_p99": round(percentile(lat, 99) * 1000, 2) if lat else None,
            "target_requests_per_s": 500,
        }
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
        stub.close()
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": bootstrap}).delete_topics(
            [topics.backfill_requests, topics.prices_landed, topics.portfolio_events]
        )


# --- valuation latency on the real stack -----------------------------------------


def bench_valuation(samples: int) -> list[dict]:
    from coinstream.runtime.config import LocalSettings

    local = LocalSettings()
    api = f"http://{local.host}:{local.api_port}"
    query = f"http://{local.host}:{local.query_port}"
    for name, url in (("api", api), ("query", query)):
        try:
            ready = requests.get(url + "/readyz", timeout=3)
        except requests.RequestException as exc:
            return [
                {
                    "skipped": f"the {name} service is not running at {url} ({type(exc).__name__}); "
                    f"start the stack with `coinstream up`"
                }
            ]
        if ready.status_code != 200:
            return [{"skipped": f"the {name} service at {url} is not ready: {ready.text[:200]}"}]
    key = os.environ.get("COINSTREAM_API_API_KEYS", "dev-key").split(",")[0].strip()
    coins = requests.get(f"http://{local.host}:{local.sim_port}/api/v3/coins/list", timeout=5).json()
    preferred = WELL_KNOWN_COINS
    known = {c["id"] for c in coins}
    ids = [c for c in preferred if c in known] + sorted(known - set(preferred))
    end = _midnight_days_ago(0)  # the range's first day within CoinGecko's public 365-day history
    cases = [
        ("10 coins x 365 days daily", ids[:10], end - 364 * DAY, end, "daily"),
        ("5 coins x 30 days hourly", ids[:5], end - 30 * DAY, end, "hourly"),
    ]
    out = []
    for label, coin_ids, start, stop, interval in cases:

        def create(
            shift_s: int, coin_ids=coin_ids, start=start, stop=stop, interval=interval
        ) -> tuple[float, requests.Response]:
            body = {
                "holdings": [{"coin": c, "amount": 1.0 + i} for i, c in enumerate(coin_ids)],
                "vs_currency": "usd",
                "from": _iso(start + shift_s * 1000),
                "to": _iso(stop + shift_s * 1000),
                "interval": interval,
            }
            t = time.perf_counter()
            resp = requests.post(api + "/v1/portfolios", json=body, headers={"X-API-Key": key}, timeout=120)
            return time.perf_counter() - t, resp

        # Uncached: every sample a range no process has valued yet (the same days, shifted by a few
        # seconds: same partitions, same points observed), so each one is a Trino query.
        shift0 = 1 + int(time.time() * 10) % 30_000  # distinct from earlier runs' ranges
        cold = [create(shift0 + n)[0] for n in range(samples)]
        # Warm: the same coins and range again (other amounts); the api's valuation cache answers
        # until a landed batch touches them. Every api worker is warmed first.
        warm, statuses, present = [], [], None
        for n in range(samples + 4):
            took, resp = create(0)
            statuses.append(resp.status_code)
            if resp.status_code in (201, 202):
                present = resp.json()["completeness"]["fraction"]
            if n >= 4:
                warm.append(took)
        direct = []
        qbody = {
            "holdings": [{"coin": c, "amount": 1.0, "acquired_at": None} for c in coin_ids],
            "vs_currency": "usd",
            "from": _iso(start),
            "to": _iso(stop),
            "interval": interval,
            "staleness_s": None,
        }
        for _ in range(samples):
            t = time.perf_counter()
            requests.post(query + "/v1/valuation", json=qbody, timeout=120)
            direct.append(time.perf_counter() - t)
        out.append(
            {
                "what": f"POST /v1/portfolios through the api, {label}",
                "samples": len(warm),
                "statuses": sorted(set(statuses)),
                "coverage_fraction": present,
                "api_ms_p50": round(percentile(warm, 50) * 1000, 1),
                "api_ms_p99": round(percentile(warm, 99) * 1000, 1),
                "api_uncached_ms_p50": round(percentile(cold, 50) * 1000, 1),
                "api_uncached_ms_p99": round(percentile(cold, 99) * 1000, 1),
                "query_service_alone_ms_p50": round(percentile(direct, 50) * 1000, 1),
                "query_service_alone_ms_p99": round(percentile(direct, 99) * 1000, 1),
                "target_p50_ms": 300 if "365" in label else None,
            }
        )
    return out


# --- helpers ----------------------------------------------------------------------


def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s")


def _midnight_days_ago(days: int) -> int:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int((today - timedelta(days=days)).timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the requests/s run")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=8, help="keep-alive connections per client process")
    parser.add_argument("--samples", type=int, default=20, help="valuations timed per case")
    args = parser.parse_args(argv)
    rps = bench_get_rps(args.seconds, args.clients, args.threads)
    print(json.dumps({"bench": "api.get_rps", **rps}))
    valuations = bench_valuation(args.samples)
    for result in valuations:
        print(json.dumps({"bench": "api.valuation_latency", **result}))
    print("BENCH_JSON " + json.dumps({"bench": "api", "figures": _bench_figures(rps, valuations)}))
    return 0


def _bench_figures(rps: dict, valuations: list[dict]) -> list[dict]:
    """The results above in the shape bench/__main__.py tabulates (its BENCH_JSON convention)."""

    def fig(name, value, unit, target=None, ok=None):
        return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}

    out = []
    if "skipped" in rps:
        out.append(fig("GET /v1/portfolios/{id} requests/s", f"skipped: {rps['skipped']}", ""))
    else:
        out += [
            fig(
                "GET /v1/portfolios/{id} requests/s",
                rps["requests_per_s"],
                "req/s",
                f">= {rps['target_requests_per_s']}",
                rps["requests_per_s"] >= rps["target_requests_per_s"],
            ),
            fig("GET /v1/portfolios/{id} p50", rps["latency_ms_p50"], "ms"),
            fig("GET /v1/portfolios/{id} p99", rps["latency_ms_p99"], "ms"),
            fig("GET /v1/portfolios/{id} errors", rps["errors"], "count", "0", rps["errors"] == 0),
        ]
    for v in valuations:
        if "skipped" in v:
            out.append(fig("valuation latency through the api", f"skipped: {v['skipped']}", ""))
            continue
        label, target = v["what"].removeprefix("POST /v1/portfolios through the api, "), v["target_p50_ms"]
        out += [
            fig(
                f"valuation {label}: api p50",
                v["api_ms_p50"],
                "ms",
                target and f"< {target}",
                None if target is None else v["api_ms_p50"] < target,
            ),
            fig(f"valuation {label}: api p99", v["api_ms_p99"], "ms"),
            fig(f"valuation {label}: api p50, uncached (Trino every time)", v["api_uncached_ms_p50"], "ms"),
            fig(f"valuation {label}: api p99, uncached", v["api_uncached_ms_p99"], "ms"),
            fig(f"valuation {label}: query service alone p50", v["query_service_alone_ms_p50"], "ms"),
        ]
    return out


if __name__ == "__main__":
    sys.exit(main())
