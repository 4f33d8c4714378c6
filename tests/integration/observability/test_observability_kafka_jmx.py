"""The JMX exporter agent with observability/jmx/kafka.yml serves every Kafka metric the dashboards use.

A throw-away broker on free ports (the stack's broker keeps running untouched),
started by the Kafka component with the JVM flag from ``kafka_agent_flag``, which
is exactly what the stack's Kafka component adds to its command.
"""

import re

import pytest
import requests
from coinstream.runtime.config import LocalSettings
from coinstream.runtime.kafka import Kafka
from coinstream.runtime.prometheus import jmx_agent_flag, kafka_agent_flag
from coinstream_common.kafka import EventProducer
from coinstream_common.settings import KafkaSettings
from coinstream_contract.events import PriceEvent
from coinstream_testkit.net import free_port
from coinstream_testkit.promql import dashboard_queries, rule_queries, selectors

pytestmark = pytest.mark.integration

FROM_THE_KAFKA_JVM = ("kafka_", "jvm_")


@pytest.fixture(scope="module")
def kafka_with_agent(tmp_path_factory):
    cfg = LocalSettings(
        state_dir=str(tmp_path_factory.mktemp("kafka-jmx")),
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_metrics_port=free_port(),
    )
    broker = Kafka(cfg)  # the stack's own component: its command carries kafka_agent_flag(cfg)
    assert kafka_agent_flag(cfg) in broker.command()[0]
    broker.start(say=lambda *_: None)
    try:
        yield cfg, f"http://{cfg.host}:{cfg.kafka_metrics_port}/metrics"
    finally:
        broker.stop()


def _sample_names(text: str) -> set[str]:
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_agent_flag_names_the_jar_the_port_and_the_config():
    flag = jmx_agent_flag(LocalSettings(), "kafka", 9999)
    assert re.fullmatch(
        r"-javaagent:\S+/jmx_prometheus_javaagent-1\.0\.1\.jar=127\.0\.0\.1:9999:\S+/observability/jmx/kafka\.yml", flag
    )


def test_every_kafka_metric_of_the_dashboards_is_exported(kafka_with_agent):
    cfg, url = kafka_with_agent
    events = [
        PriceEvent.observe("bitcoin", "usd", 1_700_000_000_000 + i * 60_000, 100.0 + i, "test") for i in range(20)
    ]
    assert (
        EventProducer(KafkaSettings(bootstrap_servers=cfg.kafka_bootstrap), "jmx-test").send_and_wait(
            "coin.prices", events
        )
        == 20
    )

    text = requests.get(url, timeout=10).text
    exported = _sample_names(text)
    used = {
        s.metric
        for q in dashboard_queries() + rule_queries()
        for s in selectors(q.expr)
        if s.metric.startswith(FROM_THE_KAFKA_JVM)
    }
    assert used, "the dashboards show Kafka metrics"
    assert not used - exported, (
        f"used by dashboards but not exported by the Kafka JMX exporter: {sorted(used - exported)}"
    )
    assert re.search(
        r'^kafka_server_brokertopicmetrics_messagesin_total\{topic="coin.prices",?\} 20\.0$', text, re.MULTILINE
    ), "per-topic message counts follow what was produced"
