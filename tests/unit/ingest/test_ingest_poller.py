"""The live poller keeps polling through failures and drops coins CoinGecko does not know."""

from __future__ import annotations

import time

import pytest
from coinstream_ingest.coingecko import CoinGeckoUnavailable, UnknownCoin
from coinstream_ingest.ingestor import PricesResult
from coinstream_ingest.poller import Poller, split_list

pytestmark = pytest.mark.unit


class FakeIngestor:
    def __init__(self, unknown=(), down=()):
        self.unknown, self.down, self.calls = set(unknown), set(down), []

    def fetch_prices(self, coins, vs):
        self.calls.append((tuple(coins), vs))
        if vs in self.down:
            raise CoinGeckoUnavailable("down")
        bad = [c for c in coins if c in self.unknown]
        if bad:
            raise UnknownCoin(bad)
        return PricesResult(coins, vs, len(coins), [])


def test_split_list_trims_lowercases_and_dedupes():
    assert split_list(" Bitcoin, ethereum,,bitcoin ,SOLANA ") == ["bitcoin", "ethereum", "solana"]
    assert split_list("") == []


def test_unknown_coins_are_dropped_and_failures_do_not_stop_the_poll():
    ing = FakeIngestor(unknown={"typo-coin"}, down={"eur"})
    poller = Poller(ing, ["bitcoin", "typo-coin", "ethereum"], ["usd", "eur", "btc"], 60)
    assert poller.poll_once() == 4  # usd after dropping the typo (2) + btc (2); eur failed
    assert poller.coins == ["bitcoin", "ethereum"]
    assert ing.calls[:2] == [(("bitcoin", "typo-coin", "ethereum"), "usd"), (("bitcoin", "ethereum"), "usd")]
    assert poller.poll_once() == 4 and poller.polls == 2 and poller.produced == 8


def test_the_thread_polls_on_schedule_and_stops():
    ing = FakeIngestor()
    poller = Poller(ing, ["bitcoin"], ["usd"], interval_s=0.05)
    poller.start()
    time.sleep(0.3)
    poller.stop()
    assert not poller.thread.is_alive() and 3 <= poller.polls <= 8
