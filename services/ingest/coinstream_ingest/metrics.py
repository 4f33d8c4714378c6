"""ingest's Prometheus series: its CoinGecko calls and its backfill queue (the shared ones: coinstream_common.metrics)."""

from __future__ import annotations

from coinstream_common.metrics import LATENCY_BUCKETS
from prometheus_client import Counter, Gauge, Histogram

COINGECKO_CALLS = Counter(
    "coinstream_coingecko_calls_total", "CoinGecko calls by endpoint and status.", ["endpoint", "status"]
)
COINGECKO_429 = Counter("coinstream_coingecko_rate_limited_total", "CoinGecko 429 answers.", ["endpoint"])
COINGECKO_RETRIES = Counter("coinstream_coingecko_retries_total", "CoinGecko calls retried.", ["endpoint", "reason"])
COINGECKO_SECONDS = Histogram(
    "coinstream_coingecko_call_duration_seconds", "CoinGecko call latency.", ["endpoint"], buckets=LATENCY_BUCKETS
)

BACKFILL_QUEUE_DEPTH = Gauge(
    "coinstream_backfill_queue_depth", "Backfill requests accepted but not yet produced.", multiprocess_mode="livesum"
)

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
