"""The Tiltfile loads under Tilt's Starlark dialect with Tilt's signatures (tiltfile-check,
built by scripts/install-k8s-tools.sh), and what it declares matches the chart, the kind
config and the operator script."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from coinstream import crds
from k8slib import dockerfiles, render
from k8slib.render import REPO
from k8slib.tilt import arg, calls, run_check
from k8slib.tilt import load as load_tiltfile

pytestmark = pytest.mark.unit


def test_checker_rejects_what_tilt_would(tmp_path):
    cases = {
        "docker_build('x', '.', dockerfil='D')\n": "unexpected keyword argument",
        "k8s_resource('a', port_forward=['1:1'])\n": "unexpected keyword argument",
        "local_resource(cmd='true')\n": 'missing argument "name"',
        "load('ext://helm_resource', 'helm_resource')\n": "cannot be checked offline",
        "helm_resource('x', 'y')\n": "undefined: helm_resource",
        "namespace_create('x')\n": "undefined: namespace_create",  # an extension, not built in
        "def f(:\n": "got ':'",
    }
    for source, message in cases.items():
        path = tmp_path / "Tiltfile"
        path.write_text(source)
        result = run_check(path)
        assert result.returncode != 0, source
        assert message in result.stderr, (source, result.stderr)


def test_tiltfile_deploys_the_chart_with_kind_values(tilt):
    (helm_call,) = calls(tilt, "helm")
    assert arg(helm_call, "paths", 0) == "helm/coinstream"
    assert helm_call["kwargs"]["values"] == ["helm/coinstream/values-kind.yaml"]
    assert helm_call["kwargs"]["namespace"] == "coinstream"
    applied = [arg(c, "yaml", 0) for c in calls(tilt, "k8s_yaml")]
    assert len(applied) == 2 and applied[1].startswith("<helm output")
    assert yaml.safe_load(applied[0]) == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "coinstream"}}
    # What Tilt would apply renders, and is policy-clean (test_k8s_policy checks this combination).
    result = render.template(
        tuple(v.split("/")[-1] for v in helm_call["kwargs"]["values"]), tuple(helm_call["kwargs"].get("set", []))
    )
    assert result.ok, result.stderr


def test_tiltfile_installs_the_operators_from_the_script(tilt):
    names = {arg(c, "name", 0): c for c in calls(tilt, "local_resource")}
    for operator in ("ingress-nginx", "strimzi", "spark-operator", "kube-prometheus-stack"):
        assert names[operator]["kwargs"]["cmd"].startswith("scripts/install-operators.sh --kind ")
    script = (REPO / "scripts" / "install-operators.sh").read_text()
    # The operator versions match the CRDs validated against.
    assert f"STRIMZI_VERSION={crds.STRIMZI_VERSION}\n" in script
    assert f"SPARK_OPERATOR_VERSION={crds.SPARK_OPERATOR_VERSION}\n" in script
    assert crds.PROMETHEUS_OPERATOR_VERSION == "0.93.0"
    assert "KUBE_PROMETHEUS_STACK_VERSION=88.0.0\n" in script  # the release shipping operator 0.93.0


def test_tiltfile_builds_every_image_the_chart_uses(tilt):
    built = {arg(c, "ref", 0): c for c in calls(tilt, "docker_build")}
    docs = render.render(("values-kind.yaml",))
    used = {
        c["image"].split(":")[0]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
        if c["image"].startswith("coinstream-")
    }
    used |= {d["spec"]["image"].split(":")[0] for d in docs if d["kind"] == "SparkApplication"}
    assert used == set(built)
    for ref, c in built.items():
        dockerfile = c["kwargs"]["dockerfile"]
        assert dockerfile.endswith("/Dockerfile") and (REPO / dockerfile).parent.is_dir()
        if (REPO / dockerfile).is_file():  # built with Tilt's arguments: pinned, multi-stage, non-root, real sources
            build_args = c["kwargs"].get("build_args") or {}
            assert dockerfiles.image_problems(REPO / dockerfile, build_args) == [], ref
            for source in dockerfiles.copy_sources(REPO / dockerfile, build_args):
                assert (REPO / source).exists(), f"{ref}: COPY {source} is not in the build context"
        if ref != "coinstream-price-lander":
            steps = [s["tilt"] for s in c["kwargs"]["live_update"]]
            assert steps[0] == "fall_back_on" and "sync" in steps and steps[-1] == "run"
            for s in c["kwargs"]["live_update"]:
                if s["tilt"] == "sync":
                    assert s["remote_path"].startswith("/opt/app/")
                    if (REPO / dockerfile).is_file():  # an image that can be built syncs real code
                        assert (REPO / s["local_path"]).is_dir(), s


def test_tiltfile_resources_name_rendered_workloads_and_objects(tilt):
    docs = render.render(("values-kind.yaml",), ("devMode.liveUpdate=true",))
    workloads = {d["metadata"]["name"] for d in docs if d["kind"] in ("Deployment", "StatefulSet", "SparkApplication")}
    objects = {f"{d['metadata']['name']}:{d['kind'].lower()}" for d in docs}
    resources = {arg(c, "name", 0) for c in calls(tilt, "local_resource")}
    for c in calls(tilt, "k8s_resource"):
        workload = arg(c, "workload", 0)
        if workload:
            assert workload in workloads, workload
        for fragment in c["kwargs"].get("objects", []):
            assert fragment in objects, fragment
        resources.add(c["kwargs"].get("new_name") or workload)
    for c in calls(tilt, "k8s_resource") + calls(tilt, "local_resource"):
        for dep in c["kwargs"].get("resource_deps", []):
            assert dep in resources, f"resource_deps names {dep!r}, which is not a resource"
    assert {d["metadata"]["name"] for d in docs if d["kind"] in ("Deployment", "StatefulSet")} <= {
        arg(c, "workload", 0) for c in calls(tilt, "k8s_resource")
    }


def test_tiltfile_forwards_ports_and_runs_the_live_tests(tilt):
    forwards = [p for c in calls(tilt, "k8s_resource") for p in c["kwargs"].get("port_forwards", [])]
    assert "8000:8000" in forwards  # the api
    live = [c for c in calls(tilt, "local_resource") if "-m live" in (c["kwargs"].get("cmd") or "")]
    assert len(live) == 1 and "k8s-tests" in live[0]["kwargs"]["cmd"]
    assert live[0]["kwargs"]["env"]["COINSTREAM_K8S_INSTALL"] == "0"
    assert {"api", "price-lander"} <= set(live[0]["kwargs"]["resource_deps"])


def test_tiltfile_only_talks_to_kind_or_the_node(tilt):
    (contexts,) = calls(tilt, "allow_k8s_contexts")
    kind = yaml.safe_load((REPO / "k8s" / "kind-cluster.yaml").read_text())
    node = (REPO / "k8s" / "node" / "pki.sh").read_text()
    assert contexts["args"][0] == [f"kind-{kind['name']}", "coinstream"]
    assert "current-context: coinstream\n" in node


@pytest.fixture(scope="module")
def tilt_on_node() -> dict:
    """The calls of the Tiltfile in the context of make k8s-up's node."""
    return load_tiltfile(REPO / "Tiltfile", "coinstream")


