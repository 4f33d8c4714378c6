"""Strimzi 1.2.0's cluster-operator install files (packaging/install/cluster-operator of its
source release, CRDs left out: k8s-up applies those) rendered for this node:

- the operator runs in OPERATOR_NAMESPACE and watches WATCHED_NAMESPACE (upstream's way to
  watch another namespace: STRIMZI_NAMESPACE set to it, and the RoleBindings that grant the
  operator its namespaced rights (020, 023, 031) repeated there), so the application
  namespace's default-deny NetworkPolicies do not cut the operator off the API server;
- the operator and Kafka images -> the ones images/platform/strimzi.sh builds
  (imagePullPolicy IfNotPresent: they are loaded into the node, there is no registry);
- the Kafka image for Kafka Exporter / Cruise Control stays our Kafka image, which has
  neither (they are not reachable here): a Kafka resource must not enable them.

Usage: python render.py OPERATOR_NAMESPACE WATCHED_NAMESPACE OPERATOR_IMAGE KAFKA_IMAGE_PREFIX > manifests.yaml
(KAFKA_IMAGE_PREFIX: e.g. coinstream/strimzi-kafka:1.2.0-kafka-, the Kafka version follows).
The files come from $K8S_CACHE/strimzi-1.2.0/src when the image build extracted it, else
from the source release (COINSTREAM_LOCAL_ARTIFACT_MIRROR or the public release).
"""

from __future__ import annotations

import io
import os
import re
import sys
import tarfile
from pathlib import Path

import yaml

INSTALL_DIR = "packaging/install/cluster-operator/"
VERSION = "1.2.0"
# RoleBindings of the operator's rights in the namespaces it watches (022 stays with the operator)
WATCHED_ROLEBINDINGS = ("020-RoleBinding", "023-RoleBinding", "031-RoleBinding")
CLUSTER_KINDS = {"ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Namespace"}


def install_files() -> dict[str, str]:
    cache = Path(os.environ.get("COINSTREAM_K8S_CACHE", Path.home() / ".cache/coinstream/k8s"))
    src = cache / f"strimzi-{VERSION}" / "src" / INSTALL_DIR
    if src.is_dir():
        return {p.name: p.read_text() for p in sorted(src.glob("*.yaml"))}
    from coinstream.crds import strimzi_source
    from coinstream.runtime.config import LocalSettings

    files: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(strimzi_source(LocalSettings()))) as tf:
        for m in tf.getmembers():
            folder, _, name = m.name.rpartition("/")
            if m.isfile() and (folder + "/").endswith(INSTALL_DIR) and name.endswith(".yaml"):
                files[name] = tf.extractfile(m).read().decode()  # type: ignore[union-attr]
    return dict(sorted(files.items()))


def _place(doc: dict, namespace: str) -> dict:
    if doc["kind"] not in CLUSTER_KINDS:
        doc["metadata"]["namespace"] = namespace
    return doc


def render(operator_ns: str, watched_ns: str, operator_image: str, kafka_prefix: str) -> str:
    docs: list[tuple[str, dict]] = []
    for name, text in install_files().items():
        if "-Crd-" in name:
            continue
        text = re.sub(r"\bnamespace: myproject\b", f"namespace: {operator_ns}", text)
        # image references of the upstream files, whatever registry they name
        text = re.sub(r"[A-Za-z0-9.-]+(?::[0-9]+)?/strimzi/operator:" + re.escape(VERSION), operator_image, text)
        text = re.sub(r"[A-Za-z0-9.-]+(?::[0-9]+)?/strimzi/kafka:" + re.escape(VERSION) + "-kafka-", kafka_prefix, text)
        doc = yaml.safe_load(text)
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["imagePullPolicy"] = "IfNotPresent"
            for env in container["env"]:
                if env["name"] == "STRIMZI_NAMESPACE":
                    env.pop("valueFrom", None)
                    env["value"] = watched_ns
        docs.append((name, _place(doc, operator_ns)))
        if name.startswith(WATCHED_ROLEBINDINGS) and watched_ns != operator_ns:
            docs.append((name, _place(yaml.safe_load(text), watched_ns)))
    return "---\n".join(
        f"# from Strimzi {VERSION} {INSTALL_DIR}{name}\n" + yaml.safe_dump(doc, sort_keys=False) for name, doc in docs
    )


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.stdout.write(render(*sys.argv[1:]))
