"""Every rendered object is valid, strictly: built-in kinds against Kubernetes' schemas,
custom resources against the exact CRDs the chart targets; values.schema.json rejects
values of the wrong type."""

from __future__ import annotations

import copy
import re
import subprocess

import pytest
from k8slib import render, schemas
from k8slib.render import find

pytestmark = pytest.mark.unit

FULL = render.RELEASE


def test_the_operators_crds_are_found():
    kinds = {k for _v, k in schemas.crd_validators()}
    assert {
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "SparkApplication",
        "ServiceMonitor",
        "PodMonitor",
        "PrometheusRule",
    } <= kinds


def test_every_rendered_object_is_valid(rendered):
    errors = [e for doc in rendered for e in schemas.validate(doc, render.KUBE_VERSION)]
    assert not errors, "\n".join(errors)


def test_custom_resources_use_the_served_versions(rendered):
    custom = [
        d
        for d in rendered
        if "." in d["apiVersion"].split("/")[0] and not d["apiVersion"].split("/")[0].endswith("k8s.io")
    ]
    assert {d["apiVersion"] for d in custom} <= {
        "kafka.strimzi.io/v1",
        "sparkoperator.k8s.io/v1beta2",
        "monitoring.coreos.com/v1",
    }
    assert all((d["apiVersion"], d["kind"]) in schemas.crd_validators() for d in custom)


# The validators themselves must reject what the API server would: one broken copy per kind.
BREAKAGES = [
    (
        "Deployment",
        f"{FULL}-api",
        lambda d: d["spec"]["template"]["spec"]["containers"][0].update(resourcez={}),
        "'resourcez' was unexpected",
    ),
    ("Deployment", f"{FULL}-api", lambda d: d["spec"].update(replicas="two"), "is not of type"),
    ("Service", f"{FULL}-api", lambda d: d["spec"]["ports"][0].update(port="http"), "is not of type"),
    ("NetworkPolicy", f"{FULL}-api", lambda d: d["spec"].update(podSelectr={}), "'podSelectr' was unexpected"),
    ("Kafka", FULL, lambda d: d["spec"]["kafka"].update(listenerz=[]), "'listenerz' was unexpected"),
    ("KafkaNodePool", "combined", lambda d: d["spec"]["storage"].update(type="cloud"), "is not one of"),
    ("KafkaTopic", f"{FULL}-coin-prices", lambda d: d["spec"].update(partitions="6"), "is not of type"),
    ("SparkApplication", f"{FULL}-price-lander", lambda d: d["spec"]["driver"].update(cores="1"), "is not of type"),
    ("SparkApplication", f"{FULL}-price-lander", lambda d: d["spec"].update(type="Pythn"), "is not one of"),
    (
        "ServiceMonitor",
        f"{FULL}-api",
        lambda d: d["spec"]["endpoints"][0].update(portz="http"),
        "'portz' was unexpected",
    ),
    (
        "PrometheusRule",
        f"{FULL}-coinstream",
        lambda d: d["spec"]["groups"][0].update(rulez=[]),
        "'rulez' was unexpected",
    ),
]


@pytest.mark.parametrize("kind,name,breakage,message", BREAKAGES, ids=[f"{b[0]}-{b[3][:12]}" for b in BREAKAGES])
def test_validation_rejects_a_broken_object(kind_docs, kind, name, breakage, message):
    doc = copy.deepcopy(find(kind_docs, kind, name))
    assert schemas.validate(doc, render.KUBE_VERSION) == []
    breakage(doc)
    errors = schemas.validate(doc, render.KUBE_VERSION)
    assert any(message in e for e in errors), errors


def test_an_unknown_kind_is_an_error():
    errors = schemas.validate(
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}, render.KUBE_VERSION
    )
    assert errors and "no schema" in errors[0]


WRONG_TYPES = [
    ("--set", "api.replicas=two", "/api/replicas"),
    ("--set-string", "api.workers=2", "/api/workers"),
    ("--set", "ingress.enabled=maybe", "/ingress/enabled"),
    ("--set", "image.tag=latest", "/image/tag"),
    ("--set", "kafka.topics[0].partitions=six", "/kafka/topics/0/partitions"),
    ("--set", "settings.logLevel=LOUD", "/settings/logLevel"),
    ("--set", "api.settings.HTTP_PORT=1", "'HTTP_PORT' does not match"),
    (
        "--set",
        "containerSecurityContext.readOnlyRootFilesystem=false",
        "/containerSecurityContext/readOnlyRootFilesystem",
    ),
    ("--set", "api.unknownKey=1", "unknownKey"),
    ("--set", "api.resources.limits=null", "/api/resources"),
]


@pytest.mark.parametrize("flag,override,where", WRONG_TYPES, ids=[w[1] for w in WRONG_TYPES])
def test_values_schema_rejects_wrong_values(helm_bin, flag, override, where):
    result = render.helm(*render.template_args(("values-kind.yaml",)), flag, override)
    assert not result.ok, f"{override} was accepted"
    assert where in result.stderr, result.stderr


@pytest.fixture(scope="module")
def kubeconform_location(helm_bin, tmp_path_factory) -> str:
    kinds = {(d["apiVersion"], d["kind"]) for v in render.VALUES_FILES for d in render.render((v,))}
    return schemas.write_kubeconform_schemas(tmp_path_factory.mktemp("kubeconform"), render.KUBE_VERSION, kinds)


def kubeconform(stream: str, location: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [render.tool("kubeconform"), "-strict", "-summary", "-schema-location", location, "-"],
        input=stream,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_kubeconform_agrees(values_file, kubeconform_location):
    """A second, independent validator (kubeconform, Go) over the same schemas, offline."""
    result = kubeconform(render.template((values_file,)).stdout, kubeconform_location)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Invalid: 0, Errors: 0, Skipped: 0", result.stdout), result.stdout


def test_kubeconform_rejects_broken_objects(kubeconform_location):
    stream = render.template(("values-kind.yaml",)).stdout
    broken = stream.replace("revisionHistoryLimit: 3", "revisionHistoryLimit: three", 1).replace(
        "topicName:", "topicNme:", 1
    )
    result = kubeconform(broken, kubeconform_location)
    assert result.returncode != 0
    assert "revisionHistoryLimit" in result.stdout and "topicNme" in result.stdout
