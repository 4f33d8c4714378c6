"""The local runtime's plumbing: cache verification, processes, ports, JDKs, CLI errors."""

import socket
import subprocess
import sys
import time

import pytest
from coinstream.runtime import fetch
from coinstream.runtime.component import Component, Health
from coinstream.runtime.config import LocalSettings
from coinstream.runtime.java import JavaNotFound, find_java_home
from coinstream.runtime.process import ManagedProcess, StartError

pytestmark = pytest.mark.unit


def test_cache_entry_with_a_truncated_file_is_fetched_again(tmp_path):
    dest = tmp_path / "server"
    calls = []

    def fill(tmp):
        calls.append(1)
        (tmp / "server.jar").write_bytes(b"x" * 1000)

    fetch.cached("server", dest, fill)
    assert fetch.verify(dest) and len(calls) == 1
    fetch.cached("server", dest, fill)
    assert len(calls) == 1  # cached and intact: not fetched again
    (dest / "server.jar").write_bytes(b"x" * 10)  # a half-written download
    assert not fetch.verify(dest)
    fetch.cached("server", dest, fill)
    assert len(calls) == 2 and (dest / "server.jar").stat().st_size == 1000


def test_failed_fetch_is_retried_then_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch.time, "sleep", lambda s: None)
    attempts = []

    def flaky(tmp):
        attempts.append(1)
        if len(attempts) < 3:
            raise fetch.FetchError("connection reset")
        (tmp / "ok").write_text("ok")

    fetch.cached("flaky", tmp_path / "flaky", flaky)
    assert len(attempts) == 3
    with pytest.raises(fetch.FetchError, match="always broken"):
        fetch.cached(
            "broken", tmp_path / "broken", lambda tmp: (_ for _ in ()).throw(fetch.FetchError("always broken"))
        )
    assert not (tmp_path / "broken").exists()  # nothing half-made is left to be used


def test_managed_process_start_stop_and_stale_pid(tmp_path):
    proc = ManagedProcess("sleeper", tmp_path)
    pid = proc.start([sys.executable, "-c", "import time; time.sleep(60)"])
    assert proc.pid() == pid and proc.running()
    assert proc.stop(timeout_s=5)
    assert not proc.running() and not proc.pid_file.exists()
    # A pid file naming someone else's process (wrong start time) is not ours.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        proc.pid_file.write_text(f"{other.pid} 1")
        assert proc.pid() is None and not proc.stop()
        assert other.poll() is None  # down never touches what it did not start
    finally:
        other.kill()
        other.wait()


def test_sigkill_is_immediate(tmp_path):
    proc = ManagedProcess("stubborn", tmp_path)
    proc.start(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"]
    )
    started = time.monotonic()
    proc.kill()
    assert not proc.running() and time.monotonic() - started < 5


class _Dummy(Component):
    name = "dummy"

    def __init__(self, cfg, port):
        super().__init__(cfg)
        self._port = port

    def ports(self):
        return [self._port]

    def command(self):
        return [sys.executable, "-c", "import time; time.sleep(60)"], {}

    def health(self):
        return Health(False, "never healthy")


def test_port_in_use_stops_start_with_one_clear_line(tmp_path):
    cfg = LocalSettings(state_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(StartError) as err:
            _Dummy(cfg, port).start(say=lambda *_: None)
    assert f"port {port}" in str(err.value) and "\n" not in str(err.value)


def test_missing_jdk_is_one_clear_line(tmp_path):
    with pytest.raises(JavaNotFound, match="no JDK 99\\+ found"):
        find_java_home(99, setting="COINSTREAM_LOCAL_JAVA17_HOME")
    with pytest.raises(JavaNotFound, match="is not a JDK"):
        find_java_home(17, override=str(tmp_path), setting="COINSTREAM_LOCAL_JAVA17_HOME")
    assert (find_java_home(17) / "bin" / "java").exists()


def test_cli_bad_setting_is_one_line(tmp_path):
    env = {"COINSTREAM_LOCAL_KAFKA_PORT": "nine", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "coinstream.cli", "status"], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "COINSTREAM_LOCAL_KAFKA_PORT" in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_missing_jdk_is_one_line(tmp_path):
    env = {
        "COINSTREAM_LOCAL_JAVA17_HOME": str(tmp_path),
        "COINSTREAM_LOCAL_STATE_DIR": str(tmp_path / "s"),
        "COINSTREAM_LOCAL_KAFKA_PORT": "19092",
        "COINSTREAM_LOCAL_KAFKA_CONTROLLER_PORT": "19093",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    out = subprocess.run(
        [sys.executable, "-m", "coinstream.cli", "up", "kafka"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "is not a JDK" in last and "Traceback" not in out.stderr


def test_a_child_that_dies_at_start_is_reported_at_once(tmp_path):
    cfg = LocalSettings(state_dir=str(tmp_path), cache_dir=str(tmp_path / "cache"))

    class Crashing(_Dummy):
        name = "crashing"

        def command(self):
            return [sys.executable, "-c", "import sys; print('bad config: port'); sys.exit(3)"], {}

    comp = Crashing(cfg, 0)
    comp.ports = list
    started = time.monotonic()
    with pytest.raises(StartError, match="exited during start-up") as err:
        comp.start(say=lambda *_: None)
    assert time.monotonic() - started < 10 and "bad config" in str(err.value)
