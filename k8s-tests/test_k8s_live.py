"""The live half: against the cluster in KUBECONFIG, install (or reuse) the chart with the
kind values, wait until everything is ready, then through the Ingress create a portfolio
and follow its Server-Sent Events until `complete`.

Skipped, with the reason, when no cluster answers. Settings (environment):
  COINSTREAM_K8S_NAMESPACE   namespace of the release (coinstream)
  COINSTREAM_K8S_RELEASE     release name (coinstream)
  COINSTREAM_K8S_INSTALL     0: test what is deployed (Tilt), 1: helm upgrade --install first (default)
  COINSTREAM_K8S_VALUES      extra values files, comma separated (e.g. one naming your image registry)
  COINSTREAM_K8S_BASE_URL    where the Ingress answers (http://localhost with k8s/kind-cluster.yaml)
  COINSTREAM_K8S_TIMEOUT_S   how long to wait for readiness and for `complete` (900)
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from k8slib import render

pytestmark = pytest.mark.live

NAMESPACE = os.environ.get("COINSTREAM_K8S_NAMESPACE", "coinstream")
RELEASE = os.environ.get("COINSTREAM_K8S_RELEASE", "coinstream")
INSTALL = os.environ.get("COINSTREAM_K8S_INSTALL", "1") != "0"
BASE_URL = os.environ.get("COINSTREAM_K8S_BASE_URL", "http://localhost").rstrip("/")
TIMEOUT_S = float(os.environ.get("COINSTREAM_K8S_TIMEOUT_S", "900"))
REQUIRED_CRDS = ("kafkas.kafka.strimzi.io", "kafkanodepools.kafka.strimzi.io", "kafkatopics.kafka.strimzi.io",
                 "sparkapplications.sparkoperator.k8s.io", "servicemonitors.monitoring.coreos.com",
                 "podmonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com")


def _skip_reason() -> str | None:
    """Why no live test can run here, or None when a cluster answers."""
    try:
        from kubernetes import client, config
    except ImportError as exc:  # pragma: no cover - a dev dependency
        return f"the kubernetes client is not installed ({exc})"
    try:
        config.load_kube_config()
    except Exception as first:  # noqa: BLE001 - any failure means "no usable kubeconfig"
        try:
            config.load_incluster_config()
        except Exception:  # noqa: BLE001
            where = os.environ.get("KUBECONFIG", "~/.kube/config")
            return f"no Kubernetes cluster: no usable kubeconfig at {where} ({type(first).__name__}: {first})"
    try:
        client.VersionApi().get_code(_request_timeout=5)
    except Exception as exc:  # noqa: BLE001
        return f"no Kubernetes cluster answers at the current context ({type(exc).__name__}: {str(exc)[:120]})"
    return None


@pytest.fixture(scope="module")
def kube():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from kubernetes import client

    return client


def _wait(what: str, check, timeout_s: float = TIMEOUT_S, every_s: float = 5.0):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        ok, last = check()
        if ok:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}: {last}")


@pytest.fixture(scope="module")
def release(kube):
    """The chart installed with values-kind.yaml (or what Tilt deployed), every workload ready."""
    crds = {c.metadata.name for c in kube.ApiextensionsV1Api().list_custom_resource_definition(_request_timeout=10).items}
    missing = [c for c in REQUIRED_CRDS if c not in crds]
    assert not missing, f"operators missing (CRDs {missing}): run scripts/install-operators.sh --kind"
    if INSTALL:
        args = ["upgrade", "--install", RELEASE, str(render.CHART), "--namespace", NAMESPACE, "--create-namespace",
                "-f", str(render.CHART / "values-kind.yaml"), "--wait", "--timeout", f"{int(TIMEOUT_S)}s"]
        for extra in filter(None, os.environ.get("COINSTREAM_K8S_VALUES", "").split(",")):
            args += ["-f", extra]
        result = render.helm(*args, timeout=TIMEOUT_S + 60)
        assert result.ok, result.stderr
    apps = kube.AppsV1Api()

    def workloads_ready():
        selector = f"app.kubernetes.io/instance={RELEASE}"
        items = apps.list_namespaced_deployment(NAMESPACE, label_selector=selector).items + \
            apps.list_namespaced_stateful_set(NAMESPACE, label_selector=selector).items
        waiting = [w.metadata.name for w in items if (w.status.ready_replicas or 0) < (w.spec.replicas or 0)]
        return bool(items) and not waiting, waiting or "no workloads"

    _wait("Deployments and StatefulSets ready", workloads_ready)
    custom = kube.CustomObjectsApi()

    def kafka_ready():
        kafka = custom.get_namespaced_custom_object("kafka.strimzi.io", "v1", NAMESPACE, "kafkas", RELEASE)
        conditions = {c["type"]: c["status"] for c in kafka.get("status", {}).get("conditions", [])}
        return conditions.get("Ready") == "True", conditions

    _wait("Kafka Ready", kafka_ready)

    def lander_running():
        app = custom.get_namespaced_custom_object("sparkoperator.k8s.io", "v1beta2", NAMESPACE, "sparkapplications",
                                                  f"{RELEASE}-price-lander")
        state = app.get("status", {}).get("applicationState", {}).get("state")
        return state == "RUNNING", state

    _wait("the price lander RUNNING", lander_running)
    return kube


@pytest.fixture(scope="module")
def api_key(release) -> str:
    import base64

    secret = release.CoreV1Api().read_namespaced_secret(f"{RELEASE}-api-keys", NAMESPACE)
    return base64.b64decode(secret.data["api-keys"]).decode().split(",")[0]


def test_api_answers_through_the_ingress(release):
    resp = requests.get(f"{BASE_URL}/healthz", timeout=10)
    assert resp.status_code == 200, resp.text
    spec = requests.get(f"{BASE_URL}/openapi.json", timeout=10).json()
    assert "/v1/portfolios" in spec["paths"]


def test_only_the_api_is_behind_the_ingress(release):
    resp = requests.get(f"{BASE_URL}/v1/coverage", timeout=10)  # a query-service path
    assert resp.status_code in (401, 404), resp.status_code


def test_portfolio_reaches_complete(release, api_key):
    headers = {"X-API-Key": api_key}
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    body = {
        "holdings": [{"coin": "bitcoin", "amount": 0.5}, {"coin": "ethereum", "amount": 2}],
        "vs_currency": "usd",
        "from": (now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "interval": "hourly",
    }
    created = requests.post(f"{BASE_URL}/v1/portfolios", json=body, headers=headers, timeout=30)
    assert created.status_code in (201, 202), created.text
    portfolio_id = created.json()["id"]

    events = []
    with requests.get(f"{BASE_URL}/v1/portfolios/{portfolio_id}/stream", headers=headers, stream=True,
                      timeout=(10, TIMEOUT_S)) as stream:
        assert stream.status_code == 200, stream.text
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        name, data = None, []
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data.append(line.split(":", 1)[1].strip())
            elif line == "" and name:
                events.append((name, json.loads("\n".join(data)) if data else None))
                if name == "complete":
                    break
                name, data = None, []
    assert events and events[-1][0] == "complete", [e[0] for e in events]
    final = requests.get(f"{BASE_URL}/v1/portfolios/{portfolio_id}", headers=headers, timeout=30)
    assert final.status_code == 200
    chart = requests.get(f"{BASE_URL}/v1/portfolios/{portfolio_id}/chart.png", headers=headers, timeout=30)
    assert chart.status_code == 200 and chart.content[:8] == b"\x89PNG\r\n\x1a\n"
