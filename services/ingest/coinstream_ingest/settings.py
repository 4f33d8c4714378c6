"""ingest's settings: its own group, and every group it reads (SETTINGS_GROUPS, docs/SETTINGS.md)."""

from __future__ import annotations

from coinstream_common.settings import (
    PREFIX,
    CoinGeckoSettings,
    KafkaSettings,
    ServiceSettings,
    SettingsGroup,
    TopicSettings,
    TrinoSettings,
)
from pydantic import Field
from pydantic_settings import SettingsConfigDict


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
        True, description="Ask Trino which days already landed before a backfill (best effort, 5s at most)."
    )


# Every group ingest reads: the settings table and the chart's settings catalog are generated from it.
SETTINGS_GROUPS = (ServiceSettings, KafkaSettings, TopicSettings, CoinGeckoSettings, IngestSettings, TrinoSettings)
