"""Prometheus metrics that stay correct under gunicorn with several workers: the shared part.

Here: the registry /metrics serves, the latency buckets, and the series the
skeleton itself emits (HTTP requests from ``web``, Kafka produce/consume from
``kafka``). Each service defines its own series in its own ``metrics`` module,
so a service's /metrics exports its series and these, nothing of another
service's. When ``PROMETHEUS_MULTIPROC_DIR`` is set (the gunicorn
config sets it before workers fork), every worker writes to files in that
directory and ``/metrics`` aggregates them; otherwise the default in-process
registry is served (tests, single-process tools).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUEST_SECONDS = Histogram(
    "coinstream_http_request_duration_seconds",
    "HTTP request latency by route.",
    ["service", "method", "route", "status"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS_IN_FLIGHT = Gauge(
    "coinstream_http_requests_in_flight", "Requests being served.", ["service"], multiprocess_mode="livesum"
)

KAFKA_PRODUCED = Counter("coinstream_kafka_produced_total", "Events acknowledged by the broker.", ["topic"])
KAFKA_PRODUCE_ERRORS = Counter(
    "coinstream_kafka_produce_errors_total", "Events the broker did not acknowledge.", ["topic"]
)
KAFKA_PRODUCE_SECONDS = Histogram(
    "coinstream_kafka_produce_duration_seconds", "Produce-to-ack latency.", ["topic"], buckets=LATENCY_BUCKETS
)
KAFKA_CONSUMED = Counter("coinstream_kafka_consumed_total", "Records consumed.", ["topic"])
KAFKA_CONSUME_INVALID = Counter(
    "coinstream_kafka_consume_invalid_total", "Consumed records that failed schema validation.", ["topic"]
)
KAFKA_CONSUME_ERRORS = Counter("coinstream_kafka_consume_errors_total", "Batches whose handler failed.", ["topic"])

_DECLARED_TOPICS: set[str] = set()


def declare_topic(topic: str) -> None:
    """Create every per-topic Kafka series at zero, so rate() sees their first event."""
    if topic in _DECLARED_TOPICS:
        return
    _DECLARED_TOPICS.add(topic)
    for metric in (KAFKA_PRODUCED, KAFKA_PRODUCE_ERRORS, KAFKA_CONSUMED, KAFKA_CONSUME_INVALID, KAFKA_CONSUME_ERRORS):
        metric.labels(topic)


def registry() -> CollectorRegistry:
    """The registry /metrics serves: aggregated across workers when multiprocess."""
    if os.environ.get(MULTIPROC_ENV):
        reg = CollectorRegistry()
        multiprocess.MultiProcessCollector(reg)
        return reg
    from prometheus_client import REGISTRY

    return REGISTRY


def exposition() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int) -> None:
    """gunicorn child_exit hook: drop a dead worker's live gauges."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)
