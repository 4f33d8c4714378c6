"""Settings of the local (one machine, no cluster) runtime that `coinstream up` drives.

Ports and memory sizes are chosen to fit a 2-core, 24 GiB machine with every
component running at once. The service-facing settings (KAFKA_BOOTSTRAP_SERVERS,
TRINO_PORT, ...) are derived from these when the stack starts the services,
so one change here moves both ends.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> str:
    return str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "coinstream")


def _default_state() -> str:
    return str(Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "coinstream")


class LocalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COINSTREAM_LOCAL_", extra="ignore", frozen=True)

    cache_dir: str = Field(default_factory=_default_cache, description="Downloaded servers (kept between runs).")
    state_dir: str = Field(
        default_factory=_default_state, description="Data, logs and pid files of running components."
    )
    java17_home: str = Field(
        "", description="JDK (17+) for Kafka, HDFS and Spark; found under /usr/lib/jvm when empty."
    )
    java_trino_home: str = Field("", description="JDK (24.0.1+) for Trino; found under /usr/lib/jvm when empty.")
    artifact_mirror: str = Field(
        "",
        description="Folder of artifacts no package registry carries (the Strimzi source release), "
        "for machines without internet; empty: their public releases are downloaded.",
    )
    host: str = Field("127.0.0.1", description="Address every local component binds.")
    kafka_port: int = Field(9092, ge=1, le=65535, description="Kafka client listener.")
    kafka_controller_port: int = Field(9093, ge=1, le=65535, description="KRaft controller listener.")
    kafka_metrics_port: int = Field(9404, ge=1, le=65535, description="Kafka's Prometheus JMX exporter.")
    kafka_heap_mb: int = Field(512, ge=256, description="Kafka heap.")
    hdfs_namenode_port: int = Field(9000, ge=1, le=65535, description="NameNode RPC.")
    hdfs_namenode_http_port: int = Field(9870, ge=1, le=65535, description="NameNode web UI / WebHDFS.")
    hdfs_datanode_port: int = Field(9866, ge=1, le=65535, description="DataNode data transfer.")
    hdfs_datanode_http_port: int = Field(9864, ge=1, le=65535, description="DataNode web UI.")
    hdfs_datanode_ipc_port: int = Field(9867, ge=1, le=65535, description="DataNode IPC.")
    hdfs_heap_mb: int = Field(384, ge=128, description="Heap of the NameNode and of the DataNode.")
    trino_port: int = Field(8080, ge=1, le=65535, description="Trino HTTP.")
    trino_heap_mb: int = Field(2048, ge=1024, description="Trino heap.")
    spark_driver_memory_mb: int = Field(1536, ge=512, description="Spark driver memory of the lander job.")
    spark_ui_port: int = Field(4040, ge=1, le=65535, description="Spark UI (and its Prometheus endpoint).")
    sim_port: int = Field(8100, ge=1, le=65535, description="coingecko-sim HTTP.")
    ingest_port: int = Field(8001, ge=1, le=65535, description="ingest HTTP.")
    query_port: int = Field(8002, ge=1, le=65535, description="query HTTP.")
    api_port: int = Field(8000, ge=1, le=65535, description="api HTTP.")
    prometheus_port: int = Field(9090, ge=1, le=65535, description="Prometheus HTTP (when started).")

    @property
    def cache(self) -> Path:
        return Path(self.cache_dir)

    @property
    def state(self) -> Path:
        return Path(self.state_dir)

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.kafka_port}"

    @property
    def hdfs_uri(self) -> str:
        return f"hdfs://{self.host}:{self.hdfs_namenode_port}"
