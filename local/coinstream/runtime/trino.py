"""Trino 476 as one local process: coordinator and worker, Hive catalog on HDFS.

Maven Central carries Trino up to 476. The Hive plugin reads
``hdfs://`` through Trino's legacy Hadoop file system, which lives in
``plugin/hive/hdfs/``: that directory is neither in the ``trino-hive`` plugin
zip nor published on its own (``io.trino:trino-hdfs`` is not on Central), so the
full ``trino-server`` tarball is fetched once and cached. Only the Hive plugin
is linked into the server's plugin directory: loading the other ~50 plugins
would cost start-up time and memory for nothing.

The server runs as plain ``java ... io.trino.server.TrinoServer`` (no Python
launcher), with a file metastore kept on HDFS next to the data, so the table
definitions live and die with the HDFS namespace. Timestamps: the JVM and
``hive.parquet.time-zone`` are UTC, so the UTC instants Spark writes (INT96 or
INT64 adjusted-to-UTC) read back as the same UTC wall-clock ``timestamp(3)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import trino.constants
import trino.dbapi
from coinstream_common.settings import TrinoSettings, load
from coinstream_contract.tables import PRICE_TABLE, price_table_location, trino_create_price_table, trino_create_schema

from . import fetch
from .component import Component, Health
from .config import LocalSettings
from .hdfs import WebHdfs
from .java import find_java_home
from .process import StartError
from .services import service_env

TRINO_VERSION = "476"
ARCHIVE = f"io.trino:trino-server:{TRINO_VERSION}:tar.gz"
PLUGINS = ("hive",)
MIN_JAVA = 24  # 476 checks for 24.0.1 itself and says so in one line


def render_properties(props: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in props.items())


def metastore_dir(cfg: LocalSettings) -> str:
    return f"{cfg.hdfs_uri}/coinstream/metastore"


def warehouse_uri(cfg: LocalSettings) -> str:
    return service_env(cfg)["COINSTREAM_STORAGE_WAREHOUSE_URI"]


def server_config(cfg: LocalSettings, home: Path) -> dict[str, str]:
    """etc/config.properties: a single node sized to share 2 cores with the rest of the stack."""
    heap = cfg.trino_heap_mb
    return {
        "coordinator": "true",
        "node-scheduler.include-coordinator": "true",
        "http-server.http.port": str(cfg.trino_port),
        "http-server.log.enabled": "false",
        "discovery.uri": f"http://{cfg.host}:{cfg.trino_port}",
        "node.environment": "coinstream",
        "node.id": "coinstream-local",
        "node.bind-ip": cfg.host,
        "node.internal-address": cfg.host,
        "plugin.dir": str(home / "plugin"),
        "catalog.config-dir": str(home / "etc" / "catalog"),
        "query.max-memory": f"{heap // 2}MB",
        "query.max-memory-per-node": f"{heap // 2}MB",
        "memory.heap-headroom-per-node": f"{heap // 4}MB",
        "task.concurrency": "2",
        "task.max-worker-threads": "4",
        "task.min-drivers": "4",
        "query.max-history": "200",
    }


HIVE_CATALOG_PROPERTIES = {
    "hive.storage-format": "PARQUET",
    "hive.non-managed-table-writes-enabled": "true",
    # The lander registers each new day through Trino (system.register_partition).
    "hive.allow-register-partition-procedure": "true",
    # Spark writes UTC instants; read them back as UTC wall-clock timestamps.
    "hive.parquet.time-zone": "UTC",
    "hive.timestamp-precision": "MILLISECONDS",
    # A year of days is 365 partitions: reading their metadata from the file metastore took
    # ~100 ms per query. Partitions are only added through this coordinator (register_partition),
    # which invalidates the cache, and a partition not found is not cached, so nothing goes stale.
    "hive.metastore-cache-ttl": "10m",
    "hive.metastore-refresh-interval": "1m",
    "hive.metastore-cache.cache-missing-partitions": "false",
    # Data files are immutable (compaction writes new names), so caching their bytes on local
    # disk is safe; it saves a DataNode round trip per split.
    "fs.cache.enabled": "true",
    "fs.cache.max-sizes": "2GB",
}
"""Hive catalog properties shared by the local runtime and the chart (a k8s-test holds them equal)."""


def hive_catalog(cfg: LocalSettings, home: Path) -> dict[str, str]:
    """etc/catalog/<catalog>.properties: Hive connector, file metastore, both on HDFS."""
    return {
        "connector.name": "hive",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": metastore_dir(cfg),
        "fs.hadoop.enabled": "true",
        "hive.dfs.replication": "1",
        **HIVE_CATALOG_PROPERTIES,
        "fs.cache.directories": str(home / "fs-cache"),
    }


LOG_LEVELS = {
    "io.trino": "INFO",
    "io.trino.server.PluginManager": "WARN",
    "org.apache.hadoop": "WARN",
    "io.airlift.bootstrap.LifeCycleManager": "WARN",
    "Bootstrap": "WARN",  # else ~1000 lines of property defaults per start
    "io.trino.event.QueryMonitor": "WARN",  # a TIMELINE line per query, health checks included
}


def jvm_options(cfg: LocalSettings, home: Path) -> list[str]:
    return [
        f"-Xmx{cfg.trino_heap_mb}m",
        "-XX:+UseG1GC",
        "-XX:ActiveProcessorCount=2",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-XX:+ExitOnOutOfMemoryError",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:ReservedCodeCacheSize=256M",
        "-XX:PerMethodRecompilationCutoff=10000",
        "-XX:PerBytecodeRecompilationCutoff=10000",
        "-XX:+EnableDynamicAgentLoading",
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow",
        "-Djdk.attach.allowAttachSelf=true",
        "-Djdk.nio.maxCachedBufferSize=2000000",
        "-Dfile.encoding=UTF-8",
        "-Duser.timezone=UTC",
        f"-Djava.io.tmpdir={home / 'tmp'}",
        f"-Dconfig={home / 'etc' / 'config.properties'}",
        f"-Dlog.levels-file={home / 'etc' / 'log.properties'}",
    ]


def run_query(
    host: str,
    port: int,
    user: str,
    sql: str,
    *,
    timeout_s: float = trino.constants.DEFAULT_REQUEST_TIMEOUT,
    catalog: str | None = None,
    schema: str | None = None,
) -> list[list]:
    """One statement on a connection of its own, every row fetched, the connection closed
    even when the statement fails: for health checks, DDL, tests and benchmarks."""
    conn = trino.dbapi.connect(
        host=host, port=port, user=user, catalog=catalog, schema=schema, request_timeout=timeout_s
    )
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return cur.fetchall()
    finally:
        conn.close()


class Trino(Component):
    name = "trino"
    requires = ("hdfs-datanode",)
    start_timeout_s = 240.0  # a cold JVM loading the Hive plugin on 2 shared cores
    stop_timeout_s = 30.0

    def __init__(self, cfg: LocalSettings) -> None:
        super().__init__(cfg)
        self.settings = load(TrinoSettings)

    @property
    def dist(self) -> Path:
        return self.cfg.cache / f"trino-server-{TRINO_VERSION}"

    def ports(self) -> list[int]:
        return [self.cfg.trino_port]

    def preflight(self) -> None:
        self._java()

    def _java(self) -> str:
        home = find_java_home(MIN_JAVA, self.cfg.java_trino_home, "COINSTREAM_LOCAL_JAVA_TRINO_HOME")
        return str(home / "bin" / "java")

    def fetch(self) -> None:
        fetch.archive(f"trino-server {TRINO_VERSION}", self.dist, ARCHIVE)

    def prepare(self) -> None:
        etc = self.home / "etc"
        (etc / "catalog").mkdir(parents=True, exist_ok=True)
        (self.home / "tmp").mkdir(exist_ok=True)
        (self.home / "fs-cache").mkdir(exist_ok=True)
        (etc / "config.properties").write_text(render_properties(server_config(self.cfg, self.home)))
        (etc / "log.properties").write_text(render_properties(LOG_LEVELS))
        for stale in (etc / "catalog").glob("*.properties"):
            stale.unlink()
        (etc / "catalog" / f"{self.settings.catalog}.properties").write_text(
            render_properties(hive_catalog(self.cfg, self.home))
        )
        plugins = self.home / "plugin"
        plugins.mkdir(exist_ok=True)
        for entry in plugins.iterdir():
            if entry.is_symlink():
                entry.unlink()
        for plugin in PLUGINS:
            os.symlink(self.dist / "plugin" / plugin, plugins / plugin, target_is_directory=True)

    def command(self) -> tuple[list[str], dict[str, str]]:
        return [
            self._java(),
            *jvm_options(self.cfg, self.home),
            "-cp",
            f"{self.dist / 'lib'}/*",
            "io.trino.server.TrinoServer",
        ], {}

    def _query(self, sql: str, timeout_s: float = 10.0) -> list[list]:
        return run_query(self.cfg.host, self.cfg.trino_port, self.settings.user, sql, timeout_s=timeout_s)

    def safe_health(self) -> Health:
        # Reap our child if it died, so that start-up notices the exit instead of polling a zombie.
        self.proc.exited()
        return super().safe_health()

    def health(self) -> Health:
        if self._query("SELECT 1", timeout_s=5.0) != [[1]]:
            return Health(False, "SELECT 1 did not return 1")
        catalog = self.settings.catalog
        found = self._query(
            f"SELECT count(*) FROM system.metadata.catalogs WHERE catalog_name = '{catalog}'", timeout_s=5.0
        )
        if found != [[1]]:
            return Health(False, f"catalog {catalog} not loaded")
        return Health(True, f"SELECT 1 ok, catalog {catalog} loaded")

    def after_start(self) -> None:
        """The price table's directory, schema and external table (all idempotent)."""
        warehouse = warehouse_uri(self.cfg)
        table_dir = price_table_location(warehouse)
        s = self.settings
        try:
            # An external table's directory must exist before CREATE TABLE.
            if table_dir.startswith(self.cfg.hdfs_uri):
                WebHdfs.for_settings(self.cfg).mkdirs(table_dir.removeprefix(self.cfg.hdfs_uri))
            self._query(trino_create_schema(s.catalog, s.schema_, warehouse), timeout_s=60.0)
            self._query(trino_create_price_table(s.catalog, s.schema_, warehouse), timeout_s=60.0)
        except Exception as exc:  # noqa: BLE001 - any failure: a StartError of one line, not a traceback
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            raise StartError(f"trino: creating {s.catalog}.{s.schema_}.{PRICE_TABLE} failed: {detail}") from None

    def endpoints(self) -> dict[str, str]:
        return {"http": f"http://{self.cfg.host}:{self.cfg.trino_port}", "catalog": self.settings.catalog}
