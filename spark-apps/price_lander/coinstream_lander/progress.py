"""Prometheus metrics from Structured Streaming progress reports (plain dicts)."""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql.streaming import StreamingQueryListener

from . import metrics


def _offsets(value: Any) -> dict | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def kafka_lag(progress: dict) -> int | None:
    """Records behind: latest offsets minus the offsets this batch ends at, summed over partitions."""
    total, seen = 0, False
    for source in progress.get("sources") or ():
        latest, end = _offsets(source.get("latestOffset")), _offsets(source.get("endOffset"))
        if latest is None or end is None:
            continue
        for topic, partitions in latest.items():
            done = end.get(topic) or {}
            for partition, offset in partitions.items():
                total += max(0, int(offset) - int(done.get(partition, 0)))
                seen = True
    return total if seen else None


class ProgressMetrics:
    """Feeds each new progress report of a query into the lander's metrics once."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self.committed_batch = -1
        """The newest batch with input that Spark has committed (progress comes after the commit)."""

    def observe(self, reports: list[dict]) -> int:
        """Returns how many reports were new."""
        new = 0
        for p in reports:
            ident = (str(p.get("runId")), str(p.get("timestamp")))
            if ident in self._seen:
                continue
            self._seen.add(ident)
            new += 1
            if p.get("numInputRows", 0) > 0:
                self.committed_batch = max(self.committed_batch, int(p.get("batchId", -1)))
                duration_ms = (p.get("durationMs") or {}).get("triggerExecution")
                if duration_ms is not None:
                    metrics.LANDER_BATCH_SECONDS.observe(duration_ms / 1000)
            metrics.LANDER_INPUT_ROWS_PER_SECOND.set(float(p.get("inputRowsPerSecond") or 0.0))
            metrics.LANDER_PROCESSED_ROWS_PER_SECOND.set(float(p.get("processedRowsPerSecond") or 0.0))
            lag = kafka_lag(p)
            if lag is not None:
                metrics.LANDER_KAFKA_LAG.set(lag)
        if len(self._seen) > 1000:  # keep memory bounded; Spark retains far fewer
            self._seen = set(sorted(self._seen, key=lambda i: i[1])[-200:])
        return new


class ProgressListener(StreamingQueryListener):
    """Pushes every progress report of the session's queries into ``ProgressMetrics``."""

    def __init__(self, sink: ProgressMetrics) -> None:
        self.sink = sink

    def onQueryStarted(self, event) -> None:
        pass

    def onQueryProgress(self, event) -> None:
        self.sink.observe([json.loads(event.progress.json)])  # a property holding the JSON text

    def onQueryIdle(self, event) -> None:
        pass

    def onQueryTerminated(self, event) -> None:
        pass
