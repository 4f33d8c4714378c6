"""HDFS (Hadoop 3.5) as two local processes: a NameNode and one DataNode.

Both run straight from Hadoop's Maven jars (no Hadoop distribution, no shell
scripts) with Java 17, every address bound to ``cfg.host``. Replication is 1,
permissions are off, and the NameNode neither waits for block reports nor
lingers in safe mode after start-up (threshold 0, extension 0): with a single
DataNode that starts after it, waiting would only stall ``coinstream up``.
Health goes through WebHDFS on the NameNode's HTTP port: the DataNode counts as
healthy only once a file really written to HDFS reads back byte for byte.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import requests

from . import fetch
from .component import Component, Health
from .config import LocalSettings
from .java import find_java_home
from .process import StartError, wait_for_port

HADOOP_VERSION = "3.5.0"
ARTIFACTS = [
    f"org.apache.hadoop:hadoop-hdfs:{HADOOP_VERSION}",
    f"org.apache.hadoop:hadoop-common:{HADOOP_VERSION}",
    # hadoop-hdfs declares the client classes its servers load as "provided".
    f"org.apache.hadoop:hadoop-hdfs-client:{HADOOP_VERSION}",
]
HEALTH_FILE = "/coinstream/.health/datanode-check"

LOG4J = """log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.hdfs.server.namenode.FSNamesystem.audit=WARN
log4j.logger.org.apache.hadoop.hdfs.StateChange=WARN
log4j.logger.BlockStateChange=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode.clienttrace=WARN
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataNode=INFO
log4j.logger.org.apache.hadoop.hdfs.server.datanode.DataXceiver=WARN
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
log4j.logger.org.apache.hadoop.metrics2=WARN
log4j.logger.org.apache.hadoop.http.HttpRequestLog=WARN
log4j.logger.org.apache.hadoop.security.authentication.server.AuthenticationFilter=ERROR
"""
WEB_INDEX = """<!doctype html><title>coinstream HDFS</title>
<p>Local HDFS of coinstream (no web UI bundled). Try <a href="/jmx">/jmx</a>,
<a href="/conf">/conf</a>, <a href="/webhdfs/v1/?op=LISTSTATUS">/webhdfs/v1/?op=LISTSTATUS</a>.</p>
"""

# ---------------------------------------------------------------- configuration


def site_xml(props: dict[str, str]) -> str:
    """A Hadoop ``*-site.xml`` document with ``props`` in a stable order."""
    body = "".join(
        f"  <property><name>{escape(k)}</name><value>{escape(str(v))}</value></property>\n"
        for k, v in sorted(props.items())
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def name_dir(cfg: LocalSettings) -> Path:
    return cfg.state / "hdfs-namenode" / "name"


def data_dir(cfg: LocalSettings) -> Path:
    return cfg.state / "hdfs-datanode" / "data"


def core_site(cfg: LocalSettings) -> dict[str, str]:
    return {
        "fs.defaultFS": cfg.hdfs_uri,
        "hadoop.tmp.dir": str(cfg.state / "hdfs-tmp"),
        "ipc.client.connect.max.retries": "20",
        "ipc.client.connect.retry.interval": "500",
        "hadoop.prometheus.endpoint.enabled": "true",  # /prom on each daemon's http port
    }


def hdfs_site(cfg: LocalSettings) -> dict[str, str]:
    """Server and client settings shared by both daemons; every address on ``cfg.host``."""
    h = cfg.host
    return {
        "dfs.replication": "1",
        "dfs.permissions.enabled": "false",
        "dfs.namenode.name.dir": name_dir(cfg).as_uri(),
        "dfs.datanode.data.dir": data_dir(cfg).as_uri(),
        "dfs.namenode.rpc-address": f"{h}:{cfg.hdfs_namenode_port}",
        "dfs.namenode.rpc-bind-host": h,
        "dfs.namenode.http-address": f"{h}:{cfg.hdfs_namenode_http_port}",
        "dfs.namenode.http-bind-host": h,
        # Not started (HTTP only, no secondary/backup), but never 0.0.0.0 should they be.
        "dfs.http.policy": "HTTP_ONLY",
        "dfs.namenode.https-address": f"{h}:0",
        "dfs.namenode.secondary.http-address": f"{h}:0",
        "dfs.namenode.backup.address": f"{h}:0",
        "dfs.namenode.backup.http-address": f"{h}:0",
        "dfs.datanode.https.address": f"{h}:0",
        "dfs.datanode.address": f"{h}:{cfg.hdfs_datanode_port}",
        "dfs.datanode.http.address": f"{h}:{cfg.hdfs_datanode_http_port}",
        "dfs.datanode.ipc.address": f"{h}:{cfg.hdfs_datanode_ipc_port}",
        # The DataNode registers under this name: WebHDFS redirects and clients use it.
        "dfs.datanode.hostname": h,
        "dfs.namenode.datanode.registration.ip-hostname-check": "false",
        # One DataNode: do not wait for block reports or linger in safe mode.
        "dfs.namenode.safemode.threshold-pct": "0",
        "dfs.namenode.safemode.extension": "0",
        "dfs.namenode.handler.count": "8",
        "dfs.datanode.handler.count": "4",
        "dfs.namenode.heartbeat.recheck-interval": "30000",
        "dfs.webhdfs.enabled": "true",
        # A failed single DataNode cannot be replaced in a write pipeline.
        "dfs.client.block.write.replace-datanode-on-failure.enable": "false",
    }


def daemon_argv(java: str, cfg: LocalSettings, home: Path, lib: Path, main: str, args: list[str]) -> list[str]:
    """The java command line of one Hadoop daemon (or of its one-shot tools)."""
    heap = cfg.hdfs_heap_mb
    return [
        java,
        f"-Xms{min(heap, 128)}m",
        f"-Xmx{heap}m",
        "-XX:+UseSerialGC",
        "-XX:ActiveProcessorCount=2",
        "-Djava.net.preferIPv4Stack=true",
        "-Djava.awt.headless=true",
        f"-Dhadoop.home.dir={home}",
        f"-Dhadoop.log.dir={home / 'logs'}",
        f"-Dlog4j.configuration=file:{home / 'conf' / 'log4j.properties'}",
        "-cp",
        f"{home / 'conf'}:{lib}/*",
        main,
        *args,
    ]


# ---------------------------------------------------------------- WebHDFS client


class WebHdfsError(RuntimeError):
    pass


class WebHdfs:
    """A small WebHDFS (REST) client: what health checks and tests need, no JVM or libhdfs."""

    def __init__(self, host: str, http_port: int, user: str = "coinstream", timeout_s: float = 10.0) -> None:
        self.base = f"http://{host}:{http_port}/webhdfs/v1"
        self.user = user
        self.timeout = timeout_s

    @classmethod
    def for_settings(cls, cfg: LocalSettings, timeout_s: float = 10.0) -> WebHdfs:
        return cls(cfg.host, cfg.hdfs_namenode_http_port, timeout_s=timeout_s)

    def _url(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"HDFS path must be absolute: {path!r}")
        return self.base + quote(path)

    def _params(self, op: str, **extra) -> dict[str, str]:
        return {"op": op, "user.name": self.user, **{k: str(v) for k, v in extra.items()}}

    @staticmethod
    def _check(resp: requests.Response, *ok: int) -> requests.Response:
        if resp.status_code in ok:
            return resp
        try:
            remote = resp.json()["RemoteException"]
            detail = f"{remote.get('exception')}: {remote.get('message', '')}"
        except (ValueError, KeyError, TypeError):
            detail = resp.text[:200]
        raise WebHdfsError(
            f"WebHDFS {resp.request.method} -> HTTP {resp.status_code}: {detail.splitlines()[0] if detail else ''}"
        )

    def write(self, path: str, data: bytes, overwrite: bool = True) -> None:
        """CREATE in the two steps WebHDFS prescribes: ask the NameNode, send the bytes to the DataNode."""
        first = self._check(
            requests.put(
                self._url(path),
                params=self._params("CREATE", overwrite=str(overwrite).lower()),
                allow_redirects=False,
                timeout=self.timeout,
            ),
            307,
        )
        self._check(requests.put(first.headers["Location"], data=data, timeout=self.timeout), 201)

    def read(self, path: str) -> bytes:
        return self._check(
            requests.get(self._url(path), params=self._params("OPEN"), timeout=self.timeout), 200
        ).content

    def mkdirs(self, path: str) -> None:
        self._check(requests.put(self._url(path), params=self._params("MKDIRS"), timeout=self.timeout), 200)

    def delete(self, path: str, recursive: bool = False) -> bool:
        resp = self._check(
            requests.delete(
                self._url(path), params=self._params("DELETE", recursive=str(recursive).lower()), timeout=self.timeout
            ),
            200,
        )
        return bool(resp.json().get("boolean"))

    def status(self, path: str) -> dict | None:
        resp = requests.get(self._url(path), params=self._params("GETFILESTATUS"), timeout=self.timeout)
        if resp.status_code == 404:
            return None
        return self._check(resp, 200).json()["FileStatus"]

    def list(self, path: str) -> list[str]:
        resp = self._check(requests.get(self._url(path), params=self._params("LISTSTATUS"), timeout=self.timeout), 200)
        return [s["pathSuffix"] for s in resp.json()["FileStatuses"]["FileStatus"]]


def namenode_state(cfg: LocalSettings, timeout_s: float = 3.0) -> dict:
    """The NameNode's FSNamesystemState JMX bean (FSState, NumLiveDataNodes, ...)."""
    url = f"http://{cfg.host}:{cfg.hdfs_namenode_http_port}/jmx"
    resp = requests.get(url, params={"qry": "Hadoop:service=NameNode,name=FSNamesystemState"}, timeout=timeout_s)
    resp.raise_for_status()
    beans = resp.json().get("beans") or []
    if not beans:
        raise WebHdfsError("namesystem not loaded yet")
    return beans[0]


