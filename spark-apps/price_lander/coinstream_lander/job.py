"""The landing job: Kafka -> parse/validate -> stateful dedupe -> foreachBatch publish.

Exactly once as Trino sees it, for each micro-batch ``b`` (Spark re-runs an
uncommitted batch with the same offsets and the same dedupe state after a
crash, so everything below is idempotent per batch id):

1. collect a small summary (rows per coin/day, rejects): this materialises the
   cached batch, and with it the dedupe state update;
2. rejects -> the dead-letter topic (raw key/value, reason in headers);
3. valid rows -> ``<table>/_staging/batch=b/day=D/`` (hidden from Trino), one
   file per day, sorted by (coin_id, ts);
4. each staged file -> ``<table>/day=D/part-b<b>-<query>-<n>.parquet`` by an
   atomic, overwriting rename: a re-run replaces, never duplicates;
5. a new day directory -> ``sync_partition_metadata(ADD)``, so Trino sees it (done
   while step 3 runs: a registered empty directory shows no row);
6. only then the landed notification; Spark commits the batch afterwards.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from coinstream_common.kafka import EventProducer
from coinstream_common.settings import KafkaSettings, TopicSettings, TrinoSettings, load
from coinstream_contract.events import LandedNotification
from coinstream_contract.tables import PARTITION_COLUMN, price_table_location
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from . import metrics
from . import publish as pub
from .settings import LanderSettings, StorageSettings
from .transforms import BatchSummary, batch_summary, dedupe, dlq_records, landed_notification, parse, table_rows

log = logging.getLogger("coinstream_lander")

CHECKPOINT_NAME = "price_lander"
QUERY_NAME = "price_lander"


@dataclass(frozen=True)
class JobSettings:
    kafka: KafkaSettings
    topics: TopicSettings
    trino: TrinoSettings
    storage: StorageSettings
    lander: LanderSettings

    @classmethod
    def load(cls) -> JobSettings:
        return cls(
            load(KafkaSettings), load(TopicSettings), load(TrinoSettings), load(StorageSettings), load(LanderSettings)
        )

    @property
    def table_uri(self) -> str:
        return price_table_location(self.storage.warehouse_uri)

    @property
    def checkpoint_uri(self) -> str:
        return f"{self.storage.checkpoint_uri.rstrip('/')}/{CHECKPOINT_NAME}"

    def kafka_options(self) -> dict[str, str]:
        return {
            "kafka.bootstrap.servers": self.kafka.bootstrap_servers,
            "kafka.security.protocol": self.kafka.security_protocol,
        }


class Notifier(Protocol):
    def send(self, notification: LandedNotification) -> None: ...


class DeadLetters(Protocol):
    def write(self, records: DataFrame) -> None: ...


class Catalog(Protocol):
    def sync_partitions(self) -> None: ...


class KafkaNotifier:
    """Landed notifications through the shared idempotent producer (acks=all, waits for the ack)."""

    def __init__(self, settings: JobSettings) -> None:
        self._producer = EventProducer(settings.kafka, "price-lander")
        self._topic = settings.topics.prices_landed

    def send(self, notification: LandedNotification) -> None:
        self._producer.send_and_wait(self._topic, [notification])


class KafkaDeadLetters:
    """Rejected records through Spark's Kafka writer (they may be many: not via the driver)."""

    def __init__(self, settings: JobSettings) -> None:
        self._options = settings.kafka_options() | {"topic": settings.topics.prices_dlq, "kafka.acks": "all"}

    def write(self, records: DataFrame) -> None:
        records.write.format("kafka").options(**self._options).save()


class StopRequested(RuntimeError):
    """Raised into a batch that starts after SIGTERM: Spark then leaves it uncommitted."""


