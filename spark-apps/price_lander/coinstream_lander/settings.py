"""The lander's settings: its own groups, and every group it reads (SETTINGS_GROUPS, docs/SETTINGS.md)."""

from __future__ import annotations

from coinstream_common.settings import PREFIX, KafkaSettings, SettingsGroup, TopicSettings, TrinoSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict


class StorageSettings(SettingsGroup):
    """Where landed Parquet and Spark checkpoints live."""

    model_config = SettingsConfigDict(env_prefix=PREFIX + "STORAGE_", extra="ignore", frozen=True)

    warehouse_uri: str = Field("hdfs://127.0.0.1:9000/coinstream/warehouse", description="Root of the Parquet tables.")
    checkpoint_uri: str = Field(
        "hdfs://127.0.0.1:9000/coinstream/checkpoints", description="Root of Spark checkpoints."
    )


class LanderSettings(SettingsGroup):
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


# Every group the lander reads: the settings table and the chart's settings catalog are generated from it.
SETTINGS_GROUPS = (KafkaSettings, TopicSettings, TrinoSettings, StorageSettings, LanderSettings)
