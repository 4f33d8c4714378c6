"""The container images: Dockerfiles that exist are multi-stage, pinned and non-root, the
chart's images are the ones they build, and the build context leaves the clutter out."""

from __future__ import annotations

import fnmatch

import pytest
from k8slib import dockerfiles, render
from k8slib.render import REPO

pytestmark = pytest.mark.unit

# Where each image of the chart is built from (values key -> Dockerfile).
IMAGES = {
    "api": "services/api/Dockerfile",
    "ingest": "services/ingest/Dockerfile",
    "query": "services/query/Dockerfile",
    "coingeckoSim": "services/coingecko_sim/Dockerfile",
    "lander": "spark-apps/price_lander/Dockerfile",
}
EXISTING = sorted(p.relative_to(REPO).as_posix() for p in [*REPO.glob("services/*/Dockerfile"), *REPO.glob("spark-apps/*/Dockerfile")])


def test_some_dockerfiles_exist():
    assert EXISTING, "no Dockerfile under services/ or spark-apps/"
    assert set(EXISTING) <= set(IMAGES.values()), f"a Dockerfile the chart does not deploy: {set(EXISTING) - set(IMAGES.values())}"


@pytest.mark.parametrize("dockerfile", EXISTING)
def test_dockerfile_is_pinned_multistage_non_root(dockerfile):
    problems = dockerfiles.image_problems(REPO / dockerfile)
    assert not problems, "\n".join(problems)


BAD_DOCKERFILES = {
    "unpinned": ("FROM python:3.11-slim AS build\nRUN true\nFROM python\nCOPY --from=build /a /a\nUSER 10001\n", "not a pinned tag"),
    "latest": ("FROM python:latest AS build\nFROM python:3.11.9-slim\nCOPY --from=build /a /a\nUSER app\n", "not a pinned tag"),
    "root": ("FROM python:3.11.9-slim AS build\nFROM python:3.11.9-slim\nCOPY --from=build /a /a\nUSER root\n", "runs as 'root'"),
    "no-user": ("FROM python:3.11.9-slim AS build\nFROM python:3.11.9-slim\nCOPY --from=build /a /a\n", "sets no USER"),
    "single": ("FROM python:3.11.9-slim\nUSER 10001\n", "single stage"),
    "arg-root": ("ARG UID=0\nFROM python:3.11.9-slim AS b\nFROM python:3.11.9-slim\nARG UID\nCOPY --from=b /a /a\nUSER ${UID}\n", "runs as '0'"),
    "tools": ("FROM python:3.11.9-slim AS b\nFROM python:3.11.9-slim\nRUN apt-get update && apt-get install -y gcc\n"
              "COPY --from=b /a /a\nUSER 1\n", "installs gcc"),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCKERFILES))
def test_dockerfile_check_bites(tmp_path, case):
    text, message = BAD_DOCKERFILES[case]
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    assert any(message in p for p in dockerfiles.image_problems(path))


def test_dockerfile_check_resolves_args(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text("ARG PY=python:3.11.9-slim\nFROM ${PY} AS build\nRUN true\nFROM ${PY}\nARG UID=10001\n"
                    "COPY --from=build /opt /opt\nUSER ${UID}:${UID}\n")
    assert dockerfiles.image_problems(path) == []


def test_chart_images_are_the_built_ones(kind_docs):
    """Every coinstream image the chart deploys has a Dockerfile entry above (Tilt builds them)."""
    values = render.parse((render.CHART / "values.yaml").read_text())[0]
    for key in IMAGES:
        assert values[key]["image"]["repository"].startswith("coinstream-")


def _ignored(patterns: list[str], path: str) -> bool:
    result = False
    for pat in patterns:
        negate = pat.startswith("!")
        pat = pat.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*") or path.startswith(pat + "/"):
            result = not negate
    return result


def test_dockerignore_keeps_the_context_small():
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for clutter in (".git/config", ".venv/bin/python", "k8s-tests/conftest.py", "helm/coinstream/values.yaml",
                    "tests/conftest.py", ".pytest_cache/v", "services/api/coinstream_api/__pycache__/app.cpython-311.pyc",
                    "bench/results/x.json"):
        assert _ignored(patterns, clutter), f"{clutter} would be sent to the Docker daemon"
    for needed in ("services/common/coinstream_common/settings.py", "services/api/coinstream_api/app.py",
                   "services/ingest/requirements.txt", "spark-apps/price_lander/coinstream_lander/job.py",
                   "services/query/Dockerfile"):
        assert not _ignored(patterns, needed), f"{needed} is needed by an image build"
