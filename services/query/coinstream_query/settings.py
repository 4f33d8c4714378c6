"""query's settings: its own group, and every group it reads (SETTINGS_GROUPS, docs/SETTINGS.md)."""

from __future__ import annotations

from coinstream_common.settings import PREFIX, ServiceSettings, SettingsGroup, TrinoSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class QuerySettings(SettingsGroup):
    """The query service."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "QUERY_", extra="ignore", frozen=True)

    max_points: int = Field(20000, ge=1, description="Most points one series response may hold.")
    staleness_s: int = Field(0, ge=0, description="Carry a price forward at most this long (0: two intervals).")
    max_valuation_cells: int = Field(250000, ge=1, description="Most coin x point prices one valuation may compute.")
    query_timeout_s: float = Field(
        20.0, gt=0, description="Longest a Trino query may run (query_max_run_time) before the answer is 503."
    )
    landed_timeout_s: float = Field(
        4.0, gt=0, description="Longest the landed-days lookup (ingest's, before a backfill) may take before a 503."
    )


# Every group query reads: the settings table and the chart's settings catalog are generated from it.
SETTINGS_GROUPS = (ServiceSettings, TrinoSettings, QuerySettings)
