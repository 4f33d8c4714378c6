"""A small local SparkSession shared by the lander's unit tests (JVM start is the slow part)."""

from __future__ import annotations

import os

import pytest
from coinstream.runtime.java import find_java_home


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("JAVA_HOME", str(find_java_home(17)))
    from coinstream_lander.session import job_conf
    from coinstream_lander.settings import LanderSettings
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[1]").appName("lander-unit-tests")
    conf = job_conf(LanderSettings()) | {
        "spark.sql.shuffle.partitions": "1",
        "spark.ui.enabled": "false",
        "spark.driver.memory": "768m",
        "spark.sql.adaptive.enabled": "false",
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
