"""Unpacking server archives: tarballs whose jars are hard links (Trino's) unpack with the top directory stripped."""

from __future__ import annotations

import io
import tarfile

import pytest
from coinstream.runtime import fetch

pytestmark = pytest.mark.unit


def test_hard_links_survive_stripping_the_top_directory(tmp_path):
    archive = tmp_path / "server-1.tar.gz"
    payload = b"jar bytes"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("server-1/lib/a.jar")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
        link = tarfile.TarInfo("server-1/plugin/hive/a.jar")
        link.type = tarfile.LNKTYPE
        link.linkname = "server-1/lib/a.jar"  # hard links name their target by its full path
        tf.addfile(link)
    out = tmp_path / "out"
    out.mkdir()
    fetch._unpack(archive, out, strip_top=True)
    assert (out / "lib" / "a.jar").read_bytes() == payload
    assert (out / "plugin" / "hive" / "a.jar").read_bytes() == payload
