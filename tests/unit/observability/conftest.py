"""promtool for the observability tests: missing is a failure with the fix, never a skip."""

import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail(
            "promtool is not installed: `apt-get install -y --no-install-recommends prometheus` (Debian) provides it"
        )
    return path


@pytest.fixture(scope="session")
def run_promtool(promtool):
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, check=False)

    return run
