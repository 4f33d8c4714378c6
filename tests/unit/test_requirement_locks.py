"""Each service image's lock is what the test suite runs with.

services/<svc>/requirements.lock pins the full closure of the service's requirements.txt;
services/Dockerfile installs exactly it. Every pin must be the version installed here (the
.venv the tests import from), every requirement of requirements.txt must be pinned at a
version it allows, and nothing the closure reaches may be missing (scripts/lock-requirements.py
--check recomputes it). `make install` installs the project with every lock as a constraint,
so a fresh .venv holds the locked versions and this test holds there too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.name for p in (REPO / "services").glob("*/requirements.txt"))
PIN = re.compile(r"^([a-z0-9][a-z0-9-]*)==([^\s=;]+)$")


def _lines(path: Path) -> list[str]:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def _pins(service: str) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in _lines(REPO / "services" / service / "requirements.lock"):
        m = PIN.match(line)
        assert m, f"{service}: {line!r} is not a canonical name==version pin"
        assert m.group(1) not in pins, f"{service}: {m.group(1)} pinned twice"
        pins[m.group(1)] = m.group(2)
    return pins


def test_every_service_image_has_a_lock():
    assert set(SERVICES) >= {"api", "coingecko_sim", "ingest", "query"}
    for service in SERVICES:
        assert (REPO / "services" / service / "requirements.lock").is_file(), f"{service} has no requirements.lock"


@pytest.mark.parametrize("service", SERVICES)
def test_every_pin_is_the_installed_version(service):
    wrong = {}
    for name, version in _pins(service).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"{service}: locked vs installed {wrong}; run scripts/lock-requirements.py after `make install`"


@pytest.mark.parametrize("service", SERVICES)
def test_every_requirement_is_pinned_at_a_version_it_allows(service):
    pins = _pins(service)
    for line in _lines(REPO / "services" / service / "requirements.txt"):
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{service}: {req} of requirements.txt is not in the lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{service}: {req} but the lock has {pins[name]}"


def test_the_locks_hold_the_whole_closure():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lock-requirements.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_the_image_installs_the_lock_and_nothing_else():
    dockerfile = (REPO / "services" / "Dockerfile").read_text()
    installs = [ln for ln in dockerfile.splitlines() if "pip install" in ln and not ln.lstrip().startswith("#")]
    assert installs == [
        "RUN /opt/venv/bin/pip install --no-deps -r /tmp/requirements.lock && /opt/venv/bin/pip check"
    ], installs
    assert "COPY services/${SERVICE}/requirements.lock /tmp/requirements.lock" in dockerfile


def test_make_install_constrains_the_venv_with_every_lock():
    out = subprocess.run(
        ["make", "-n", "-B", ".venv/.installed"], cwd=REPO, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    (pip,) = [ln for ln in out.splitlines() if "pip install -q -e" in ln]
    for service in SERVICES:
        assert f"-c services/{service}/requirements.lock" in pip, pip
