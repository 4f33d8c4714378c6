"""Benchmark the price lander on the real local stack (Kafka, HDFS, Trino).

Runs an isolated lander (own topics, table, checkpoint: nothing of the real
pipeline is touched) and measures, in one bounded run:

1. after one warm-up batch (a fresh JVM's first batch is several times slower),
   event-to-queryable latency at a steady rate (default 1,000 events/s): from
   the moment an event is handed to the producer to the end of the first
   Trino query that returns it (p50, p99, max);
2. sustained landing: a backlog of events produced as fast as possible, and
   the rate at which landed notifications (sent only once rows are queryable)
   account for them.

    .venv/bin/python bench/bench_lander.py [--rate 1000] [--duration 45] [--burst 1000000]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time
import uuid

from coinstream.runtime.config import LocalSettings
from coinstream.runtime.lander import PriceLander, isolated_env, remove_isolated
from coinstream.runtime.stack import Stack
from coinstream.runtime.trino import run_query
from coinstream_common.kafka import ensure_topics
from coinstream_common.settings import KafkaSettings
from coinstream_contract.events import LandedNotification, PriceEvent
from coinstream_contract.topics import TopicSpec
from coinstream_testkit.net import free_port
from coinstream_testkit.stats import percentile
from confluent_kafka import Consumer, Producer


class Bench:
    def __init__(self, cfg: LocalSettings, args) -> None:
        self.cfg, self.args = cfg, args
        self.run = uuid.uuid4().hex[:8]
        self.env = isolated_env(cfg, self.run, free_port()) | {
            "COINSTREAM_LANDER_TRIGGER_INTERVAL_S": str(args.trigger)
        }
        self.topic = self.env["COINSTREAM_TOPIC_PRICES"]
        self.landed_topic = self.env["COINSTREAM_TOPIC_PRICES_LANDED"]
        self.schema = self.env["COINSTREAM_TRINO_SCHEMA"]
        self.lander = PriceLander(
            cfg, env=self.env, name=f"price-lander-bench-{self.run}", spark_conf={"spark.ui.enabled": "false"}
        )

    # -- plumbing -----------------------------------------------------------------
    def producer(self) -> Producer:
        return Producer(
            {
                "bootstrap.servers": self.cfg.kafka_bootstrap,
                "linger.ms": 5,
                "enable.idempotence": True,
                "compression.type": "lz4",
                "batch.size": 1_000_000,
            }
        )

    def query(self, sql: str) -> list:
        return run_query(
            self.cfg.host, self.cfg.trino_port, "coinstream-bench", sql, catalog="hive", schema=self.schema
        )

    def setup(self) -> float:
        topics = [self.topic, self.env["COINSTREAM_TOPIC_PRICES_DLQ"], self.landed_topic]
        ensure_topics(
            KafkaSettings(bootstrap_servers=self.cfg.kafka_bootstrap),
            [
                TopicSpec(topics[0], 6, {"compression.type": "lz4"}),
                TopicSpec(topics[1], 1, {}),
                TopicSpec(topics[2], 1, {}),
            ],
        )
        started = time.monotonic()
        self.lander.start(say=lambda *_: None)
        return time.monotonic() - started

    def teardown(self) -> None:
        remove_isolated(self.lander, self.run)

    # -- warm-up: the first batch of a fresh JVM is several times slower -----------
    def warm_up(self, timeout_s: float = 90.0) -> float:
        """Land a first batch (today's partition, JIT-compiled code paths) before measuring."""
        coin = f"bench-{self.run}-warm"
        now_ms = int(time.time() * 1000)
        p = self.producer()
        for i in range(1000):
            e = PriceEvent.observe(coin, "usd", now_ms + i, 1.0, "bench")
            p.produce(self.topic, e.to_json(), key=coin.encode())
        p.flush(30)
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            with contextlib.suppress(Exception):  # not queryable yet
                if self.query(f"SELECT count(*) FROM coin_prices WHERE coin_id = '{coin}'")[0][0] >= 1000:
                    return time.monotonic() - started
            time.sleep(0.5)
        raise RuntimeError("warm-up events never became queryable")

    # -- phase 1: latency at a steady rate ---------------------------------------
    def latency(self) -> dict:
        rate, duration = self.args.rate, self.args.duration
        coin = f"bench-{self.run}-lat"
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def produce() -> None:
            p = self.producer()
            t0 = time.time()
            base_ms = int(t0 * 1000)
            tick, i = 0.01, 0
            while time.time() - t0 < duration:
                due = int((time.time() - t0) * rate)
                while i < due:
                    e = PriceEvent.observe(coin, "usd", base_ms + i, 100.0 + i % 50, "bench")
                    sent[e.event_id] = time.time()
                    p.produce(self.topic, e.to_json(), key=coin.encode())
                    i += 1
                p.poll(0)
                time.sleep(tick)
            p.flush(30)
            done.set()

        def poll() -> None:
            paths: list[str] = []
            deadline = None
            while True:
                exclude = ' AND "$path" NOT IN (' + ",".join(f"'{p}'" for p in paths) + ")" if paths else ""
                try:
                    rows = self.query(f"SELECT \"$path\", event_id FROM coin_prices WHERE coin_id = '{coin}'{exclude}")
                except Exception as exc:  # noqa: BLE001 - the table may not exist yet
                    rows, _ = [], exc
                now = time.time()
                for path, event_id in rows:
                    seen.setdefault(event_id, now)
                    if path not in paths:
                        paths.append(path)
                if done.is_set():
                    deadline = deadline or time.monotonic() + 30
                    if len(seen) >= len(sent) or time.monotonic() > deadline:
                        return
                time.sleep(0.05)

        threads = [threading.Thread(target=produce), threading.Thread(target=poll)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        latencies = [seen[k] - sent[k] for k in sent if k in seen]
        return {
            "sent": len(sent),
            "visible": len(latencies),
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "max": max(latencies, default=float("nan")),
        }

    # -- phase 2: sustained landing of a backlog ----------------------------------
    def throughput(self) -> dict:
        n = self.args.burst
        coins = [f"bench-{self.run}-thr{c}" for c in range(20)]
        day_ms = int(time.time() * 1000) - 86_400_000 * 3
        payloads = [
            (c.encode(), PriceEvent.observe(c, "usd", day_ms + i * 50, 1.0 + i % 1000, "bench").to_json())
            for i in range(n // len(coins))
            for c in coins
        ]
        consumer = Consumer(
            {
                "bootstrap.servers": self.cfg.kafka_bootstrap,
                "group.id": f"bench-{self.run}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([self.landed_topic])
        consumer.consume(1, timeout=3)  # join the group before anything lands
        p = self.producer()
        t0 = time.time()
        for key, value in payloads:
            while True:
                try:
                    p.produce(self.topic, value, key=key)
                    break
                except BufferError:
                    p.poll(0.05)
        p.flush(60)
        produced_s = time.time() - t0
        landed, batches, last = 0, 0, t0
        wanted = set(coins)
        deadline = time.time() + self.args.burst_timeout
        while landed < len(payloads) and time.time() < deadline:
            for m in consumer.consume(100, timeout=1.0):
                if m.error():
                    continue
                note = LandedNotification.from_json(m.value())
                rows = sum(c.rows for c in note.coins if c.coin_id in wanted)
                if rows:
                    landed += rows
                    batches += 1
                    last = note.landed_at / 1000
        consumer.close()
        elapsed = last - t0
        return {
            "events": len(payloads),
            "landed": landed,
            "batches": batches,
            "produce_s": produced_s,
            "elapsed_s": elapsed,
            "rate": landed / elapsed if elapsed > 0 else float("nan"),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="events/s of the latency phase")
    parser.add_argument("--duration", type=float, default=45.0, help="seconds of the latency phase")
    parser.add_argument("--burst", type=int, default=1_000_000, help="events of the throughput phase")
    parser.add_argument("--burst-timeout", type=float, default=90.0, help="longest wait for the burst to land")
    parser.add_argument("--trigger", type=float, default=1.0, help="micro-batch trigger interval (s)")
    args = parser.parse_args()

    cfg = LocalSettings()
    print("starting kafka, hdfs, trino if needed ...", flush=True)
    Stack(cfg).up(["kafka", "trino"], say=lambda *_: None)
    bench = Bench(cfg, args)
    began = time.monotonic()
    try:
        start_s = bench.setup()
        print(
            f"isolated lander {bench.run} up in {start_s:.0f}s; latency phase {args.duration:.0f}s at "
            f"{args.rate}/s ...",
            flush=True,
        )
        warm_s = bench.warm_up()
        print(f"first batch queryable after {warm_s:.1f}s (cold JVM); measuring ...", flush=True)
        lat = bench.latency()
        print(f"throughput phase: {args.burst} events ...", flush=True)
        thr = bench.throughput()
    finally:
        bench.teardown()
    rows = [
        ("lander start (JVM, session, Trino DDL)", f"{start_s:.1f} s", ""),
        ("first batch queryable (cold, warm-up)", f"{warm_s:.1f} s", ""),
        (f"latency @ {args.rate}/s: events sent / visible", f"{lat['sent']} / {lat['visible']}", "all"),
        ("event-to-queryable p50", f"{lat['p50']:.2f} s", "< 5 s"),
        ("event-to-queryable p99", f"{lat['p99']:.2f} s", "< 10 s"),
        ("event-to-queryable max", f"{lat['max']:.2f} s", ""),
        ("backlog events / landed", f"{thr['events']} / {thr['landed']}", "all"),
        ("backlog produced in", f"{thr['produce_s']:.1f} s", ""),
        ("backlog landed in (batches)", f"{thr['elapsed_s']:.1f} s ({thr['batches']})", ""),
        ("sustained landing", f"{thr['rate']:,.0f} events/s", ">= 20,000/s"),
        ("benchmark wall time", f"{time.monotonic() - began:.0f} s", "< 180 s"),
    ]
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure':<{width}}  {'value':>22}  target")
    print(f"{'-' * width}  {'-' * 22}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>22}  {target}")
    ok = lat["visible"] == lat["sent"] and thr["landed"] == thr["events"]
    print_bench_json(args, start_s, warm_s, lat, thr, time.monotonic() - began)
    return 0 if ok else 1


def print_bench_json(args, start_s: float, warm_s: float, lat: dict, thr: dict, wall_s: float) -> None:
    """The figures above as the last output line, per bench/__main__.py's BENCH_JSON convention."""
    import json

    def fig(name, value, unit, target=None, ok=None):
        return {"name": name, "value": value, "unit": unit, "target": target, "ok": ok}

    figures = [
        fig("lander start (JVM, session, Trino DDL)", round(start_s, 1), "s"),
        fig("first batch queryable (cold, warm-up)", round(warm_s, 1), "s"),
        fig(
            f"latency @ {args.rate}/s: events visible / sent",
            f"{lat['visible']} / {lat['sent']}",
            "events",
            "all",
            lat["visible"] == lat["sent"],
        ),
        fig("event-to-queryable p50", round(lat["p50"], 2), "s", "< 5", lat["p50"] < 5),
        fig("event-to-queryable p99", round(lat["p99"], 2), "s", "< 10", lat["p99"] < 10),
        fig("event-to-queryable max", round(lat["max"], 2), "s"),
        fig(
            "backlog landed / events",
            f"{thr['landed']} / {thr['events']}",
            "events",
            "all",
            thr["landed"] == thr["events"],
        ),
        fig("sustained landing", round(thr["rate"]), "events/s", ">= 20000", thr["rate"] >= 20000),
        fig("benchmark wall time", round(wall_s), "s", "< 180", wall_s < 180),
    ]
    print("BENCH_JSON " + json.dumps({"bench": "lander", "figures": figures}))


if __name__ == "__main__":
    sys.exit(main())