def test_on_the_node_images_are_built_there_and_imported(tilt, tilt_on_node):
    assert not calls(tilt_on_node, "docker_build")
    built = {arg(c, "ref", 0): c for c in calls(tilt_on_node, "custom_build")}
    assert set(built) == {arg(c, "ref", 0) for c in calls(tilt, "docker_build")}
    for ref, call in built.items():
        assert call["kwargs"]["disable_push"] is True and call["kwargs"]["skips_local_docker"] is True
        assert arg(call, "command", 1) == "images/tilt-build.sh " + ref.removeprefix("coinstream-")
        assert all((REPO / d).exists() for d in arg(call, "deps", 2))
    # live update of the services is the same as on kind
    kind_updates = {arg(c, "ref", 0): c["kwargs"].get("live_update") for c in calls(tilt, "docker_build")}
    assert all(built[r]["kwargs"].get("live_update", []) == (u or []) for r, u in kind_updates.items())


def test_on_the_node_the_operators_are_the_add_ons_and_nothing_is_forwarded(tilt_on_node):
    operators = {
        arg(c, "name", 0): c
        for c in calls(tilt_on_node, "local_resource")
        if "prerequisites" in c["kwargs"].get("labels", [])
    }
    assert set(operators) == {"ingress-nginx", "strimzi", "spark-operator", "kube-prometheus-stack"}
    assert all(c["kwargs"]["cmd"] == f"k8s/addons/lib/ready.sh {n}" for n, c in operators.items())
    assert all(not c["kwargs"].get("port_forwards") for c in calls(tilt_on_node, "k8s_resource"))
    script = (REPO / "k8s" / "addons" / "lib" / "ready.sh").read_text()
    assert all(f"  {n}) ns=" in script for n in operators)


def test_kind_config_maps_the_ingress_ports():
    kind = yaml.safe_load((REPO / "k8s" / "kind-cluster.yaml").read_text())
    assert kind["apiVersion"] == "kind.x-k8s.io/v1alpha4" and kind["kind"] == "Cluster"
    node = kind["nodes"][0]
    assert node["labels"]["ingress-ready"] == "true"
    assert {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]} == {(80, 80), (443, 443)}


def test_operator_script_is_valid_bash():
    result = subprocess.run(
        ["bash", "-n", str(REPO / "scripts" / "install-operators.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "install-operators.sh"), "nonsense"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "unknown component" in result.stderr
