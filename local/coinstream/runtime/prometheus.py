"""Prometheus from Debian's package, scraping every local component with coinstream's alert rules.

`coinstream up --prometheus` starts it on ``cfg.prometheus_port``; its UI then shows
every target, the alert rules of ``helm/coinstream/rules`` and any PromQL of the
Grafana dashboards in ``helm/coinstream/dashboards``.

Scrape jobs are named after the component (``api``, ``ingest``, ``kafka``, ...):
dashboards and alerts filter on ``job``, and the Helm chart's ServiceMonitors
set the same job names, so one dashboard works in both places.

Kafka and HDFS have no Prometheus endpoint of their own out of the box:
``kafka_agent_flag`` gives the JVM flag that loads the Prometheus JMX exporter
agent with ``observability/jmx/kafka.yml``; HDFS serves ``/prom`` once
``hadoop.prometheus.endpoint.enabled=true`` is in core-site.xml. Trino serves
``/metrics`` natively for any user name sent as basic auth (Debian's
Prometheus 2.42 cannot send an ``X-Trino-User`` header).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml
from coinstream_common.settings import TrinoSettings, load
from coinstream_lander.settings import LanderSettings

from . import fetch
from .component import Component, Health
from .process import StartError

REPO = Path(__file__).resolve().parents[3]
OBSERVABILITY = REPO / "observability"
RULES_DIR = REPO / "helm" / "coinstream" / "rules"  # one copy: the chart ships it as a PrometheusRule
RULE_TESTS_DIR = RULES_DIR / "tests"
JMX_DIR = OBSERVABILITY / "jmx"

JMX_EXPORTER_VERSION = "1.0.1"
JMX_EXPORTER = f"io.prometheus.jmx:jmx_prometheus_javaagent:{JMX_EXPORTER_VERSION}"


SCRAPE_INTERVAL = "5s"  # local runs are short: fast scrapes make panels and tests respond quickly
RETENTION = "2d"
APT_INSTALL = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"]
NOT_INSTALLED = "prometheus is not installed: run `sudo apt-get install -y --no-install-recommends prometheus`"


def kafka_metrics_port(cfg) -> int:
    return cfg.kafka_metrics_port


@dataclass(frozen=True)
class ScrapeTarget:
    """One scrape job: which component serves it, where, and how."""

    job: str
    component_class: str  # class name in the Stack (coinstream.runtime.*), so tests can start it
    port: int
    path: str = "/metrics"
    basic_auth_user: str = ""
    note: str = ""  # what must be configured on the component for the endpoint to exist


def scrape_targets(cfg) -> list[ScrapeTarget]:
    """Every metrics endpoint of the local stack, ports taken from LocalSettings."""
    return [
        ScrapeTarget("api", "Api", cfg.api_port),
        ScrapeTarget("ingest", "Ingest", cfg.ingest_port),
        ScrapeTarget("query", "Query", cfg.query_port),
        ScrapeTarget("coingecko-sim", "CoinGeckoSim", cfg.sim_port),
        # the same setting the PriceLander component passes to the job
        ScrapeTarget("lander", "PriceLander", load(LanderSettings).metrics_port),
        ScrapeTarget(
            "kafka",
            "Kafka",
            kafka_metrics_port(cfg),
            note="the Kafka JVM needs the JMX exporter agent: kafka_agent_flag(cfg) in Kafka.command()",
        ),
        ScrapeTarget(
            "trino",
            "Trino",
            cfg.trino_port,
            basic_auth_user=load(TrinoSettings).user,
            note="Trino's native OpenMetrics endpoint",
        ),
        ScrapeTarget(
            "hdfs-namenode",
            "NameNode",
            cfg.hdfs_namenode_http_port,
            path="/prom",
            note="core-site.xml needs hadoop.prometheus.endpoint.enabled=true",
        ),
        ScrapeTarget(
            "hdfs-datanode",
            "DataNode",
            cfg.hdfs_datanode_http_port,
            path="/prom",
            note="core-site.xml needs hadoop.prometheus.endpoint.enabled=true",
        ),
        ScrapeTarget("prometheus", "Prometheus", cfg.prometheus_port),
    ]


def prometheus_config(cfg, rule_files: list[str]) -> dict:
    """prometheus.yml as a dict: one static job per target, the given rule files."""
    jobs = []
    for t in scrape_targets(cfg):
        job: dict = {
            "job_name": t.job,
            "metrics_path": t.path,
            "static_configs": [{"targets": [f"{cfg.host}:{t.port}"]}],
        }
        if t.basic_auth_user:
            job["basic_auth"] = {"username": t.basic_auth_user}
        jobs.append(job)
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "scrape_timeout": "4s",
            "evaluation_interval": SCRAPE_INTERVAL,
            "external_labels": {"environment": "local"},
        },
        "rule_files": rule_files,
        "scrape_configs": jobs,
    }


def rule_files() -> list[Path]:
    return sorted(RULES_DIR.glob("*.yml"))


def prometheus_binary() -> str | None:
    return shutil.which("prometheus") or ("/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None)


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def jmx_agent_flag(cfg, name: str, port: int) -> str:
    """The ``-javaagent:`` JVM flag that serves ``observability/jmx/<name>.yml`` metrics on ``port``.

    Fetches the agent jar into the cache on first use (the caller is a component's
    ``command()``, which runs after ``fetch()``).
    """
    config = JMX_DIR / f"{name}.yml"
    if not config.is_file():
        raise StartError(f"no JMX exporter config {config}")
    lib = fetch.jars(
        f"jmx exporter {JMX_EXPORTER_VERSION}",
        cfg.cache / f"jmx-exporter-{JMX_EXPORTER_VERSION}",
        [JMX_EXPORTER],
        transitive=False,
    )
    jar = lib / f"jmx_prometheus_javaagent-{JMX_EXPORTER_VERSION}.jar"
    return f"-javaagent:{jar}={cfg.host}:{port}:{config}"


def kafka_agent_flag(cfg) -> str:
    """What the Kafka component adds to its JVM flags (before ``-cp``)."""
    return jmx_agent_flag(cfg, "kafka", kafka_metrics_port(cfg))


class Prometheus(Component):
    name = "prometheus"
    start_timeout_s = 60.0

    @property
    def base_url(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.prometheus_port}"

    @property
    def config_file(self) -> Path:
        return self.home / "prometheus.yml"

    def ports(self) -> list[int]:
        return [self.cfg.prometheus_port]

    def fetch(self) -> None:
        """Install Debian's package when root; never leave Debian's own service running."""
        if prometheus_binary():
            return
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            raise StartError(NOT_INSTALLED)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        result = subprocess.run(APT_INSTALL, check=False, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:  # stale package lists: refresh once
            subprocess.run(["apt-get", "update", "-q"], check=False, env=env, capture_output=True, timeout=600)
            result = subprocess.run(APT_INSTALL, check=False, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not prometheus_binary():
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise StartError(f"prometheus: apt-get install failed: {lines[-1] if lines else result.returncode}")
        if systemd_running():
            # Debian's unit would listen on 9090 for every address with its own config.
            subprocess.run(
                ["systemctl", "disable", "--now", "prometheus"], check=False, capture_output=True, timeout=60
            )

    def write_config(self) -> bool:
        """Write prometheus.yml; True when it changed."""
        text = yaml.safe_dump(prometheus_config(self.cfg, [str(RULES_DIR / "*.yml")]), sort_keys=False)
        if self.config_file.is_file() and self.config_file.read_text() == text:
            return False
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(text)
        return True

    def prepare(self) -> None:
        self.write_config()

    def command(self) -> tuple[list[str], dict[str, str]]:
        binary = prometheus_binary()
        if binary is None:
            raise StartError(NOT_INSTALLED)
        return [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.home / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address={self.cfg.host}:{self.cfg.prometheus_port}",
            "--web.enable-lifecycle",  # after_start reloads a changed config or rules
        ], {}

    def health(self) -> Health:
        resp = requests.get(f"{self.base_url}/-/ready", timeout=3)
        if resp.status_code != 200:
            return Health(False, f"/-/ready answered HTTP {resp.status_code}")
        loaded = requests.get(f"{self.base_url}/api/v1/status/config", timeout=3).json()["data"]["yaml"]
        if str(RULES_DIR) not in loaded:
            return Health(False, f"the Prometheus at {self.base_url} does not run coinstream's config")
        return Health(True, f"ready at {self.base_url}")

    def after_start(self) -> None:
        """Pick up a changed scrape config or changed rules without a restart."""
        self.write_config()
        resp = requests.post(f"{self.base_url}/-/reload", timeout=30)
        if resp.status_code != 200:
            raise StartError(f"prometheus: reloading the config failed: {resp.text.strip()[:200]}")

    def endpoints(self) -> dict[str, str]:
        # Debian's build serves the classic UI (the React one is not packaged).
        return {
            "ui": f"{self.base_url}/",
            "targets": f"{self.base_url}/classic/targets",
            "alerts": f"{self.base_url}/classic/alerts",
        }
