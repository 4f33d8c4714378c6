"""query's Prometheus series: its Trino queries (the shared ones: coinstream_common.metrics)."""

from __future__ import annotations

from coinstream_common.metrics import LATENCY_BUCKETS
from prometheus_client import Histogram

TRINO_QUERY_SECONDS = Histogram(
    "coinstream_trino_query_duration_seconds",
    "Trino query latency (submit to last row) by query kind and outcome (ok, unavailable, error).",
    ["query", "outcome"],
    buckets=LATENCY_BUCKETS,
)
