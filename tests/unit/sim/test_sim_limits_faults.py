"""The sliding-window rate limiter, the deterministic fault board, and the start-up settings."""

from __future__ import annotations

import pytest
from coingecko_sim.config import SimConfig, from_env
from coingecko_sim.faults import ANY, FaultBoard, FaultSpec, Stats, truncate
from coingecko_sim.ratelimit import SlidingWindowLimiter

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_limiter_admits_n_per_window_and_says_exactly_when_to_retry():
    clock = Clock()
    limiter = SlidingWindowLimiter(clock)
    for i in range(3):
        assert limiter.check("a", 3) is None
        clock.t += 10
    assert limiter.check("a", 3) == 30  # the first call (t=1000) leaves at 1060; now 1030
    assert limiter.check("b", 3) is None  # callers are independent
    clock.t = 1059.5
    assert limiter.check("a", 3) == 1
    clock.t = 1060.0
    assert limiter.check("a", 3) is None  # the slot freed
    assert limiter.check("a", 3) == 10  # next to leave: t=1010


def test_limiter_zero_means_unlimited_and_a_lower_limit_waits_longer():
    clock = Clock()
    limiter = SlidingWindowLimiter(clock)
    assert all(limiter.check("a", 0) is None for _ in range(1000))
    for _ in range(5):
        limiter.check("b", 5)
        clock.t += 1
    assert limiter.check("b", 2) == 60 - 5 + 3  # the 4th call (t=1003) must leave: 2 remain
    limiter.reset()
    assert limiter.check("b", 2) is None


def test_fault_draws_are_deterministic_and_follow_the_rate():
    spec = FaultSpec(endpoint="market_chart_range", error_rate=0.3)
    pattern = []
    for _ in range(2):
        board = FaultBoard(seed=11)
        board.set(spec)
        pattern.append([board.draw("market_chart_range").error_status for _ in range(400)])
    assert pattern[0] == pattern[1]
    failures = sum(1 for s in pattern[0] if s == 500)
    assert 80 < failures < 160
    other = FaultBoard(seed=12)
    other.set(spec)
    assert [other.draw("market_chart_range").error_status for _ in range(400)] != pattern[0]


def test_specific_fault_wins_over_wildcard_and_times_clears_it():
    board = FaultBoard(seed=1)
    board.set(FaultSpec(endpoint=ANY, latency_ms=50))
    board.set(FaultSpec(endpoint="ping", rate_limit_storm=True, retry_after_s=7, times=2))
    assert board.draw("ping").storm_retry_after_s == 7
    assert board.draw("ping").storm_retry_after_s == 7
    third = board.draw("ping")
    assert third.storm_retry_after_s is None and third.latency_s == 0.05
    assert board.draw("history").latency_s == 0.05
    assert [f["endpoint"] for f in board.active()] == [ANY]
    board.clear()
    assert board.draw("ping") is None


def test_fault_spec_validation():
    with pytest.raises(ValueError):
        FaultSpec(endpoint="nope")
    with pytest.raises(ValueError):
        FaultSpec(error_rate=1.5)
    with pytest.raises(ValueError):
        FaultSpec(surprise=True)
    assert FaultSpec(malformed=True, truncated=True).truncated  # both allowed; malformed wins when drawn
    board = FaultBoard(0)
    board.set(FaultSpec(malformed=True, truncated=True))
    decision = board.draw("ping")
    assert decision.malformed and not decision.truncated


def test_truncate_keeps_less_than_the_body():
    assert truncate(b"0123456789") == b"01234"
    assert truncate(b"x") == b""


def test_stats_count_calls_and_faults():
    stats = Stats()
    stats.record("ping", 200, [])
    stats.record("ping", 429, ["rate_limit_storm"])
    stats.record("history", 200, ["latency", "malformed"])
    snap = stats.snapshot()
    assert snap["total"] == 3
    assert snap["calls"] == {"history": {"200": 1}, "ping": {"200": 1, "429": 1}}
    assert snap["faults"]["history"] == {"latency": 1, "malformed": 1}


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("COINGECKO_SIM_SEED", "9")
    monkeypatch.setenv("COINGECKO_SIM_RATE_LIMIT_PER_MINUTE", "0")
    monkeypatch.setenv(
        "COINGECKO_SIM_FAULTS", '[{"endpoint": "ping", "error_rate": 1}, {"endpoint": "*", "latency_ms": 5}]'
    )
    cfg = from_env()
    assert cfg.seed == 9 and cfg.rate_limits() == {"public": 0, "demo": 0, "pro": 500}
    assert [f.endpoint for f in cfg.faults] == ["ping", "*"]
    assert SimConfig(faults='{"endpoint": "history", "hang_s": 1}').faults[0].hang_s == 1


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("COINGECKO_SIM_SEED", "x"),
        ("COINGECKO_SIM_RATE_LIMIT_PER_MINUTE", "-1"),
        ("COINGECKO_SIM_FAULTS", "{not json"),
        ("COINGECKO_SIM_FAULTS", '{"endpoint": "nope"}'),
    ],
)
def test_bad_settings_stop_start_up_naming_the_variable(monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    with pytest.raises(SystemExit) as err:
        from_env()
    assert var in str(err.value)
