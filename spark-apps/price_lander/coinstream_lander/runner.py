"""The driver process: settings, metrics endpoint, session, and the query until SIGTERM.

A query that fails (HDFS, Trino or Kafka unavailable: bad *data* never fails
it, that goes to the DLQ) is restarted from its checkpoint with a growing
back-off, which re-runs the failed batch idempotently. SIGTERM lets a batch
in flight finish publishing, then stops the query and the session.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import tenacity
from coinstream_common import logs
from prometheus_client import start_http_server

from . import metrics
from . import publish as pub
from .catalog import TrinoCatalog
from .compact import Compactor
from .job import BatchLander, JobSettings, KafkaDeadLetters, KafkaNotifier, start_query
from .progress import ProgressListener, ProgressMetrics
from .session import build_session

log = logging.getLogger("coinstream_lander")

STOP_GRACE_S = 45.0
RESTART_MIN_S, RESTART_MAX_S = 2.0, 60.0
TRINO_WAIT_S = 900.0


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:500] if str(exc) else type(exc).__name__


def is_kafka_metrics_npe(message: str) -> bool:
    """Spark 4.1.1's Kafka source fails progress reporting of the first batch after a restart
    that re-runs an uncommitted batch (SPARK-55271): after the commit, so nothing is lost."""
    return "IterableOps.map" in message and '"scala.Option.get()" is null' in message


class _RunFailed(Exception):
    """A run of the query that ended in ``failure``; ``landed``: it landed a batch first."""

    def __init__(self, what: str, failure: BaseException | None, landed: bool) -> None:
        super().__init__(what)
        self.what = what
        self.failure = failure
        self.landed = landed


def _run_failure(state: tenacity.RetryCallState) -> _RunFailed:
    assert state.outcome is not None
    exc = state.outcome.exception()
    assert isinstance(exc, _RunFailed)
    return exc


class Runner:
    def __init__(self, settings: JobSettings) -> None:
        self.settings = settings
        self.stopping = threading.Event()
        self._next_compaction = 0.0

    def request_stop(self, signum=None, frame=None) -> None:
        if not self.stopping.is_set():
            log.info("stop requested (signal %s)", signum)
        self.stopping.set()

    def run(self) -> int:
        s = self.settings
        metrics.LANDER_QUERY_ACTIVE.set(0)
        for status in ("ok", "failed"):  # both series exist from the start, for rate() and alerts
            metrics.LANDER_BATCHES.labels(status)
        start_http_server(s.lander.metrics_port, addr=s.lander.metrics_host)
        log.info(
            "metrics on %s:%d; table %s; checkpoint %s",
            s.lander.metrics_host,
            s.lander.metrics_port,
            s.table_uri,
            s.checkpoint_uri,
        )
        spark = build_session(s.lander)
        try:
            files = pub.HadoopFiles(spark, s.table_uri)
            catalog = TrinoCatalog(s.trino, s.storage)
            files.mkdirs(s.table_uri)  # Trino wants an external location to exist
            if not catalog.wait_ready(TRINO_WAIT_S, stop=self.stopping.is_set):
                log.info("stopped before Trino was reachable")
                return 0
            compactor = Compactor(spark, files, s.table_uri, s.lander.compact_target_mb * 1024 * 1024)
            # Only this job writes the table: whatever is staged is from a run that died.
            compactor.recover()
            files.delete(pub.staging_uri(s.table_uri))
            # Register days a crashed run published but did not register.
            catalog.sync_partitions()
            lander = BatchLander(
                s.table_uri,
                files,
                catalog,
                KafkaNotifier(s),
                KafkaDeadLetters(s),
                pub.day_dirs(files, s.table_uri),
                self.stopping,
            )
            self._loop(spark, lander, compactor)
        finally:
            metrics.LANDER_QUERY_ACTIVE.set(0)
            spark.stop()
        log.info("stopped")
        return 0

    def _loop(self, spark, lander: BatchLander, compactor: Compactor) -> None:
        """Run the query, restarting it after each failure until stop is requested.

        tenacity spaces the restarts: 2 s after the first failure, doubling to 60 s.
        A run that landed a batch before it failed ends the streak (the doubling
        starts again from 2 s); the known Kafka progress bug restarts at once.
        """
        progress = ProgressMetrics()
        spark.streams.addListener(ProgressListener(progress))
        self._next_compaction = time.monotonic() + self.settings.lander.compact_interval_s
        while not self.stopping.is_set():
            restarts = tenacity.Retrying(
                retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, _RunFailed) and not exc.landed),
                wait=tenacity.wait_exponential(multiplier=RESTART_MIN_S, max=RESTART_MAX_S),
                stop=tenacity.stop_when_event_set(self.stopping),
                sleep=self._nap,
                before_sleep=lambda state: self._count_failure(_run_failure(state), state.upcoming_sleep),
                retry_error_callback=lambda state: None,  # stop requested while failing
            )
            try:
                restarts(self._run, spark, lander, compactor, progress)
            except _RunFailed as exc:  # it landed before it failed: a new streak
                self._count_failure(exc, RESTART_MIN_S)
                self.stopping.wait(RESTART_MIN_S)

    def _run(self, spark, lander: BatchLander, compactor: Compactor, progress: ProgressMetrics) -> None:
        """One run of the query: returns when stopped (or to restart at once), raises ``_RunFailed``."""
        if self.stopping.is_set():
            return
        interval = self.settings.lander.compact_interval_s
        try:
            query = start_query(spark, self.settings, lander)
        except Exception as exc:  # the checkpoint is unreadable while HDFS is down: wait, never exit
            raise _RunFailed("query could not start; retrying", exc, landed=False) from exc
        lander.query_started(str(query.id))
        metrics.LANDER_QUERY_ACTIVE.set(1)
        log.info("query %s started (run %s)", query.id, query.runId)
        failure: BaseException | None = None
        while not self.stopping.is_set():
            try:
                if query.awaitTermination(1):  # seconds
                    failure = query.exception()
                    break
            except Exception as exc:  # noqa: BLE001 - StreamingQueryException: the query died
                failure = exc
                break
            due = interval and time.monotonic() >= self._next_compaction
            if due and self._compact(lander, compactor, progress):
                self._next_compaction = time.monotonic() + interval
        metrics.LANDER_QUERY_ACTIVE.set(0)
        if self.stopping.is_set():
            self._stop_gracefully(query, lander)
            return
        landed = lander.run_last_batch is not None
        if failure and is_kafka_metrics_npe(first_line(failure)) and landed:
            log.warning(
                "Kafka source progress bug after a re-run batch (SPARK-55271, fixed after 4.1.1): "
                "the batch is committed; restarting the query"
            )
            return
        raise _RunFailed("query failed; restarting from the checkpoint", failure, landed=landed)

    def _nap(self, seconds: float) -> None:
        """Wait ``seconds`` between restarts, or less if stop is requested."""
        self.stopping.wait(seconds)

    def _count_failure(self, failed: _RunFailed, wait_s: float) -> None:
        """Count and log a failed run that is restarted in ``wait_s``."""
        metrics.LANDER_BATCHES.labels("failed").inc()
        log.error("%s in %.0fs: %s", failed.what, wait_s, first_line(failed.failure) if failed.failure else "unknown")

    def _compact(self, lander: BatchLander, compactor: Compactor, progress: ProgressMetrics) -> bool:
        """Compact finished days between two batches; False when not possible right now.

        Only when every batch landed by this run is committed: a crash can then
        not re-run a batch whose files a compacted file already contains.
        """
        if not lander.lock.acquire(timeout=0.2):
            return False
        try:
            landed = lander.run_last_batch
            if landed is None or progress.committed_batch < landed:
                return False
            s = self.settings.lander
            try:
                done = compactor.run(int(time.time() * 1000), s.compact_min_files, max_days=s.compact_max_days)
            except Exception as exc:  # noqa: BLE001 - compaction is an optimisation: log, retry next time
                log.error("compaction failed: %s", str(exc).splitlines()[0][:300])
                return True
            metrics.LANDER_COMPACTED_DAYS.inc(len(done))
            return True
        finally:
            lander.lock.release()

    def _stop_gracefully(self, query, lander: BatchLander) -> None:
        # A batch in flight finishes publishing; one starting now raises and stays uncommitted.
        if lander.lock.acquire(timeout=STOP_GRACE_S):
            lander.lock.release()
        else:
            log.warning("batch still running after %.0fs; stopping anyway (it will re-run)", STOP_GRACE_S)
        try:
            query.stop()
        except Exception as exc:  # noqa: BLE001 - stopping a failing query may raise its error again
            log.info("query stopped with: %s", str(exc).splitlines()[0][:200])


def main() -> int:
    logs.configure("price-lander")
    logging.getLogger("py4j").setLevel(logging.WARNING)  # one INFO line per callback otherwise
    settings = JobSettings.load()
    runner = Runner(settings)
    signal.signal(signal.SIGTERM, runner.request_stop)
    signal.signal(signal.SIGINT, runner.request_stop)
    started = time.monotonic()
    code = runner.run()
    log.info("ran %.0fs", time.monotonic() - started)
    return code
