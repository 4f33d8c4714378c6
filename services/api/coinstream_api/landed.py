"""Landed notifications: which portfolios' data just became queryable.

Each process reads ``coin.prices.landed`` from the latest offset with its own
group id (no commits) and hands every notification to the subscribers it
touches (same coin and currency, time span overlapping the portfolio's range).

Every notification gets a *sequence*: the sum over the topic's partitions of
the offsets read so far. It only grows, and every process that has read the
same notifications computes the same number, so it serves as the SSE event
id: a client reconnecting to another replica with ``Last-Event-ID: n`` is
sent only what came after n.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, ClassVar

from coinstream_common import metrics
from coinstream_common.kafka import watermarks
from coinstream_common.settings import KafkaSettings
from coinstream_contract.events import EventError, LandedNotification, PortfolioEvent
from coinstream_contract.vocabulary import INTERVAL_MS
from confluent_kafka import KafkaError

from .topic_reader import TopicReader

log = logging.getLogger(__name__)

# Data landing shortly before `from` can still be carried forward onto the first points.
CARRY_SLACK_INTERVALS = 2


def touches_range(
    notification: LandedNotification, coins: Collection[str], vs_currency: str, from_ms: int, to_ms: int, interval: str
) -> bool:
    """Whether the notification's data can change a valuation of ``coins`` over [from, to]."""
    lo = from_ms - CARRY_SLACK_INTERVALS * INTERVAL_MS[interval]
    return any(
        c.coin_id in coins and c.vs_currency == vs_currency and c.max_ts >= lo and c.min_ts <= to_ms
        for c in notification.coins
    )


def touches(notification: LandedNotification, portfolio: PortfolioEvent) -> bool:
    return touches_range(
        notification,
        {h.coin for h in portfolio.holdings},
        portfolio.vs_currency,
        portfolio.from_,
        portfolio.to,
        portfolio.interval,
    )


@dataclass(eq=False)
class Subscription:
    portfolio: PortfolioEvent
    wakeups: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)  # sequences


class LandedWatcher(TopicReader):
    thread_name = "landed-watcher"
    group_name = "landed"
    consumer_config: ClassVar[dict[str, Any]] = {"auto.offset.reset": "latest", "log_level": 0}
    retry_s = 2.0

    def __init__(self, kafka: KafkaSettings, topic: str, group_prefix: str) -> None:
        super().__init__(kafka, topic, group_prefix)
        self._positions: dict[int, int] = {}
        self._subs: set[Subscription] = set()
        self._listeners: list[Callable[[LandedNotification], None]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()

    def sequence(self) -> int:
        with self._lock:
            return sum(self._positions.values())

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the start offsets are known (tests wait for it before landing data)."""
        return self._ready.wait(timeout_s)

    def subscribe(self, portfolio: PortfolioEvent) -> Subscription:
        sub = Subscription(portfolio)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def add_listener(self, listener: Callable[[LandedNotification], None]) -> None:
        self._listeners.append(listener)

    def _connected(self, consumer) -> None:
        self._start_positions(consumer)
        consumer.subscribe([self.topic], on_assign=self._on_assign)

    def _step(self, consumer) -> None:
        for msg in consumer.consume(100, timeout=0.5):
            self._handle(msg)

    def _failed(self, exc: Exception) -> bool:
        log.warning("landed watcher: %s; reconnecting", exc)
        return False

    def _start_positions(self, consumer) -> None:
        positions = watermarks(consumer, self.topic, timeout_s=5.0)
        with self._lock:
            for p, (_low, high) in positions.items():
                self._positions.setdefault(p, high)  # after a reconnect: resume where we were
        self._ready.set()

    def _on_assign(self, consumer, partitions) -> None:
        # Start where the watermarks were read, so the sequence counts every notification after it.
        with self._lock:
            for tp in partitions:
                if tp.partition in self._positions:
                    tp.offset = self._positions[tp.partition]
        consumer.assign(partitions)

    def _handle(self, msg) -> None:
        if msg.error() is not None:
            if msg.error().code() != KafkaError._PARTITION_EOF:
                log.warning("landed consume error: %s", msg.error())
            return
        metrics.KAFKA_CONSUMED.labels(msg.topic()).inc()
        with self._lock:
            self._positions[msg.partition()] = max(self._positions.get(msg.partition(), 0), msg.offset() + 1)
            seq = sum(self._positions.values())
        try:
            note = LandedNotification.from_json(msg.value())
        except EventError as exc:
            metrics.KAFKA_CONSUME_INVALID.labels(msg.topic()).inc()
            log.warning("skipping invalid landed notification: %s", exc)
            return
        self.deliver(note, seq)

    def deliver(self, note: LandedNotification, seq: int) -> None:
        """Wake the subscriptions (and tell the listeners) a notification touches."""
        for listener in self._listeners:
            listener(note)
        with self._lock:
            subs = [s for s in self._subs if touches(note, s.portfolio)]
        for s in subs:
            s.wakeups.put(seq)
