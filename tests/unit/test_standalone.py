"""The project stands alone: nothing in it depends on notes or folders kept beside the checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
# Spelled in pieces so that this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        [
            r"\.\./" + "shared",
            "shared/" + "(?:crds|mirror)",
            "DESIGN" + r"\.md",
            "RUNTIMES" + r"\.md",
            "K8S-" + "FACTS",
            r"\b[Ii]ssue" + r" #?\d+",  # a tracker's issue: say what it asked instead
            r"\bthe issue" + r" (?:asks|says|wants)",
        ]
    )
)
ALLOWED = {".ci/run"}  # CI names the artifact mirror it is given


def test_no_tracked_file_but_ci_refers_to_the_folder_beside_the_checkout():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    offenders = []
    for name in filter(None, files.decode().split("\0")):
        path = REPO / name
        if name in ALLOWED or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        offenders += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_a_reference():
    assert OUTSIDE.search("CRDs in `" + "../" + "shared" + "/crds`")
    assert OUTSIDE.search("as iss" + "ue 6 asks") and OUTSIDE.search("what the " + "issue asks")
    assert not OUTSIDE.search("issue apiserver kube-apiserver")  # k8s/node/pki.sh's certificate helper
    assert not OUTSIDE.search("services/common is the shared library")
