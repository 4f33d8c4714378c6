"""Publish a staged batch into the table with atomic renames.

Trino ignores files and directories whose names start with ``_`` or ``.``.
A batch is first written by Spark under ``<table>/_staging/batch=<id>/day=.../``
(invisible, however far the write got), then each file is renamed to a name
that depends only on the checkpoint and the batch id,
``<table>/day=D/part-b<batch>-<query>-<n>.parquet``. An HDFS rename is atomic
and overwrites: a batch re-run after a crash replaces its own files instead of
adding a second copy, and a reader sees a file whole or not at all.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass

STAGING_DIR = "_staging"
PART_RE = re.compile(r"^part-b(?P<batch>\d{10})-(?P<query>[0-9a-f]{8})-(?P<n>\d{3})\.parquet$")


def hidden(name: str) -> bool:
    """What Trino (and Hive) skip when listing a table."""
    return name.startswith(("_", "."))


def staging_uri(table_uri: str, batch_id: int | None = None) -> str:
    root = f"{table_uri.rstrip('/')}/{STAGING_DIR}"
    return root if batch_id is None else f"{root}/batch={batch_id}"


def part_name(batch_id: int, query_tag: str, n: int) -> str:
    return f"part-b{batch_id:010d}-{query_tag}-{n:03d}.parquet"


@dataclass(frozen=True)
class Move:
    src: str
    dst: str
    day_dir: str


def plan_publish(table_uri: str, batch_id: int, query_tag: str, staged: dict[str, list[str]]) -> list[Move]:
    """Renames that publish ``staged`` ({"day=...": [file names]}) under deterministic names.

    Files are numbered in name order per day, so the same staged layout always
    maps to the same targets.
    """
    table = table_uri.rstrip("/")
    src_root = staging_uri(table_uri, batch_id)
    moves = []
    for day_dir in sorted(staged):
        files = sorted(f for f in staged[day_dir] if not hidden(f))
        for n, name in enumerate(files):
            moves.append(
                Move(f"{src_root}/{day_dir}/{name}", f"{table}/{day_dir}/{part_name(batch_id, query_tag, n)}", day_dir)
            )
    return moves


def stale_parts(existing: dict[str, list[str]], batch_id: int, query_tag: str, moves: list[Move]) -> list[str]:
    """Files of this batch left by an earlier (crashed) run that this run does not overwrite.

    ``existing`` maps a table path ("<table>/day=...") to its file names.
    """
    keep = {m.dst for m in moves}
    stale = []
    for directory, names in existing.items():
        for name in names:
            m = PART_RE.match(name)
            if m and int(m["batch"]) == batch_id and m["query"] == query_tag:
                path = f"{directory.rstrip('/')}/{name}"
                if path not in keep:
                    stale.append(path)
    return sorted(stale)


class HadoopFiles:
    """The few Hadoop FileSystem calls the publisher needs, through the driver's JVM."""

    def __init__(self, spark, root_uri: str) -> None:
        self._jvm = spark._jvm
        self._gateway = spark.sparkContext._gateway
        conf = spark._jsc.hadoopConfiguration()
        root = self._path(root_uri)
        self._fs = root.getFileSystem(conf)
        self._fc = self._jvm.org.apache.hadoop.fs.FileContext.getFileContext(root.toUri(), conf)
        rename = self._jvm.org.apache.hadoop.fs.Options.Rename
        self._overwrite = self._gateway.new_array(rename, 1)
        self._overwrite[0] = rename.OVERWRITE

    def _path(self, uri: str):
        return self._jvm.org.apache.hadoop.fs.Path(uri)

    def exists(self, uri: str) -> bool:
        return bool(self._fs.exists(self._path(uri)))

    def list(self, uri: str) -> list[tuple[str, bool]]:
        """(name, is_directory) of the entries of ``uri``; [] when it does not exist."""
        return [(name, is_dir) for name, is_dir, _ in self.entries(uri)]

    def entries(self, uri: str) -> builtins.list[tuple[str, bool, int]]:  # list: the method above
        """(name, is_directory, size in bytes) of the entries of ``uri``; [] when it does not exist."""
        path = self._path(uri)
        if not self._fs.exists(path):
            return []
        return [(s.getPath().getName(), bool(s.isDirectory()), int(s.getLen())) for s in self._fs.listStatus(path)]

    def rename(self, src: str, dst: str) -> None:
        """Atomic rename of a file or directory to a name that must not exist."""
        if not self._fs.rename(self._path(src), self._path(dst)):
            raise OSError(f"rename {src} -> {dst} failed")

    def touch(self, uri: str) -> None:
        self._fs.create(self._path(uri), True).close()

    def mkdirs(self, uri: str) -> None:
        self._fs.mkdirs(self._path(uri))

    def rename_over(self, src: str, dst: str) -> None:
        """Atomic rename that replaces ``dst`` if it exists (HDFS rename2)."""
        self._fc.rename(self._path(src), self._path(dst), self._overwrite)

    def delete(self, uri: str, recursive: bool = True) -> None:
        self._fs.delete(self._path(uri), recursive)


def staged_files(files: HadoopFiles, table_uri: str, batch_id: int) -> dict[str, list[str]]:
    """{"day=...": [file names]} written by Spark for one batch."""
    root = staging_uri(table_uri, batch_id)
    out = {}
    for name, is_dir in files.list(root):
        if is_dir and not hidden(name):
            out[name] = [n for n, d in files.list(f"{root}/{name}") if not d and not hidden(n)]
    return out


def day_dirs(files: HadoopFiles, table_uri: str) -> set[str]:
    """The visible partition directories ("day=...") of the table."""
    return {name for name, is_dir in files.list(table_uri) if is_dir and not hidden(name)}


def publish(files: HadoopFiles, table_uri: str, batch_id: int, query_tag: str, check_stale: bool) -> list[Move]:
    """Rename a staged batch into the table; returns the moves done.

    ``check_stale``: also remove parts of this batch that an earlier run
    published and this run does not overwrite (only the first batch after a
    start can be such a re-run). A re-run has the same event ids, so the same
    days: looking in this run's day directories is enough.
    """
    moves = plan_publish(table_uri, batch_id, query_tag, staged_files(files, table_uri, batch_id))
    for day_dir in sorted({m.day_dir for m in moves}):
        files.mkdirs(f"{table_uri.rstrip('/')}/{day_dir}")
    for move in moves:
        files.rename_over(move.src, move.dst)
    if check_stale:
        table = table_uri.rstrip("/")
        existing = {
            f"{table}/{d}": [n for n, is_dir in files.list(f"{table}/{d}") if not is_dir]
            for d in sorted({m.day_dir for m in moves})
        }
        for path in stale_parts(existing, batch_id, query_tag, moves):
            files.delete(path, recursive=False)
    files.delete(staging_uri(table_uri, batch_id))
    return moves
