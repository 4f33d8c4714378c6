"""The CustomResourceDefinitions of the operators the chart targets, from where the operators come from.

The chart's custom resources are validated offline against these (k8s-tests) and a
cluster gets them applied before the chart. Each set is fetched once and cached
under ``<cache>/crds/<operator>-<version>`` (with a manifest, like the servers):

- spark-operator and prometheus-operator: their Go modules, through the Go module
  proxy (``go mod download`` checks each against the checksum database);
- Strimzi: no registry carries it, so its source release is read from the artifact
  mirror (``COINSTREAM_LOCAL_ARTIFACT_MIRROR``, for air-gapped machines) or else
  downloaded from the project's public release; the CRD files are then checked
  against a pinned digest, so both sources give the same bytes.

When no source answers, :class:`ArtifactUnavailable` says which setting to give.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from .runtime.config import LocalSettings
from .runtime.fetch import FetchError, cached, progress

MIRROR_ENV = LocalSettings.model_config["env_prefix"] + "ARTIFACT_MIRROR"

STRIMZI_VERSION = "1.2.0"
SPARK_OPERATOR_VERSION = "2.5.2"
PROMETHEUS_OPERATOR_VERSION = "0.93.0"

STRIMZI_ARCHIVE = f"strimzi-kafka-operator-{STRIMZI_VERSION}-src.tar.gz"
STRIMZI_RELEASE_URL = f"https://github.com/strimzi/strimzi-kafka-operator/archive/refs/tags/{STRIMZI_VERSION}.tar.gz"
STRIMZI_CRD_DIR = "packaging/install/cluster-operator/"
# sha256 over "<file> <sha256 of file>\n" of every 04x-Crd-*.yaml of the 1.2.0 release, sorted by name.
STRIMZI_CRDS_DIGEST = "6e35233f7f4e4063aeafa85a6b9891ddc634f1c30c9ece53a16f06efe829b0cd"
DOWNLOAD_TIMEOUT_S = (10.0, 60.0)


class ArtifactUnavailable(FetchError):
    """No source of an artifact could be reached: the message names the setting to give."""


@dataclass(frozen=True)
class GoModuleCrds:
    """CRD files inside a Go module's source."""

    name: str
    module: str
    version: str
    folder: str

    def fill(self, dest: Path, _settings: LocalSettings) -> None:
        source = go_module_dir(self.module, f"v{self.version}") / self.folder
        files = sorted(source.glob("*.yaml"))
        if not files:
            raise FetchError(f"no CRD files under {self.folder} in {self.module}@v{self.version}")
        for path in files:
            shutil.copyfile(path, dest / path.name)


@dataclass(frozen=True)
class StrimziCrds:
    name: str = "strimzi"
    version: str = STRIMZI_VERSION

    def fill(self, dest: Path, settings: LocalSettings) -> None:
        extract_strimzi_crds(strimzi_source(settings), dest)


OPERATORS = (
    StrimziCrds(),
    GoModuleCrds("spark-operator", "github.com/kubeflow/spark-operator/v2", SPARK_OPERATOR_VERSION, "config/crd/bases"),
    GoModuleCrds(
        "prometheus-operator",
        "github.com/prometheus-operator/prometheus-operator",
        PROMETHEUS_OPERATOR_VERSION,
        "example/prometheus-operator-crd",
    ),
)


def go_module_dir(module: str, version: str) -> Path:
    """The module's source in the Go module cache, downloaded through the proxy if missing."""
    if not shutil.which("go"):
        raise FetchError("go is not installed: the operators' CRDs come from their Go modules")
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd="/",
        check=False,
    )
    try:
        info = json.loads(proc.stdout)
    except ValueError:
        info = {}
    if proc.returncode != 0 or "Dir" not in info:
        raise FetchError(
            f"go mod download {module}@{version} failed: {info.get('Error') or proc.stderr.strip()[-300:]}"
        )
    return Path(info["Dir"])


def strimzi_source(settings: LocalSettings) -> bytes:
    """The Strimzi source release: from the artifact mirror when one is set, else its public release."""
    if settings.artifact_mirror:
        path = Path(settings.artifact_mirror) / STRIMZI_ARCHIVE
        if path.is_file():
            return path.read_bytes()
        raise ArtifactUnavailable(
            f"{STRIMZI_ARCHIVE} is not in the artifact mirror {settings.artifact_mirror} ({MIRROR_ENV})"
        )
    try:
        return _download(STRIMZI_RELEASE_URL, f"Strimzi {STRIMZI_VERSION} source")
    except requests.RequestException as exc:
        raise ArtifactUnavailable(
            f"the Strimzi {STRIMZI_VERSION} source release could not be downloaded ({type(exc).__name__}); "
            f"on a machine without internet set {MIRROR_ENV} to a folder holding {STRIMZI_ARCHIVE}"
        ) from None


def _download(url: str, label: str) -> bytes:
    """GET, showing progress as the Maven fetches do."""
    started = time.monotonic()
    last = [started]
    buf = io.BytesIO()
    with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT_S) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_content(1 << 16):
            buf.write(chunk)
            progress(label, f"{buf.tell() >> 20} MiB", started, last)
    sys.stderr.write(f"  fetched {label}: {buf.tell() >> 20} MiB in {time.monotonic() - started:.0f}s\n")
    return buf.getvalue()


def crd_digest(files: dict[str, bytes]) -> str:
    lines = "".join(f"{name} {hashlib.sha256(data).hexdigest()}\n" for name, data in sorted(files.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def extract_strimzi_crds(archive: bytes, dest: Path) -> None:
    """The release's CRD files (with or without a top folder in the archive), checked against the pin."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
            for member in tf.getmembers():
                folder, _, name = member.name.rpartition("/")
                if member.isfile() and (folder + "/").endswith(STRIMZI_CRD_DIR) and "-Crd-" in name:
                    extracted = tf.extractfile(member)
                    if extracted is not None:
                        files[name] = extracted.read()
    except (tarfile.TarError, EOFError) as exc:
        raise FetchError(f"broken Strimzi source archive: {exc}") from None
    if crd_digest(files) != STRIMZI_CRDS_DIGEST:
        raise FetchError(
            f"the Strimzi CRDs in the archive ({len(files)} files) do not match Strimzi {STRIMZI_VERSION}'s"
        )
    for name, data in files.items():
        (dest / name).write_bytes(data)


def ensure(settings: LocalSettings | None = None) -> list[Path]:
    """One folder of CRD files per operator, at the versions the chart targets; fetched if not cached."""
    settings = settings or LocalSettings()
    return [
        cached(
            f"{op.name} {op.version} CRDs",
            settings.cache / "crds" / f"{op.name}-{op.version}",
            lambda tmp, op=op: op.fill(tmp, settings),
            final=(ArtifactUnavailable,),
        )
        for op in OPERATORS
    ]


def main() -> int:
    """``python -m coinstream.crds``: fetch them and print their folders (for scripts and Tilt)."""
    try:
        for folder in ensure():
            print(folder)
    except FetchError as exc:
        print(f"coinstream crds: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
