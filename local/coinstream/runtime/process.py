"""Start, find and stop local server processes.

Each component's process gets its own session (process group), a log file and
a pid file that records the process start time too, so a recycled pid is never
mistaken for ours and ``coinstream down`` stops only what ``up`` started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class StartError(RuntimeError):
    """A component could not start; the message is one line meant for a person."""


def _start_time(pid: int) -> str | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[19]  # starttime, field 22 of stat
    except (OSError, IndexError):
        return None


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_for_port(host: str, port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    return False


@dataclass
class ManagedProcess:
    name: str
    run_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.run_dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        """The pid of our running process, or None (stale pid files are removed)."""
        try:
            pid_s, started = self.pid_file.read_text().split()
            pid = int(pid_s)
        except (OSError, ValueError):
            return None
        if _start_time(pid) != started or self._zombie(pid):
            self._reap()  # a child that died during start-up is a zombie until reaped
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def running(self) -> bool:
        return self.pid() is not None

    def start(self, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> int:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            log.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        started = None
        for _ in range(50):
            started = _start_time(proc.pid)
            if started:
                break
            time.sleep(0.01)
        self.pid_file.write_text(f"{proc.pid} {started}")
        self._popen = proc
        return proc.pid

    def exited(self) -> int | None:
        """Exit code if the process we started in this Python process has died."""
        proc = getattr(self, "_popen", None)
        return proc.poll() if proc else (None if self.running() else -1)

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM the process group, SIGKILL after ``timeout_s``; True if something was stopped."""
        pid = self.pid()
        if pid is None:
            return False
        self._signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _start_time(pid) is not None and not self._zombie(pid):
            time.sleep(0.2)
        if _start_time(pid) is not None and not self._zombie(pid):
            self._signal(pid, signal.SIGKILL)
            time.sleep(0.5)
        self._reap()
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL at once: for crash tests."""
        pid = self.pid()
        if pid is not None:
            self._signal(pid, signal.SIGKILL)
            for _ in range(100):
                if _start_time(pid) is None or self._zombie(pid):
                    break
                time.sleep(0.05)
            self._reap()
            self.pid_file.unlink(missing_ok=True)

    def _reap(self) -> None:
        proc = getattr(self, "_popen", None)
        if proc is not None:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    @staticmethod
    def _zombie(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (OSError, IndexError):
            return True

    @staticmethod
    def _signal(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)

    def tail(self, lines: int = 20) -> str:
        try:
            with open(self.log_file, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 64 * 1024))
                return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
