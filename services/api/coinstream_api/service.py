"""Portfolios: create, look up, value now, and follow until complete.

Nothing here lives in one process only: portfolios come from Kafka
(``PortfolioStore``), valuations from the query service, stream positions
from the landed topic's offsets (``LandedWatcher.sequence``). What a process
keeps for itself are caches: the query service's valuations and the documents
of complete portfolios (their data cannot change unless a landed batch touches
them, which evicts them), and the last valuation of each portfolio, answered
marked stale when the query service is down.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from coinstream_common.kafka import DeliveryError
from coinstream_common.settings import TopicSettings
from coinstream_common.web import ApiError
from coinstream_contract.events import BackfillRequest, LandedNotification, PortfolioEvent
from coinstream_contract.vocabulary import INTERVAL_MS
from confluent_kafka import KafkaException

from . import chart, metrics, sse
from .landed import touches
from .query_client import QueryRejected, QueryUnavailable
from .settings import ApiSettings
from .state import BadValuation, PortfolioState, build_state
from .store import StoreUnavailable
from .validation import Limits, validate_portfolio
from .valuation_cache import ValuationCache, ValuationKey

log = logging.getLogger(__name__)

ID_PATTERN_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
CACHE_ENTRIES = 1000  # per process, for each of the caches (least recently used dropped first)
RETRY_MS = 3000


def new_portfolio_id() -> str:
    return "pf_" + secrets.token_urlsafe(12)


def plausible_id(portfolio_id: str) -> bool:
    return 8 <= len(portfolio_id) <= 64 and set(portfolio_id) <= ID_PATTERN_CHARS


@dataclass
class Cached:
    state: PortfolioState
    body: bytes
    charts: dict[str, bytes] = field(default_factory=dict)


class PortfolioService:
    def __init__(
        self,
        settings: ApiSettings,
        topics: TopicSettings,
        store,
        watcher,
        producer,
        query,
        coins,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.topics = topics
        self.store = store
        self.watcher = watcher
        self.producer = producer
        self.query = query
        self.coins = coins
        self.clock = clock
        self.limits = Limits(
            max_holdings=settings.max_holdings,
            max_range_days=settings.max_range_days,
            max_points=settings.max_points,
            vs_currencies=frozenset(c.strip().lower() for c in settings.vs_currencies.split(",") if c.strip()),
        )
        self._complete: OrderedDict[str, Cached] = OrderedDict()
        self._last: OrderedDict[str, PortfolioState] = OrderedDict()
        self._lock = threading.Lock()
        # Its generation, bumped by every landed notification, also guards the complete-document cache:
        # a valuation begun before a notification may be outdated. Registered first, so it is bumped
        # before _on_landed evicts.
        self.valuations = ValuationCache(settings.valuation_cache_cells, lambda: watcher.wait_ready(0))
        watcher.add_listener(self.valuations.on_landed)
        watcher.add_listener(self._on_landed)

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- create ---------------------------------------------------------
    def create(self, body: dict, owner: str) -> PortfolioState:
        try:
            valid = validate_portfolio(body, self.limits, self.coins.ids(), self._now_ms())
        except ApiError as exc:
            if exc.code != "unknown_coin" or not self.coins.reload_for_unknown(exc.details.get("coins", ())):
                raise
            valid = validate_portfolio(body, self.limits, self.coins.ids(), self._now_ms())
        portfolio = PortfolioEvent(
            id=new_portfolio_id(),
            owner=owner,
            holdings=valid.holdings,
            vs_currency=valid.vs_currency,
            from_=valid.from_ms,
            to=valid.to_ms,
            interval=valid.interval,
            created_at=self._now_ms(),
        )
        try:
            state = self._compute(portfolio)
        except _Rejected as exc:  # e.g. more coin x point cells than the query service computes at once
            raise ApiError(400, "valuation_refused", f"the query service refused this portfolio: {exc}") from None
        except _Unavailable as exc:
            raise _query_unavailable(exc) from None
        step = INTERVAL_MS[portfolio.interval]
        # The query's missing ranges already span where observations would fix them; one interval at least.
        backfills = [
            BackfillRequest(
                coin=m.coin,
                vs_currency=portfolio.vs_currency,
                from_=max(0, min(m.from_ms, m.to_ms - step)),
                to=m.to_ms,
                interval=portfolio.interval,
                requested_by=f"api:{portfolio.id}",
            )
            for m in state.missing
        ]
        # Backfills first: if the portfolio then cannot be published, nothing the user can see exists.
        try:
            if backfills:
                self.producer.send_and_wait(self.topics.backfill_requests, backfills)
            self.producer.send_and_wait(self.topics.portfolio_events, [portfolio])
        except (DeliveryError, KafkaException, BufferError) as exc:
            log.warning("create failed, Kafka unavailable: %s", exc)
            raise ApiError(
                503,
                "kafka_unavailable",
                "the portfolio could not be stored (Kafka unavailable); retry later",
                headers={"Retry-After": "5"},
            ) from None
        self.store.put(portfolio)
        self._remember(state)
        log.info(
            "portfolio %s created: %d holdings, %d backfill requests",
            portfolio.id,
            len(portfolio.holdings),
            len(backfills),
        )
        return state

    # -- look up --------------------------------------------------------
    def lookup(self, portfolio_id: str, owner: str) -> PortfolioEvent:
        """The caller's portfolio, or 404 (also when it belongs to another key: existence is not revealed)."""
        if not plausible_id(portfolio_id):
            raise self._not_found(portfolio_id)
        try:
            portfolio = self.store.get(portfolio_id)
        except (StoreUnavailable, KafkaException) as exc:
            log.warning("portfolio lookup failed: %s", exc)
            raise ApiError(
                503,
                "kafka_unavailable",
                "portfolios cannot be read now (Kafka unavailable); retry later",
                headers={"Retry-After": "5"},
            ) from None
        if portfolio is None or portfolio.owner != owner:
            raise self._not_found(portfolio_id)
        return portfolio

    @staticmethod
    def _not_found(portfolio_id: str) -> ApiError:
        return ApiError(404, "not_found", f"no portfolio {portfolio_id!r} for this API key")

    # -- valuation --------------------------------------------------------
    def _compute(self, portfolio: PortfolioEvent) -> PortfolioState:
        key = ValuationKey.of(portfolio)
        try:
            # Unit holdings: the api values the lots itself (acquisitions inside the range), so one
            # valuation of the coins serves every portfolio of them over that range.
            valuation = self.valuations.get_or_compute(
                key,
                lambda: self.query.valuation(
                    dict.fromkeys(key.coins, 1.0), key.vs_currency, key.from_ms, key.to_ms, key.interval
                ),
            )
            return build_state(portfolio, valuation, self._now_ms())
        except QueryUnavailable as exc:
            raise _Unavailable(str(exc)) from None
        except QueryRejected as exc:
            log.warning("query service refused the valuation of %s: %s", portfolio.id, exc)
            raise _Rejected(str(exc)) from None
        except BadValuation as exc:
            log.error("query service answer unusable for %s: %s", portfolio.id, exc)
            raise _Unavailable(f"query service answer unusable: {exc}") from None

    def _remember(self, state: PortfolioState, generation: int | None = None) -> Cached | None:
        pid = state.portfolio.id
        with self._lock:
            self._last[pid] = state
            self._last.move_to_end(pid)
            while len(self._last) > CACHE_ENTRIES:
                self._last.popitem(last=False)
            if state.complete and (generation is None or generation == self.valuations.generation):
                cached = Cached(state, encode_json(state.document()))
                self._complete[pid] = cached
                while len(self._complete) > CACHE_ENTRIES:
                    self._complete.popitem(last=False)
                return cached
        return None

    def _on_landed(self, note: LandedNotification) -> None:
        with self._lock:
            touched = [pid for pid, c in self._complete.items() if touches(note, c.state.portfolio)]
            for pid in touched:
                del self._complete[pid]

    def current(self, portfolio: PortfolioEvent) -> tuple[PortfolioState, bool, Cached | None]:
        """(state, stale, cache entry): recomputed now unless complete and untouched since."""
        cached = self._complete.get(portfolio.id)
        if cached is not None:
            with self._lock:
                if portfolio.id in self._complete:
                    self._complete.move_to_end(portfolio.id)
            return cached.state, False, cached
        generation = self.valuations.generation
        try:
            state = self._compute(portfolio)
        except _Unavailable as exc:
            last = self._last.get(portfolio.id)
            if last is None:
                raise _query_unavailable(exc) from None
            return last, True, None
        return state, False, self._remember(state, generation)

    def document_body(self, portfolio: PortfolioEvent) -> bytes:
        state, stale, cached = self.current(portfolio)
        return cached.body if cached is not None else encode_json(state.document(stale=stale))

    def chart(self, portfolio: PortfolioEvent, fmt: str) -> bytes:
        state, stale, cached = self.current(portfolio)
        if cached is not None and fmt in cached.charts:
            return cached.charts[fmt]
        image = chart.render(state, fmt, stale=stale)
        if cached is not None:
            cached.charts[fmt] = image
        return image

    # -- stream -----------------------------------------------------------
    def stream(self, portfolio: PortfolioEvent, last_event_id: int | None) -> Iterator[str]:
        """SSE: updates as landed batches touch the portfolio, then ``complete`` (or ``timeout``)."""
        sub = self.watcher.subscribe(portfolio)  # before reading the sequence: nothing lands unseen
        metrics.PORTFOLIO_STREAMS_OPEN.inc()
        try:
            yield sse.retry(RETRY_MS)
            heartbeat, started = self.settings.heartbeat_s, time.monotonic()
            deadline = started + self.settings.stream_timeout_s
            sent = last_event_id if last_event_id is not None else -1
            seq = self.watcher.sequence()
            # First look: always (it may be complete already); an update only if the client has not seen it.
            pending: int | None = seq if seq > sent else None
            must_check, first, last_write = True, True, time.monotonic()
            while True:
                if must_check or pending is not None:
                    generation = self.valuations.generation
                    try:
                        state = self._compute(portfolio)
                    except _Unavailable as exc:
                        yield sse.comment(f"valuation unavailable ({exc}); retrying")
                        last_write = time.monotonic()
                    else:
                        must_check = False
                        self._remember(state, generation)
                        doc = state.document()
                        if pending is not None and not (first and state.complete):
                            yield sse.event("update", doc, pending)
                            sent = pending
                            last_write = time.monotonic()
                        if state.complete:
                            yield sse.event("complete", doc, max(sent, pending or 0, seq, 0))
                            return
                        pending, first = None, False
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    yield sse.event(
                        "timeout",
                        {
                            "id": portfolio.id,
                            "message": f"not complete after {self.settings.stream_timeout_s:g} s; reconnect to keep following",
                            "last_event_id": sent if sent >= 0 else None,
                        },
                    )
                    return
                wait = max(0.0, min(remaining, last_write + heartbeat - time.monotonic()))
                woken = _drain(sub.wakeups, wait)
                if woken is not None:
                    seq = max(seq, woken)
                    if woken > sent:
                        pending = max(pending or -1, woken)
                elif time.monotonic() - last_write >= heartbeat:
                    yield sse.comment("heartbeat")
                    last_write = time.monotonic()
        finally:
            self.watcher.unsubscribe(sub)
            metrics.PORTFOLIO_STREAMS_OPEN.dec()


class _Unavailable(RuntimeError):
    pass


class _Rejected(_Unavailable):
    """The query service answered 4xx: for a new portfolio the user's problem, later a stale answer."""


def _query_unavailable(exc: Exception) -> ApiError:
    return ApiError(
        503, "query_unavailable", f"prices cannot be queried now ({exc}); retry later", headers={"Retry-After": "5"}
    )


def _drain(wakeups: queue.SimpleQueue, timeout_s: float) -> int | None:
    """The highest sequence woken with, waiting up to ``timeout_s`` for the first."""
    try:
        top = wakeups.get(timeout=timeout_s) if timeout_s > 0 else wakeups.get_nowait()
    except queue.Empty:
        return None
    while True:
        try:
            top = max(top, wakeups.get_nowait())
        except queue.Empty:
            return top


def encode_json(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
