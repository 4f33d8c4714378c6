"""The one way the query service talks to Trino: pooled connections, bound parameters, timeouts.

Connections of the ``trino`` client are cheap HTTP sessions, but reusing them
keeps TCP connections warm; a connection serves one thread at a time, so idle
ones wait in a small LIFO pool and a thread that finds none makes a new one.
A connection that saw an error is dropped, not returned.

Every failure that means "Trino cannot answer now" (refused, timed out, over
its time limit, starting up, the table not there yet) becomes
``TrinoUnavailable``, which the app answers with 503 and Retry-After. A query
Trino rejects as wrong is a bug of this service and propagates (500).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
import trino.dbapi
import trino.exceptions
from coinstream_common.settings import TrinoSettings

from . import metrics
from .settings import QuerySettings
from .sql import Statement, table_name

log = logging.getLogger(__name__)

MAX_IDLE = 8
# Errors Trino reports for conditions that pass: resources, time limits, start-up, a table not created yet.
_TRANSIENT_NAMES = frozenset(
    {
        "EXCEEDED_TIME_LIMIT",
        "SERVER_STARTING_UP",
        "SERVER_SHUTTING_DOWN",
        "NO_NODES_AVAILABLE",
        "TABLE_NOT_FOUND",
        "SCHEMA_NOT_FOUND",
        "CATALOG_NOT_FOUND",
        "QUERY_QUEUE_FULL",
        "CLUSTER_OUT_OF_MEMORY",
        "HIVE_METASTORE_ERROR",
        "HIVE_FILESYSTEM_ERROR",
        "HIVE_CANNOT_OPEN_SPLIT",
        "HIVE_FILE_NOT_FOUND",
    }
)
# A compaction swaps a day's directory between Trino listing it and reading its files: the
# same query a moment later sees the new files. One quick retry hides that race from users.
_RETRY_ONCE_NAMES = frozenset({"HIVE_CANNOT_OPEN_SPLIT", "HIVE_FILE_NOT_FOUND", "HIVE_FILESYSTEM_ERROR"})
RETRY_PAUSE_S = 0.2
_TRANSIENT_TYPES = frozenset({"INSUFFICIENT_RESOURCES", "EXTERNAL", "INTERNAL_ERROR"})


class TrinoUnavailable(Exception):
    """Trino cannot answer now; ``retry_after_s`` is a hint for the client."""

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, trino.exceptions.TrinoQueryError):
        return exc.error_name in _TRANSIENT_NAMES or exc.error_type in _TRANSIENT_TYPES
    return isinstance(
        exc,
        (
            trino.exceptions.OperationalError,  # connection refused/reset, auth, external errors
            trino.exceptions.HttpError,
            requests.exceptions.RequestException,
            TimeoutError,
            ConnectionError,
        ),
    )


def worth_one_retry(exc: BaseException) -> bool:
    return isinstance(exc, trino.exceptions.TrinoQueryError) and exc.error_name in _RETRY_ONCE_NAMES


def describe(exc: BaseException) -> str:
    """The full reason, for the log."""
    if isinstance(exc, trino.exceptions.TrinoQueryError):
        return f"{exc.error_name}: {exc.message}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def reason(exc: BaseException) -> str:
    """A short reason for the client: what kind of failure, without internals."""
    if isinstance(exc, trino.exceptions.TrinoQueryError):
        return str(exc.error_name or exc.error_type).lower()
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    if "timed out" in text or "timeout" in text or isinstance(exc, TimeoutError):
        return "timed out"
    return type(exc).__name__


class TrinoGateway:
    """Runs ``Statement``s on Trino and returns their rows."""

    def __init__(
        self,
        trino_settings: TrinoSettings,
        query_settings: QuerySettings,
        connect: Callable[..., Any] = trino.dbapi.connect,
    ) -> None:
        self.settings = trino_settings
        self.query_settings = query_settings
        self.table = table_name(trino_settings.catalog, trino_settings.schema_, trino_settings.table)
        self._connect = connect
        self._idle: queue.LifoQueue = queue.LifoQueue(maxsize=MAX_IDLE)

    def _new_connection(self):
        s = self.settings
        return self._connect(
            host=s.host,
            port=s.port,
            user=s.user,
            catalog=s.catalog,
            schema=s.schema_,
            source="coinstream-query",
            request_timeout=s.request_timeout_s,
            max_attempts=2,  # one retry of a dropped connection; more only delays the 503
            timezone="UTC",
            legacy_prepared_statements=False,  # EXECUTE IMMEDIATE: one round trip per query
            session_properties={"query_max_run_time": f"{max(1, int(self.query_settings.query_timeout_s))}s"},
        )

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._new_connection()
        try:
            yield conn
        except BaseException:
            _close_quietly(conn)
            raise
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            _close_quietly(conn)

    def fetch(self, statement: Statement, kind: str) -> list[tuple]:
        """All rows of ``statement``; ``kind`` labels the latency metric (series, coverage, ...)."""
        started = time.perf_counter()
        outcome = "error"
        try:
            try:
                rows = self._run(statement)
            except Exception as exc:
                if not worth_one_retry(exc):
                    raise
                log.info("retrying %s query once after %s", kind, describe(exc))
                time.sleep(RETRY_PAUSE_S)
                rows = self._run(statement)
            outcome = "ok"
            return rows
        except Exception as exc:
            if is_transient(exc):
                outcome = "unavailable"
                log.warning("trino unavailable for %s query: %s", kind, describe(exc))
                raise TrinoUnavailable(f"the price store (Trino) is unavailable: {reason(exc)}") from None
            raise
        finally:
            metrics.TRINO_QUERY_SECONDS.labels(kind, outcome).observe(time.perf_counter() - started)

    def _run(self, statement: Statement) -> list[tuple]:
        with self._connection() as conn:
            cur = conn.cursor()
            cur.execute(statement.sql, list(statement.params) or None)
            return [tuple(r) for r in cur.fetchall()]

    def ping(self) -> tuple[bool, str]:
        """Readiness: Trino answers SELECT 1."""
        try:
            rows = self.fetch(Statement("SELECT 1", ()), "ping")
        except TrinoUnavailable as exc:
            return False, str(exc)
        return (rows == [(1,)]), f"trino at {self.settings.host}:{self.settings.port}"

    def close(self) -> None:
        while True:
            try:
                _close_quietly(self._idle.get_nowait())
            except queue.Empty:
                return


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except (trino.exceptions.Error, trino.exceptions.HttpError, requests.RequestException, OSError) as exc:
        log.debug("closing a broken trino connection failed again: %s", exc)
