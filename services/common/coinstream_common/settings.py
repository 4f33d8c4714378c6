"""Typed settings from environment variables, validated at start-up.

Every setting of every service lives here, grouped by concern. A service
declares which groups it reads (``SERVICE_SETTINGS``), which is what lets the
Helm policy tests reject an environment variable a service does not know, and
what `python -m coinstream_common.settings` turns into the one settings table
of the README (docs/SETTINGS.md).
"""

from __future__ import annotations

import sys
from typing import Literal, TypeVar

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "COINSTREAM_"


class _Group(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)


class KafkaSettings(_Group):
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


class TopicSettings(_Group):
    """Topic names (the defaults are the contract's: other parts rely on them)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "TOPIC_", extra="ignore", frozen=True)

    prices: str = Field("coin.prices", description="Price/market events.")
    prices_dlq: str = Field("coin.prices.dlq", description="Price events that failed to parse or validate.")
    backfill_requests: str = Field("coin.backfill.requests", description="Requests to fetch missing history.")
    prices_landed: str = Field("coin.prices.landed", description="Batches committed by the Spark job.")
    portfolio_events: str = Field("portfolio.events", description="Portfolios as created (compacted).")


class TrinoSettings(_Group):
    """Where the query service, the lander (and tests) reach Trino."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "TRINO_", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", description="Trino coordinator host.")
    port: int = Field(8080, ge=1, le=65535, description="Trino coordinator HTTP port.")
    user: str = Field("coinstream", description="User name sent to Trino.")
    catalog: str = Field("hive", description="Catalog holding the price table.")
    schema_: str = Field("coinstream", alias=PREFIX + "TRINO_SCHEMA", description="Schema holding the price table.")
    table: str = Field("coin_prices", description="Price table name.")
    request_timeout_s: float = Field(30.0, gt=0, description="Timeout of one Trino HTTP request.")


class StorageSettings(_Group):
    """Where landed Parquet and Spark checkpoints live."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "STORAGE_", extra="ignore", frozen=True)

    warehouse_uri: str = Field("hdfs://127.0.0.1:9000/coinstream/warehouse", description="Root of the Parquet tables.")
    checkpoint_uri: str = Field(
        "hdfs://127.0.0.1:9000/coinstream/checkpoints", description="Root of Spark checkpoints."
    )


# A coin id missing from ingest's cached CoinGecko coin list reloads it, at most this often (whether
# the api or a fetch asks): a coin listed since is found within about a minute, and unknown ids
# cannot cost more than a CoinGecko call a minute.
COIN_LIST_MISS_RELOAD_S = 60.0


class CoinGeckoSettings(_Group):
    """The CoinGecko API as ingest, its only client, sees it (the real API by default)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "COINGECKO_", extra="ignore", frozen=True)

    base_url: str = Field("https://api.coingecko.com/api/v3", description="CoinGecko API base URL.")
    api_key: str = Field("", description="API key (secret); empty for the keyless public plan.")
    api_plan: Literal["public", "demo", "pro"] = Field(
        "public", description="Plan of the key: picks the key header and the history limit."
    )
    rate_limit_per_minute: int = Field(30, ge=1, description="Calls per minute allowed by the token bucket.")
    timeout_s: float = Field(10.0, gt=0, description="Timeout of one CoinGecko call.")
    max_attempts: int = Field(5, ge=1, le=20, description="Attempts per call before giving up.")
    backoff_base_s: float = Field(0.5, gt=0, description="First retry delay; doubles each attempt, with jitter.")
    backoff_max_s: float = Field(30.0, gt=0, description="Largest retry delay.")
    history_limit_days: int = Field(365, ge=1, description="How far back the plan serves history (public: 365).")


class IngestSettings(_Group):
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


class QuerySettings(_Group):
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


