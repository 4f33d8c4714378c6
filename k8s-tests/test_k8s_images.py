"""The container images: Dockerfiles that exist are multi-stage, pinned and non-root, the
chart's images are the ones they build, and the build context leaves the clutter out."""

from __future__ import annotations

import fnmatch

import pytest
from k8slib import dockerfiles, render
from k8slib.render import REPO
from k8slib.tilt import arg, calls

pytestmark = pytest.mark.unit


def _service(folder: str, package: str, port: int, workers: int = 2) -> tuple[str, dict[str, str]]:
    return "services/Dockerfile", {"SERVICE": folder, "PACKAGE": package, "PORT": str(port), "WORKERS": str(workers)}


# How each image of the chart is built (values key -> Dockerfile and its build arguments):
# the HTTP services share services/Dockerfile, the lander has its own on apache/spark.
IMAGES = {
    "api": _service("api", "coinstream_api", 8000),
    "ingest": _service("ingest", "coinstream_ingest", 8001, workers=1),
    "query": _service("query", "coinstream_query", 8002),
    "coingeckoSim": _service("coingecko_sim", "coingecko_sim", 8100, workers=1),
    "lander": ("spark-apps/price_lander/Dockerfile", {}),
}
EXISTING = sorted(
    p.relative_to(REPO).as_posix()
    for p in [
        *REPO.glob("services/Dockerfile"),
        *REPO.glob("services/*/Dockerfile"),
        *REPO.glob("spark-apps/*/Dockerfile"),
    ]
)


def test_some_dockerfiles_exist():
    assert EXISTING, "no Dockerfile under services/ or spark-apps/"
    built = {dockerfile for dockerfile, _args in IMAGES.values()}
    assert set(EXISTING) <= built, f"a Dockerfile the chart does not deploy: {set(EXISTING) - built}"


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_is_pinned_multistage_non_root(image):
    dockerfile, build_args = IMAGES[image]
    if dockerfile not in EXISTING:
        pytest.fail(f"{dockerfile} (the {image} image) does not exist")
    problems = dockerfiles.image_problems(REPO / dockerfile, build_args)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile_copies_what_the_build_args_name(image):
    """Each image's build arguments point at its own requirements and package."""
    dockerfile, build_args = IMAGES[image]
    sources = dockerfiles.copy_sources(REPO / dockerfile, build_args)
    assert any(s.endswith(("requirements.lock", "requirements.txt")) for s in sources), sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source} is not in the build context"
    if "PACKAGE" in build_args:
        assert f"services/{build_args['SERVICE']}/{build_args['PACKAGE']}" in sources
        assert (REPO / "services" / build_args["SERVICE"] / build_args["PACKAGE"] / "app.py").is_file()


def test_service_image_needs_its_build_args():
    problems = dockerfiles.image_problems(REPO / "services/Dockerfile")
    assert any("build argument SERVICE has no value" in p for p in problems), problems
    assert any("build argument PACKAGE has no value" in p for p in problems), problems
    root = dockerfiles.image_problems(REPO / "services/Dockerfile", {**IMAGES["api"][1], "UID": "0"})
    assert any("runs as '0:0'" in p for p in root), root


BAD_DOCKERFILES = {
    "unpinned": (
        "FROM python:3.11-slim AS build\nRUN true\nFROM python\nCOPY --from=build /a /a\nUSER 10001\n",
        "not a pinned tag",
    ),
    "latest": (
        "FROM python:latest AS build\nFROM python:3.11.9-slim\nCOPY --from=build /a /a\nUSER app\n",
        "not a pinned tag",
    ),
    "root": (
        "FROM python:3.11.9-slim AS build\nFROM python:3.11.9-slim\nCOPY --from=build /a /a\nUSER root\n",
        "runs as 'root'",
    ),
    "no-user": ("FROM python:3.11.9-slim AS build\nFROM python:3.11.9-slim\nCOPY --from=build /a /a\n", "sets no USER"),
    "single": ("FROM python:3.11.9-slim\nUSER 10001\n", "single stage"),
    "arg-root": (
        "ARG UID=0\nFROM python:3.11.9-slim AS b\nFROM python:3.11.9-slim\nARG UID\nCOPY --from=b /a /a\nUSER ${UID}\n",
        "runs as '0'",
    ),
    "tools": (
        (
            "FROM python:3.11.9-slim AS b\nFROM python:3.11.9-slim\nRUN apt-get update && apt-get install -y gcc\n"
            "COPY --from=b /a /a\nUSER 1\n"
        ),
        "installs gcc",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DOCKERFILES))
