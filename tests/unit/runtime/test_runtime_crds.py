"""Where the operators' CRDs come from when no copy is cached: the failures a user can meet."""

from __future__ import annotations

import io
import tarfile
import time

import pytest
from coinstream import crds
from coinstream.runtime.config import LocalSettings
from coinstream.runtime.fetch import FetchError
from coinstream_testkit.net import free_port

pytestmark = pytest.mark.unit


def _settings(tmp_path, mirror: str = "") -> LocalSettings:
    return LocalSettings(cache_dir=str(tmp_path / "cache"), artifact_mirror=mirror)


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_mirror_without_the_archive_names_the_setting(tmp_path):
    (tmp_path / "mirror").mkdir()
    with pytest.raises(crds.ArtifactUnavailable, match=crds.MIRROR_ENV):
        crds.strimzi_source(_settings(tmp_path, str(tmp_path / "mirror")))


def test_no_mirror_and_no_download_fails_at_once_naming_the_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(crds, "STRIMZI_RELEASE_URL", f"http://127.0.0.1:{free_port()}/strimzi.tar.gz")
    started = time.monotonic()
    with pytest.raises(crds.ArtifactUnavailable, match=crds.MIRROR_ENV):
        crds.ensure(_settings(tmp_path))
    assert time.monotonic() - started < 15
    assert not (tmp_path / "cache" / "crds" / f"strimzi-{crds.STRIMZI_VERSION}").exists()


def test_an_archive_with_other_crds_is_refused(tmp_path):
    archive = _tarball({f"strimzi/{crds.STRIMZI_CRD_DIR}040-Crd-kafka.yaml": b"kind: CustomResourceDefinition\n"})
    with pytest.raises(FetchError, match="do not match"):
        crds.extract_strimzi_crds(archive, tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_broken_archive_is_a_fetch_error(tmp_path):
    with pytest.raises(FetchError, match="broken"):
        crds.extract_strimzi_crds(b"not a tarball", tmp_path)


def test_the_digest_covers_names_and_bytes():
    base = crds.crd_digest({"a.yaml": b"x", "b.yaml": b"y"})
    assert base == crds.crd_digest({"b.yaml": b"y", "a.yaml": b"x"})
    assert base != crds.crd_digest({"a.yaml": b"x", "b.yaml": b"z"})
    assert base != crds.crd_digest({"a.yaml": b"x", "c.yaml": b"y"})
    assert base != crds.crd_digest({"a.yaml": b"x"})


def test_an_unknown_go_module_version_is_a_fetch_error():
    with pytest.raises(FetchError, match="go mod download"):
        crds.go_module_dir("github.com/kubeflow/spark-operator/v2", "v0.0.0-does-not-exist")
