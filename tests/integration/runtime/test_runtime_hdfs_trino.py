"""The local HDFS and Trino as `coinstream up` runs them: bytes round-trip, and Parquet reads back exactly.

The Parquet test writes files the way the Spark lander does (under the table's
``day=YYYY-MM-DD`` directory on HDFS), once with INT96 timestamps (Spark's
default) and once with INT64 UTC-adjusted millisecond timestamps (pyarrow's
default), and asserts Trino returns the same rows with ``ts`` as the exact UTC
wall-clock time. Each test uses its own coin id and cleans up after itself.
"""

from __future__ import annotations

import io
import os
import uuid
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from coinstream.runtime.hdfs import WebHdfs
from coinstream.runtime.trino import Trino, run_query, warehouse_uri
from coinstream_common.settings import TrinoSettings
from coinstream_contract import tables

pytestmark = pytest.mark.integration

DAY = "2001-09-09"  # far from any real data, so the partition is the test's own


@pytest.fixture(scope="module")
def cfg(session_stack):
    return session_stack.cfg


@pytest.fixture(scope="module")
def hdfs(cfg, hdfs_uri) -> WebHdfs:
    return WebHdfs.for_settings(cfg)


@pytest.fixture(scope="module")
def query(cfg, trino_port):
    user = TrinoSettings().user

    def run(sql: str) -> list[list]:
        return run_query(cfg.host, trino_port, user, sql, timeout_s=60)

    return run


def test_hdfs_file_round_trips_byte_for_byte(hdfs):
    path = f"/coinstream/tests/runtime-{uuid.uuid4().hex}/blob.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)  # several packets, not a multiple of anything
    try:
        hdfs.write(path, data)
        assert hdfs.read(path) == data
        assert hdfs.status(path)["length"] == len(data)
        assert hdfs.status(path)["replication"] == 1
    finally:
        hdfs.delete(path.rsplit("/", 1)[0], recursive=True)
    assert hdfs.status(path) is None


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)


def _parquet(rows: list[dict], int96: bool) -> bytes:
    schema = pa.schema(
        [
            ("coin_id", pa.string()),
            ("vs_currency", pa.string()),
            ("ts", pa.timestamp("ms", tz="UTC")),
            ("price", pa.float64()),
            ("market_cap", pa.float64()),
            ("total_volume", pa.float64()),
            ("source", pa.string()),
            ("event_id", pa.string()),
            ("ingested_at", pa.timestamp("ms", tz="UTC")),
        ]
    )
    assert schema.names == [c.name for c in tables.PRICE_COLUMNS]
    table = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(table, buf, use_deprecated_int96_timestamps=int96)
    return buf.getvalue()


def test_parquet_on_hdfs_reads_back_exactly_through_trino(cfg, hdfs, query):
    s = TrinoSettings()
    coin = f"test-runtime-{uuid.uuid4().hex[:12]}"
    base_ms = 1_000_000_000_123  # 2001-09-09T01:46:40.123Z
    rows = [
        {
            "coin_id": coin,
            "vs_currency": "usd",
            "ts": _ts(base_ms + i * 3_600_000).replace(tzinfo=UTC),
            "price": 40000.5 + i,
            "market_cap": None if i == 1 else 7.5e11 + i,
            "total_volume": 1.25e10 * (i + 1),
            "source": "test",
            "event_id": f"{coin}-{i}",
            "ingested_at": _ts(base_ms + 999).replace(tzinfo=UTC),
        }
        for i in range(4)
    ]
    table_dir = tables.price_table_location(warehouse_uri(cfg)).removeprefix(cfg.hdfs_uri)
    files = [f"{table_dir}/day={DAY}/{coin}-int96.parquet", f"{table_dir}/day={DAY}/{coin}-int64.parquet"]
    try:
        hdfs.write(files[0], _parquet(rows[:2], int96=True))
        hdfs.write(files[1], _parquet(rows[2:], int96=False))
        query(f"CALL {s.catalog}.system.sync_partition_metadata('{s.schema_}', '{tables.PRICE_TABLE}', 'ADD')")
        got = query(
            f"SELECT coin_id, vs_currency, ts, price, market_cap, total_volume, source, event_id, ingested_at, day "
            f"FROM {s.catalog}.{s.schema_}.{tables.PRICE_TABLE} "
            f"WHERE day = DATE '{DAY}' AND coin_id = '{coin}' ORDER BY ts"
        )
        expected = [
            [
                coin,
                "usd",
                _ts(base_ms + i * 3_600_000),
                40000.5 + i,
                None if i == 1 else 7.5e11 + i,
                1.25e10 * (i + 1),
                "test",
                f"{coin}-{i}",
                _ts(base_ms + 999),
                datetime(2001, 9, 9).date(),
            ]
            for i in range(4)
        ]
        assert got == expected
        assert got[0][2] == datetime(2001, 9, 9, 1, 46, 40, 123000)  # UTC wall clock, to the millisecond
        # The same instants seen as UTC instants by Trino itself.
        epoch = query(
            f"SELECT to_unixtime(with_timezone(ts, 'UTC')) FROM {s.catalog}.{s.schema_}.{tables.PRICE_TABLE} "
            f"WHERE day = DATE '{DAY}' AND coin_id = '{coin}' ORDER BY ts"
        )
        assert [round(r[0] * 1000) for r in epoch] == [base_ms + i * 3_600_000 for i in range(4)]
    finally:
        for f in files:
            hdfs.delete(f)
        if not hdfs.list(f"{table_dir}/day={DAY}"):
            hdfs.delete(f"{table_dir}/day={DAY}", recursive=True)
            query(
                f"CALL {s.catalog}.system.unregister_partition('{s.schema_}', '{tables.PRICE_TABLE}', "
                f"ARRAY['day'], ARRAY['{DAY}'])"
            )
    assert query(f"SELECT count(*) FROM {s.catalog}.{s.schema_}.{tables.PRICE_TABLE} WHERE coin_id = '{coin}'") == [[0]]


def test_schema_and_table_set_up_is_idempotent(cfg, query):
    s = TrinoSettings()
    Trino(cfg).after_start()  # already ran when the fixture started (or found) Trino
    Trino(cfg).after_start()
    tables_found = query(f"SHOW TABLES FROM {s.catalog}.{s.schema_} LIKE '{tables.PRICE_TABLE}'")
    assert tables_found == [[tables.PRICE_TABLE]]
    ddl = query(f"SHOW CREATE TABLE {s.catalog}.{s.schema_}.{tables.PRICE_TABLE}")[0][0]
    assert f"external_location = '{tables.price_table_location(warehouse_uri(cfg))}'" in ddl
    assert "partitioned_by = ARRAY['day']" in ddl
