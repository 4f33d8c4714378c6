"""k8s-tests: the offline half (helm lint/template, strict schemas, CRDs, policies) runs
anywhere with the tools of scripts/install-k8s-tools.sh; the live half (marker `live`)
needs the cluster in KUBECONFIG and skips, saying why, without one."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from k8slib import render, tilt as tiltfile  # noqa: E402


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
