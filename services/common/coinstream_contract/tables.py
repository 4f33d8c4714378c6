"""The landed price table, described once for both its writer (Spark) and its reader (Trino).

Parquet files live under ``<warehouse>/coin_prices/day=YYYY-MM-DD/``; Trino
sees them through an external Hive table partitioned by ``day``. Files and
directories whose names start with ``_`` or ``.`` are invisible to Trino,
which is what lets the writer stage a batch and publish it with renames.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    trino_type: str
    spark_type: str  # a Spark SQL DDL type
    comment: str


PRICE_COLUMNS: tuple[Column, ...] = (
    Column("coin_id", "varchar", "string", "CoinGecko coin id"),
    Column("vs_currency", "varchar", "string", "quote currency"),
    Column("ts", "timestamp(3)", "timestamp", "observation time, UTC"),
    Column("price", "double", "double", "price in vs_currency"),
    Column("market_cap", "double", "double", "market capitalisation, when known"),
    Column("total_volume", "double", "double", "24h volume, when known"),
    Column("source", "varchar", "string", "where the observation came from"),
    Column("event_id", "varchar", "string", "deterministic id of the observation"),
    Column("ingested_at", "timestamp(3)", "timestamp", "when ingest produced it"),
)
PARTITION_COLUMN = Column("day", "date", "date", "UTC day of ts (partition)")
PRICE_TABLE = "coin_prices"


def price_table_location(warehouse_uri: str) -> str:
    return f"{warehouse_uri.rstrip('/')}/{PRICE_TABLE}"


def trino_create_schema(catalog: str, schema: str, warehouse_uri: str) -> str:
    return f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema} WITH (location = '{warehouse_uri.rstrip('/')}')"


def trino_create_price_table(catalog: str, schema: str, warehouse_uri: str) -> str:
    cols = ",\n  ".join(f"{c.name} {c.trino_type} COMMENT '{c.comment}'" for c in (*PRICE_COLUMNS, PARTITION_COLUMN))
    return (
        f"CREATE TABLE IF NOT EXISTS {catalog}.{schema}.{PRICE_TABLE} (\n  {cols}\n)\n"
        f"WITH (format = 'PARQUET', partitioned_by = ARRAY['{PARTITION_COLUMN.name}'], "
        f"external_location = '{price_table_location(warehouse_uri)}')"
    )


def spark_ddl() -> str:
    return ", ".join(f"{c.name} {c.spark_type}" for c in (*PRICE_COLUMNS, PARTITION_COLUMN))
