"""The monitoring add-on (k8s/addons/40-monitoring.sh): what `--render` prints is strictly valid
(Kubernetes' schemas and the prometheus-operator 0.93.0 CRDs), its Prometheus selects every
ServiceMonitor, PodMonitor and PrometheusRule in every namespace, the operator runs without its
admission webhook on the images the add-on builds, and the chart's NetworkPolicies let that
Prometheus scrape what the chart's monitors name."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml
from k8slib import render, schemas
from k8slib.policy import selector_matches
from k8slib.render import REPO, by_kind, find

pytestmark = pytest.mark.unit

ADDON = REPO / "k8s" / "addons" / "40-monitoring.sh"
SELECTORS = (
    "serviceMonitorSelector",
    "serviceMonitorNamespaceSelector",
    "podMonitorSelector",
    "podMonitorNamespaceSelector",
    "ruleSelector",
    "ruleNamespaceSelector",
)
# The labels prometheus-operator 0.93.0 puts on a Prometheus' pods (makeSelectorLabels) and the
# namespace's automatic name label.
NAMESPACE_LABELS = {"kubernetes.io/metadata.name": "monitoring"}


@pytest.fixture(scope="module")
def docs() -> list[dict]:
    if not shutil.which("envsubst"):
        pytest.fail("envsubst not found (Debian package gettext-base)", pytrace=False)
    proc = subprocess.run([str(ADDON), "--render"], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(proc.stdout) if d]


@pytest.fixture(scope="module")
def prometheus(docs) -> dict:
    return find(docs, "Prometheus", "coinstream")


def prometheus_pod_labels(prometheus: dict) -> dict:
    name = prometheus["metadata"]["name"]
    return {
        "app.kubernetes.io/name": "prometheus",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/managed-by": "prometheus-operator",
        "operator.prometheus.io/name": name,
        "prometheus": name,
    }


def test_every_rendered_object_is_valid(docs):
    errors = [e for doc in docs for e in schemas.validate(doc, render.KUBE_VERSION)]
    assert not errors, "\n".join(errors)
    assert {
        "Namespace",
        "Deployment",
        "Prometheus",
        "Service",
        "ClusterRole",
        "ClusterRoleBinding",
        "ServiceAccount",
        "ServiceMonitor",
    } <= {d["kind"] for d in docs}


def test_the_namespace_comes_first_and_holds_everything_namespaced(docs):
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == "monitoring"
    cluster_scoped = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
    assert all(d["metadata"].get("namespace") == "monitoring" for d in docs if d["kind"] not in cluster_scoped)


def test_prometheus_selects_everything_everywhere(prometheus):
    spec = prometheus["spec"]
    # {} matches every object / namespace; a missing (nil) selector would match none
    assert {s: spec.get(s) for s in SELECTORS} == {s: {} for s in SELECTORS}
    assert spec["replicas"] == 1 and spec["retention"] == "1d"
    assert "emptyDir" in spec["storage"] and spec["resources"]["requests"]
    assert spec["version"] == "v3.13.1" and spec["image"] == "coinstream/prometheus:v3.13.1"


def test_the_prometheus_service(docs, prometheus):
    svc = find(docs, "Service", "prometheus")
    assert [(p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [(9090, "web")]
    assert selector_matches(svc["spec"]["selector"], prometheus_pod_labels(prometheus))


def _rules_for(docs, binding_kind: str, subject: tuple[str, str]) -> list[dict]:
    rules = []
    for binding in by_kind(docs, binding_kind):
        if any((s["name"], s.get("namespace")) == subject for s in binding["subjects"]):
            rules += find(docs, binding["roleRef"]["kind"], binding["roleRef"]["name"])["rules"]
    return rules


def _allowed(rules, group: str, resource: str, verb: str) -> bool:
    return any(
        group in r.get("apiGroups", [])
        and {resource, "*"} & set(r.get("resources", []))
        and {verb, "*"} & set(r["verbs"])
        for r in rules
    )


def test_prometheus_may_discover_and_scrape(docs, prometheus):
    sa = prometheus["spec"]["serviceAccountName"]
    assert find(docs, "ServiceAccount", sa)
    rules = _rules_for(docs, "ClusterRoleBinding", (sa, "monitoring"))
    for group, resource in (("", "services"), ("", "endpoints"), ("", "pods"), ("discovery.k8s.io", "endpointslices")):
        for verb in ("get", "list", "watch"):
            assert _allowed(rules, group, resource, verb), f"{verb} {resource}"
    assert any("/metrics" in r.get("nonResourceURLs", []) and "get" in r["verbs"] for r in rules)


def test_the_operator_watches_all_namespaces_without_its_webhook(docs):
    deploy = find(docs, "Deployment", "prometheus-operator")
    pod = deploy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    args = container["args"]
    assert container["image"] == "coinstream/prometheus-operator:v0.93.0"
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert "--prometheus-config-reloader=coinstream/prometheus-config-reloader:v0.93.0" in args
    assert not [
        a for a in args if a.startswith(("--namespaces", "--prometheus-instance-namespaces", "--deny-namespaces"))
    ]
    assert not [d for d in docs if "Webhook" in d["kind"] or "admission" in d["metadata"]["name"]]
    rules = _rules_for(docs, "ClusterRoleBinding", (pod["serviceAccountName"], "monitoring"))
    for resource in ("prometheuses", "servicemonitors", "podmonitors", "prometheusrules"):
        assert _allowed(rules, "monitoring.coreos.com", resource, "list"), resource
    assert _allowed(rules, "apps", "statefulsets", "create") and _allowed(rules, "", "secrets", "create")
    assert _allowed(rules, "", "namespaces", "watch")


def _admits(policy: dict, ns_labels: dict, pod_labels: dict, port) -> bool:
    for rule in policy["spec"].get("ingress", []):
        ports = [p["port"] for p in rule.get("ports", [])]
        if ports and port not in ports:
            continue
        for peer in rule.get("from", []):
            if "namespaceSelector" not in peer:
                continue  # a podSelector alone means the policy's own namespace
            ns_ok = peer["namespaceSelector"] == {} or selector_matches(peer["namespaceSelector"], ns_labels)
            pod_ok = (
                "podSelector" not in peer
                or peer["podSelector"] == {}
                or selector_matches(peer["podSelector"], pod_labels)
            )
            if ns_ok and pod_ok:
                return True
    return False


def test_the_charts_network_policies_let_this_prometheus_scrape(kind_docs, prometheus):
    """Every Service a chart ServiceMonitor names: its pods accept the add-on's Prometheus
    pods (namespace monitoring, the operator's pod labels) on the monitored port."""
    pod_labels = prometheus_pod_labels(prometheus)
    policies = by_kind(kind_docs, "NetworkPolicy")
    templates = [d["spec"]["template"] for d in kind_docs if d["kind"] in ("Deployment", "StatefulSet")]
    checked = []
    for monitor in by_kind(kind_docs, "ServiceMonitor"):
        scraped = 0
        for svc in by_kind(kind_docs, "Service"):
            if not selector_matches(monitor["spec"]["selector"], svc["metadata"].get("labels", {})):
                continue
            for endpoint in monitor["spec"]["endpoints"]:
                ports = [p for p in svc["spec"]["ports"] if p.get("name") == endpoint["port"]]
                if not ports:
                    continue  # Prometheus skips a selected Service without the port (e.g. a headless twin)
                port = ports[0]
                target = port.get("targetPort", port["port"])
                for template in templates:
                    labels = template["metadata"].get("labels", {})
                    if not selector_matches(svc["spec"]["selector"], labels):
                        continue
                    numbers = {
                        p.get("name"): p["containerPort"]
                        for c in template["spec"]["containers"]
                        for p in c.get("ports", [])
                    }
                    applying = [
                        p
                        for p in policies
                        if selector_matches(p["spec"]["podSelector"], labels) or p["spec"]["podSelector"] == {}
                    ]
                    ingress = [p for p in applying if "Ingress" in p["spec"].get("policyTypes", ["Ingress"])]
                    allowed = any(
                        _admits(p, NAMESPACE_LABELS, pod_labels, port_ref)
                        for p in ingress
                        for port_ref in (target, numbers.get(target, target))
                    )
                    assert allowed, (
                        f"{svc['metadata']['name']}:{target}: no NetworkPolicy admits Prometheus from monitoring"
                    )
                    checked.append(svc["metadata"]["name"])
                    scraped += 1
        assert scraped, f"ServiceMonitor {monitor['metadata']['name']} selects no pod"
    assert {f"{render.RELEASE}-api", f"{render.RELEASE}-query", f"{render.RELEASE}-ingest"} <= set(checked), checked
