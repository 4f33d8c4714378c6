"""Prometheus metrics that stay correct under gunicorn with several workers.

All metric names are defined here, once, so dashboards and alert rules have
one list to match. When ``PROMETHEUS_MULTIPROC_DIR`` is set (the gunicorn
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

COINGECKO_CALLS = Counter(
    "coinstream_coingecko_calls_total", "CoinGecko calls by endpoint and status.", ["endpoint", "status"]
)
COINGECKO_429 = Counter("coinstream_coingecko_rate_limited_total", "CoinGecko 429 answers.", ["endpoint"])
COINGECKO_RETRIES = Counter("coinstream_coingecko_retries_total", "CoinGecko calls retried.", ["endpoint", "reason"])
COINGECKO_SECONDS = Histogram(
    "coinstream_coingecko_call_duration_seconds", "CoinGecko call latency.", ["endpoint"], buckets=LATENCY_BUCKETS
)

TRINO_QUERY_SECONDS = Histogram(
    "coinstream_trino_query_duration_seconds",
    "Trino query latency (submit to last row) by query kind and outcome (ok, unavailable, error).",
    ["query", "outcome"],
    buckets=LATENCY_BUCKETS,
)

BACKFILL_QUEUE_DEPTH = Gauge(
    "coinstream_backfill_queue_depth", "Backfill requests accepted but not yet produced.", multiprocess_mode="livesum"
)
PIPELINE_LAG_SECONDS = Gauge(
    "coinstream_pipeline_lag_seconds",
    "Age of the newest landed event when its batch was committed (event time to queryable).",
    ["stage"],
    multiprocess_mode="max",
)
PORTFOLIO_STREAMS_OPEN = Gauge(
    "coinstream_portfolio_streams_open", "Server-Sent Event streams open.", multiprocess_mode="livesum"
)
VALUATION_CACHE = Counter(
    "coinstream_api_valuation_cache_total",
    "Valuations answered from the api's cache (hit) or asked of the query service (miss).",
    ["result"],
)
COIN_LIST_LOADS = Counter(
    "coinstream_api_coin_list_loads_total",
    "The api's asks of ingest for the coin list: loaded, unchanged (304) or failed (pattern-only or last list kept).",
    ["outcome"],
)
COIN_LIST_OUTCOMES = ("loaded", "unchanged", "failed")

# The Spark lander (one driver process, no multiprocess mode).
LANDER_BATCH_SECONDS = Histogram(
    "coinstream_lander_batch_duration_seconds",
    "Micro-batch duration, trigger to commit.",
    buckets=(0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60, 120),
)
LANDER_INPUT_ROWS_PER_SECOND = Gauge(
    "coinstream_lander_input_rows_per_second", "Kafka records arriving per second (last batch)."
)
LANDER_PROCESSED_ROWS_PER_SECOND = Gauge(
    "coinstream_lander_processed_rows_per_second", "Kafka records processed per second (last batch)."
)
LANDER_KAFKA_LAG = Gauge(
    "coinstream_lander_kafka_lag_records", "Latest offsets minus offsets committed by the job, all partitions."
)
LANDER_DEAD_LETTERS = Counter(
    "coinstream_lander_dead_letters_total", "Records sent to the dead-letter topic (unparseable or invalid)."
)
LANDER_ROWS_LANDED = Counter("coinstream_lander_rows_landed_total", "Rows published to the table (after dedupe).")
LANDER_BATCHES = Counter("coinstream_lander_batches_total", "Micro-batches by outcome (ok, failed).", ["status"])
LANDER_QUERY_ACTIVE = Gauge("coinstream_lander_query_active", "1 while the streaming query runs (health).")
LANDER_COMPACTED_DAYS = Counter(
    "coinstream_lander_compacted_days_total", "Finished day partitions rewritten into fewer files."
)


_DECLARED_TOPICS: set[str] = set()


def declare_topic(topic: str) -> None:
    """Create every per-topic Kafka series at zero, so rate() sees their first event."""
    if topic in _DECLARED_TOPICS:
        return
    _DECLARED_TOPICS.add(topic)
    for metric in (KAFKA_PRODUCED, KAFKA_PRODUCE_ERRORS, KAFKA_CONSUMED, KAFKA_CONSUME_INVALID, KAFKA_CONSUME_ERRORS):
        metric.labels(topic)


COINGECKO_RETRY_REASONS = ("429", "5xx", "timeout", "connection", "malformed")
_DECLARED_ENDPOINTS: set[str] = set()


def declare_coingecko_endpoint(endpoint: str) -> None:
    """Create an endpoint's 429 and retry series at zero, so rate() sees their first event."""
    if endpoint in _DECLARED_ENDPOINTS:
        return
    _DECLARED_ENDPOINTS.add(endpoint)
    COINGECKO_429.labels(endpoint)
    for reason in COINGECKO_RETRY_REASONS:
        COINGECKO_RETRIES.labels(endpoint, reason)


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
