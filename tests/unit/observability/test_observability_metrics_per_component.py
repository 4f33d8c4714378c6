"""Each component's /metrics exports its own series and the shared ones, never another component's.

Every HTTP service's Flask app is built in a fresh interpreter (so the Prometheus
registry holds only what that service's code registered), with its Kafka, Trino
and CoinGecko pointed at a port nothing listens on, and its /metrics read
through the test client. The lander, which serves its registry with
prometheus_client's own server, is checked the same way from its runner module.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from coinstream import components
from coinstream_common import metrics as shared_metrics
from prometheus_client.metrics import MetricWrapperBase

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
NOWHERE = "127.0.0.1:1"  # nothing listens: nothing is reached while the app is built

BUILD = {
    "ingest": "from coinstream_ingest.app import create_app; app = create_app()",
    "query": "from coinstream_query.app import create_app; app = create_app()",
    "api": "from coinstream_api.app import create_app; app = create_app(start=False)",
    "coingecko-sim": "from coingecko_sim.app import create_app; app = create_app()",
}
SCRIPT = """
import json, sys
{build}
body = app.test_client().get("/metrics").get_data(as_text=True)
print(json.dumps(sorted({{line.split()[2] for line in body.splitlines() if line.startswith("# TYPE ")}})))
"""
LANDER_SCRIPT = """
import json
import coinstream_lander.runner
from prometheus_client import REGISTRY, generate_latest
body = generate_latest(REGISTRY).decode()
print(json.dumps(sorted({line.split()[2] for line in body.splitlines() if line.startswith("# TYPE ")})))
"""


def _base(name: str) -> str:
    """A family's metric name: counters also expose <name>_created, and are typed as <name>_total."""
    return name.removesuffix("_created").removesuffix("_total")


def _series(module) -> set[str]:
    return {_base(o._name) for o in vars(module).values() if isinstance(o, MetricWrapperBase)}


def _exported(script: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COINSTREAM_", "PROMETHEUS_"))}
    env |= {
        "COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": NOWHERE,
        "COINSTREAM_TRINO_HOST": "127.0.0.1",
        "COINSTREAM_TRINO_PORT": "1",
        "COINSTREAM_COINGECKO_BASE_URL": f"http://{NOWHERE}/api/v3",
        "COINSTREAM_INGEST_POLLER_ENABLED": "false",
        "COINSTREAM_INGEST_BACKFILL_ENABLED": "false",
        "COINSTREAM_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120, env=env, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    names = json.loads(proc.stdout.strip().splitlines()[-1])
    return {_base(n) for n in names if n.startswith("coinstream_")}


OWN = {c: _series(m) if (m := components.metrics_module(c)) else set() for c in components.COMPONENTS}
SHARED = _series(shared_metrics)


def test_every_component_owns_distinct_series():
    assert SHARED and OWN["ingest"] and OWN["query"] and OWN["api"] and OWN["price-lander"]
    for a in components.COMPONENTS:
        assert not OWN[a] & SHARED, a
        for b in components.COMPONENTS:
            assert a == b or not OWN[a] & OWN[b], (a, b)


@pytest.mark.parametrize("component", sorted(BUILD))
def test_http_service_metrics_are_its_own_and_the_shared_ones(component):
    exported = _exported(SCRIPT.format(build=BUILD[component]))
    assert OWN[component] <= exported, f"{component} does not export {sorted(OWN[component] - exported)}"
    assert {"coinstream_http_request_duration_seconds", "coinstream_http_requests_in_flight"} <= exported
    for other in components.COMPONENTS:
        if other != component:
            leaked = exported & OWN[other]
            assert not leaked, f"{component}'s /metrics exports {other}'s series {sorted(leaked)}"
    assert exported <= OWN[component] | SHARED, sorted(exported - OWN[component] - SHARED)


def test_lander_metrics_are_its_own_and_the_shared_ones():
    exported = _exported(LANDER_SCRIPT)
    assert OWN["price-lander"] <= exported
    for other in ("ingest", "query", "api"):
        assert not exported & OWN[other], (other, sorted(exported & OWN[other]))


SERVICE_PACKAGES = {
    "coinstream_ingest": REPO / "services" / "ingest" / "coinstream_ingest",
    "coinstream_query": REPO / "services" / "query" / "coinstream_query",
    "coinstream_api": REPO / "services" / "api" / "coinstream_api",
    "coingecko_sim": REPO / "services" / "coingecko_sim" / "coingecko_sim",
    "coinstream_lander": REPO / "spark-apps" / "price_lander" / "coinstream_lander",
}


@pytest.mark.parametrize("package", sorted(SERVICE_PACKAGES))
def test_components_never_import_each_other(package):
    """A component imports the contract, the skeleton and itself: never another component nor the dev tool."""
    forbidden = (set(SERVICE_PACKAGES) - {package}) | {"coinstream"}
    found = []
    for path in sorted(SERVICE_PACKAGES[package].rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in forbidden]
    assert not found, found