class ApiSettings(_Group):
    """The public API service."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "API_", extra="ignore", frozen=True)

    query_url: str = Field("http://127.0.0.1:8002", description="Base URL of the query service.")
    ingest_url: str = Field(
        "http://127.0.0.1:8001", description="Base URL of the ingest service (the coin list, from CoinGecko)."
    )
    api_keys: str = Field("dev-key", description="Accepted API keys (secret), comma separated.")
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


class LanderSettings(_Group):
    """The Spark Structured Streaming job that lands prices."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "LANDER_", extra="ignore", frozen=True)

    trigger_interval_s: float = Field(1.0, ge=0, description="Micro-batch trigger interval.")
    max_offsets_per_trigger: int = Field(200000, ge=1, description="Most Kafka records per micro-batch.")
    shuffle_partitions: int = Field(2, ge=1, description="spark.sql.shuffle.partitions for the job.")
    metrics_port: int = Field(9108, ge=1, le=65535, description="Port of the job's Prometheus endpoint.")
    metrics_host: str = Field("0.0.0.0", description="Address the job's Prometheus endpoint binds.")
    compact_interval_s: float = Field(
        60.0, ge=0, description="Seconds between compaction passes over finished days (0: never)."
    )
    compact_min_files: int = Field(
        2, ge=2, description="A finished day is compacted once it has this many files (each file is a Trino split)."
    )
    compact_max_days: int = Field(
        16, ge=1, description="Most days one pass compacts (~0.5 s each): bounds how long landing pauses."
    )
    compact_target_mb: int = Field(128, ge=1, description="Size of the files compaction writes.")


class ServiceSettings(_Group):
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


GROUPS: tuple[type[_Group], ...] = (
    ServiceSettings,
    KafkaSettings,
    TopicSettings,
    TrinoSettings,
    StorageSettings,
    CoinGeckoSettings,
    IngestSettings,
    QuerySettings,
    ApiSettings,
    LanderSettings,
)

_COMMON = (ServiceSettings, KafkaSettings, TopicSettings)
SERVICE_SETTINGS: dict[str, tuple[type[_Group], ...]] = {
    "ingest": _COMMON + (CoinGeckoSettings, IngestSettings),
    "query": (ServiceSettings, TrinoSettings, QuerySettings),
    "api": _COMMON + (ApiSettings,),
    "coingecko-sim": (ServiceSettings,),
    "price-lander": (KafkaSettings, TopicSettings, TrinoSettings, StorageSettings, LanderSettings),
}

# Settings that are secrets: never logged, never exported as metrics.
SECRETS = frozenset({PREFIX + "COINGECKO_API_KEY", PREFIX + "API_API_KEYS"})

G = TypeVar("G", bound=_Group)


class SettingsError(SystemExit):
    """Raised (and exits with status 2) when a setting is invalid."""


def env_name(group: type[_Group], field: str) -> str:
    info = group.model_fields[field]
    if info.alias:
        return info.alias
    return (group.model_config.get("env_prefix") or "").upper() + field.upper()


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


def known_env_vars(service: str) -> set[str]:
    return {env_name(g, f) for g in SERVICE_SETTINGS[service] for f in g.model_fields}


def markdown_table() -> str:
    """The settings table of docs/SETTINGS.md, generated so it cannot drift."""
    users: dict[type[_Group], list[str]] = {}
    for service, groups in SERVICE_SETTINGS.items():
        for g in groups:
            users.setdefault(g, []).append(service)
    lines = [
        "| variable | type | default | used by | meaning |",
        "|---|---|---|---|---|",
    ]
    for g in GROUPS:
        for name, info in g.model_fields.items():
            var = env_name(g, name)
            default = "(secret)" if var in SECRETS and info.default else repr(info.default)
            choices = getattr(info.annotation, "__args__", ())
            if getattr(info.annotation, "__origin__", None) is Literal:
                type_name = " \\| ".join(str(c) for c in choices)
            else:
                type_name = getattr(info.annotation, "__name__", str(info.annotation)).replace("typing.", "")
            lines.append(
                f"| `{var}` | {type_name} | `{default}` | {', '.join(users.get(g, []))} | {info.description} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(markdown_table())
