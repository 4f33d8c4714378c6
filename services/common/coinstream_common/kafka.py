"""Kafka helpers shared by every producer and consumer.

The producer is idempotent with acks=all and validates each event against its
schema *before* it is sent, so a malformed event never reaches a topic from
our own code. ``send_and_wait`` returns only once the broker acknowledged
every event (or raises, naming what failed). The consumer never auto-commits:
offsets are committed after the handler returned, so a crash re-delivers
rather than loses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from coinstream_contract.events import Event, EventError
from coinstream_contract.topics import TopicSpec
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from . import metrics
from .settings import KafkaSettings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


class DeliveryError(RuntimeError):
    """Some events were not acknowledged by the broker."""


def _base_config(settings: KafkaSettings, client_id: str) -> dict:
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": f"{settings.client_id}-{client_id}",
        "security.protocol": settings.security_protocol,
    }


@dataclass
class DeliveryReport:
    acked: int = 0
    failed: list[str] = field(default_factory=list)


class EventProducer:
    """Idempotent, acks=all producer of schema-checked events."""

    def __init__(self, settings: KafkaSettings, client_id: str, **overrides) -> None:
        config = _base_config(settings, client_id) | {
            "enable.idempotence": True,
            "acks": "all",
            "delivery.timeout.ms": settings.delivery_timeout_ms,
            "linger.ms": 5,
            "compression.type": "lz4",
        }
        config.update(overrides)
        self._producer = Producer(config)
        self._timeout_s = settings.delivery_timeout_ms / 1000 + 5
        self._lock = threading.Lock()

    def _produce(self, topic: str, event: Event, report: DeliveryReport) -> None:
        if not isinstance(event, Event):
            raise EventError(f"{type(event).__name__} is not an Event")
        # Re-validate: model_copy()/model_construct() skip the checks.
        try:
            type(event).model_validate(event.model_dump(by_alias=True))
        except ValueError as exc:
            raise EventError(f"refusing to send an invalid {type(event).__name__}: {exc}") from None
        payload = event.to_json()
        metrics.declare_topic(topic)
        started = time.perf_counter()

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            metrics.KAFKA_PRODUCE_SECONDS.labels(topic).observe(time.perf_counter() - started)
            if err is None:
                report.acked += 1
                metrics.KAFKA_PRODUCED.labels(topic).inc()
            else:
                report.failed.append(str(err))
                metrics.KAFKA_PRODUCE_ERRORS.labels(topic).inc()

        while True:
            try:
                self._producer.produce(topic, value=payload, key=event.key.encode(), on_delivery=on_delivery)
                return
            except BufferError:
                self._producer.poll(0.1)

    def send_and_wait(self, topic: str, events: Iterable[Event]) -> int:
        """Send every event and block until all are acknowledged; returns the count."""
        report = DeliveryReport()
        with self._lock:
            sent = 0
            for event in events:
                self._produce(topic, event, report)
                sent += 1
                self._producer.poll(0)
            remaining = self._producer.flush(self._timeout_s)
        if remaining or report.failed or report.acked != sent:
            reason = report.failed[0] if report.failed else f"{remaining} still queued"
            raise DeliveryError(f"{sent - report.acked} of {sent} events not acknowledged on {topic}: {reason}")
        return sent

    def close(self) -> None:
        self._producer.flush(self._timeout_s)


def make_consumer(settings: KafkaSettings, group_id: str, topics: list[str], **overrides) -> Consumer:
    config = _base_config(settings, group_id) | {
        "group.id": group_id,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
    }
    config.update(overrides)
    consumer = Consumer(config)
    for topic in topics:
        metrics.declare_topic(topic)
    consumer.subscribe(topics)
    return consumer


def watermarks(consumer: Consumer, topic: str, timeout_s: float) -> dict[int, tuple[int, int]]:
    """Each partition's (low, high) offsets, fresh from the broker; KafkaException when the
    topic's metadata cannot be read (broker down, topic missing)."""
    meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
    if meta is None or meta.error is not None:
        raise KafkaException(meta.error if meta else KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART))
    return {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout_s, cached=False)
        for p in meta.partitions
    }


def consume_events(
    consumer: Consumer,
    event_type: type[E],
    handle: Callable[[list[E]], None],
    stop: threading.Event,
    batch_size: int = 500,
    poll_timeout_s: float = 0.5,
    on_invalid: Callable[[Message, EventError], None] | None = None,
) -> None:
    """Poll, parse, hand a batch to ``handle``, then commit; until ``stop`` is set.

    If ``handle`` raises, nothing is committed and the consumer seeks back, so
    the same records are delivered again.
    """
    while not stop.is_set():
        messages = consumer.consume(batch_size, timeout=poll_timeout_s)
        if not messages:
            continue
        events: list[E] = []
        for msg in messages:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", err)
                continue
            metrics.KAFKA_CONSUMED.labels(msg.topic()).inc()
            try:
                events.append(event_type.from_json(msg.value()))
            except EventError as exc:
                metrics.KAFKA_CONSUME_INVALID.labels(msg.topic()).inc()
                if on_invalid:
                    on_invalid(msg, exc)
                else:
                    log.warning("skipping invalid event on %s: %s", msg.topic(), exc)
        try:
            if events:
                handle(events)
        except Exception:
            log.exception("handler failed; records will be re-delivered")
            metrics.KAFKA_CONSUME_ERRORS.labels(messages[0].topic()).inc()
            _rewind(consumer, messages)
            stop.wait(1.0)
            continue
        consumer.commit(asynchronous=False)


def _rewind(consumer: Consumer, messages: list[Message]) -> None:
    """Seek each partition back to the earliest record of the failed batch."""
    first: dict[tuple[str, int], int] = {}
    for msg in messages:
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        if msg.error() or topic is None or partition is None or offset is None:
            continue
        tp = (topic, partition)
        first[tp] = min(first.get(tp, offset), offset)
    for (topic, partition), offset in first.items():
        consumer.seek(TopicPartition(topic, partition, offset))


def ensure_topics(settings: KafkaSettings, specs: list[TopicSpec], replication: int = 1) -> list[str]:
    """Create missing topics; returns those created. Safe to run repeatedly."""
    admin = AdminClient(_base_config(settings, "admin"))
    existing = set(admin.list_topics(timeout=10).topics)
    wanted = [
        NewTopic(s.name, num_partitions=s.partitions, replication_factor=replication, config=s.config)
        for s in specs
        if s.name not in existing
    ]
    if not wanted:
        return []
    created = []
    for name, future in admin.create_topics(wanted, operation_timeout=15).items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise
    return created


def broker_metadata(bootstrap: str, timeout_s: float = 5.0) -> dict:
    """A real metadata request: the broker health check."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})  # quiet while the broker is down
    md = admin.list_topics(timeout=timeout_s)
    return {"brokers": len(md.brokers), "topics": sorted(t for t in md.topics if not t.startswith("__"))}
