"""Running helm on the chart and reading what it renders.

helm comes from scripts/install-k8s-tools.sh (``go install`` into the tools cache).
Every call passes ``--kube-version``, so rendering never depends on how the helm
binary was built.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "coinstream"
VALUES_FILES = ("values.yaml", "values-kind.yaml", "values-production.yaml")
# The Kubernetes version the chart is rendered for and validated against (kubernetes-validate bundles its schemas).
KUBE_VERSION = "1.35.0"
RELEASE = "coinstream"
NAMESPACE = "coinstream"
TOOLS_BIN = Path(os.environ.get("COINSTREAM_TOOLS", Path.home() / ".cache" / "coinstream" / "tools")) / "bin"
INSTALL_HINT = (
    "run scripts/install-k8s-tools.sh (go install of helm and kubeconform into ~/.cache/coinstream/tools/bin)"
)


class ToolMissing(RuntimeError):
    pass


def tool(name: str) -> str:
    """Path of a tool built by install-k8s-tools.sh (the cache first, then PATH)."""
    candidate = TOOLS_BIN / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ToolMissing(f"{name} not found: {INSTALL_HINT}")


@dataclass(frozen=True)
class HelmResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def helm(*args: str, timeout: float = 120) -> HelmResult:
    proc = subprocess.run([tool("helm"), *args], capture_output=True, text=True, timeout=timeout, check=False)
    return HelmResult(proc.returncode, proc.stdout, proc.stderr)


def template_args(
    values: tuple[str, ...] = (), sets: tuple[str, ...] = (), chart: Path = CHART, extra: tuple[str, ...] = ()
) -> list[str]:
    args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    for v in values:
        args += ["-f", str(chart / v) if not os.path.isabs(v) else v]
    for s in sets:
        args += ["--set", s]
    return args + list(extra)


def template(
    values: tuple[str, ...] = (), sets: tuple[str, ...] = (), chart: Path = CHART, extra: tuple[str, ...] = ()
) -> HelmResult:
    return helm(*template_args(values, sets, chart, extra))


def parse(stream: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(stream) if d]


@functools.lru_cache(maxsize=32)
def render(values: tuple[str, ...] = (), sets: tuple[str, ...] = ()) -> tuple[dict, ...]:
    """Rendered objects of the chart (cached; callers must not mutate them)."""
    result = template(values, sets)
    if not result.ok:
        raise AssertionError(f"helm template {values} {sets} failed:\n{result.stderr}")
    return tuple(parse(result.stdout))


def by_kind(docs, kind: str) -> list[dict]:
    return [d for d in docs if d.get("kind") == kind]


def find(docs, kind: str, name: str) -> dict:
    for d in docs:
        if d.get("kind") == kind and d["metadata"]["name"] == name:
            return d
    raise KeyError(f"{kind}/{name} not rendered")