def _cluster_id(storage: Path) -> str | None:
    try:
        for line in (storage / "current" / "VERSION").read_text().splitlines():
            if line.startswith("clusterID="):
                return line.split("=", 1)[1].strip()
    except OSError:
        return None
    return None


# ---------------------------------------------------------------- components


class _HdfsDaemon(Component):
    main_class = ""
    start_timeout_s = 120.0

    @property
    def lib(self) -> Path:
        return self.cfg.cache / f"hadoop-{HADOOP_VERSION}"

    def preflight(self) -> None:
        self._java()

    def fetch(self) -> None:
        fetch.jars(f"hadoop {HADOOP_VERSION}", self.lib, ARTIFACTS)

    def _java(self) -> str:
        home = find_java_home(17, self.cfg.java17_home, "COINSTREAM_LOCAL_JAVA17_HOME")
        return str(home / "bin" / "java")

    def _write_conf(self) -> None:
        conf = self.home / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "core-site.xml").write_text(site_xml(core_site(self.cfg)))
        (conf / "hdfs-site.xml").write_text(site_xml(hdfs_site(self.cfg)))
        (conf / "log4j.properties").write_text(LOG4J)
        # Hadoop's web servers look up webapps/<name> on the classpath; the Maven jars do not
        # ship the UI pages, so give them plain directories (JMX, WebHDFS and /conf still work).
        for app in ("hdfs", "datanode", "static"):
            (conf / "webapps" / app).mkdir(parents=True, exist_ok=True)
        for app in ("hdfs", "datanode"):
            (conf / "webapps" / app / "index.html").write_text(WEB_INDEX)

    def safe_health(self) -> Health:
        # Reap our child if it died, so that start-up notices the exit instead of polling a zombie.
        self.proc.exited()
        return super().safe_health()

    def _argv(self, *args: str) -> list[str]:
        return daemon_argv(self._java(), self.cfg, self.home, self.lib, self.main_class, list(args))

    def command(self) -> tuple[list[str], dict[str, str]]:
        return self._argv(), {"HADOOP_HOME": str(self.home)}


