"""The Spark price lander (spark-apps/price_lander) as a local driver process in local mode.

The job is ``python -m coinstream_lander`` with pyspark's own JVM; where it
runs (master, driver memory, UI port, the Kafka connector jars) is passed the
way spark-submit would, through ``PYSPARK_SUBMIT_ARGS``, so the job's code is
the same here and under the Spark operator. The Kafka connector is not in
pyspark: its jars are fetched once, without transitive dependencies (pyspark
already ships the rest), and never resolved when the job starts.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sys
import time

import requests
from coinstream_common.settings import load
from coinstream_lander.settings import LanderSettings
from confluent_kafka.admin import AdminClient

from . import fetch
from .component import Component, Health
from .java import find_java_home
from .services import service_env
from .trino import run_query

SPARK_VERSION = "4.1.1"  # = the pyspark pin in pyproject.toml
KAFKA_CONNECTOR = [
    f"org.apache.spark:spark-sql-kafka-0-10_2.13:{SPARK_VERSION}",
    f"org.apache.spark:spark-token-provider-kafka-0-10_2.13:{SPARK_VERSION}",
    "org.apache.kafka:kafka-clients:3.9.1",
    "org.apache.commons:commons-pool2:2.12.1",
]
ACTIVE_RE = re.compile(r"^coinstream_lander_query_active\s+(\S+)$", re.MULTILINE)
LANDED_RE = re.compile(r"^coinstream_lander_rows_landed_total\s+(\S+)$", re.MULTILINE)


class PriceLander(Component):
    name = "price-lander"
    requires = ("kafka", "trino")
    start_timeout_s = 300.0  # a JVM, a SparkSession and Trino DDL on 2 shared cores
    stop_timeout_s = 60.0

    def __init__(
        self,
        cfg,
        env: dict[str, str] | None = None,
        name: str | None = None,
        spark_conf: dict[str, str] | None = None,
    ) -> None:
        """``env`` overrides settings and ``spark_conf`` adds Spark settings (tests and benchmarks
        run isolated instances: see ``isolated_env``)."""
        if name:
            self.name = name
        self.env_overrides = dict(env or {})
        self.spark_conf = dict(spark_conf or {})
        super().__init__(cfg)

    @property
    def jars_dir(self):
        return self.cfg.cache / f"spark-sql-kafka-{SPARK_VERSION}"

    @property
    def metrics_port(self) -> int:
        port = self.env_overrides.get("COINSTREAM_LANDER_METRICS_PORT")
        return int(port) if port else load(LanderSettings).metrics_port

    def ports(self) -> list[int]:
        return [self.metrics_port]

    def preflight(self) -> None:
        self._java_home()

    def _java_home(self) -> str:
        return str(find_java_home(17, self.cfg.java17_home, "COINSTREAM_LOCAL_JAVA17_HOME"))

    def fetch(self) -> None:
        fetch.jars(f"spark-sql-kafka {SPARK_VERSION}", self.jars_dir, KAFKA_CONNECTOR, transitive=False)

    def jars(self) -> list[str]:
        return sorted(str(p) for p in self.jars_dir.glob("*.jar"))

    def submit_args(self) -> str:
        conf = {
            "spark.jars": ",".join(self.jars()),
            "spark.ui.port": str(self.cfg.spark_ui_port),
            "spark.driver.host": self.cfg.host,
            "spark.driver.bindAddress": self.cfg.host,
            "spark.local.dir": str(self.home / "tmp"),
            "spark.hadoop.dfs.replication": "1",  # one DataNode locally
            "spark.ui.showConsoleProgress": "false",
        }
        conf.update(self.spark_conf)
        args = ["--master", "local[2]", "--driver-memory", f"{self.cfg.spark_driver_memory_mb}m"]
        for key, value in conf.items():
            args += ["--conf", f"{key}={value}"]
        return shlex.join(args + ["pyspark-shell"])  # pyspark shlex-splits it

    def command(self) -> tuple[list[str], dict[str, str]]:
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        env = (
            service_env(self.cfg)
            | {
                "JAVA_HOME": self._java_home(),
                "PYSPARK_PYTHON": sys.executable,
                "PYSPARK_SUBMIT_ARGS": self.submit_args(),
                "SPARK_LOCAL_IP": self.cfg.host,
                "COINSTREAM_LANDER_METRICS_HOST": self.cfg.host,
                "COINSTREAM_LANDER_METRICS_PORT": str(self.metrics_port),
            }
            | self.env_overrides
        )
        return [sys.executable, "-m", "coinstream_lander"], env

    @property
    def metrics_url(self) -> str:
        return f"http://{self.cfg.host}:{self.metrics_port}/metrics"

    def health(self) -> Health:
        text = requests.get(self.metrics_url, timeout=3).text
        active = ACTIVE_RE.search(text)
        if not active or float(active.group(1)) < 1:
            return Health(False, "metrics up, streaming query not active")
        landed = LANDED_RE.search(text)
        rows = int(float(landed.group(1))) if landed else 0
        return Health(True, f"query active, {rows} rows landed since start, metrics at {self.metrics_url}")

    def stop(self) -> bool:
        """SIGTERM the driver only (not its JVM), so it finishes the batch in flight and stops the session."""
        pid = self.proc.pid()
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + self.stop_timeout_s
        while time.monotonic() < deadline and self.proc.running():
            time.sleep(0.25)
        self.proc.stop(10.0)  # still running: the usual group stop
        try:
            os.killpg(pid, signal.SIGKILL)  # a JVM left behind by a driver that exited
        except (ProcessLookupError, PermissionError):
            pass
        return True

    def endpoints(self) -> dict[str, str]:
        return {"metrics": self.metrics_url}


def isolated_env(cfg, run: str, metrics_port: int) -> dict[str, str]:
    """Settings of a lander that shares nothing with the real one: its own topics
    (``lander.<run>.*``), warehouse, checkpoints, Trino schema (``lander_<run>``) and port."""
    root = f"{cfg.hdfs_uri}/coinstream/isolated/{run}"
    return {
        "COINSTREAM_TOPIC_PRICES": f"lander.{run}.prices",
        "COINSTREAM_TOPIC_PRICES_DLQ": f"lander.{run}.prices.dlq",
        "COINSTREAM_TOPIC_PRICES_LANDED": f"lander.{run}.prices.landed",
        "COINSTREAM_STORAGE_WAREHOUSE_URI": f"{root}/warehouse",
        "COINSTREAM_STORAGE_CHECKPOINT_URI": f"{root}/checkpoints",
        "COINSTREAM_TRINO_SCHEMA": f"lander_{run}",
        "COINSTREAM_LANDER_METRICS_PORT": str(metrics_port),
    }


def remove_isolated(lander: PriceLander, run: str) -> None:
    """Stop an isolated lander and drop all it made: table and schema, topics, HDFS tree, local home.

    Best effort: a test or benchmark calls it on its way out, whatever state it left.
    """
    cfg, env = lander.cfg, lander.env_overrides
    lander.stop()
    schema = env["COINSTREAM_TRINO_SCHEMA"]
    for sql in (f"DROP TABLE IF EXISTS hive.{schema}.coin_prices", f"DROP SCHEMA IF EXISTS hive.{schema}"):
        try:
            run_query(cfg.host, cfg.trino_port, "coinstream-cleanup", sql, timeout_s=30)
        except Exception:  # noqa: BLE001, S110 - best effort: the cleanup goes on whatever this step raised
            pass
    topics = [
        env[k] for k in ("COINSTREAM_TOPIC_PRICES", "COINSTREAM_TOPIC_PRICES_DLQ", "COINSTREAM_TOPIC_PRICES_LANDED")
    ]
    admin = AdminClient({"bootstrap.servers": cfg.kafka_bootstrap})  # alive until the futures are done
    for future in admin.delete_topics(topics).values():
        try:
            future.result(timeout=15)
        except Exception:  # noqa: BLE001, S110 - best effort: the cleanup goes on whatever this step raised
            pass
    try:
        requests.delete(
            f"http://{cfg.host}:{cfg.hdfs_namenode_http_port}/webhdfs/v1/coinstream/isolated/{run}",
            params={"op": "DELETE", "recursive": "true", "user.name": "coinstream"},
            timeout=10,
        )
    except requests.RequestException:
        pass
    shutil.rmtree(lander.home, ignore_errors=True)
