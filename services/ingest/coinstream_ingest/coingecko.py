"""A CoinGecko API v3 client that respects the API's rate limit and survives its faults.

- One token bucket per (base URL, rate) for the whole process: every caller
  (HTTP requests, the poller, the backfill worker, concurrent chunk fetches)
  draws from it, so the process as a whole stays under the plan's calls/minute.
- 429: wait ``Retry-After`` (the bucket pauses for every caller), then retry.
- 5xx, timeouts, connection errors, truncated or malformed bodies: retry after
  an exponential backoff with full jitter (``uniform(0, min(max, base * 2**n))``,
  tenacity's ``wait_random_exponential``).
- After ``max_attempts`` a clear exception: ``CoinGeckoRateLimited`` (with the
  wait CoinGecko asked for) or ``CoinGeckoUnavailable``. ``UnknownCoin`` and
  ``BadRequest`` are never retried.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import tenacity
from coinstream_common.ratelimit import TokenBucket

from . import metrics
from .settings import COIN_LIST_MISS_RELOAD_S, CoinGeckoSettings

log = logging.getLogger(__name__)

KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}
COINS_LIST_TTL_S = 3600.0
#: A whole batch of ids in one /simple/price call keeps the URL reasonable.
SIMPLE_PRICE_BATCH = 100


class CoinGeckoError(Exception):
    """Base of the client's errors."""


