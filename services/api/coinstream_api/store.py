"""Portfolios, read back from the compacted ``portfolio.events`` topic.

Every process (replica or gunicorn worker) runs one consumer that reads the
topic from the beginning into a dict, with a group id unique to the process
and no commits, so no process owns any portfolio. A lookup that misses asks
the consumer thread to fetch the topic's end offsets and waits (up to
``wait_s``) until it has read that far: a portfolio created on another
replica a moment ago is then found; only after that is the answer "unknown".
All Kafka calls happen on the consumer thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

from coinstream_common import metrics
from coinstream_common.kafka import watermarks
from coinstream_common.settings import KafkaSettings
from coinstream_contract.events import EventError, PortfolioEvent
from confluent_kafka import KafkaError, KafkaException

from .topic_reader import TopicReader

log = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """Kafka could not be asked whether the portfolio exists."""


class PortfolioStore(TopicReader):
    thread_name = "portfolio-store"
    group_name = "portfolios"
    consumer_config: ClassVar[dict[str, Any]] = {"enable.partition.eof": True, "log_level": 0}
    retry_s = 1.0

    def __init__(self, kafka: KafkaSettings, topic: str, group_prefix: str, wait_s: float = 5.0) -> None:
        super().__init__(kafka, topic, group_prefix)
        self.wait_s = wait_s
        self._portfolios: dict[str, PortfolioEvent] = {}
        self._positions: dict[int, int] = {}  # partition -> next offset to read
        self._cond = threading.Condition()
        self._sync_requested = 0  # generation asked for by lookups
        self._sync_done = 0  # generation the consumer has caught up to
        self._sync_failed = 0  # generation whose end offsets could not be fetched
        self._targets: dict[int, tuple[int, int]] | None = None  # partition -> (low, high) to reach
        self._target_gen = 0

    # -- request side --------------------------------------------------
    def put(self, portfolio: PortfolioEvent) -> None:
        """Remember a portfolio this process just published (its own read follows)."""
        with self._cond:
            self._portfolios[portfolio.id] = portfolio

    def cached(self, portfolio_id: str) -> PortfolioEvent | None:
        return self._portfolios.get(portfolio_id)

    def get(self, portfolio_id: str) -> PortfolioEvent | None:
        """The portfolio, or None once the topic was read to its end without it."""
        found = self._portfolios.get(portfolio_id)
        if found is not None:
            return found
        with self._cond:
            self._sync_requested += 1
            gen = self._sync_requested
            ok = self._cond.wait_for(
                lambda: self._sync_done >= gen or self._sync_failed >= gen or portfolio_id in self._portfolios,
                timeout=self.wait_s,
            )
            if portfolio_id in self._portfolios:
                return self._portfolios[portfolio_id]
            if not ok or self._sync_failed >= gen and self._sync_done < gen:
                raise StoreUnavailable("could not read the portfolio topic to its end")
            return None

    def __len__(self) -> int:
        return len(self._portfolios)

    # -- consumer thread (TopicReader) ------------------------------------
    def _step(self, consumer) -> None:
        self._serve_sync(consumer)
        for msg in consumer.consume(500, timeout=0.2):
            self._apply(msg)
        self._check_caught_up()

    def _failed(self, exc: Exception) -> bool:
        self._fail_pending()  # lookups that miss report unavailable
        if isinstance(exc, KafkaException):  # broker trouble: the consumer itself is fine
            log.warning("portfolio store: %s", exc)
            return True
        log.exception("portfolio store loop failed; restarting its consumer")
        return False

    def _apply(self, msg) -> None:
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                with self._cond:
                    self._positions[msg.partition()] = msg.offset()
            else:
                log.warning("portfolio store consume error: %s", err)
            return
        metrics.KAFKA_CONSUMED.labels(msg.topic()).inc()
        key = msg.key().decode() if msg.key() else None
        with self._cond:
            self._positions[msg.partition()] = msg.offset() + 1
            if msg.value() is None:  # tombstone: deleted
                if key:
                    self._portfolios.pop(key, None)
                return
        try:
            portfolio = PortfolioEvent.from_json(msg.value())
        except EventError as exc:
            metrics.KAFKA_CONSUME_INVALID.labels(msg.topic()).inc()
            log.warning("skipping invalid portfolio event at offset %s: %s", msg.offset(), exc)
            return
        with self._cond:
            self._portfolios[portfolio.id] = portfolio
            self._cond.notify_all()

    def _serve_sync(self, consumer) -> None:
        with self._cond:
            wanted = self._sync_requested
        if wanted <= self._target_gen:
            return
        targets = watermarks(consumer, self.topic, timeout_s=3.0)
        with self._cond:
            self._targets = targets
            self._target_gen = wanted

    def _check_caught_up(self) -> None:
        with self._cond:
            if self._targets is None or self._sync_done >= self._target_gen:
                return
            if all(self._positions.get(p, low) >= high for p, (low, high) in self._targets.items()):
                self._sync_done = self._target_gen
                self._cond.notify_all()

    def _fail_pending(self) -> None:
        with self._cond:
            self._sync_failed = self._sync_requested
            self._target_gen = max(self._target_gen, self._sync_requested)
            self._targets = None
            self._cond.notify_all()
