"""Which coin ids exist: the coin list of the ingest service, loaded once and cached.

The API accepts a coin when it matches the id pattern *and* is in this list.
Ingest is the only component that talks to CoinGecko (one client, one token
bucket for the whole platform); the api asks it, at ``COINSTREAM_API_INGEST_URL``
(``GET /v1/coins``), in the background at start, again every ``REFRESH_S``, and
when a portfolio names an id the list lacks (a coin listed since), at most once
per ``MISS_ASK_S``: that ask names the missing ids (``?reload_missing=``), so
ingest reloads its own copy from CoinGecko, which it does at most once per
``COIN_LIST_MISS_RELOAD_S`` whoever asks: unknown ids cannot make the platform
call CoinGecko more than that, and a coin listed since is accepted within about
``COIN_LIST_MISS_RELOAD_S + MISS_ASK_S``. The list's ETag is sent back, so an
unchanged list costs a 304, not the whole list again.

While ingest cannot be reached (or cannot reach CoinGecko), the API keeps the last
list it had, or, before it ever had one, falls back to checking the id pattern
only (and tries again after ``RETRY_S``): an unknown but well-formed id then gets
a portfolio whose backfill finds nothing, which is better than refusing every
portfolio while the list is unavailable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

import requests

from . import metrics

log = logging.getLogger(__name__)

REFRESH_S = 6 * 3600.0
RETRY_S = 60.0
#: One ask of ingest: it may be waiting on CoinGecko (its token bucket, its retries); the api does not wait longer.
TIMEOUT_S = 5.0
#: On a miss, ask ingest again at most this often (ingest, not the api, bounds the calls to CoinGecko).
MISS_ASK_S = 10.0
#: Most missing ids named in one reload (a portfolio has at most ``max_holdings``).
MAX_MISSING = 50


class CoinListUnavailable(Exception):
    """Ingest did not answer with a coin list."""


class KnownCoins:
    def __init__(self, ingest_url: str, timeout_s: float = TIMEOUT_S, clock=time.monotonic) -> None:
        self.url = ingest_url.rstrip("/") + "/v1/coins"
        self.timeout_s = timeout_s
        self._clock = clock
        self._ids: frozenset[str] | None = None
        self._etag: str | None = None
        self._next_try = 0.0
        self._attempted_at: float | None = None
        self._lock = threading.Lock()
        self._session = requests.Session()  # used under self._lock only
        for outcome in metrics.COIN_LIST_OUTCOMES:  # every series from zero, so rate() sees the first failure
            metrics.COIN_LIST_LOADS.labels(outcome)

    def _fetch(self, missing: Iterable[str] = ()) -> frozenset[str] | None:
        """The ids ingest lists, or None when they did not change since the last load (304)."""
        headers = {"Accept": "application/json"}
        if self._etag and self._ids is not None:
            headers["If-None-Match"] = self._etag
        names = sorted(set(missing))[:MAX_MISSING]
        params = {"reload_missing": ",".join(names)} if names else None
        try:
            resp = self._session.get(
                self.url, params=params, headers=headers, timeout=(min(self.timeout_s, 3.0), self.timeout_s)
            )
        except requests.RequestException as exc:
            raise CoinListUnavailable(f"ingest unreachable at {self.url}: {type(exc).__name__}") from None
        if resp.status_code == 304 and self._ids is not None:
            return None
        if resp.status_code != 200:
            code = ""
            try:
                code = f" ({resp.json()['error']['code']})"
            except (ValueError, KeyError, TypeError):
                pass
            raise CoinListUnavailable(f"ingest answered {resp.status_code}{code} for {self.url}")
        try:
            coins = resp.json()["coins"]
            ids = frozenset(c["id"] for c in coins if isinstance(c, dict) and isinstance(c.get("id"), str))
        except (ValueError, KeyError, TypeError):
            raise CoinListUnavailable(f"ingest answered {self.url} without a coin list") from None
        if not ids:
            raise CoinListUnavailable("ingest answered an empty coin list")
        self._etag = resp.headers.get("ETag")
        return ids

    def refresh(self, missing: Iterable[str] = ()) -> None:
        self._attempted_at = self._clock()
        try:
            ids = self._fetch(missing)
        except CoinListUnavailable as exc:
            metrics.COIN_LIST_LOADS.labels("failed").inc()
            if self._ids is None:
                log.warning("coin list unavailable (checking the id pattern only): %s", exc)
            else:
                log.warning("coin list not reloaded (keeping the %d ids loaded before): %s", len(self._ids), exc)
            self._next_try = self._clock() + RETRY_S
            return
        self._next_try = self._clock() + REFRESH_S
        if ids is None:
            metrics.COIN_LIST_LOADS.labels("unchanged").inc()
            return
        metrics.COIN_LIST_LOADS.labels("loaded").inc()
        if self._ids is None:
            log.info("loaded %d coin ids from ingest", len(ids))
        self._ids = ids

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

    def reload_for_unknown(self, coins: Iterable[str] = ()) -> bool:
        """Reload the list at once (``coins`` were not in it) unless it was tried within the bound.

        True if the list now holds something it did not before (worth validating again).
        """
        missing = list(coins)
        if not self._lock.acquire(timeout=10.0):
            return False
        try:
            if self._attempted_at is not None and self._clock() - self._attempted_at < MISS_ASK_S:
                return False
            before = self._ids
            self.refresh(missing)
            return self._ids is not before
        finally:
            self._lock.release()

    def ids(self) -> frozenset[str] | None:
        """The known ids, or None when the list is not available (pattern-only check)."""
        if self._clock() >= self._next_try:
            if self._ids is None:
                self._refresh_if_due(True)  # first use: wait for it (bounded by the ask's timeout)
            else:
                threading.Thread(target=self._refresh_if_due, args=(False,), daemon=True).start()
        return self._ids
