"""The CoinGecko simulator's control API (``/__sim``), and coins listed in it for one run.

Listing coins the simulator did not know (``POST /__sim/coins``, each priced like a
catalog coin) gives a test days for which nothing can have landed, however much the
stack served before. Each listed coin is added to this process's catalog too, so
``coingecko_sim.prices.price_at`` gives its seeded prices here as well.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import requests
from coingecko_sim.catalog import CATALOG_IDS, COINS, list_coin
from coinstream_contract.vocabulary import INTERVAL_MS

DAY = INTERVAL_MS["daily"]


class SimAdmin:
    """The simulator at ``base_url``, as an operator drives it."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _url(self, path: str) -> str:
        return f"{self.base_url}/__sim/{path}"

    def reset(self) -> None:
        """Statistics, faults and rate limits back to the configured ones."""
        requests.post(self._url("reset"), timeout=self.timeout_s).raise_for_status()

    def fault(self, **spec) -> None:
        requests.post(self._url("faults"), json=spec, timeout=self.timeout_s).raise_for_status()

    def clear_faults(self) -> None:
        requests.delete(self._url("faults"), timeout=self.timeout_s).raise_for_status()

    def rate_limits(self, **per_minute: int) -> None:
        requests.put(self._url("rate_limits"), json=per_minute, timeout=self.timeout_s).raise_for_status()

    def stats(self) -> dict:
        resp = requests.get(self._url("stats"), timeout=self.timeout_s)
        resp.raise_for_status()
        return resp.json()

    def calls(self, endpoint: str = "market_chart_range") -> int:
        """Calls of ``endpoint`` served so far, whatever their status."""
        return sum(self.stats()["calls"].get(endpoint, {}).values())

    def list_coin(self, listing: dict) -> int:
        """``POST /__sim/coins`` with ``{"id", "like"}``; the status (201 listed, 200 already was)."""
        return requests.post(self._url("coins"), json=listing, timeout=self.timeout_s).status_code


def coins_with_history(days: int = 400) -> list[str]:
    """Catalog coins with at least ``days`` days of history: what a fresh coin is priced like."""
    today = int(time.time() * 1000) // DAY * DAY
    return sorted(c for c, coin in COINS.items() if c in CATALOG_IDS and coin.genesis_ms < today - days * DAY)


def new_tag(prefix: str) -> str:
    """A prefix for this run's coin ids, e.g. ``e2e1a2b3c4d``."""
    return f"{prefix}{random.getrandbits(32):08x}"


def list_fresh_coins(
    post_listing: Callable[[dict], int], ids: list[str], rng: random.Random | None = None
) -> list[str]:
    """List each id in the simulator, priced like a random coin with a year of history.

    ``post_listing`` sends one ``{"id", "like"}`` body to ``/__sim/coins`` and returns the
    HTTP status (``SimAdmin.list_coin``, or a request made from inside a cluster).
    """
    rng = rng or random.Random()
    likes = coins_with_history()
    for coin_id in ids:
        like = rng.choice(likes)
        status = post_listing({"id": coin_id, "like": like})
        assert status == 201, f"listing {coin_id} like {like}: HTTP {status}"
        list_coin(coin_id, like)
    return ids
