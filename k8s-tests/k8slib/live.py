"""What the live k8s-tests share: the cluster in KUBECONFIG (or why there is none), waiting
on a condition, running a command in a pod, and GETs through the API server's service proxy.

Settings (environment):
  COINSTREAM_K8S_NAMESPACE   namespace of the release (coinstream)
  COINSTREAM_K8S_RELEASE     release name (coinstream)
  COINSTREAM_K8S_INSTALL     0: test what is deployed (make k8s-up, Tilt), 1: helm upgrade --install first (default)
  COINSTREAM_K8S_VALUES      extra values files, comma separated (e.g. one naming your image registry)
  COINSTREAM_K8S_BASE_URL    where the Ingress answers (http://localhost with k8s/kind-cluster.yaml,
                             http://127.0.0.1:18080 on the node of make k8s-up)
  COINSTREAM_K8S_TIMEOUT_S   how long to wait for readiness and for `complete` (900)
  COINSTREAM_K8S_REQUIRED    1: no cluster is a failure, not a skip (make k8s-test)
  COINSTREAM_K8S_PROMETHEUS  namespace/service:port of the Prometheus that scrapes the chart's
                             monitors (monitoring/prometheus:9090, as make k8s-up installs it)
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

NAMESPACE = os.environ.get("COINSTREAM_K8S_NAMESPACE", "coinstream")
RELEASE = os.environ.get("COINSTREAM_K8S_RELEASE", "coinstream")
INSTALL = os.environ.get("COINSTREAM_K8S_INSTALL", "1") != "0"
BASE_URL = os.environ.get("COINSTREAM_K8S_BASE_URL", "http://localhost").rstrip("/")
TIMEOUT_S = float(os.environ.get("COINSTREAM_K8S_TIMEOUT_S", "900"))
VALUES = tuple(filter(None, os.environ.get("COINSTREAM_K8S_VALUES", "").split(",")))
REQUIRED = os.environ.get("COINSTREAM_K8S_REQUIRED", "0") == "1"
PROMETHEUS = os.environ.get("COINSTREAM_K8S_PROMETHEUS", "monitoring/prometheus:9090")


def skip_reason() -> str | None:
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


def wait(what: str, check: Callable[[], tuple[bool, Any]], timeout_s: float = TIMEOUT_S, every_s: float = 5.0):
    """Poll ``check`` (-> (done, detail)) until done; fail naming the last detail."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        ok, last = check()
        if ok:
            return last
        time.sleep(every_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}: {last}")


def running_pods(kube, selector: str, namespace: str = NAMESPACE) -> list:
    """Running pods matching a label selector (not those already being deleted)."""
    items = kube.CoreV1Api().list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in items if p.status.phase == "Running" and not p.metadata.deletion_timestamp]


def pods(kube, component: str, namespace: str = NAMESPACE) -> list:
    """Running pods of one of the chart's components."""
    return running_pods(
        kube, f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component={component}", namespace
    )


def exec_in(kube, pod: str, command: list[str], namespace: str = NAMESPACE, timeout_s: float = 60) -> str:
    """stdout and stderr of ``command`` run in the pod's first container."""
    from kubernetes.stream import stream

    return stream(
        kube.CoreV1Api().connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=command,
        stderr=True,
        stdout=True,
        stdin=False,
        tty=False,
        _request_timeout=timeout_s,
    )


def service_get(kube, service: str, path: str, timeout_s: float = 20) -> Any:
    """GET a JSON path (with its query string) of a Service through the API server's proxy;
    service is namespace/name:port. (The generated proxy call would escape the "?".)"""
    namespace, _, name = service.partition("/")
    path, _, query = path.partition("?")
    api = kube.ApiClient()
    request = api.param_serialize(
        method="GET",
        resource_path="/api/v1/namespaces/{namespace}/services/{name}/proxy/{path}",
        path_params={"namespace": namespace, "name": name, "path": path},
        query_params=urllib.parse.parse_qsl(query),
        auth_settings=["BearerToken"],
    )
    return json.loads(api.call_api(*request, _request_timeout=timeout_s).read())
