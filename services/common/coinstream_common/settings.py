"""Typed settings from environment variables, validated at start-up: the machinery and the shared groups.

A settings group is a ``SettingsGroup``: one environment prefix, typed fields
with a description each, secrets marked with ``secret()``. The groups more
than one service reads live here (``ServiceSettings``, ``KafkaSettings``,
``TopicSettings``, ``TrinoSettings``); a group only one
service reads lives in that service's own ``settings`` module, which also
declares every group the service reads (``SETTINGS_GROUPS``). The dev tool
(``coinstream.settings_doc``) turns those declarations into the settings table
(docs/SETTINGS.md) and the Helm chart's settings catalog.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar

from coinstream_contract import topics
from coinstream_contract.tables import PRICE_TABLE
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "COINSTREAM_"

# Environment variables of every secret field of every group defined so far (never logged).
SECRET_ENV_VARS: set[str] = set()


def env_name(group: type[BaseSettings], field: str) -> str:
    info = group.model_fields[field]
    if info.alias:
        return info.alias
    return (group.model_config.get("env_prefix") or "").upper() + field.upper()


def secret() -> dict[str, Any]:
    """``json_schema_extra`` of a secret field: ``Field("", json_schema_extra=secret(), ...)``."""
    return {"secret": True}


def is_secret(group: type[SettingsGroup], field: str) -> bool:
    extra = group.model_fields[field].json_schema_extra
    return isinstance(extra, dict) and extra.get("secret") is True


class SettingsGroup(BaseSettings):
    """Base of every settings group: one ``env_prefix``, unknown variables ignored, immutable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    # The group's short name in the settings catalog and the chart ("kafka" for KafkaSettings).
    KEY: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if not cls.__dict__.get("KEY"):
            cls.KEY = cls.__name__.removesuffix("Settings").lower()
        SECRET_ENV_VARS.update(env_name(cls, f) for f in cls.model_fields if is_secret(cls, f))


class KafkaSettings(SettingsGroup):
    """How every producer and consumer reaches the broker."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "KAFKA_", extra="ignore", frozen=True)

    bootstrap_servers: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated.")
    client_id: str = Field("coinstream", description="Client id prefix sent to the broker.")
    delivery_timeout_ms: int = Field(
        30000, ge=1000, description="How long a produce may wait for acks=all before it fails."
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )


class TopicSettings(SettingsGroup):
    """Topic names (the defaults are the contract's, coinstream_contract.topics: other parts rely on them)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "TOPIC_", extra="ignore", frozen=True)

    prices: str = Field(topics.PRICES, description="Price/market events.")
    prices_dlq: str = Field(topics.PRICES_DLQ, description="Price events that failed to parse or validate.")
    backfill_requests: str = Field(topics.BACKFILL_REQUESTS, description="Requests to fetch missing history.")
    prices_landed: str = Field(topics.PRICES_LANDED, description="Batches committed by the Spark job.")
    portfolio_events: str = Field(topics.PORTFOLIO_EVENTS, description="Portfolios as created (compacted).")


class TrinoSettings(SettingsGroup):
    """Where the query service and the lander's table set-up reach Trino."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "TRINO_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Trino coordinator host.")
    port: int = Field(8080, ge=1, le=65535, description="Trino coordinator HTTP port.")
    user: str = Field("coinstream", description="User name sent to Trino.")
    catalog: str = Field("hive", description="Catalog holding the price table.")
    schema_: str = Field("coinstream", alias=PREFIX + "TRINO_SCHEMA", description="Schema holding the price table.")
    table: str = Field(PRICE_TABLE, description="Price table name.")
    request_timeout_s: float = Field(30.0, gt=0, description="Timeout of one Trino HTTP request.")


class ServiceSettings(SettingsGroup):
    """What every HTTP service reads."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Largest request body accepted.")
    http_host: str = Field("0.0.0.0", description="Address gunicorn binds.")
    http_port: int = Field(8000, ge=1, le=65535, description="Port gunicorn binds.")
    http_workers: int = Field(2, ge=1, le=64, description="gunicorn worker processes.")
    http_threads: int = Field(16, ge=1, le=256, description="Threads per worker (streams hold one each).")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


G = TypeVar("G", bound=BaseSettings)  # a SettingsGroup, or a settings class of its own (sim, local)


class SettingsError(SystemExit):
    """Raised (and exits with status 2) when a setting is invalid."""


def load(group: type[G]) -> G:
    """Read one group, turning a validation error into one clear line."""
    try:
        return group()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            name = field if field.startswith(PREFIX) else env_name(group, field)
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
