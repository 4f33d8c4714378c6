"""The job's SparkSession: only what the data needs, never where it runs.

Master, driver memory, UI port and extra jars come from whoever launches the
driver (``PYSPARK_SUBMIT_ARGS`` locally, spark-submit under the Spark
operator on Kubernetes), so this code is the same in both places.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from .settings import LanderSettings

ROCKSDB_PROVIDER = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def job_conf(lander: LanderSettings) -> dict[str, str]:
    """Spark settings the landing semantics depend on."""
    return {
        # Instants are UTC everywhere; Trino reads the int64 micros back exactly.
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.compression.codec": "snappy",
        "spark.sql.shuffle.partitions": str(lander.shuffle_partitions),
        # Batches are small and their shuffles have a couple of partitions: adaptive
        # re-planning only adds latency (measured ~10% per 1,000-event batch).
        "spark.sql.adaptive.enabled": "false",
        # The seen event ids (dedupe state) in RocksDB, changelog-checkpointed each batch.
        "spark.sql.streaming.stateStore.providerClass": ROCKSDB_PROVIDER,
        "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "true",
        # A batch is staged under a hidden directory and renamed file by file:
        # no _SUCCESS markers, no summary files, the faster v2 commit for staging.
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        "spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version": "2",
        "spark.hadoop.parquet.summary.metadata.level": "NONE",
        "spark.sql.sources.partitionOverwriteMode": "static",
        "spark.sql.files.maxRecordsPerFile": "0",
        "spark.sql.streaming.numRecentProgressUpdates": "50",
    }


def build_session(lander: LanderSettings, app_name: str = "coinstream-price-lander") -> SparkSession:
    builder = SparkSession.builder.appName(app_name)
    for key, value in job_conf(lander).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark
