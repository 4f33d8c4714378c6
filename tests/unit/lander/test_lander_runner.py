"""The driver's restart policy: failed runs restart after a doubling wait, a run that landed starts it over."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from coinstream_lander import runner as runner_mod

pytestmark = pytest.mark.unit


class FakeQuery:
    id, runId = "q-1", "r-1"

    def __init__(self, lander, lands: bool) -> None:
        self.lander, self.lands = lander, lands

    def awaitTermination(self, timeout):
        if self.lands:
            self.lander.run_last_batch = 7
        return True

    def exception(self):
        return RuntimeError("HDFS went away")


class Script:
    """What each start of the query does: 'refuse' (start fails), 'fail' or 'land' (runs, lands, then fails)."""

    def __init__(self, runner, steps: list[str]) -> None:
        self.runner, self.steps, self.starts = runner, list(steps), 0

    def start_query(self, spark, settings, lander):
        self.starts += 1
        if not self.steps:
            self.runner.stopping.set()
            raise RuntimeError("stop")
        step = self.steps.pop(0)
        if step == "refuse":
            raise RuntimeError("checkpoint unreadable")
        return FakeQuery(lander, lands=step == "land")


def run(monkeypatch, steps: list[str]) -> tuple[list[float], Script]:
    settings = SimpleNamespace(lander=SimpleNamespace(compact_interval_s=0))
    runner = runner_mod.Runner(settings)  # type: ignore[arg-type]
    script = Script(runner, steps)
    waits: list[float] = []

    class Event(threading.Event):
        def wait(self, timeout=None):
            waits.append(timeout)
            return self.is_set()

    runner.stopping = Event()
    monkeypatch.setattr(runner_mod, "start_query", script.start_query)
    lander = SimpleNamespace(run_last_batch=None)
    lander.query_started = lambda query_id: setattr(lander, "run_last_batch", None)
    spark = SimpleNamespace(streams=SimpleNamespace(addListener=lambda listener: None))
    runner._loop(spark, lander, compactor=None)  # type: ignore[arg-type]
    return waits, script


def test_failed_runs_restart_after_a_doubling_wait_capped_at_a_minute(monkeypatch):
    waits, script = run(monkeypatch, ["refuse", "fail", "refuse", "fail", "fail", "fail", "fail", "fail"])
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    assert script.starts == 9  # the ninth start found stop requested: no wait after it


def test_a_run_that_landed_starts_the_doubling_again(monkeypatch):
    waits, _ = run(monkeypatch, ["fail", "fail", "fail", "land", "fail", "fail"])
    assert waits == [2, 4, 8, 2, 2, 4]


class FlakyCatalog:
    """``ensure_table`` fails ``failures`` times, then succeeds."""

    def __init__(self, failures: int) -> None:
        from coinstream_lander.catalog import TrinoCatalog

        self.catalog = TrinoCatalog(None, None)  # type: ignore[arg-type]
        self.calls, self.failures = 0, failures
        self.catalog.ensure_table = self.ensure_table  # type: ignore[method-assign]

    def ensure_table(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("Trino is starting")


def test_wait_ready_retries_with_a_doubling_wait_up_to_fifteen_seconds(monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr("time.sleep", sleeps.append)
    flaky = FlakyCatalog(failures=6)
    assert flaky.catalog.wait_ready(900.0) is True
    assert flaky.calls == 7 and sleeps == [1, 2, 4, 8, 15, 15]


def test_wait_ready_gives_up_after_the_timeout_and_stops_when_asked(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda s: None)
    with pytest.raises(ConnectionError):
        FlakyCatalog(failures=10**9).catalog.wait_ready(0.0)
    stopping = FlakyCatalog(failures=10**9)
    assert stopping.catalog.wait_ready(900.0, stop=lambda: stopping.calls >= 3) is False
    assert stopping.calls == 3
