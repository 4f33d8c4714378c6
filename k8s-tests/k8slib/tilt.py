"""The Tiltfile as Tilt would load it: ``tiltfile-check`` (built by scripts/install-k8s-tools.sh)
runs it under Tilt's Starlark dialect with stand-ins for Tilt's functions and prints every call."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from . import render


def run_check(path: Path, context: str = "kind-coinstream") -> subprocess.CompletedProcess:
    return subprocess.run(
        [render.tool("tiltfile-check"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TILTFILE_CHECK_CONTEXT": context},
        check=False,
    )


def load(path: Path, context: str = "kind-coinstream") -> dict:
    """The calls the Tiltfile makes in a kube context ({"calls": [{"fn", "args", "kwargs"}, ...]});
    AssertionError if it does not load."""
    result = run_check(path, context)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def calls(tilt: dict, fn: str) -> list[dict]:
    return [c for c in tilt["calls"] if c["fn"] == fn]


def arg(call: dict, name: str, index: int):
    return call["kwargs"].get(name, call["args"][index] if len(call["args"]) > index else None)
