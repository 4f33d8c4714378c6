"""The brokers' metrics the dashboards and alert rules read come out of the chart's JMX
exporter rules: each Kafka MBean below (its JMX name, a fact of Kafka) is turned by the first
matching rule, as the exporter does, into the series name the chart's queries use."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from k8slib import render
from k8slib.render import by_kind, find

pytestmark = pytest.mark.unit

RULES_FILE = render.CHART / "metrics" / "kafka-jmx-exporter.yaml"
BROKER_SERIES = re.compile(r"\bkafka_(?:server|controller|network|log|cluster|coordinator)_[a-z_]+")
# Kafka's MBeans in the exporter's form: domain<properties><keys>attribute: value
MBEANS = {
    "kafka_server_brokertopicmetrics_messagesin_total": "kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=coin-prices><>Count: 7",
    "kafka_server_brokertopicmetrics_bytesin_total": "kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec><>Count: 7",
    "kafka_server_brokertopicmetrics_bytesout_total": "kafka.server<type=BrokerTopicMetrics, name=BytesOutPerSec><>Count: 7",
    "kafka_server_brokertopicmetrics_failedfetchrequests_total": "kafka.server<type=BrokerTopicMetrics, name=FailedFetchRequestsPerSec><>Count: 0",
    "kafka_server_brokertopicmetrics_failedproducerequests_total": "kafka.server<type=BrokerTopicMetrics, name=FailedProduceRequestsPerSec><>Count: 0",
    "kafka_server_replicamanager_leadercount": "kafka.server<type=ReplicaManager, name=LeaderCount><>Value: 9",
    "kafka_server_replicamanager_partitioncount": "kafka.server<type=ReplicaManager, name=PartitionCount><>Value: 9",
    "kafka_server_replicamanager_underreplicatedpartitions": "kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value: 0",
    "kafka_controller_kafkacontroller_activecontrollercount": "kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value: 1",
    "kafka_controller_kafkacontroller_offlinepartitionscount": "kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>Value: 0",
    "kafka_network_requestmetrics_requests_total": "kafka.network<type=RequestMetrics, name=RequestsPerSec, request=Produce, version=11><>Count: 3",
}


def exporter_name(rules: dict, mbean: str) -> str | None:
    """The series name the exporter gives an MBean attribute: the first rule whose (unanchored)
    pattern matches, its $n groups substituted, lower-cased when lowercaseOutputName is set."""
    for rule in rules["rules"]:
        match = re.search(rule["pattern"], mbean)
        if match:
            name = re.sub(r"\$(\d+)", lambda g, m=match: m.group(int(g.group(1))) or "", rule["name"])
            name = re.sub(r"[^a-zA-Z0-9:_]", "_", name)
            return name.lower() if rules.get("lowercaseOutputName") else name
    return None


@pytest.fixture(scope="module")
def rules() -> dict:
    return yaml.safe_load(RULES_FILE.read_text())


def queried_broker_series() -> set[str]:
    texts = [p.read_text() for p in (render.CHART / "rules").glob("*.yml")]
    texts += [json.dumps(json.loads(p.read_text())) for p in (render.CHART / "dashboards").glob("*.json")]
    return {m for t in texts for m in BROKER_SERIES.findall(t)}


def test_every_broker_series_queried_has_its_mbean_here():
    queried = queried_broker_series()
    assert queried, "the dashboards query no broker series: the pattern above is stale"
    assert queried <= set(MBEANS), sorted(queried - set(MBEANS))


@pytest.mark.parametrize("series", sorted(MBEANS))
def test_the_rules_name_each_mbean_as_queried(rules, series):
    assert exporter_name(rules, MBEANS[series]) == series


def test_a_rule_that_renames_is_caught(rules):
    broken = {**rules, "rules": [{**r, "name": r["name"].replace("_total", "_count")} for r in rules["rules"]]}
    assert (
        exporter_name(broken, MBEANS["kafka_server_brokertopicmetrics_messagesin_total"])
        != "kafka_server_brokertopicmetrics_messagesin_total"
    )


def test_kafka_reads_the_rules_from_the_chart_configmap(kind_docs):
    kafka = by_kind(kind_docs, "Kafka")[0]
    ref = kafka["spec"]["kafka"]["metricsConfig"]
    assert ref["type"] == "jmxPrometheusExporter"
    key = ref["valueFrom"]["configMapKeyRef"]
    configmap = find(kind_docs, "ConfigMap", key["name"])
    assert yaml.safe_load(configmap["data"][key["key"]]) == yaml.safe_load(RULES_FILE.read_text())
