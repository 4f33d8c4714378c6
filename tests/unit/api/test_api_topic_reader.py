"""TopicReader: the consumer thread the portfolio store and the landed watcher share."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest
from coinstream_api import topic_reader
from coinstream_api.topic_reader import TopicReader
from coinstream_common.settings import KafkaSettings

pytestmark = pytest.mark.unit


class FakeConsumer:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False

    def close(self) -> None:
        self.closed = True


class Scripted(TopicReader):
    """Fails the rounds listed in ``fail`` (keeping the consumer if ``keep``), stops after ``rounds``."""

    group_name = "scripted"
    consumer_config: ClassVar[dict[str, Any]] = {"log_level": 0}
    retry_s = 0.0

    def __init__(self, fail: set[int], keep: bool, rounds: int) -> None:
        super().__init__(KafkaSettings(), "some.topic", "test")
        self.fail, self.keep, self.rounds = fail, keep, rounds
        self.round = 0
        self.connected: list[int] = []  # consumer numbers, in connection order
        self.stepped: list[int] = []  # consumer number of each round
        self.done = threading.Event()

    def _connected(self, consumer) -> None:
        self.connected.append(consumer.n)

    def _step(self, consumer) -> None:
        self.round += 1
        self.stepped.append(consumer.n)
        if self.round >= self.rounds:
            self._stop.set()
            self.done.set()
        if self.round in self.fail:
            raise RuntimeError(f"round {self.round}")

    def _failed(self, exc: Exception) -> bool:
        return self.keep


@pytest.fixture
def consumers(monkeypatch) -> list[FakeConsumer]:
    made: list[FakeConsumer] = []

    def make_consumer(settings, group_id, topics, **overrides):
        assert topics == ["some.topic"] and group_id.startswith("test-scripted-") and overrides == {"log_level": 0}
        made.append(FakeConsumer(len(made)))
        return made[-1]

    monkeypatch.setattr(topic_reader, "make_consumer", make_consumer)
    return made


def run(reader: Scripted) -> None:
    reader.start()
    assert reader.done.wait(10)
    reader.stop()
    assert not reader._thread.is_alive()


def test_a_failure_that_drops_the_consumer_reconnects(consumers):
    reader = Scripted(fail={2}, keep=False, rounds=4)
    run(reader)
    assert reader.stepped == [0, 0, 1, 1]
    assert reader.connected == [0, 1]
    assert [c.closed for c in consumers] == [True, True]  # the broken one at once, the last one at stop


def test_a_failure_that_keeps_the_consumer_goes_on_with_it(consumers):
    reader = Scripted(fail={1, 2}, keep=True, rounds=4)
    run(reader)
    assert reader.stepped == [0, 0, 0, 0]
    assert reader.connected == [0] and consumers[0].closed


def test_group_ids_are_unique_per_reader():
    a, b = (Scripted(set(), False, 1) for _ in range(2))
    assert a.group_id != b.group_id and a.group_id.startswith("test-scripted-")