def test_dockerfile_check_bites(tmp_path, case):
    text, message = BAD_DOCKERFILES[case]
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    assert any(message in p for p in dockerfiles.image_problems(path))


def test_dockerfile_check_resolves_args(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(
        "ARG PY=python:3.11.9-slim\nFROM ${PY} AS build\nRUN true\nFROM ${PY}\nARG UID=10001\n"
        "COPY --from=build /opt /opt\nUSER ${UID}:${UID}\n"
    )
    assert dockerfiles.image_problems(path) == []


def test_dockerfile_check_applies_build_args(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(
        "ARG PY\nFROM ${PY} AS build\nARG SRC\nCOPY src/${SRC} /app/${SRC}\nFROM ${PY}\nARG UID=10001\n"
        "COPY --from=build /app /app\nUSER ${UID}:${UID}\n"
    )
    assert dockerfiles.image_problems(path, {"PY": "python:3.11.9-slim", "SRC": "x"}) == []
    assert dockerfiles.copy_sources(path, {"SRC": "x"}) == ["src/x"]
    unpinned = dockerfiles.image_problems(path, {"SRC": "x"})
    assert any("not a pinned tag" in p for p in unpinned), unpinned
    assert any(
        "build argument SRC has no value" in p for p in dockerfiles.image_problems(path, {"PY": "python:3.11.9-slim"})
    )
    assert any(
        "runs as '0:0'" in p
        for p in dockerfiles.image_problems(path, {"PY": "python:3.11.9-slim", "SRC": "x", "UID": "0"})
    )


def test_chart_images_are_the_built_ones(kind_docs, tilt):
    """Every coinstream image the chart deploys has an entry above, and Tilt builds it from
    that Dockerfile with those build arguments."""
    values = render.parse((render.CHART / "values.yaml").read_text())[0]
    built = {arg(c, "ref", 0): c["kwargs"] for c in calls(tilt, "docker_build")}
    for key, (dockerfile, build_args) in IMAGES.items():
        repository = values[key]["image"]["repository"]
        assert repository.startswith("coinstream-")
        assert built[repository]["dockerfile"] == dockerfile, repository
        assert (built[repository].get("build_args") or {}) == build_args, repository


def _ignored(patterns: list[str], path: str) -> bool:
    result = False
    for pat in patterns:
        negate = pat.startswith("!")
        pat = pat.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*") or path.startswith(pat + "/"):
            result = not negate
    return result


def test_dockerignore_keeps_the_context_small():
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for clutter in (
        ".git/config",
        ".venv/bin/python",
        "k8s-tests/conftest.py",
        "helm/coinstream/values.yaml",
        "tests/conftest.py",
        ".pytest_cache/v",
        "services/api/coinstream_api/__pycache__/app.cpython-311.pyc",
        "bench/results/x.json",
    ):
        assert _ignored(patterns, clutter), f"{clutter} would be sent to the Docker daemon"
    for needed in (
        "services/common/coinstream_common/settings.py",
        "services/common/coinstream_contract/events.py",
        "services/api/coinstream_api/app.py",
        "services/ingest/requirements.lock",
        "spark-apps/price_lander/coinstream_lander/job.py",
        "services/Dockerfile",
    ):
        assert not _ignored(patterns, needed), f"{needed} is needed by an image build"
