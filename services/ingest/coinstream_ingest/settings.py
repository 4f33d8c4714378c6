"""ingest's settings: its own group, and every group it reads (SETTINGS_GROUPS, docs/SETTINGS.md)."""

from __future__ import annotations

from typing import Literal

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

# A coin id missing from a cached CoinGecko coin list reloads the list, at most this often: a coin
# listed since is found within a minute, and unknown ids cannot cost more than a call a minute.
COIN_LIST_MISS_RELOAD_S = 60.0


class CoinGeckoSettings(SettingsGroup):
    """The CoinGecko API as ingest, its only client, sees it (the real API by default)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "COINGECKO_", extra="ignore", frozen=True)

    base_url: str = Field("https://api.coingecko.com/api/v3", description="CoinGecko API base URL.")
    api_key: str = Field(
        "", json_schema_extra=secret(), description="API key (secret); empty for the keyless public plan."
    )
    api_plan: Literal["public", "demo", "pro"] = Field(
        "public", description="Plan of the key: picks the key header and the history limit."
    )
    rate_limit_per_minute: int = Field(30, ge=1, description="Calls per minute allowed by the token bucket.")
    timeout_s: float = Field(10.0, gt=0, description="Timeout of one CoinGecko call.")
    max_attempts: int = Field(5, ge=1, le=20, description="Attempts per call before giving up.")
    backoff_base_s: float = Field(0.5, gt=0, description="First retry delay; doubles each attempt, with jitter.")
    backoff_max_s: float = Field(30.0, gt=0, description="Largest retry delay.")
    history_limit_days: int = Field(365, ge=1, description="How far back the plan serves history (public: 365).")


class IngestSettings(SettingsGroup):
    """The ingest service's poller and backfill worker."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "INGEST_", extra="ignore", frozen=True)

    tracked_coins: str = Field("bitcoin,ethereum,solana", description="Coins the live poller follows, comma separated.")
    vs_currencies: str = Field("usd", description="Quote currencies the poller follows, comma separated.")
    poll_interval_s: float = Field(60.0, gt=0, description="Seconds between live price polls.")
    poller_enabled: bool = Field(True, description="Run the live price poller.")
    backfill_enabled: bool = Field(True, description="Run the backfill request worker.")
    backfill_group_id: str = Field("coinstream-ingest-backfill", description="Consumer group of the backfill worker.")
    fetch_concurrency: int = Field(
        4, ge=1, le=32, description="History chunks fetched at once (within the rate limit)."
    )
    backfill_check_landed: bool = Field(
        True,
        description="Ask the query service which days already landed before a backfill (best effort, 5s at most).",
    )
    query_url: str = Field(
        "http://127.0.0.1:8002", description="Base URL of the query service (which days already landed)."
    )


# Every group ingest reads: the settings table and the chart's settings catalog are generated from it.
SETTINGS_GROUPS = (ServiceSettings, KafkaSettings, TopicSettings, CoinGeckoSettings, IngestSettings)
