"""The shared rate limiting: token bucket (in debt or not), its pause, the sliding window and the per-caller table."""

from __future__ import annotations

import pytest
from coinstream_common.ratelimit import PerCaller, SlidingWindow, TokenBucket

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_try_take_never_goes_into_debt_but_a_reservation_does():
    clock = Clock()
    bucket = TokenBucket(60, capacity=2, clock=clock)  # one token per second
    assert [bucket.try_take() for _ in range(4)] == pytest.approx([0.0, 0.0, 1.0, 1.0])  # refusals take nothing
    clock.t += 1.0
    assert bucket.try_take() == 0.0
    assert bucket._reserve() == pytest.approx(1.0) and bucket._reserve() == pytest.approx(2.0)  # queued in turn
    assert bucket.try_take() == pytest.approx(3.0)  # behind both reservations


def test_a_pause_holds_every_caller_and_a_full_unpaused_bucket_is_idle():
    clock = Clock()
    bucket = TokenBucket(60, capacity=3, clock=clock)
    assert bucket.idle()
    bucket.pause(5.0)
    assert not bucket.idle()
    assert bucket._reserve() == pytest.approx(5.0)  # a token is there, the pause is not over
    assert not bucket.acquire(max_wait_s=1.0)  # will not wait that long: the token goes back
    clock.t += 5.0
    assert bucket.idle() and bucket._reserve() == 0.0


def test_sliding_window_counts_only_admitted_calls():
    clock = Clock()
    window = SlidingWindow(60.0, clock)
    assert window.admit(2) == 0.0 and window.admit(2) == 0.0
    clock.t += 30
    assert window.admit(2) == pytest.approx(30.0)
    assert window.admit(2) == pytest.approx(30.0)  # refused calls do not push the wait out
    assert not window.idle()
    clock.t += 30
    assert window.admit(2) == 0.0
    clock.t += 60
    assert window.idle()


def test_per_caller_keeps_one_limiter_each_and_forgets_only_idle_ones_past_the_bound():
    clock = Clock()
    table = PerCaller(lambda: TokenBucket(60, capacity=1, clock=clock), max_callers=3)
    assert table("a") is table("a") and table("a") is not table("b")
    table("a").try_take()  # a is busy, b is full (idle)
    table("c")
    table("d")  # past the bound: b and c (idle) are forgotten, a is kept
    assert table._limiters.keys() == {"a", "d"}
    busy = table("a")
    assert busy.try_take() > 0  # a's state survived the pruning
    table.clear()
    assert table("a").try_take() == 0.0
