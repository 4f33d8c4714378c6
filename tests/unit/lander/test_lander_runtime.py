"""The local runtime component of the lander: how the driver is launched and checked."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from coinstream.runtime.config import LocalSettings
from coinstream.runtime.lander import KAFKA_CONNECTOR, PriceLander, isolated_env

pytestmark = pytest.mark.unit


@pytest.fixture
def cfg(tmp_path):
    return LocalSettings(
        cache_dir=str(tmp_path / "cache"),
        state_dir=str(tmp_path / "state"),
        spark_driver_memory_mb=1024,
        spark_ui_port=4141,
    )


def test_driver_is_launched_like_spark_submit_with_the_prefetched_connector(cfg):
    lander = PriceLander(cfg)
    lander.jars_dir.mkdir(parents=True)
    for coord in KAFKA_CONNECTOR:
        (lander.jars_dir / f"{coord.split(':')[1]}.jar").write_bytes(b"")
    argv, env = lander.command()
    assert argv[1:] == ["-m", "coinstream_lander"]
    args = shlex.split(env["PYSPARK_SUBMIT_ARGS"])  # as pyspark reads it
    assert args[:4] == ["--master", "local[2]", "--driver-memory", "1024m"] and args[-1] == "pyspark-shell"
    jars = next(a for a in args if a.startswith("spark.jars=")).split("=", 1)[1].split(",")
    assert len(jars) == len(KAFKA_CONNECTOR) and all(j.endswith(".jar") for j in jars)
    assert "spark.ui.port=4141" in args
    assert (Path(env["JAVA_HOME"]) / "release").read_text().count('JAVA_VERSION="17') == 1
    assert "spark.jars.packages" not in env["PYSPARK_SUBMIT_ARGS"]  # never resolved at start
    assert env["COINSTREAM_KAFKA_BOOTSTRAP_SERVERS"] == cfg.kafka_bootstrap
    assert env["COINSTREAM_STORAGE_CHECKPOINT_URI"].startswith(cfg.hdfs_uri)
    assert env["COINSTREAM_LANDER_METRICS_PORT"] == "9108"
    assert lander.requires == ("kafka", "trino") and lander.name == "price-lander"


def test_isolated_instances_share_nothing_with_the_real_one(cfg):
    env = isolated_env(cfg, "abc123", 45678)
    lander = PriceLander(cfg, env=env, name="price-lander-abc123", spark_conf={"spark.ui.enabled": "false"})
    _, launch = lander.command()
    assert launch["COINSTREAM_TOPIC_PRICES"] == "lander.abc123.prices"
    assert launch["COINSTREAM_TRINO_SCHEMA"] == "lander_abc123"
    assert "/isolated/abc123/" in launch["COINSTREAM_STORAGE_WAREHOUSE_URI"]
    assert lander.ports() == [45678] and lander.metrics_url.endswith(":45678/metrics")
    assert "spark.ui.enabled=false" in launch["PYSPARK_SUBMIT_ARGS"]
    assert lander.proc.pid_file.name == "price-lander-abc123.pid"
