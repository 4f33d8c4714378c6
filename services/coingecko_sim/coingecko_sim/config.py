"""The simulator's own start-up settings, from plain ``COINGECKO_SIM_*`` environment variables.

They are not coinstream settings (no ``COINSTREAM_`` prefix): the simulator
stands in for an outside service, and nothing else reads them.

- ``COINGECKO_SIM_SEED`` (int, default 42): the seed of every price path and fault draw.
- ``COINGECKO_SIM_RATE_LIMIT_PER_MINUTE`` (int, default 30; 0 = unlimited): calls per
  minute per caller on the public (keyless, per client address) and demo (per key) plans.
- ``COINGECKO_SIM_PRO_RATE_LIMIT_PER_MINUTE`` (int, default 500; 0 = unlimited): per pro key.
- ``COINGECKO_SIM_HISTORY_LIMIT_DAYS`` (int, default 365): how far back public and demo reach.
- ``COINGECKO_SIM_FAULTS`` (JSON, default none): faults in force from the start, one object
  or a list of objects shaped like the body of ``POST /__sim/faults``.
"""

from __future__ import annotations

import json
from typing import Annotated

from coinstream_common.settings import ServiceSettings, load
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .faults import FaultSpec
from .prices import DEFAULT_SEED

ENV_PREFIX = "COINGECKO_SIM_"

# The coinstream settings groups the simulator reads (its gunicorn and log settings); the table of
# docs/SETTINGS.md and the chart's settings catalog are generated from it.
SETTINGS_GROUPS = (ServiceSettings,)


class SimConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    seed: int = Field(DEFAULT_SEED, ge=0, description="Seed of the price paths and fault draws.")
    rate_limit_per_minute: int = Field(
        30, ge=0, description="Public and demo calls per minute per caller (0: no limit)."
    )
    pro_rate_limit_per_minute: int = Field(500, ge=0, description="Pro calls per minute per key (0: no limit).")
    history_limit_days: int = Field(365, ge=1, description="Days of history the public and demo plans reach.")
    faults: Annotated[tuple[FaultSpec, ...], NoDecode] = Field((), description="Faults in force from the start (JSON).")

    @field_validator("faults", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return ()
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not JSON: {exc}") from None
        if isinstance(value, dict):
            value = [value]
        return value

    def rate_limits(self) -> dict[str, int]:
        return {
            "public": self.rate_limit_per_minute,
            "demo": self.rate_limit_per_minute,
            "pro": self.pro_rate_limit_per_minute,
        }


def from_env() -> SimConfig:
    """The settings, or one clear line naming the bad variable (SystemExit, status 2)."""
    return load(SimConfig)
