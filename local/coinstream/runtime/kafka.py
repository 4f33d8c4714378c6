"""Apache Kafka 4 in KRaft mode: one process that is both broker and controller."""

from __future__ import annotations

import base64
import subprocess
import uuid

from coinstream_common.kafka import broker_metadata, ensure_topics
from coinstream_common.settings import KafkaSettings, TopicSettings
from coinstream_contract.topics import topic_specs

from . import fetch
from .component import Component, Health
from .java import find_java_home
from .process import StartError
from .prometheus import kafka_agent_flag

KAFKA_VERSION = "4.4.0"
LOG4J_VERSION = "2.24.3"
ARTIFACTS = [
    f"org.apache.kafka:kafka_2.13:{KAFKA_VERSION}",
    # Kafka's POM brings only the slf4j 1.x API: without a binding the broker logs nothing.
    f"org.apache.logging.log4j:log4j-slf4j-impl:{LOG4J_VERSION}",
    f"org.apache.logging.log4j:log4j-core:{LOG4J_VERSION}",
]

LOG4J2 = """status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
"""


class Kafka(Component):
    name = "kafka"
    start_timeout_s = 90.0

    @property
    def lib(self):
        return self.cfg.cache / f"kafka-{KAFKA_VERSION}"

    def ports(self) -> list[int]:
        return [self.cfg.kafka_port, self.cfg.kafka_controller_port, self.cfg.kafka_metrics_port]

    def preflight(self) -> None:
        self._java()

    def fetch(self) -> None:
        fetch.jars(f"kafka {KAFKA_VERSION}", self.lib, ARTIFACTS)

    def _java(self) -> str:
        home = find_java_home(17, self.cfg.java17_home, "COINSTREAM_LOCAL_JAVA17_HOME")
        return str(home / "bin" / "java")

    def _properties(self) -> str:
        host, port, ctl = self.cfg.host, self.cfg.kafka_port, self.cfg.kafka_controller_port
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@{host}:{ctl}",
                f"listeners=PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctl}",
                f"advertised.listeners=PLAINTEXT://{host}:{port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={self.home / 'data'}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=10",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "log.segment.bytes=268435456",
                "message.max.bytes=8388608",
                "",
            ]
        )

    def prepare(self) -> None:
        conf = self.home / "server.properties"
        conf.write_text(self._properties())
        (self.home / "log4j2.properties").write_text(LOG4J2)
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        result = subprocess.run(
            [
                self._java(),
                "-cp",
                f"{self.lib}/*",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(conf),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            raise StartError(f"kafka: formatting storage failed: {lines[-1] if lines else result.returncode}")

    def command(self) -> tuple[list[str], dict[str, str]]:
        heap = self.cfg.kafka_heap_mb
        return [
            self._java(),
            f"-Xms{heap}m",
            f"-Xmx{heap}m",
            kafka_agent_flag(self.cfg),  # Prometheus metrics on cfg.kafka_metrics_port
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:ActiveProcessorCount=2",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            "-cp",
            f"{self.lib}/*",
            "kafka.Kafka",
            str(self.home / "server.properties"),
        ], {}

    def health(self) -> Health:
        md = broker_metadata(self.cfg.kafka_bootstrap, timeout_s=3)
        if md["brokers"] < 1:
            return Health(False, "no broker in metadata")
        return Health(True, f"{md['brokers']} broker, {len(md['topics'])} topics")

    def after_start(self) -> None:
        kafka = KafkaSettings(bootstrap_servers=self.cfg.kafka_bootstrap)
        ensure_topics(kafka, topic_specs(TopicSettings()))

    def endpoints(self) -> dict[str, str]:
        return {
            "bootstrap": self.cfg.kafka_bootstrap,
            "metrics": f"http://{self.cfg.host}:{self.cfg.kafka_metrics_port}/metrics",
        }
