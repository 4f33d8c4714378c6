"""The backfill worker: consumes ``coin.backfill.requests`` and fetches what is missing.

- Requests of one consumed batch for the same (coin, vs_currency, interval) that
  overlap or touch are merged into one job (``merge_requests``), so a burst of
  identical asks (every portfolio holding bitcoin) costs one fetch.
- Ranges already produced by this process recently (``FetchedLedger``) or already
  landed in the table (``coverage.landed_ranges``, best effort) are skipped.
- Offsets are committed by ``consume_events`` only after ``handle`` returned, i.e.
  after the broker acknowledged every event of the batch. A CoinGecko outage or a
  Kafka failure raises, so the batch is re-delivered; a request CoinGecko can
  never serve (unknown coin, refused parameters) is logged and skipped.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from coinstream_common.kafka import DeliveryError, consume_events, make_consumer
from coinstream_common.settings import KafkaSettings
from coinstream_common.timeutil import merge_ranges
from coinstream_contract.events import BackfillRequest
from coinstream_contract.vocabulary import INTERVAL_MS
from confluent_kafka import KafkaException

from . import history, metrics
from .coingecko import BadRequest, CoinGeckoUnavailable, UnknownCoin
from .ingestor import Ingestor

log = logging.getLogger(__name__)

Range = tuple[int, int]  # epoch ms, inclusive
#: How long a produced range counts as done without asking the table.
LEDGER_TTL_S = 900.0


@dataclass(frozen=True)
class BackfillJob:
    coin: str
    vs_currency: str
    interval: str
    from_ms: int
    to_ms: int
    requests: int
    requested_by: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.coin, self.vs_currency, self.interval)


def merge_requests(requests: Iterable[BackfillRequest]) -> list[BackfillJob]:
    """Merge requests for the same (coin, vs_currency, interval) whose ranges overlap or touch.

    Touching means the next range starts at most one grid step after the previous
    ends: no grid point lies between them, so fetching both at once costs nothing extra.
    """
    groups: dict[tuple[str, str, str], list[BackfillRequest]] = {}
    for r in requests:
        groups.setdefault((r.coin, r.vs_currency, r.interval), []).append(r)
    jobs: list[BackfillJob] = []
    for (coin, vs, interval), reqs in sorted(groups.items()):
        step = INTERVAL_MS[interval]
        reqs.sort(key=lambda r: (r.from_, r.to))
        cur_from, cur_to, members = reqs[0].from_, reqs[0].to, [reqs[0]]
        for r in reqs[1:]:
            if r.from_ <= cur_to + step:
                cur_to = max(cur_to, r.to)
                members.append(r)
                continue
            jobs.append(_job(coin, vs, interval, cur_from, cur_to, members))
            cur_from, cur_to, members = r.from_, r.to, [r]
        jobs.append(_job(coin, vs, interval, cur_from, cur_to, members))
    return jobs


def _job(coin: str, vs: str, interval: str, from_ms: int, to_ms: int, members: list[BackfillRequest]) -> BackfillJob:
    by = tuple(sorted({m.requested_by for m in members}))
    return BackfillJob(coin, vs, interval, from_ms, to_ms, len(members), by)


def subtract(span: Range, covered: Iterable[Range]) -> list[Range]:
    """The parts of ``span`` not inside any ``covered`` range (all inclusive)."""
    lo, hi = span
    gaps: list[Range] = []
    for a, b in merge_ranges(covered):
        if b < lo or a > hi:
            continue
        if a > lo:
            gaps.append((lo, a - 1))
        lo = max(lo, b + 1)
        if lo > hi:
            return gaps
    gaps.append((lo, hi))
    return gaps


class FetchedLedger:
    """Ranges this process produced recently, per (coin, vs_currency, interval); thread-safe."""

    def __init__(self, ttl_s: float = LEDGER_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[tuple[str, str, str], list[tuple[float, Range]]] = {}
        self._lock = threading.Lock()

    def remember(self, key: tuple[str, str, str], span: Range) -> None:
        with self._lock:
            self._entries.setdefault(key, []).append((self._clock(), span))

    def covered(self, key: tuple[str, str, str]) -> list[Range]:
        cutoff = self._clock() - self.ttl_s
        with self._lock:
            live = [(t, r) for t, r in self._entries.get(key, []) if t >= cutoff]
            self._entries[key] = live
            return merge_ranges(r for _, r in live)


CoverageLookup = Callable[[str, str, str, int, int], list[Range]]


class BackfillWorker:
    """A thread that turns backfill requests into price events."""

    def __init__(
        self,
        ingestor: Ingestor,
        kafka: KafkaSettings,
        topic: str,
        group_id: str,
        landed: CoverageLookup | None = None,
        ledger: FetchedLedger | None = None,
    ) -> None:
        self.ingestor = ingestor
        self.kafka = kafka
        self.topic = topic
        self.group_id = group_id
        self.landed = landed
        self.ledger = ledger or FetchedLedger()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="backfill-worker", daemon=True)
        self.jobs_done = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout_s)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            consumer = None
            try:
                consumer = make_consumer(self.kafka, self.group_id, [self.topic])
                consume_events(consumer, BackfillRequest, self.handle, self.stop_event, batch_size=200)
            except Exception:  # the worker outlives broker hiccups
                log.exception("backfill worker loop failed; restarting in 5s")
                self.stop_event.wait(5.0)
            finally:
                if consumer is not None:
                    with contextlib.suppress(KafkaException, RuntimeError):  # closing a broken or closed consumer
                        consumer.close()

    def handle(self, batch: list[BackfillRequest]) -> None:
        """Fetch every job of a batch; raises (so nothing is committed) on a retryable failure."""
        jobs = merge_requests(batch)
        pending = len(batch)
        metrics.BACKFILL_QUEUE_DEPTH.inc(pending)
        try:
            for job in jobs:
                try:
                    self.run_job(job)
                except (UnknownCoin, BadRequest, history.RangeError) as exc:
                    log.warning(
                        "dropping backfill %s/%s %s [%s, %s] from %s: %s",
                        job.coin,
                        job.vs_currency,
                        job.interval,
                        job.from_ms,
                        job.to_ms,
                        ",".join(job.requested_by),
                        exc,
                    )
                except CoinGeckoUnavailable as exc:
                    log.warning("backfill paused %.0fs: %s", exc.retry_after_s, exc)
                    self.stop_event.wait(min(exc.retry_after_s, 60.0))
                    raise
                except (DeliveryError, KafkaException):
                    self.stop_event.wait(2.0)
                    raise
                metrics.BACKFILL_QUEUE_DEPTH.dec(job.requests)
                pending -= job.requests
                self.jobs_done += 1
        finally:
            metrics.BACKFILL_QUEUE_DEPTH.dec(pending)

    def run_job(self, job: BackfillJob) -> int:
        """Fetch the parts of a job not known to be done; returns events produced."""
        ing = self.ingestor
        now = ing.clock_ms()
        # A backfill asks for whatever exists: clamp to what the plan serves instead of refusing.
        oldest = history.earliest_ms(now, ing.history_limit_days)
        if job.interval == "5m":
            oldest = max(oldest, now - history.FIVE_MINUTE_WINDOW_MS)
        lo, hi = max(job.from_ms, oldest), min(job.to_ms, now)
        if lo > hi:
            log.info("backfill %s/%s %s: nothing servable in the range", job.coin, job.vs_currency, job.interval)
            return 0
        lo, hi = ing.check_history(job.coin, job.vs_currency, lo, hi, job.interval)
        covered = self.ledger.covered(job.key)
        if self.landed is not None:
            covered += self.landed(job.coin, job.vs_currency, job.interval, lo, hi)
        pieces = subtract((lo, hi), covered)
        earliest = history.earliest_ms(now, ing.history_limit_days)
        calls = sum(len(history.plan_chunks(a, b, job.interval, now, earliest)) for a, b in pieces)
        if calls > len(history.plan_chunks(lo, hi, job.interval, now, earliest)):
            pieces = [(lo, hi)]  # many small gaps: one sweep is cheaper
        produced = 0
        for a, b in pieces:
            produced += ing.fetch_history(job.coin, job.vs_currency, a, b, job.interval, checked=True).produced
        self.ledger.remember(job.key, (lo, hi))
        log.info(
            "backfill %s/%s %s [%d, %d]: %d request(s), %d piece(s), %d events",
            job.coin,
            job.vs_currency,
            job.interval,
            lo,
            hi,
            job.requests,
            len(pieces),
            produced,
        )
        return produced
