"""A coin listed after the api loaded the coin list is found, but unknown ids cannot make it call
CoinGecko more than once a minute."""

from __future__ import annotations

import pytest
from coinstream_api import coins as coins_module
from coinstream_api.coins import KnownCoins
from coinstream_common.settings import COIN_LIST_MISS_RELOAD_S, CoinGeckoSettings

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def listed(monkeypatch):
    """The coin list CoinGecko serves, and the number of times it was fetched."""
    state = {"ids": {"bitcoin"}, "fetches": 0}

    def fetch(self):
        state["fetches"] += 1
        return frozenset(state["ids"])

    monkeypatch.setattr(coins_module.KnownCoins, "_fetch", fetch)
    return state


def test_a_newly_listed_coin_is_found_at_most_once_a_minute(listed):
    clock = Clock()
    known = KnownCoins(CoinGeckoSettings(), clock=clock)
    assert known.ids() == {"bitcoin"} and listed["fetches"] == 1
    listed["ids"].add("newcoin")
    clock.now += 5
    assert known.reload_for_unknown() is False  # loaded 5 s ago: no second call
    assert listed["fetches"] == 1 and "newcoin" not in known.ids()
    clock.now += COIN_LIST_MISS_RELOAD_S
    assert known.reload_for_unknown() is True
    assert "newcoin" in known.ids() and listed["fetches"] == 2
    for _ in range(10):  # a flood of unknown ids within the minute
        assert known.reload_for_unknown() is False
    assert listed["fetches"] == 2


def test_a_failing_reload_is_also_limited(listed, monkeypatch):
    clock = Clock()
    known = KnownCoins(CoinGeckoSettings(), clock=clock)
    known.ids()

    def down(self):
        listed["fetches"] += 1
        raise ValueError("empty coin list")

    monkeypatch.setattr(coins_module.KnownCoins, "_fetch", down)
    clock.now += COIN_LIST_MISS_RELOAD_S
    assert known.reload_for_unknown() is False and listed["fetches"] == 2
    assert known.ids() == {"bitcoin"}  # the last good list stays
    assert known.reload_for_unknown() is False and listed["fetches"] == 2
