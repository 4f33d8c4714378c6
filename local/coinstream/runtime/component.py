"""What every locally run component provides to the stack."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from .config import LocalSettings
from .process import ManagedProcess, StartError, port_in_use


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


class Component(ABC):
    """A server process of the local stack: fetched, configured, started, checked, stopped."""

    name: str = ""
    requires: tuple[str, ...] = ()
    start_timeout_s: float = 120.0
    stop_timeout_s: float = 30.0

    def __init__(self, cfg: LocalSettings) -> None:
        self.cfg = cfg
        self.proc = ManagedProcess(self.name, cfg.state / "run")

    @property
    def home(self) -> Path:
        """This component's data and config directory."""
        return self.cfg.state / self.name

    def ports(self) -> list[int]:
        return []

    def preflight(self) -> None:
        """Cheap checks (a JDK, a binary) that must pass before anything is downloaded."""

    def fetch(self) -> None:
        """Download what is missing into the cache (no-op when cached)."""

    def prepare(self) -> None:
        """Write configuration; initialise storage the first time."""

    @abstractmethod
    def command(self) -> tuple[list[str], dict[str, str]]:
        """argv and extra environment of the server process."""

    @abstractmethod
    def health(self) -> Health:
        """A real check that the component does its job."""

    def after_start(self) -> None:
        """Idempotent set-up once healthy (topics, schemas, ...)."""

    def endpoints(self) -> dict[str, str]:
        return {}

    def safe_health(self) -> Health:
        try:
            return self.health()
        except Exception as exc:  # noqa: BLE001 - a health check reports any failure, it does not raise
            return Health(False, f"{type(exc).__name__}: {exc}".splitlines()[0][:200])

    def start(self, say=print) -> str:
        """Start (if needed) and wait until healthy; returns what was done."""
        if self.proc.running():
            state = "already running"
        elif self.safe_health().ok:
            self.after_start()
            return "already running (not started by coinstream)"
        else:
            self.preflight()
            self.fetch()
            busy = [p for p in self.ports() if port_in_use(self.cfg.host, p)]
            if busy:
                raise StartError(f"{self.name}: port {busy[0]} on {self.cfg.host} is already in use by another program")
            self.home.mkdir(parents=True, exist_ok=True)
            self.prepare()
            argv, env = self.command()
            self.proc.start(argv, env=env, cwd=self.home)
            state = "started"
        self.wait_healthy(say)
        self.after_start()
        return state

    def wait_healthy(self, say=print) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        health = Health(False, "not checked")
        while time.monotonic() < deadline:
            if not self.proc.running():
                raise StartError(f"{self.name} exited during start-up; last log lines:\n{self.proc.tail(15)}")
            health = self.safe_health()
            if health.ok:
                return
            time.sleep(0.5)
        raise StartError(
            f"{self.name} not healthy after {self.start_timeout_s:.0f}s ({health.detail}); see {self.proc.log_file}"
        )

    def stop(self) -> bool:
        return self.proc.stop(self.stop_timeout_s)

    def status(self) -> tuple[bool, str]:
        health = self.safe_health()
        owner = "" if self.proc.running() else " (not started by coinstream)" if health.ok else ""
        if health.ok:
            return True, health.detail + owner
        if not self.proc.running():
            return False, "not running"
        return False, health.detail
