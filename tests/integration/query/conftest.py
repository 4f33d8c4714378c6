"""Fixtures for the query service against the real Trino and HDFS of the local stack.

Rows are landed the way the Spark job lands them: Parquet files under the
table's ``day=YYYY-MM-DD`` directories on HDFS (written through WebHDFS),
then ``sync_partition_metadata`` so Trino sees new partitions. Every test
uses its own coin ids (``test-<uuid>``), so tests never see each other's
rows; the files a test wrote are deleted afterwards.
"""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests
import trino.dbapi
from coinstream_common.settings import ServiceSettings, TrinoSettings
from coinstream_contract import tables
from coinstream_query.app import create_app
from coinstream_query.settings import QuerySettings


def _naive_utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)


def parquet_bytes(rows: list) -> bytes:
    """A Parquet file of ``Row``s (test module) with the table's columns; the partition column lives in the path."""
    schema = pa.schema(
        [
            ("coin_id", pa.string()),
            ("vs_currency", pa.string()),
            ("ts", pa.timestamp("ms")),
            ("price", pa.float64()),
            ("market_cap", pa.float64()),
            ("total_volume", pa.float64()),
            ("source", pa.string()),
            ("event_id", pa.string()),
            ("ingested_at", pa.timestamp("ms")),
        ]
    )
    assert [f.name for f in schema] == [c.name for c in tables.PRICE_COLUMNS]
    table = pa.table(
        {
            "coin_id": [r.coin_id for r in rows],
            "vs_currency": [r.vs_currency for r in rows],
            "ts": [_naive_utc(r.ts_ms) for r in rows],
            "price": [r.price for r in rows],
            "market_cap": [r.market_cap for r in rows],
            "total_volume": [r.total_volume for r in rows],
            "source": [r.source for r in rows],
            "event_id": [r.event() for r in rows],
            "ingested_at": [None if r.ingested_ms is None else _naive_utc(r.ingested_ms) for r in rows],
        },
        schema=schema,
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


class WebHdfs:
    def __init__(self, http_base: str, user: str = "coinstream") -> None:
        self.base = http_base.rstrip("/") + "/webhdfs/v1"
        self.user = user

    def put(self, path: str, data: bytes) -> None:
        url = f"{self.base}{path}"
        resp = requests.put(
            url, params={"op": "CREATE", "overwrite": "true", "user.name": self.user}, allow_redirects=False, timeout=30
        )
        assert resp.status_code == 307, resp.text
        resp = requests.put(
            resp.headers["Location"], data=data, timeout=60, headers={"Content-Type": "application/octet-stream"}
        )
        assert resp.status_code == 201, resp.text

    def delete(self, path: str) -> None:
        requests.delete(f"{self.base}{path}", params={"op": "DELETE", "user.name": self.user}, timeout=30)


@pytest.fixture(scope="session")
def trino_settings(trino_port) -> TrinoSettings:
    return TrinoSettings(port=trino_port, request_timeout_s=60)


@pytest.fixture(scope="session")
def trino_conn(trino_settings):
    s = trino_settings
    return trino.dbapi.connect(
        host=s.host,
        port=s.port,
        user=s.user,
        catalog=s.catalog,
        schema=s.schema_,
        request_timeout=60,
        legacy_prepared_statements=False,
        timezone="UTC",
    )


def run(conn, sql: str, params=None):
    cur = conn.cursor()
    cur.execute(sql, params)
    return cur.fetchall()


@pytest.fixture(scope="session")
def price_table(trino_conn, trino_settings, hdfs_uri, session_stack) -> str:
    """The table's HDFS path; creates the schema and table if the stack has not yet."""
    warehouse = f"{hdfs_uri}/coinstream/warehouse"
    s = trino_settings
    run(trino_conn, tables.trino_create_schema(s.catalog, s.schema_, warehouse))
    run(trino_conn, tables.trino_create_price_table(s.catalog, s.schema_, warehouse))
    rows = run(trino_conn, f'SHOW CREATE TABLE "{s.catalog}"."{s.schema_}"."{s.table}"')
    text = rows[0][0]
    location = text.split("external_location = '", 1)[1].split("'", 1)[0]
    return urlparse(location).path


@pytest.fixture
def land(price_table, trino_conn, trino_settings, session_stack):
    """``land(rows)`` writes rows as Parquet (one file per day), registers new partitions, and returns."""
    cfg = session_stack.cfg
    hdfs = WebHdfs(f"http://{cfg.host}:{cfg.hdfs_namenode_http_port}")
    written: list[str] = []

    def _land(rows: list) -> None:
        by_day: dict[str, list] = defaultdict(list)
        for r in rows:
            by_day[_naive_utc(r.ts_ms).date().isoformat()].append(r)
        for day, day_rows in by_day.items():
            path = f"{price_table}/day={day}/test-{uuid.uuid4().hex}.parquet"
            hdfs.put(path, parquet_bytes(day_rows))
            written.append(path)
        s = trino_settings
        run(trino_conn, f"CALL {s.catalog}.system.sync_partition_metadata('{s.schema_}', '{s.table}', 'ADD')")

    yield _land
    for path in written:
        hdfs.delete(path)


@pytest.fixture
def coin_ids():
    """Fresh coin ids nobody else uses: ``coin_ids(3)``."""
    return lambda n: [f"test-{uuid.uuid4().hex[:12]}" for _ in range(n)]


@pytest.fixture
def query_client(trino_settings):
    app = create_app(trino_settings, QuerySettings(), ServiceSettings())
    yield app.test_client()
    app.extensions["trino_gateway"].close()