class NameNode(_HdfsDaemon):
    name = "hdfs-namenode"
    main_class = "org.apache.hadoop.hdfs.server.namenode.NameNode"

    def ports(self) -> list[int]:
        return [self.cfg.hdfs_namenode_port, self.cfg.hdfs_namenode_http_port]

    def prepare(self) -> None:
        self._write_conf()
        if _cluster_id(name_dir(self.cfg)):
            return
        try:
            result = subprocess.run(
                self._argv("-format", "-nonInteractive", "-force"),
                capture_output=True,
                text=True,
                cwd=self.home,
                timeout=180,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise StartError("hdfs-namenode: formatting the name directory took over 180s") from None
        if result.returncode != 0 or not _cluster_id(name_dir(self.cfg)):
            lines = [l for l in (result.stderr + result.stdout).splitlines() if "ERROR" in l or "Exception" in l]
            raise StartError(f"hdfs-namenode: formatting failed: {lines[-1] if lines else result.returncode}")

    def health(self) -> Health:
        if not wait_for_port(self.cfg.host, self.cfg.hdfs_namenode_port, 1.0):
            return Health(False, f"RPC port {self.cfg.hdfs_namenode_port} not accepting")
        state = namenode_state(self.cfg)
        if state.get("FSState") != "Operational":
            return Health(False, f"namenode in {state.get('FSState')}")
        return Health(
            True,
            f"operational, {state.get('NumLiveDataNodes', 0)} live datanode(s), {state.get('FilesTotal', 0)} files",
        )

    def endpoints(self) -> dict[str, str]:
        return {
            "fs.defaultFS": self.cfg.hdfs_uri,
            "web": f"http://{self.cfg.host}:{self.cfg.hdfs_namenode_http_port}/",
        }


class DataNode(_HdfsDaemon):
    name = "hdfs-datanode"
    requires = ("hdfs-namenode",)
    main_class = "org.apache.hadoop.hdfs.server.datanode.DataNode"

    def ports(self) -> list[int]:
        return [self.cfg.hdfs_datanode_port, self.cfg.hdfs_datanode_http_port, self.cfg.hdfs_datanode_ipc_port]

    def prepare(self) -> None:
        self._write_conf()
        # A re-formatted NameNode has a new cluster id: the old blocks belong to no namespace
        # any more, and the DataNode would refuse to start with them.
        ours, theirs = _cluster_id(data_dir(self.cfg)), _cluster_id(name_dir(self.cfg))
        if ours and theirs and ours != theirs:
            shutil.rmtree(data_dir(self.cfg))

    def health(self) -> Health:
        state = namenode_state(self.cfg)
        live = int(state.get("NumLiveDataNodes", 0))
        if live < 1:
            return Health(False, "no live datanode registered with the namenode")
        if state.get("FSState") != "Operational":
            return Health(False, f"namenode in {state.get('FSState')}")
        client = WebHdfs.for_settings(self.cfg, timeout_s=5.0)
        payload = f"coinstream datanode check {time.time_ns()}\n".encode()
        client.write(HEALTH_FILE, payload)
        if client.read(HEALTH_FILE) != payload:
            return Health(False, "file read back differs from what was written")
        return Health(True, f"{live} live datanode(s), write+read ok")

    def endpoints(self) -> dict[str, str]:
        return {"web": f"http://{self.cfg.host}:{self.cfg.hdfs_datanode_http_port}/"}
