"""The Tiltfile loads under Tilt's Starlark dialect with Tilt's signatures (tiltfile-check,
built by scripts/install-k8s-tools.sh), and what it declares matches the chart, the kind
config and the operator script."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from k8slib import dockerfiles, render

from coinstream import crds
from k8slib.render import REPO
from k8slib.tilt import arg, calls, run_check

pytestmark = pytest.mark.unit


def test_checker_rejects_what_tilt_would(tmp_path):
    cases = {
        "docker_build('x', '.', dockerfil='D')\n": "unexpected keyword argument",
        "k8s_resource('a', port_forward=['1:1'])\n": "unexpected keyword argument",
        "local_resource(cmd='true')\n": 'missing argument "name"',
        "load('ext://helm_resource', 'helm_resource')\n": "cannot be checked offline",
        "helm_resource('x', 'y')\n": "undefined: helm_resource",
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
    assert len(calls(tilt, "k8s_yaml")) == 1
    # What Tilt would apply renders, and is policy-clean (test_k8s_policy checks this combination).
    result = render.template(tuple(v.split("/")[-1] for v in helm_call["kwargs"]["values"]),
                             tuple(helm_call["kwargs"].get("set", [])))
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
    used = {c["image"].split(":")[0] for d in docs if d["kind"] in ("Deployment", "StatefulSet")
            for c in d["spec"]["template"]["spec"]["containers"] if c["image"].startswith("coinstream-")}
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
    assert {d["metadata"]["name"] for d in docs if d["kind"] in ("Deployment", "StatefulSet")} <= \
        {arg(c, "workload", 0) for c in calls(tilt, "k8s_resource")}


def test_tiltfile_forwards_ports_and_runs_the_live_tests(tilt):
    forwards = [p for c in calls(tilt, "k8s_resource") for p in c["kwargs"].get("port_forwards", [])]
    assert "8000:8000" in forwards  # the api
    live = [c for c in calls(tilt, "local_resource") if "-m live" in (c["kwargs"].get("cmd") or "")]
    assert len(live) == 1 and "k8s-tests" in live[0]["kwargs"]["cmd"]
    assert live[0]["kwargs"]["env"]["COINSTREAM_K8S_INSTALL"] == "0"
    assert {"api", "price-lander"} <= set(live[0]["kwargs"]["resource_deps"])


def test_tiltfile_only_talks_to_the_kind_cluster(tilt):
    (contexts,) = calls(tilt, "allow_k8s_contexts")
    kind = yaml.safe_load((REPO / "k8s" / "kind-cluster.yaml").read_text())
    assert contexts["args"][0] == [f"kind-{kind['name']}"]


def test_kind_config_maps_the_ingress_ports():
    kind = yaml.safe_load((REPO / "k8s" / "kind-cluster.yaml").read_text())
    assert kind["apiVersion"] == "kind.x-k8s.io/v1alpha4" and kind["kind"] == "Cluster"
    node = kind["nodes"][0]
    assert node["labels"]["ingress-ready"] == "true"
    assert {(m["containerPort"], m["hostPort"]) for m in node["extraPortMappings"]} == {(80, 80), (443, 443)}


def test_operator_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(REPO / "scripts" / "install-operators.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    result = subprocess.run(["bash", str(REPO / "scripts" / "install-operators.sh"), "nonsense"], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown component" in result.stderr
