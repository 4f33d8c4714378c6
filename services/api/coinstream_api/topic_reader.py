"""A daemon thread that reads one topic through its own consumer, for as long as the process lives.

The portfolio store and the landed watcher both read a topic this way: a group
id unique to the process (so no process owns a partition and nothing is
committed), a consumer created on the thread and used only there, and a new
consumer when the old one broke. Subclasses say what to do with it.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any, ClassVar

from coinstream_common.kafka import make_consumer
from coinstream_common.settings import KafkaSettings
from confluent_kafka import Consumer


class TopicReader:
    thread_name: ClassVar[str] = "topic-reader"
    group_name: ClassVar[str] = "reader"  # the group id is <prefix>-<group_name>-<random>
    consumer_config: ClassVar[dict[str, Any]] = {}  # make_consumer overrides
    retry_s: ClassVar[float] = 1.0  # pause after a failure

    def __init__(self, kafka: KafkaSettings, topic: str, group_prefix: str) -> None:
        self._kafka = kafka
        self.topic = topic
        self.group_id = f"{group_prefix}-{self.group_name}-{uuid.uuid4().hex[:12]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    # -- what subclasses provide -------------------------------------------
    def _connected(self, consumer: Consumer) -> None:
        """Once per new consumer, before its first ``_step``."""

    def _step(self, consumer: Consumer) -> None:
        """One round of reading; called again and again until ``stop()``."""
        raise NotImplementedError

    def _failed(self, exc: Exception) -> bool:
        """``_connected`` or ``_step`` raised (called inside the ``except``): True keeps the
        consumer, False closes it so the next round starts a new one."""
        return False

    # -- the thread ------------------------------------------------------------
    def _run(self) -> None:
        consumer = None
        while not self._stop.is_set():
            try:
                if consumer is None:
                    consumer = make_consumer(self._kafka, self.group_id, [self.topic], **self.consumer_config)
                    self._connected(consumer)
                self._step(consumer)
            except Exception as exc:  # noqa: BLE001 - the thread outlives any failure; _failed logs it
                if not self._failed(exc) and consumer is not None:
                    consumer.close()
                    consumer = None
                self._stop.wait(self.retry_s)
        if consumer is not None:
            consumer.close()
