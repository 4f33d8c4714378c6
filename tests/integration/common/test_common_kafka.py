"""The shared Kafka helpers against the real broker."""

import threading
import uuid

import pytest
from coinstream_common.kafka import EventProducer, consume_events, ensure_topics, make_consumer, watermarks
from coinstream_common.settings import KafkaSettings
from coinstream_contract.events import EventError, PriceEvent
from coinstream_contract.topics import TopicSpec
from confluent_kafka import KafkaException

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka_bootstrap):
    name = f"test.common.{uuid.uuid4().hex[:8]}"
    ensure_topics(KafkaSettings(bootstrap_servers=kafka_bootstrap), [TopicSpec(name, 2, {})])
    return name


def test_produce_then_consume_commits_after_processing(kafka_bootstrap, topic):
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    events = [
        PriceEvent.observe("bitcoin", "usd", 1_700_000_000_000 + i * 60_000, 100.0 + i, "test") for i in range(50)
    ]
    producer = EventProducer(settings, "test")
    assert producer.send_and_wait(topic, events) == 50

    group = f"g-{uuid.uuid4().hex[:6]}"
    seen, stop, calls = [], threading.Event(), {"n": 0}

    def failing_once(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("first delivery fails")  # nothing may be committed
        seen.extend(batch)
        if len({e.event_id for e in seen}) >= 50:
            stop.set()

    consumer = make_consumer(settings, group, [topic])
    t = threading.Thread(target=consume_events, args=(consumer, PriceEvent, failing_once, stop), daemon=True)
    t.start()
    t.join(60)
    consumer.close()
    assert stop.is_set(), "events were not re-delivered after the handler failed"
    assert {e.event_id for e in seen} == {e.event_id for e in events}

    # Everything was committed: a new consumer in the same group gets nothing.
    again = make_consumer(settings, group, [topic])
    leftovers = again.consume(100, timeout=5)
    again.close()
    assert [m for m in leftovers if not m.error()] == []


def test_watermarks_are_each_partitions_offsets(kafka_bootstrap, topic):
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    events = [PriceEvent.observe(f"coin-{i}", "usd", 1_700_000_000_000, 1.0 + i, "test") for i in range(20)]
    consumer = make_consumer(settings, f"g-{uuid.uuid4().hex[:6]}", [topic])
    try:
        assert watermarks(consumer, topic, timeout_s=10) == {0: (0, 0), 1: (0, 0)}
        EventProducer(settings, "test").send_and_wait(topic, events)
        after = watermarks(consumer, topic, timeout_s=10)  # not the cached values: fresh from the broker
        assert set(after) == {0, 1} and all(low == 0 for low, _high in after.values())
        assert sum(high for _low, high in after.values()) == 20
        with pytest.raises(KafkaException):
            watermarks(consumer, f"test.common.missing.{uuid.uuid4().hex[:8]}", timeout_s=5)
    finally:
        consumer.close()


def test_schema_invalid_event_is_refused_before_send(kafka_bootstrap, topic):
    producer = EventProducer(KafkaSettings(bootstrap_servers=kafka_bootstrap), "test")
    good = PriceEvent.observe("bitcoin", "usd", 1, 1.0, "test")
    bad = good.model_copy(update={"price": -5.0})  # model_copy skips validation
    with pytest.raises((EventError, ValueError)):
        producer.send_and_wait(topic, [bad])
    with pytest.raises(EventError):
        producer.send_and_wait(topic, [{"not": "an event"}])


def test_unreachable_broker_is_a_delivery_error():
    from coinstream_common.kafka import DeliveryError

    producer = EventProducer(
        KafkaSettings(bootstrap_servers="127.0.0.1:1", delivery_timeout_ms=1000), "test", log_level=0
    )
    with pytest.raises(DeliveryError, match="not acknowledged"):
        producer.send_and_wait("anything", [PriceEvent.observe("bitcoin", "usd", 1, 1.0, "test")])
