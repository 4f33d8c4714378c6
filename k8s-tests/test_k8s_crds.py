"""The CRDs come from where the operators come from, at the versions the chart targets;
a public release and the artifact mirror give the same files."""

from __future__ import annotations

import http.server
import io
import tarfile
import threading

import pytest
from coinstream import crds
from coinstream.runtime.config import LocalSettings
from k8slib import schemas

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def fetched() -> dict[str, object]:
    return {folder.name: folder for folder in schemas.crd_folders()}


def test_one_folder_per_operator_at_its_version(fetched):
    assert set(fetched) == {
        f"strimzi-{crds.STRIMZI_VERSION}",
        f"spark-operator-{crds.SPARK_OPERATOR_VERSION}",
        f"prometheus-operator-{crds.PROMETHEUS_OPERATOR_VERSION}",
    }


def _release_archive(folder) -> bytes:
    """The files as the public release's archive holds them: under a top folder, among other files."""
    top = f"strimzi-kafka-operator-{crds.STRIMZI_VERSION}/"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        entries = {top + "README.md": b"Strimzi\n", top + "install/cluster-operator/040-Crd-kafka.yaml": b"old copy\n"}
        entries |= {top + crds.STRIMZI_CRD_DIR + p.name: p.read_bytes() for p in sorted(folder.glob("*.yaml"))}
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_download_of_the_public_release_gives_the_mirrors_files(fetched, tmp_path, monkeypatch):
    strimzi = fetched[f"strimzi-{crds.STRIMZI_VERSION}"]
    archive = _release_archive(strimzi)

    class Release(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(archive)))
            self.end_headers()
            self.wfile.write(archive)

        def log_message(self, *_args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Release)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(crds, "STRIMZI_RELEASE_URL", f"http://127.0.0.1:{server.server_port}/1.2.0.tar.gz")
        settings = LocalSettings(cache_dir=str(tmp_path), artifact_mirror="")
        got = crds.ensure(settings)[0]
    finally:
        server.shutdown()
        server.server_close()

    def read(folder):
        return {p.name: p.read_bytes() for p in folder.glob("*.yaml")}

    assert read(got) == read(strimzi) and len(read(got)) == 10
