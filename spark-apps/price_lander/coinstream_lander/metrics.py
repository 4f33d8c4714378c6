"""The lander's Prometheus series: one driver process, no multiprocess mode (shared ones: coinstream_common.metrics).

The lander also sets ``coinstream_pipeline_lag_seconds``: it is the one that
knows when a batch became queryable.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PIPELINE_LAG_SECONDS = Gauge(
    "coinstream_pipeline_lag_seconds",
    "Age of the newest landed event when its batch was committed (event time to queryable).",
    ["stage"],
    multiprocess_mode="max",
)

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