class CoinGeckoUnavailable(CoinGeckoError):
    """CoinGecko did not answer usefully within the allowed attempts."""

    def __init__(self, message: str, retry_after_s: float = 30.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CoinGeckoRateLimited(CoinGeckoUnavailable):
    """CoinGecko kept answering 429; ``retry_after_s`` is its last Retry-After."""


class UnknownCoin(CoinGeckoError):
    def __init__(self, coins: list[str]) -> None:
        super().__init__(f"unknown coin{'s' if len(coins) > 1 else ''}: {', '.join(coins)}")
        self.coins = coins


class BadRequest(CoinGeckoError):
    """CoinGecko rejected the parameters (or the plan does not allow them)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ListedCoin:
    id: str
    symbol: str
    name: str


class CoinList:
    """CoinGecko's ``/coins/list`` as loaded at ``loaded_at`` (monotonic): one entry per id, sorted by id.

    ``version`` changes exactly when the listed coins do: ingest's ``GET /v1/coins`` serves it as
    its ETag, so a caller whose copy is current gets a 304 instead of the whole list again.
    """

    def __init__(self, coins: Iterable[ListedCoin], loaded_at: float) -> None:
        by_id: dict[str, ListedCoin] = {}
        for c in coins:
            by_id.setdefault(c.id, c)
        self.coins = tuple(by_id[k] for k in sorted(by_id))
        self.ids = frozenset(by_id)
        self.loaded_at = loaded_at
        text = "\n".join(f"{c.id}\t{c.symbol}\t{c.name}" for c in self.coins)
        self.version = hashlib.sha256(text.encode()).hexdigest()[:32]

    @classmethod
    def parse(cls, data: list, loaded_at: float) -> CoinList:
        """The entries of a ``/coins/list`` body with a string id (symbol and name as given, else empty)."""

        def text(value: Any) -> str:
            return value if isinstance(value, str) else ""

        return cls(
            (
                ListedCoin(c["id"], text(c.get("symbol")), text(c.get("name")))
                for c in data
                if isinstance(c, dict) and isinstance(c.get("id"), str)
            ),
            loaded_at,
        )


class _Malformed(Exception):
    """A 200 whose body is not what the endpoint returns: retried like a 5xx."""


class _Retryable(Exception):
    """A failed attempt worth another: ``reason`` is the retry metric's label."""

    def __init__(self, reason: str, problem: str, retry_after_s: float = 0.0) -> None:
        super().__init__(problem)
        self.reason = reason
        self.problem = problem
        self.retry_after_s = retry_after_s


def _failure(state: tenacity.RetryCallState) -> _Retryable:
    """The ``_Retryable`` that ended the attempt ``state`` describes."""
    assert state.outcome is not None
    exc = state.outcome.exception()
    assert isinstance(exc, _Retryable)
    return exc


_BUCKETS: dict[tuple[str, int], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def shared_bucket(base_url: str, rate_per_minute: int) -> TokenBucket:
    """The process-wide bucket of one CoinGecko endpoint and rate."""
    with _BUCKETS_LOCK:
        key = (base_url, rate_per_minute)
        if key not in _BUCKETS:
            # A burst of a few seconds' worth of calls, never a minute's: a sliding-window
            # limiter upstream would otherwise see up to twice the rate in one minute.
            _BUCKETS[key] = TokenBucket(rate_per_minute, capacity=max(1.0, rate_per_minute / 30))
        return _BUCKETS[key]


def retry_after_s(value: str | None, default: float) -> float:
    """A Retry-After header (seconds or HTTP date) in seconds."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return default


def error_message(resp: requests.Response) -> str:
    """CoinGecko's error text from any of its error body shapes."""
    try:
        body = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()[:200]
    if isinstance(body, dict):
        err = body.get("error")
        status = body.get("status") or (err.get("status") if isinstance(err, dict) else None)
        if isinstance(status, dict) and status.get("error_message"):
            return str(status["error_message"])
        if isinstance(err, str):
            return err
    return json.dumps(body)[:200]


def _require_chart(data: Any) -> None:
    if not isinstance(data, dict) or not isinstance(data.get("prices"), list):
        raise _Malformed("market chart without a prices list")
    for key in ("prices", "market_caps", "total_volumes"):
        series = data.get(key, [])
        if not isinstance(series, list) or any(not isinstance(p, list) or len(p) != 2 for p in series):
            raise _Malformed(f"market chart {key} is not a list of [ms, value] pairs")


def _require(kind: type) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        if not isinstance(data, kind):
            raise _Malformed(f"expected a JSON {kind.__name__}")

    return check


class CoinGeckoClient:
    """CoinGecko API v3 over one ``requests.Session`` (thread-safe for our GETs)."""

    def __init__(
        self,
        settings: CoinGeckoSettings,
        bucket: TokenBucket | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.bucket = bucket or shared_bucket(self.base_url, settings.rate_limit_per_minute)
        self.session = session or requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if settings.api_plan in KEY_HEADERS and settings.api_key:
            self.session.headers[KEY_HEADERS[settings.api_plan]] = settings.api_key
        self.session.headers["Accept"] = "application/json"
        self._sleep = sleep
        self._cache_lock = threading.Lock()
        self._coins_load_lock = threading.Lock()  # one /coins/list call at a time: the others wait for it
        self._coins: CoinList | None = None
        self._coins_tried_at: float | None = None  # last load attempt, good or failed (the miss bound)
        self._vs: tuple[float, frozenset[str]] | None = None
        self.clock: Callable[[], float] | None = None  # the cache's clock (None: time.monotonic)
        self.last_success = 0.0  # monotonic time of the last good answer (readiness uses it)

    # -- transport -----------------------------------------------------------------

    def _get(
        self,
        path: str,
        endpoint: str,
        params: dict[str, Any] | None = None,
        validate: Callable[[Any], None] | None = None,
    ) -> Any:
        """GET with the bucket, retries and metrics; ``endpoint`` is the templated path label.

        tenacity runs the attempts: at most ``max_attempts``, full-jitter exponential
        back-off capped at ``backoff_max_s`` between them, and only ``_Retryable``
        failures retried (``BadRequest`` passes straight through). One thing it cannot
        do is the 429 wait: a ``Retry-After`` is CoinGecko's verdict on this process's
        quota, not on this call, so instead of sleeping this caller alone it pauses the
        process-wide token bucket (every thread's next ``acquire`` waits it out, this
        caller's retry included) and the retry itself waits nothing more.
        """
        metrics.declare_coingecko_endpoint(endpoint)
        settings = self.settings
        jitter = tenacity.wait_random_exponential(multiplier=settings.backoff_base_s, max=settings.backoff_max_s)

        def wait(state: tenacity.RetryCallState) -> float:
            return 0.0 if _failure(state).reason == "429" else jitter(state)

        def stop(state: tenacity.RetryCallState) -> bool:
            failure = _failure(state)
            # A Retry-After longer than we hold a caller: give the wait back to them.
            too_long = failure.reason == "429" and failure.retry_after_s > settings.backoff_max_s
            return too_long or state.attempt_number >= settings.max_attempts

        def before_sleep(state: tenacity.RetryCallState) -> None:
            failure = _failure(state)
            metrics.COINGECKO_RETRIES.labels(endpoint, failure.reason).inc()
            if failure.reason == "429":
                self.bucket.pause(failure.retry_after_s)
            log.info(
                "retrying CoinGecko %s after %s (attempt %d of %d)",
                endpoint,
                failure.problem,
                state.attempt_number,
                settings.max_attempts,
            )

        def give_up(state: tenacity.RetryCallState) -> Any:
            failure = _failure(state)
            message = f"CoinGecko {endpoint} failed after {state.attempt_number} attempt(s): {failure.problem}"
            if failure.reason == "429":
                raise CoinGeckoRateLimited(message, retry_after_s=max(1.0, failure.retry_after_s))
            raise CoinGeckoUnavailable(message, retry_after_s=max(1.0, settings.backoff_max_s))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retryable),
            stop=stop,
            wait=wait,
            sleep=self._sleep,
            before_sleep=before_sleep,
            retry_error_callback=give_up,
        )
        return retrying(self._attempt, self.base_url + path, endpoint, params, validate)

    def _attempt(
        self, url: str, endpoint: str, params: dict[str, Any] | None, validate: Callable[[Any], None] | None
    ) -> Any:
        """One call: the answer's JSON, ``_Retryable`` saying why not, or ``BadRequest``."""
        timeout_s = self.settings.timeout_s
        self.bucket.acquire()
        started = time.perf_counter()
        status = "error"
        try:
            resp = self.session.get(url, params=params, timeout=(min(timeout_s, 5.0), timeout_s))
            status = str(resp.status_code)
            if resp.status_code == 200:
                try:
                    data = resp.json()
                    if validate:
                        validate(data)
                except (ValueError, _Malformed) as exc:
                    status = "malformed"
                    raise _Retryable("malformed", f"malformed body: {str(exc)[:120]}") from None
                self.last_success = time.monotonic()
                return data
            if resp.status_code == 429:
                metrics.COINGECKO_429.labels(endpoint).inc()
                wait = retry_after_s(resp.headers.get("Retry-After"), self.settings.backoff_base_s)
                raise _Retryable("429", f"rate limited (429): {error_message(resp)}", retry_after_s=wait)
            if resp.status_code >= 500 or resp.status_code == 408:
                raise _Retryable("5xx", f"HTTP {resp.status_code}: {error_message(resp)}")
            raise BadRequest(f"CoinGecko answered {resp.status_code}: {error_message(resp)}", resp.status_code)
        except requests.Timeout:
            status = "timeout"
            raise _Retryable("timeout", f"no answer within {timeout_s:g}s") from None
        except requests.RequestException as exc:  # refused, reset, truncated body
            status = "error"
            raise _Retryable("connection", f"{type(exc).__name__}: {str(exc)[:160]}") from None
        finally:
            metrics.COINGECKO_CALLS.labels(endpoint, status).inc()
            metrics.COINGECKO_SECONDS.labels(endpoint).observe(time.perf_counter() - started)

    # -- endpoints -----------------------------------------------------------------

    def ping(self, timeout_s: float = 3.0) -> bool:
        """One attempt at /ping (readiness); never waits long for a token."""
        if not self.bucket.acquire(max_wait_s=timeout_s):
            return self.last_success > 0
        resp = self.session.get(self.base_url + "/ping", timeout=timeout_s)
        metrics.COINGECKO_CALLS.labels("/ping", str(resp.status_code)).inc()
        if resp.status_code == 200:
            self.last_success = time.monotonic()
            return True
        return resp.status_code == 429  # up, just busy

    def _now(self) -> float:
        return self.clock() if self.clock is not None else time.monotonic()

    def coins_list(self) -> frozenset[str]:
        """Ids of every coin CoinGecko knows (cached for an hour)."""
        return self.coin_list().ids

    def coin_list(self, missing: Iterable[str] = ()) -> CoinList:
        """Every coin CoinGecko knows, cached for an hour.

        When one of ``missing`` is not in the cached list (a coin listed since), the list is
        loaded again, unless a load was tried within ``COIN_LIST_MISS_RELOAD_S``: however many
        unknown ids callers name, that costs CoinGecko at most one call a minute. A failed
        reload raises and keeps the previous list for the next caller.
        """
        wanted = [m for m in missing if m]
        with self._coins_load_lock:
            with self._cache_lock:
                current = self._coins
            now = self._now()
            if (
                current is not None
                and now - current.loaded_at < COINS_LIST_TTL_S
                and (all(m in current.ids for m in wanted) or not self._may_reload(now))
            ):
                return current
            return self._load_coins(now)

    def _may_reload(self, now: float) -> bool:
        return self._coins_tried_at is None or now - self._coins_tried_at >= COIN_LIST_MISS_RELOAD_S

    def _load_coins(self, now: float) -> CoinList:
        self._coins_tried_at = now
        data = self._get("/coins/list", "/coins/list", validate=_require(list))
        coins = CoinList.parse(data, self._now())
        if not coins.coins:
            raise CoinGeckoUnavailable("CoinGecko /coins/list returned no coins")
        with self._cache_lock:
            self._coins = coins
        return coins

    def supported_vs_currencies(self) -> frozenset[str]:
        """Quote currencies CoinGecko prices in (cached for an hour)."""
        with self._cache_lock:
            if self._vs and time.monotonic() - self._vs[0] < COINS_LIST_TTL_S:
                return self._vs[1]
        data = self._get("/simple/supported_vs_currencies", "/simple/supported_vs_currencies", validate=_require(list))
        currencies = frozenset(c.lower() for c in data if isinstance(c, str))
        with self._cache_lock:
            self._vs = (time.monotonic(), currencies)
        return currencies

    def check_coins(self, coins: list[str]) -> None:
        known = self.coin_list(missing=coins).ids
        unknown = [c for c in coins if c not in known]
        if unknown:
            raise UnknownCoin(unknown)

    def check_vs_currency(self, vs_currency: str) -> None:
        supported = self.supported_vs_currencies()
        if vs_currency not in supported:
            raise BadRequest(f"unknown vs_currency {vs_currency!r}", 400)

    def simple_price(self, coins: list[str], vs_currency: str) -> dict[str, Any]:
        """``/simple/price`` with market cap, 24h volume and last update, merged over batches of ids."""
        merged: dict[str, Any] = {}
        for i in range(0, len(coins), SIMPLE_PRICE_BATCH):
            batch = coins[i : i + SIMPLE_PRICE_BATCH]
            params = {
                "ids": ",".join(batch),
                "vs_currencies": vs_currency,
                "include_market_cap": "true",
                "include_24hr_vol": "true",
                "include_last_updated_at": "true",
                "precision": "full",
            }
            merged.update(self._get("/simple/price", "/simple/price", params, validate=_require(dict)))
        return merged

    def market_chart_range(self, coin: str, vs_currency: str, from_s: int, to_s: int) -> dict[str, Any]:
        """``/coins/{id}/market_chart/range`` (granularity chosen by CoinGecko from the range length)."""
        params = {"vs_currency": vs_currency, "from": from_s, "to": to_s, "precision": "full"}
        try:
            return self._get(
                f"/coins/{coin}/market_chart/range", "/coins/{id}/market_chart/range", params, validate=_require_chart
            )
        except BadRequest as exc:
            if exc.status == 404:
                raise UnknownCoin([coin]) from None
            raise
