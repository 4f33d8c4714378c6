"""The api's settings: its own group, and every group it reads (SETTINGS_GROUPS, docs/SETTINGS.md)."""

from __future__ import annotations

from coinstream_common.settings import (
    PREFIX,
    KafkaSettings,
    ServiceSettings,
    SettingsGroup,
    TopicSettings,
    secret,
)
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class ApiSettings(SettingsGroup):
    """The public API service."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "API_", extra="ignore", frozen=True)

    query_url: str = Field("http://127.0.0.1:8002", description="Base URL of the query service.")
    ingest_url: str = Field(
        "http://127.0.0.1:8001", description="Base URL of the ingest service (the coin list, from CoinGecko)."
    )
    api_keys: str = Field(
        "dev-key", json_schema_extra=secret(), description="Accepted API keys (secret), comma separated."
    )
    rate_limit_per_minute: int = Field(600, ge=1, description="Requests per minute allowed per API key.")
    max_holdings: int = Field(50, ge=1, description="Most holdings in one portfolio.")
    max_range_days: int = Field(3650, ge=1, description="Longest valuation range.")
    heartbeat_s: float = Field(15.0, gt=0, description="Seconds between SSE heartbeats.")
    stream_timeout_s: float = Field(900.0, gt=0, description="Longest a stream stays open without completing.")
    group_id: str = Field("coinstream-api", description="Consumer group prefix for landed notifications.")
    vs_currencies: str = Field(
        "usd,eur,gbp,jpy,chf,cad,aud,btc,eth", description="Quote currencies a portfolio may use, comma separated."
    )
    max_points: int = Field(20000, ge=1, description="Most valuation points (range / interval) one portfolio may have.")
    query_timeout_s: float = Field(30.0, gt=0, description="Timeout of one call to the query service.")
    valuation_cache_cells: int = Field(
        200_000, ge=0, description="Coin x point cells of valuations each api process keeps (~450 bytes each; 0: none)."
    )


# Every group the api reads: the settings table and the chart's settings catalog are generated from it.
SETTINGS_GROUPS = (ServiceSettings, KafkaSettings, TopicSettings, ApiSettings)
