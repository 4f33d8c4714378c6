"""Load test of the api with locust: portfolio creation, reads, charts and open SSE streams, for a bounded time.

By default the api runs under gunicorn as the runtime starts it (2 workers)
on a loopback ephemeral port, against the real Kafka (fresh topics) and the
stub query service (coinstream_testkit.stub_query), so the figures are
the api's own. While the load runs, a lander thread adds one day of prices
every few seconds and publishes the landed notification, as the Spark job
does: open streams receive ``update`` events and their portfolios complete.
``--real`` aims at the running stack's api instead (`coinstream up`; key from
COINSTREAM_API_API_KEYS, default dev-key): nothing is started or landed.

Locust runs headless in a subprocess (this same file is its locustfile).
Printed: requests/s, p50/p99 latency, failures, 5xx, streams opened and the
events they received; last line ``BENCH_JSON {...}`` (see bench/__main__.py).

    .venv/bin/python bench/bench_load.py [--seconds 60] [--users 40] [--streams 8] [--real]

Targets (2-core machine, shared with the load generator): >= 50 requests/s of
the mix, reads p99 <= 1 s, creations p99 <= 2 s, zero 5xx and zero failed
requests. Charts are reported, not targeted: an uncached render is ~0.2 s of
CPU under the GIL, so they dominate the mix's tail latency.
"""

from __future__ import annotations

import os
import sys

# --- the locustfile part: loaded by locust (module name is not __main__) ----------------------
if __name__ != "__main__":
    import json
    import random
    import threading
    import time

    from locust import HttpUser, between, events, task

    KEY = os.environ["BENCH_LOAD_KEY"]
    PLAN = json.loads(os.environ["BENCH_LOAD_PLAN"])  # bodies and ids prepared by the orchestrator
    STREAM_HOLD_S = float(os.environ.get("BENCH_LOAD_STREAM_HOLD_S", "10"))
    _counts = {"5xx": 0, "streams_opened": 0, "stream_events": 0, "streams_completed": 0, "streams_failed": 0}
    _lock = threading.Lock()
    _created: list[str] = list(PLAN["ids"])

    def _count(name: str, n: int = 1) -> None:
        with _lock:
            _counts[name] += n

    @events.request.add_listener
    def _on_request(response=None, **_kw) -> None:
        if response is not None and getattr(response, "status_code", 0) >= 500:
            _count("5xx")

    @events.quitting.add_listener
    def _on_quit(**_kw) -> None:
        with open(os.environ["BENCH_LOAD_COUNTS"], "w") as out:
            json.dump(_counts, out)

    class PortfolioUser(HttpUser):
        """An investor with curl: creates portfolios, reads them, now and then a chart."""

        weight = 5
        wait_time = between(0.05, 0.25)

        def on_start(self) -> None:
            self.headers = {"X-API-Key": KEY}

        @task(2)
        def create(self) -> None:
            body = random.choice(PLAN["complete_bodies"])
            with self.client.post(
                "/v1/portfolios", json=body, headers=self.headers, name="POST /v1/portfolios", catch_response=True
            ) as resp:
                if resp.status_code in (201, 202):
                    with _lock:
                        _created.append(resp.json()["id"])
                    resp.success()
                else:
                    resp.failure(f"{resp.status_code}: {resp.text[:120]}")

        @task(10)
        def read(self) -> None:
            pid = random.choice(_created)
            self.client.get(f"/v1/portfolios/{pid}", headers=self.headers, name="GET /v1/portfolios/{id}")

        @task(1)
        def chart(self) -> None:
            pid = random.choice(_created)
            self.client.get(
                f"/v1/portfolios/{pid}/chart.svg", headers=self.headers, name="GET /v1/portfolios/{id}/chart.svg"
            )

    class StreamUser(HttpUser):
        """Creates a portfolio whose last days are not landed yet and follows its stream."""

        weight = 1
        wait_time = between(0.5, 1.0)

        def on_start(self) -> None:
            self.headers = {"X-API-Key": KEY}

        @task
        def follow(self) -> None:
            body = random.choice(PLAN["pending_bodies"])
            created = self.client.post(
                "/v1/portfolios", json=body, headers=self.headers, name="POST /v1/portfolios (pending)"
            )
            if created.status_code not in (201, 202):
                return
            pid = created.json()["id"]
            deadline = time.monotonic() + STREAM_HOLD_S
            with self.client.get(
                f"/v1/portfolios/{pid}/stream",
                headers=self.headers,
                stream=True,
                name="GET /v1/portfolios/{id}/stream (open)",
                catch_response=True,
                timeout=(5, STREAM_HOLD_S + 5),
            ) as resp:
                if resp.status_code != 200:
                    resp.failure(f"{resp.status_code}")
                    _count("streams_failed")
                    return
                resp.success()
                _count("streams_opened")
                try:
                    for line in resp.iter_lines(chunk_size=None, decode_unicode=True):
                        if line.startswith("event: "):
                            _count("stream_events")
                            if line in ("event: complete", "event: timeout"):
                                _count("streams_completed")
                                break
                        if time.monotonic() > deadline:
                            break
                except Exception:  # noqa: BLE001 - the read timed out or was cut: count it, keep loading
                    _count("streams_failed")


