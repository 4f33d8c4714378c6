"""Strimzi 1.2.0's cluster-operator install files (packaging/install/cluster-operator of its
source release, CRDs left out: k8s-up applies those) rendered for this node:

- every ``myproject`` namespace reference -> the target namespace (the operator runs in it
  and watches it: STRIMZI_NAMESPACE is the pod's own namespace upstream);
- the operator and Kafka images -> the ones images/platform/strimzi.sh builds
  (imagePullPolicy IfNotPresent: they are loaded into the node, there is no registry);
- the Kafka image for Kafka Exporter / Cruise Control stays our Kafka image, which has
  neither (they are not reachable here): a Kafka resource must not enable them.

Usage: python render.py NAMESPACE OPERATOR_IMAGE KAFKA_IMAGE_PREFIX > manifests.yaml
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

INSTALL_DIR = "packaging/install/cluster-operator/"
VERSION = "1.2.0"


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


def render(namespace: str, operator_image: str, kafka_prefix: str) -> str:
    docs = []
    for name, text in install_files().items():
        if "-Crd-" in name:
            continue
        text = re.sub(r"\bnamespace: myproject\b", f"namespace: {namespace}", text)
        # image references of the upstream files, whatever registry they name
        text = re.sub(r"[A-Za-z0-9.-]+(?::[0-9]+)?/strimzi/operator:" + re.escape(VERSION), operator_image, text)
        text = re.sub(r"[A-Za-z0-9.-]+(?::[0-9]+)?/strimzi/kafka:" + re.escape(VERSION) + "-kafka-", kafka_prefix, text)
        if name.startswith("060-Deployment"):
            text = re.sub(r"(\n(\s+)image: " + re.escape(operator_image) + r")\n",
                          r"\1\n\2imagePullPolicy: IfNotPresent\n", text, count=1)
        docs.append(f"# from Strimzi {VERSION} {INSTALL_DIR}{name}\n" + text.strip() + "\n")
    return "---\n".join(docs)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.stdout.write(render(*sys.argv[1:]))
