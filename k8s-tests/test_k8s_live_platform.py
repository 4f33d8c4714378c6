"""The live cluster's platform around the data path: the chart's NetworkPolicies enforced
(a flow the chart does not allow is cut off, an allowed one served) and Prometheus scraping
every monitor of the chart with every alert rule loaded."""

from __future__ import annotations

import pytest
import yaml
from k8slib import live, render

pytestmark = pytest.mark.live

# python3 -c in a service pod: connect to host:port within 3 s, print what happened
PROBE = (
    "import socket,sys\n"
    "s=socket.socket(); s.settimeout(3)\n"
    "try:\n    s.connect((sys.argv[1], int(sys.argv[2]))); print('connected')\n"
    "except Exception as e:\n    print(type(e).__name__)\n"
)


def connect_from(kube, component: str, host: str, port: int) -> str:
    pod = live.pods(kube, component)
    assert pod, f"no running pod of {component}"
    return live.exec_in(kube, pod[0].metadata.name, ["python3", "-c", PROBE, host, str(port)]).strip()


# (from component, to service, port, allowed by the chart's policies)
FLOWS = [
    ("api", "query", 8000, True),  # api -> query service
    ("query", "trino", 8080, True),  # only the query service talks to Trino
    ("api", "trino", 8080, False),  # the api cannot go around it
    ("api", "ingest", 8000, True),  # the api's coin list comes from ingest
    ("ingest", "coingecko-sim", 8000, True),  # only ingest talks to CoinGecko (here the simulator)
    ("api", "coingecko-sim", 8000, False),  # the api cannot go around ingest
    ("ingest", "query", 8000, True),  # ingest asks the query service which days landed
    ("ingest", "trino", 8080, False),  # not Trino itself
    ("coingecko-sim", "query", 8000, False),
    ("ingest", "hdfs-namenode", 9000, False),
]


@pytest.mark.parametrize("source,target,port,allowed", FLOWS, ids=[f"{s}->{t}" for s, t, _, _ in FLOWS])
def test_network_policies_are_enforced(release, source, target, port, allowed):
    result = connect_from(release, source, f"{live.RELEASE}-{target}", port)
    if allowed:
        assert result == "connected", f"{source} -> {target}:{port} should be served, got {result}"
    else:
        assert result in ("timeout", "TimeoutError", "ConnectionRefusedError"), (
            f"{source} -> {target}:{port} should be cut off by the NetworkPolicies, got {result}"
        )


def chart_jobs() -> set[str]:
    """The job label of every monitor the chart renders (its relabelings set it)."""
    jobs = set()
    for doc in render.render(("values-kind.yaml",)):
        if doc["kind"] in ("ServiceMonitor", "PodMonitor"):
            for endpoint in doc["spec"].get("endpoints", []) + doc["spec"].get("podMetricsEndpoints", []):
                jobs |= {r["replacement"] for r in endpoint.get("relabelings", []) if r.get("targetLabel") == "job"}
    return jobs


def test_prometheus_scrapes_every_monitor_of_the_chart(release):
    expected = chart_jobs()
    assert expected >= {"api", "ingest", "query", "kafka", "lander"}

    def all_up():
        targets = live.service_get(release, live.PROMETHEUS, "api/v1/targets")["data"]["activeTargets"]
        mine = [t for t in targets if t["labels"].get("namespace") == live.NAMESPACE]
        jobs = {t["labels"].get("job") for t in mine}
        down = [(t["labels"].get("job"), t["scrapeUrl"], t.get("lastError")) for t in mine if t["health"] != "up"]
        return expected <= jobs and not down, {"missing": sorted(expected - jobs), "down": down}

    live.wait("every target of the chart's monitors up", all_up, timeout_s=300, every_s=10)


def test_every_alert_rule_is_loaded(release):
    want = {
        r["alert"]
        for f in (render.CHART / "rules").glob("*.yml")
        for g in yaml.safe_load(f.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    assert want

    def loaded():
        groups = live.service_get(release, live.PROMETHEUS, "api/v1/rules")["data"]["groups"]
        have = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
        return want <= have, sorted(want - have)

    live.wait("the chart's alert rules loaded by Prometheus", loaded, timeout_s=180, every_s=10)


def test_kafka_broker_metrics_reach_prometheus(release):
    def present():
        result = live.service_get(
            release, live.PROMETHEUS, "api/v1/query?query=kafka_server_replicamanager_leadercount"
        )["data"]["result"]
        return bool(result), result

    live.wait("the brokers' JMX exporter series in Prometheus", present, timeout_s=180, every_s=10)
