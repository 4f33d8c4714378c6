"""The node's Strimzi add-on (k8s/addons/50-strimzi.sh): upstream's install files placed so
that the operator runs in a namespace of its own and reconciles the application's."""

from __future__ import annotations

import importlib.util
import sys

import pytest
import yaml
from coinstream.crds import ArtifactUnavailable
from k8slib import render, schemas

pytestmark = pytest.mark.unit

RENDER_PY = render.REPO / "k8s" / "addons" / "manifests" / "strimzi" / "render.py"


@pytest.fixture(scope="module")
def manifests() -> list[dict]:
    sys.path.insert(0, str(render.REPO / "local"))
    spec = importlib.util.spec_from_file_location("strimzi_render", RENDER_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    try:
        text = module.render(
            "strimzi", "coinstream", "coinstream/strimzi-operator:1.2.0", "coinstream/strimzi-kafka:1.2.0-kafka-"
        )
    except ArtifactUnavailable as exc:  # the source release is not available: say which setting brings it
        pytest.fail(f"Strimzi's install files are not available: {exc}", pytrace=False)
    return [d for d in yaml.safe_load_all(text) if d]


def test_every_object_is_valid(manifests):
    errors = [e for doc in manifests for e in schemas.validate(doc, render.KUBE_VERSION)]
    assert not errors, "\n".join(errors)


def test_the_operator_runs_apart_and_watches_the_application_namespace(manifests):
    deployment = next(d for d in manifests if d["kind"] == "Deployment")
    assert deployment["metadata"]["namespace"] == "strimzi"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["STRIMZI_NAMESPACE"] == "coinstream"
    assert container["image"] == "coinstream/strimzi-operator:1.2.0"
    assert container["imagePullPolicy"] == "IfNotPresent"
    kafka_images = dict(line.split("=", 1) for line in env["STRIMZI_KAFKA_IMAGES"].split())
    assert kafka_images["4.3.1"] == "coinstream/strimzi-kafka:1.2.0-kafka-4.3.1"
    assert all(image.startswith("coinstream/strimzi-kafka:1.2.0-kafka-") for image in kafka_images.values())


def test_its_namespaced_rights_are_granted_where_it_works(manifests):
    bindings = [d for d in manifests if d["kind"] == "RoleBinding"]
    where = {(b["metadata"]["name"], b["metadata"]["namespace"]) for b in bindings}
    # the rights on Kafka resources in the watched namespace, leader election at home
    assert ("strimzi-cluster-operator", "coinstream") in where
    assert ("strimzi-cluster-operator-entity-operator-delegation", "coinstream") in where
    assert ("strimzi-cluster-operator-leader-election", "strimzi") in where
    assert all(s["namespace"] == "strimzi" for b in bindings for s in b["subjects"])
    assert not any(d["kind"] == "CustomResourceDefinition" for d in manifests)