# --- the orchestrator: python bench/bench_load.py ---------------------------------------------
def _main(argv: list[str] | None = None) -> int:
    import argparse
    import contextlib
    import csv
    import json
    import subprocess
    import tempfile
    import threading
    import time
    from datetime import UTC, datetime
    from pathlib import Path

    import requests

    day = 86_400_000
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="load duration (at least 60 for the report)")
    parser.add_argument("--users", type=int, default=40, help="simulated users (portfolio users : stream users = 5:1)")
    parser.add_argument("--spawn-rate", type=float, default=20.0)
    parser.add_argument("--stream-hold", type=float, default=10.0, help="longest a stream user follows one stream")
    parser.add_argument("--real", action="store_true", help="load the running stack's api instead of a fresh one")
    args = parser.parse_args(argv)

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    today = int(time.time() * 1000) // day * day
    coins = ["bitcoin", "ethereum", "solana", "cardano", "dogecoin"]
    start = today - 120 * day
    landed_until = today - 30 * day  # the stub knows prices up to here; the lander adds days during the run

    def body(n_coins: int, first: int, last: int) -> dict:
        return {
            "holdings": [{"coin": c, "amount": 1.0 + i} for i, c in enumerate(coins[:n_coins])],
            "vs_currency": "usd",
            "from": iso(first),
            "to": iso(last),
            "interval": "daily",
        }

    complete_bodies = [body(n, landed_until - d * day, landed_until) for n in (1, 3, 5) for d in (7, 30, 90)]
    # pending: completes after 3 landed days (~10 s into the run), or not within the run (30 days)
    pending_bodies = [body(n, landed_until - 10 * day, landed_until + k * day) for n in (1, 2) for k in (3, 30)]

    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    cleanup: list = []
    lander_stop = threading.Event()
    landed_days = [0]
    try:
        if args.real:
            from coinstream.runtime.config import LocalSettings

            local = LocalSettings()
            base = f"http://{local.host}:{local.api_port}"
            key = os.environ.get("COINSTREAM_API_API_KEYS", "dev-key").split(",")[0].strip()
            try:
                ready = requests.get(base + "/readyz", timeout=5)
            except requests.RequestException as exc:
                return _skip(f"the api is not running at {base} ({type(exc).__name__}); `coinstream up` first")
            if ready.status_code != 200:
                return _skip(f"the api at {base} is not ready: {ready.text[:200]}")
            end = today - day
            complete_bodies = [dict(body(n, end - d * day, end)) for n in (1, 3) for d in (7, 30)]
            pending_bodies = [body(1, end - 3 * day, end)]
            target = "the running stack's api"
        else:
            from coinstream.runtime.config import LocalSettings
            from coinstream_common.kafka import EventProducer, broker_metadata
            from coinstream_common.settings import KafkaSettings
            from coinstream_testkit import servers
            from coinstream_testkit.stub_query import StubQuery

            bootstrap = LocalSettings().kafka_bootstrap
            try:
                broker_metadata(bootstrap, timeout_s=3)
            except Exception as exc:  # noqa: BLE001 - any failure means no broker to load against
                return _skip(f"Kafka not reachable at {bootstrap} ({type(exc).__name__}); `coinstream up kafka`")
            stub = StubQuery(coins=coins)
            cleanup.append(stub.close)
            for i, coin in enumerate(coins):
                stub.table.add(
                    coin, "usd", {t: 100.0 * (i + 1) + (t - start) / day for t in range(start, landed_until + 1, day)}
                )
            topics = servers.FreshTopics(bootstrap, "bench-load")
            cleanup.append(topics.delete)
            key = "bench-load-key"
            env = servers.api_env(
                topics,
                stub,
                key,
                COINSTREAM_LOG_LEVEL="WARNING",
                COINSTREAM_API_STREAM_TIMEOUT_S=str(args.stream_hold + 30),
                COINSTREAM_API_HEARTBEAT_S="2",
            )
            api = servers.Gunicorn("api", env, tmp, workers=2, threads=16, ready_path="/readyz")
            cleanup.append(api.close)
            base = api.base_url
            producer = EventProducer(KafkaSettings(bootstrap_servers=bootstrap), "bench-load")

            def lander() -> None:
                """One more day of every coin every 3 s, with its landed notification."""
                t = landed_until
                while not lander_stop.wait(3.0):
                    t += day
                    for i, coin in enumerate(coins):
                        stub.land(
                            coin, "usd", {t: 100.0 * (i + 1) + (t - start) / day}, producer, topics.topics.prices_landed
                        )
                    landed_days[0] += 1

            target = "api under gunicorn (2 workers x 16 threads), stub query service, real Kafka"

        headers = {"X-API-Key": key}
        ids = []
        for b in complete_bodies[:3]:
            resp = requests.post(base + "/v1/portfolios", json=b, headers=headers, timeout=60)
            if resp.status_code not in (201, 202):
                raise RuntimeError(f"could not create a portfolio: {resp.status_code} {resp.text[:300]}")
            ids.append(resp.json()["id"])
        if not args.real:
            threading.Thread(target=lander, daemon=True).start()

        counts_path = tmp / "counts.json"
        locust = str(Path(sys.executable).with_name("locust"))
        users = max(2, args.users)
        cmd = [
            locust,
            "-f",
            str(Path(__file__).resolve()),
            "--headless",
            "--host",
            base,
            "-u",
            str(users),
            "-r",
            str(args.spawn_rate),
            "-t",
            f"{int(args.seconds)}s",
            "--stop-timeout",
            str(int(args.stream_hold) + 5),
            "--csv",
            str(tmp / "load"),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
        ]
        env = os.environ | {
            "BENCH_LOAD_KEY": key,
            "BENCH_LOAD_COUNTS": str(counts_path),
            "BENCH_LOAD_STREAM_HOLD_S": str(args.stream_hold),
            "BENCH_LOAD_PLAN": json.dumps(
                {"complete_bodies": complete_bodies, "pending_bodies": pending_bodies, "ids": ids}
            ),
        }
        run = subprocess.run(
            cmd, check=False, env=env, capture_output=True, text=True, timeout=args.seconds + args.stream_hold + 120
        )
        lander_stop.set()
        if run.returncode != 0 or not (tmp / "load_stats.csv").exists():
            raise RuntimeError(f"locust failed ({run.returncode}): {run.stderr[-2000:]}")
        with open(tmp / "load_stats.csv") as f:
            rows = {r["Name"]: r for r in csv.DictReader(f)}
        counts = json.loads(counts_path.read_text()) if counts_path.exists() else {}
    finally:
        lander_stop.set()
        for close in reversed(cleanup):
            with contextlib.suppress(Exception):  # best effort: the figures are already taken
                close()

    agg = rows["Aggregated"]
    total, failures = int(agg["Request Count"]), int(agg["Failure Count"])
    rps = float(agg["Requests/s"])
    p50, p99 = float(agg["50%"]), float(agg["99%"])
    five_xx = int(counts.get("5xx", -1))
    print(
        f"load test of {target}, {int(args.seconds)} s, {users} users (5:1 portfolio:stream), locust "
        f"{_version('locust')}"
    )
    print(f"{'endpoint':48} {'requests':>9} {'failures':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for name, r in rows.items():
        print(
            f"{name:48} {r['Request Count']:>9} {r['Failure Count']:>8} {float(r['Requests/s']):>8.1f} "
            f"{r['50%']:>7} {r['99%']:>7}"
        )
    print(
        f"5xx: {five_xx}; streams opened {counts.get('streams_opened')}, events received "
        f"{counts.get('stream_events')}, ended with complete/timeout {counts.get('streams_completed')}, "
        f"failed {counts.get('streams_failed')}; days landed during the run: {landed_days[0]}"
    )

    def ep(name: str, q: str) -> float | None:
        return float(rows[name][q]) if name in rows else None

    read_p99, create_p99 = ep("GET /v1/portfolios/{id}", "99%"), ep("POST /v1/portfolios", "99%")
    opened = int(counts.get("streams_opened", 0))
    figures = [
        _figure("mixed load: requests/s (all endpoints)", round(rps, 1), "req/s", ">= 50", rps >= 50),
        _figure("mixed load: latency p50 (all endpoints)", p50, "ms", None, None),
        _figure("mixed load: latency p99 (all endpoints)", p99, "ms", None, None),
        _figure("GET /v1/portfolios/{id} p99", read_p99, "ms", "<= 1000", read_p99 is not None and read_p99 <= 1000),
        _figure("POST /v1/portfolios p99", create_p99, "ms", "<= 2000", create_p99 is not None and create_p99 <= 2000),
        _figure(
            "GET chart.svg p50 (uncached render)", ep("GET /v1/portfolios/{id}/chart.svg", "50%"), "ms", None, None
        ),
        _figure("failed requests", failures, "count", "0", failures == 0),
        _figure("5xx responses", five_xx, "count", "0", five_xx == 0),
        _figure(
            "SSE streams opened / events received",
            f"{opened} / {counts.get('stream_events', 0)}",
            "count",
            "> 0 streams",
            opened > 0,
        ),
        _figure("requests total", total, "count", None, None),
    ]
    print("BENCH_JSON " + json.dumps({"bench": "load", "figures": figures}))
    return 0


def _figure(name, value, unit, target, ok) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def _skip(reason: str) -> int:
    import json

    print(f"skipped: {reason}")
    print("BENCH_JSON " + json.dumps({"bench": "load", "skipped": reason, "figures": []}))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