class BatchLander:
    """The foreachBatch function. Not re-entrant: Spark runs one batch at a time."""

    def __init__(
        self,
        table_uri: str,
        files: pub.HadoopFiles,
        catalog: Catalog,
        notifier: Notifier,
        dead_letters: DeadLetters,
        known_days: set[str],
        stopping: threading.Event | None = None,
    ) -> None:
        self.table_uri = table_uri
        self.files = files
        self.catalog = catalog
        self.notifier = notifier
        self.dead_letters = dead_letters
        self.known_days = set(known_days)
        self.stopping = stopping or threading.Event()
        self.lock = threading.Lock()
        self._sync_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="partition-sync")
        self._query_tag: str | None = None
        self._tag_set = threading.Event()
        self._first_batch = True
        self.last: dict | None = None
        self.run_last_batch: int | None = None
        """The newest batch landed since the query (re)started: older files are all committed."""

    def query_started(self, query_id: str) -> None:
        """The checkpoint's stable query id names the published files."""
        self._query_tag = query_id.replace("-", "")[:8]
        self._first_batch = True
        self.run_last_batch = None
        self._tag_set.set()

    def __call__(self, df: DataFrame, batch_id: int) -> None:
        if self.stopping.is_set():
            raise StopRequested("stopping: batch left uncommitted for the next run")
        if not self._tag_set.wait(120):
            raise RuntimeError("query id not known")
        with self.lock:
            self.land(df, batch_id)

    def land(self, df: DataFrame, batch_id: int) -> BatchSummary:
        started = time.monotonic()
        steps: dict[str, float] = {}

        def step(name: str) -> None:
            steps[name] = time.monotonic() - started - sum(steps.values())

        df = df.persist()
        try:
            summary = BatchSummary.from_rows(batch_summary(df).collect())
            step("read")
            if summary.rejected:
                self.dead_letters.write(dlq_records(df))
                metrics.LANDER_DEAD_LETTERS.inc(summary.rejected)
                step("dlq")
            moves: list[pub.Move] = []
            if summary.rows:
                new_days = {f"{PARTITION_COLUMN.name}={d.isoformat()}" for d in summary.days} - self.known_days
                # Registering a new (still empty) day directory shows no row, so it runs while
                # Spark stages the files: the file metastore takes ~0.2 s per new partition.
                registering = self._sync_pool.submit(self._register, new_days) if new_days else None
                self._stage(df, batch_id, len(summary.days))
                step("write")
                if registering is not None:
                    registering.result()
                    self.known_days |= new_days
                    step("sync")
                moves = self._publish(batch_id)
                step("publish")
                notification = landed_notification(batch_id, summary)
                if notification is not None:
                    self.notifier.send(notification)
                    step("notify")
                metrics.LANDER_ROWS_LANDED.inc(summary.rows)
                max_ingested_at = summary.max_ingested_at  # None only without rows
                if max_ingested_at is not None:
                    metrics.PIPELINE_LAG_SECONDS.labels("landed").set(max(0.0, time.time() - max_ingested_at / 1000))
            self._first_batch = False
            self.run_last_batch = batch_id
            metrics.LANDER_BATCHES.labels("ok").inc()
            self.last = {"batch_id": batch_id, "rows": summary.rows, "rejected": summary.rejected, "files": len(moves)}
            log.info(
                "batch %d: %d rows in %d file(s) over %d day(s), %d rejected, %.2fs (%s)",
                batch_id,
                summary.rows,
                len(moves),
                len(summary.days),
                summary.rejected,
                time.monotonic() - started,
                ", ".join(f"{k} {v:.2f}s" for k, v in steps.items()),
            )
            return summary
        finally:
            df.unpersist()

    def _register(self, day_dirs: set[str]) -> None:
        for day_dir in sorted(day_dirs):
            self.files.mkdirs(f"{self.table_uri.rstrip('/')}/{day_dir}")
        self.catalog.sync_partitions()

    def _stage(self, df: DataFrame, batch_id: int, days: int) -> None:
        day = PARTITION_COLUMN.name
        staging = pub.staging_uri(self.table_uri, batch_id)
        rows = table_rows(df)
        # Each day in one task, so one file per day per batch. The usual batch (live data)
        # has one day: one task, no shuffle; a backfill spreads its days over the cores.
        rows = rows.coalesce(1) if days == 1 else rows.repartition(day)
        (rows.sortWithinPartitions(day, "coin_id", "ts").write.mode("overwrite").partitionBy(day).parquet(staging))

    def _publish(self, batch_id: int) -> list[pub.Move]:
        assert self._query_tag is not None
        return pub.publish(self.files, self.table_uri, batch_id, self._query_tag, check_stale=self._first_batch)


def kafka_records(spark: SparkSession, settings: JobSettings) -> DataFrame:
    reader = spark.readStream.format("kafka").options(**settings.kafka_options())
    return (
        reader.option("subscribe", settings.topics.prices)
        .option("startingOffsets", "earliest")
        .option("failOnDataLoss", "false")  # retention may delete records never landed: log, go on
        .option("maxOffsetsPerTrigger", str(settings.lander.max_offsets_per_trigger))
        .load()
    )


def start_query(spark: SparkSession, settings: JobSettings, lander: BatchLander) -> StreamingQuery:
    rows = dedupe(parse(kafka_records(spark, settings)))
    return (
        rows.writeStream.queryName(QUERY_NAME)
        .option("checkpointLocation", settings.checkpoint_uri)
        .trigger(processingTime=f"{settings.lander.trigger_interval_s} seconds")
        .foreachBatch(lander)
        .start()
    )
