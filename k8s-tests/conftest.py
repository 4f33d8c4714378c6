"""k8s-tests: the offline half (helm lint/template, strict schemas, CRDs, policies) runs
anywhere with the tools of scripts/install-k8s-tools.sh; the live half (marker `live`)
needs the cluster in KUBECONFIG and skips, saying why, without one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from k8slib import render
from k8slib import tilt as tiltfile


@pytest.fixture(scope="session")
def helm_bin() -> str:
    try:
        return render.tool("helm")
    except render.ToolMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session", params=render.VALUES_FILES)
def values_file(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def rendered(helm_bin, values_file) -> tuple[dict, ...]:
    """The chart rendered with one of its values files (cached per session)."""
    return render.render((values_file,))


@pytest.fixture(scope="session")
def kind_docs(helm_bin) -> tuple[dict, ...]:
    return render.render(("values-kind.yaml",))


@pytest.fixture(scope="session")
def tilt() -> dict:
    """The calls the repository's Tiltfile makes, as Tilt would load it."""
    try:
        return tiltfile.load(render.REPO / "Tiltfile")
    except render.ToolMissing as exc:
        pytest.fail(str(exc), pytrace=False)


# ---- the live half: one cluster, one release per session --------------------------------
REQUIRED_CRDS = (
    "kafkas.kafka.strimzi.io",
    "kafkanodepools.kafka.strimzi.io",
    "kafkatopics.kafka.strimzi.io",
    "sparkapplications.sparkoperator.k8s.io",
    "servicemonitors.monitoring.coreos.com",
    "podmonitors.monitoring.coreos.com",
    "prometheusrules.monitoring.coreos.com",
)


@pytest.fixture(scope="session")
def kube():
    from k8slib import live

    reason = live.skip_reason()
    if reason and live.REQUIRED:
        pytest.fail(reason, pytrace=False)
    if reason:
        pytest.skip(reason)
    from kubernetes import client

    return client


@pytest.fixture(scope="session")
def release(kube):
    """The chart installed with values-kind.yaml (or what make k8s-up or Tilt deployed), every
    workload ready, Kafka Ready and the price lander RUNNING."""
    from k8slib import live

    crds = {
        c.metadata.name for c in kube.ApiextensionsV1Api().list_custom_resource_definition(_request_timeout=10).items
    }
    missing = [c for c in REQUIRED_CRDS if c not in crds]
    assert not missing, f"operators missing (CRDs {missing}): run scripts/install-operators.sh --kind"
    if live.INSTALL:
        args = [
            "upgrade",
            "--install",
            live.RELEASE,
            str(render.CHART),
            "--namespace",
            live.NAMESPACE,
            "--create-namespace",
            "-f",
            str(render.CHART / "values-kind.yaml"),
            "--wait",
            "--timeout",
            f"{int(live.TIMEOUT_S)}s",
        ]
        for extra in live.VALUES:
            args += ["-f", extra]
        result = render.helm(*args, timeout=live.TIMEOUT_S + 60)
        assert result.ok, result.stderr
    apps = kube.AppsV1Api()

    def workloads_ready():
        selector = f"app.kubernetes.io/instance={live.RELEASE}"
        items = (
            apps.list_namespaced_deployment(live.NAMESPACE, label_selector=selector).items
            + apps.list_namespaced_stateful_set(live.NAMESPACE, label_selector=selector).items
        )
        waiting = [w.metadata.name for w in items if (w.status.ready_replicas or 0) < (w.spec.replicas or 0)]
        return bool(items) and not waiting, waiting or "no workloads"

    live.wait("Deployments and StatefulSets ready", workloads_ready)
    custom = kube.CustomObjectsApi()

    def kafka_ready():
        kafka = custom.get_namespaced_custom_object("kafka.strimzi.io", "v1", live.NAMESPACE, "kafkas", live.RELEASE)
        conditions = {c["type"]: c["status"] for c in kafka.get("status", {}).get("conditions", [])}
        return conditions.get("Ready") == "True", conditions

    live.wait("Kafka Ready", kafka_ready)

    def lander_running():
        app = custom.get_namespaced_custom_object(
            "sparkoperator.k8s.io", "v1beta2", live.NAMESPACE, "sparkapplications", f"{live.RELEASE}-price-lander"
        )
        state = app.get("status", {}).get("applicationState", {}).get("state")
        return state == "RUNNING", state

    live.wait("the price lander RUNNING", lander_running)
    return kube


@pytest.fixture(scope="session")
def api_key(release) -> str:
    import base64

    from k8slib import live

    secret = release.CoreV1Api().read_namespaced_secret(f"{live.RELEASE}-api-keys", live.NAMESPACE)
    return base64.b64decode(secret.data["api-keys"]).decode().split(",")[0]
