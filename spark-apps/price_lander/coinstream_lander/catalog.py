"""The Trino side of landing: the table exists, and new day partitions are registered.

The table is an external Hive table over ``<warehouse>/coin_prices``
(``coinstream_contract.tables``). Trino lists the files of a known partition on
every query, so a file renamed into an existing ``day=`` directory is
visible at once; a new directory is not a partition until the metastore knows
it, which ``system.sync_partition_metadata(..., 'ADD')`` does.
"""

from __future__ import annotations

import logging

import tenacity
import trino
from coinstream_common.settings import TrinoSettings
from coinstream_contract.tables import trino_create_price_table, trino_create_schema

from .settings import StorageSettings

log = logging.getLogger(__name__)


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _StopWhen(tenacity.stop.stop_base):
    """Stop retrying once ``asked()`` is true."""

    def __init__(self, asked) -> None:
        self.asked = asked

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return bool(self.asked())


class TrinoCatalog:
    def __init__(self, settings: TrinoSettings, storage: StorageSettings) -> None:
        self.settings = settings
        self.storage = storage

    def _execute(self, sql: str, params: list | None = None) -> list:
        conn = trino.dbapi.connect(
            host=self.settings.host,
            port=self.settings.port,
            user=self.settings.user,
            catalog=self.settings.catalog,
            schema=self.settings.schema_,
            request_timeout=self.settings.request_timeout_s,
            source="coinstream-price-lander",
        )
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            return cur.fetchall()
        finally:
            conn.close()

    def ensure_table(self) -> None:
        """Create the schema and the external table if missing (idempotent)."""
        s = self.settings
        self._execute(trino_create_schema(s.catalog, s.schema_, self.storage.warehouse_uri))
        self._execute(trino_create_price_table(s.catalog, s.schema_, self.storage.warehouse_uri))

    def sync_partitions(self) -> None:
        """Register day directories the metastore does not know yet."""
        s = self.settings
        self._execute(  # CALL takes no prepared-statement parameters
            f"CALL {s.catalog}.system.sync_partition_metadata("
            f"schema_name => {sql_string(s.schema_)}, table_name => {sql_string(s.table)}, mode => 'ADD')"
        )

    def wait_ready(self, timeout_s: float, stop=lambda: False) -> bool:
        """Retry ensure_table until Trino answers (it may start after the job on Kubernetes).

        False when ``stop()`` turned true first; raises the last error after ``timeout_s``.
        """

        def log_wait(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            why = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            log.warning("Trino not ready (%s); retrying in %.0fs", why, state.upcoming_sleep)

        retrying = tenacity.Retrying(
            wait=tenacity.wait_exponential(multiplier=1.0, max=15.0),  # 1, 2, 4 ... 15 s
            stop=tenacity.stop_after_delay(timeout_s) | _StopWhen(stop),
            before_sleep=log_wait,
            reraise=True,
        )
        try:
            retrying(self.ensure_table)
        except Exception:
            if stop():
                return False
            raise
        return True
