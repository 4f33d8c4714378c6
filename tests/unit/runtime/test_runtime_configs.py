"""Configuration rendered for the local HDFS and Trino: every address from the settings, nothing hard-coded."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from coinstream.runtime import hdfs, trino
from coinstream.runtime.config import LocalSettings

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path) -> LocalSettings:
    # Non-default host and ports: a value that stayed at a default would show up.
    return LocalSettings(
        state_dir=str(tmp_path / "state"),
        cache_dir=str(tmp_path / "cache"),
        host="127.0.0.9",
        hdfs_namenode_port=19000,
        hdfs_namenode_http_port=19870,
        hdfs_datanode_port=19866,
        hdfs_datanode_http_port=19864,
        hdfs_datanode_ipc_port=19867,
        hdfs_heap_mb=200,
        trino_port=18080,
        trino_heap_mb=1536,
    )


def _parse_site(text: str) -> dict[str, str]:
    root = ET.fromstring(text)
    assert root.tag == "configuration"
    return {p.findtext("name"): p.findtext("value") for p in root.findall("property")}


def test_site_xml_round_trips_and_escapes():
    props = {"b.key": "x<y&z", "a.key": "1"}
    text = hdfs.site_xml(props)
    assert _parse_site(text) == props
    assert text.index("a.key") < text.index("b.key")  # stable order, diff-friendly


def test_core_site_points_at_the_namenode(cfg):
    assert hdfs.core_site(cfg)["fs.defaultFS"] == "hdfs://127.0.0.9:19000"


def test_every_hdfs_address_is_bound_to_the_configured_host(cfg):
    site = hdfs.hdfs_site(cfg)
    addresses = {k: v for k, v in site.items() if k.endswith(("-address", ".address", "bind-host", ".hostname"))}
    assert len(addresses) >= 10
    for key, value in addresses.items():
        assert value.split(":")[0] == "127.0.0.9", key
    assert site["dfs.namenode.rpc-address"] == "127.0.0.9:19000"
    assert site["dfs.namenode.http-address"] == "127.0.0.9:19870"
    assert site["dfs.datanode.address"] == "127.0.0.9:19866"
    assert site["dfs.datanode.http.address"] == "127.0.0.9:19864"
    assert site["dfs.datanode.ipc.address"] == "127.0.0.9:19867"


def test_hdfs_site_is_single_node_dev(cfg):
    site = hdfs.hdfs_site(cfg)
    assert site["dfs.replication"] == "1"
    assert site["dfs.permissions.enabled"] == "false"
    assert site["dfs.namenode.safemode.extension"] == "0"
    assert site["dfs.namenode.name.dir"] == (cfg.state / "hdfs-namenode" / "name").as_uri()
    assert site["dfs.datanode.data.dir"] == (cfg.state / "hdfs-datanode" / "data").as_uri()


def test_daemon_argv_uses_heap_conf_dir_and_main_class(cfg, tmp_path):
    argv = hdfs.daemon_argv("/jdk/bin/java", cfg, tmp_path / "home", tmp_path / "lib", "a.Main", ["-format"])
    assert argv[0] == "/jdk/bin/java"
    assert "-Xmx200m" in argv
    cp = argv[argv.index("-cp") + 1].split(":")
    assert cp[0] == str(tmp_path / "home" / "conf")  # site files and log4j.properties win
    assert argv[-2:] == ["a.Main", "-format"]


def test_webhdfs_refuses_relative_paths():
    with pytest.raises(ValueError):
        hdfs.WebHdfs("127.0.0.1", 1).read("relative/path")


def test_render_properties_round_trips():
    props = {"a.b": "1", "c": "x=y"}
    text = trino.render_properties(props)
    parsed = dict(line.split("=", 1) for line in text.splitlines())
    assert parsed == props


def test_trino_server_config_single_node_on_the_configured_host(cfg, tmp_path):
    conf = trino.server_config(cfg, tmp_path / "trino")
    assert conf["coordinator"] == "true"
    assert conf["node-scheduler.include-coordinator"] == "true"
    assert conf["http-server.http.port"] == "18080"
    assert conf["node.bind-ip"] == "127.0.0.9"
    assert conf["discovery.uri"] == "http://127.0.0.9:18080"
    assert conf["plugin.dir"] == str(tmp_path / "trino" / "plugin")
    # Query memory must fit the heap with the headroom Trino keeps for itself.
    mb = lambda v: int(v.removesuffix("MB"))
    assert mb(conf["query.max-memory-per-node"]) + mb(conf["memory.heap-headroom-per-node"]) <= cfg.trino_heap_mb
    assert int(conf["task.concurrency"]) & (int(conf["task.concurrency"]) - 1) == 0  # a power of two


def test_hive_catalog_keeps_metastore_on_hdfs_and_reads_timestamps_as_utc(cfg, tmp_path):
    cat = trino.hive_catalog(cfg, tmp_path)
    assert cat["connector.name"] == "hive"
    assert cat["hive.metastore"] == "file"
    assert cat["hive.metastore.catalog.dir"] == "hdfs://127.0.0.9:19000/coinstream/metastore"
    assert cat["fs.hadoop.enabled"] == "true"
    assert cat["hive.parquet.time-zone"] == "UTC"
    assert cat["hive.non-managed-table-writes-enabled"] == "true"
    # Cached file bytes live under the component's own directory, bounded in size.
    assert cat["fs.cache.enabled"] == "true" and cat["fs.cache.directories"] == str(tmp_path / "fs-cache")
    assert cat["fs.cache.max-sizes"].endswith("GB")


def test_trino_warehouse_follows_the_hdfs_settings(cfg):
    assert trino.warehouse_uri(cfg) == "hdfs://127.0.0.9:19000/coinstream/warehouse"


def test_trino_jvm_options_heap_utc_and_config_files(cfg, tmp_path):
    opts = trino.jvm_options(cfg, tmp_path)
    assert "-Xmx1536m" in opts
    assert "-Duser.timezone=UTC" in opts
    assert f"-Dconfig={tmp_path / 'etc' / 'config.properties'}" in opts
    assert f"-Dlog.levels-file={tmp_path / 'etc' / 'log.properties'}" in opts
