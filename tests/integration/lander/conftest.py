"""An isolated price lander on the real stack (Kafka, HDFS, Trino) for this directory's tests.

It has its own topics, warehouse, checkpoint and Trino schema (``isolated_env``),
so the tests neither see nor disturb the lander `coinstream up` runs.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import pytest
import requests
import trino
import trino.exceptions
from coinstream.runtime.lander import PriceLander, isolated_env, remove_isolated
from coinstream_common.kafka import ensure_topics
from coinstream_common.settings import KafkaSettings
from coinstream_contract.topics import TopicSpec
from coinstream_testkit.net import free_port
from confluent_kafka import Consumer, Producer


@dataclass
class IsolatedLander:
    component: PriceLander
    env: dict[str, str]
    cfg: object
    run: str

    @property
    def topic(self) -> str:
        return self.env["COINSTREAM_TOPIC_PRICES"]

    @property
    def schema(self) -> str:
        return self.env["COINSTREAM_TRINO_SCHEMA"]

    @property
    def table_path(self) -> str:
        """The table directory as an HDFS path (no scheme/authority)."""
        uri = self.env["COINSTREAM_STORAGE_WAREHOUSE_URI"] + "/coin_prices"
        return re.sub(r"^hdfs://[^/]+", "", uri)

    def query(self, sql: str, params: list | None = None) -> list:
        """Run a query; once more if it listed a partition in a compaction's directory swap
        (a millisecond window in which Trino fails the query instead of answering wrong)."""
        for attempt in (1, 2):
            conn = trino.dbapi.connect(
                host=self.cfg.host,
                port=self.cfg.trino_port,
                user="coinstream-tests",
                catalog="hive",
                schema=self.schema,
            )
            try:
                cur = conn.cursor()
                cur.execute(sql, params)
                return cur.fetchall()
            except trino.exceptions.TrinoExternalError as exc:
                if attempt == 2 or "does not exist" not in str(exc):
                    raise
                time.sleep(0.5)
            finally:
                conn.close()
        raise AssertionError("unreachable")

    def hdfs_list(self, path: str) -> list[dict]:
        url = f"http://{self.cfg.host}:{self.cfg.hdfs_namenode_http_port}/webhdfs/v1{path}"
        resp = requests.get(url, params={"op": "LISTSTATUS", "user.name": "coinstream"}, timeout=5)
        if resp.status_code == 404:
            return []
        resp.raise_for_status()
        return resp.json()["FileStatuses"]["FileStatus"]

    def producer(self) -> Producer:
        return Producer(
            {
                "bootstrap.servers": self.cfg.kafka_bootstrap,
                "linger.ms": 20,
                "enable.idempotence": True,
                "compression.type": "lz4",
            }
        )

    def consume_all(self, topic: str, expect_at_least: int = 0, timeout_s: float = 20.0) -> list:
        consumer = Consumer(
            {
                "bootstrap.servers": self.cfg.kafka_bootstrap,
                "group.id": f"t-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([topic])
        out, deadline, idle_until = [], time.monotonic() + timeout_s, None
        try:
            while time.monotonic() < deadline:
                msgs = [m for m in consumer.consume(1000, timeout=1.0) if not m.error()]
                out += msgs
                if len(out) >= expect_at_least:
                    idle_until = idle_until or time.monotonic() + 2.0  # a little longer: catch extras
                    if not msgs and time.monotonic() > idle_until:
                        break
        finally:
            consumer.close()
        return out

    def metric(self, name: str) -> float | None:
        text = requests.get(self.component.metrics_url, timeout=3).text
        m = re.search(rf"^{re.escape(name)}\s+(\S+)$", text, re.MULTILINE)
        return float(m.group(1)) if m else None

    def wait_until(self, check, timeout_s: float, what: str, every_s: float = 1.0):
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            last = check()
            if last:
                return last
            time.sleep(every_s)
        raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")


@pytest.fixture(scope="module")
def lander(kafka_bootstrap, hdfs_uri, trino_port, session_stack):
    cfg = session_stack.cfg
    run = uuid.uuid4().hex[:8]
    env = isolated_env(cfg, run, free_port()) | {
        "COINSTREAM_LANDER_TRIGGER_INTERVAL_S": "1",
        # Compaction every 15 s of finished days with 4+ files: exercised while the tests run.
        "COINSTREAM_LANDER_COMPACT_INTERVAL_S": "15",
        "COINSTREAM_LANDER_COMPACT_MIN_FILES": "4",
    }
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    topics = [
        env[k] for k in ("COINSTREAM_TOPIC_PRICES", "COINSTREAM_TOPIC_PRICES_DLQ", "COINSTREAM_TOPIC_PRICES_LANDED")
    ]
    ensure_topics(kafka, [TopicSpec(topics[0], 6, {}), TopicSpec(topics[1], 1, {}), TopicSpec(topics[2], 1, {})])
    component = PriceLander(cfg, env=env, name=f"price-lander-{run}", spark_conf={"spark.ui.enabled": "false"})
    handle = IsolatedLander(component, env, cfg, run)
    try:
        component.start(say=lambda *_: None)
        yield handle
    finally:
        remove_isolated(component, run)
