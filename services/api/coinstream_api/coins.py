"""Which coin ids exist: CoinGecko's ``/coins/list``, loaded once and cached.

The API accepts a coin when it matches the id pattern *and* is in this list.
The list is fetched from ``COINSTREAM_COINGECKO_BASE_URL`` (the simulator
locally, CoinGecko in production) in the background at start, refreshed every
``REFRESH_S``, and reloaded when a portfolio names an id the list lacks (a coin
listed since), at most once per ``COIN_LIST_MISS_RELOAD_S``: unknown ids cannot make the
api call CoinGecko more than that. While it cannot be fetched, the API falls back to checking the
id pattern only (and tries again after ``RETRY_S``): an unknown but
well-formed id then gets a portfolio whose backfill finds nothing, which is
better than refusing every portfolio while CoinGecko is unreachable.
"""

from __future__ import annotations

import logging
import threading
import time

import requests
from coinstream_common.settings import COIN_LIST_MISS_RELOAD_S, CoinGeckoSettings

log = logging.getLogger(__name__)

REFRESH_S = 6 * 3600.0
RETRY_S = 60.0
KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}


class KnownCoins:
    def __init__(self, settings: CoinGeckoSettings, clock=time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._ids: frozenset[str] | None = None
        self._next_try = 0.0
        self._attempted_at: float | None = None
        self._lock = threading.Lock()

    def _fetch(self) -> frozenset[str]:
        headers = {"accept": "application/json"}
        if self._settings.api_key and self._settings.api_plan in KEY_HEADERS:
            headers[KEY_HEADERS[self._settings.api_plan]] = self._settings.api_key
        resp = requests.get(
            f"{self._settings.base_url.rstrip('/')}/coins/list",
            headers=headers,
            timeout=min(self._settings.timeout_s, 5.0),
        )
        resp.raise_for_status()
        ids = frozenset(c["id"] for c in resp.json() if isinstance(c, dict) and isinstance(c.get("id"), str))
        if not ids:
            raise ValueError("empty coin list")
        return ids

    def refresh(self) -> None:
        self._attempted_at = self._clock()
        try:
            ids = self._fetch()
        except (requests.RequestException, ValueError, TypeError, KeyError) as exc:
            log.warning("coin list unavailable (checking the id pattern only): %s", exc)
            self._next_try = self._clock() + RETRY_S
            return
        self._ids = ids
        self._next_try = self._clock() + REFRESH_S
        log.info("loaded %d coin ids", len(ids))

    def start(self) -> None:
        threading.Thread(target=self._refresh_if_due, args=(True,), name="coin-list", daemon=True).start()

    def _refresh_if_due(self, wait: bool) -> None:
        if not (self._lock.acquire(timeout=10.0) if wait else self._lock.acquire(blocking=False)):
            return
        try:
            if self._clock() >= self._next_try:
                self.refresh()
        finally:
            self._lock.release()

    def reload_for_unknown(self) -> bool:
        """Reload the list at once (an id was not in it) unless it was tried within the bound; True if reloaded."""
        if not self._lock.acquire(timeout=10.0):
            return False
        try:
            if self._attempted_at is not None and self._clock() - self._attempted_at < COIN_LIST_MISS_RELOAD_S:
                return False
            before = self._ids
            self.refresh()
            return self._ids is not before
        finally:
            self._lock.release()

    def ids(self) -> frozenset[str] | None:
        """The known ids, or None when the list is not available (pattern-only check)."""
        if self._clock() >= self._next_try:
            if self._ids is None:
                self._refresh_if_due(True)  # first use: wait for it (bounded by the fetch timeout)
            else:
                threading.Thread(target=self._refresh_if_due, args=(False,), daemon=True).start()
        return self._ids
