"""The api's Prometheus series: its streams and its valuation cache (the shared ones: coinstream_common.metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

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
