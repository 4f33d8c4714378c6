# Strimzi's Kafka image after upstream's docker-images/kafka-based/kafka/Dockerfile, on the
# trixie Java base (gawk, netstat, curl, hostname, tini are in it). Kafka's binary tarball is
# not reachable here: libs/ comes from Maven Central (images/platform/strimzi/kafka-libs),
# bin/ holds minimal equivalents of the Kafka scripts Strimzi's scripts call.
# The Prometheus JMX exporter's agent is in $JMX_EXPORTER_HOME, as upstream (Maven Central's 1.0.1).
# Not in it (not reachable here): Kafka Exporter, Cruise Control, Strimzi OAuth, the Strimzi
# metrics reporter and the quotas plugin.
# Context (made by images/platform/strimzi.sh): kafka/ (libs/, bin/, config/), scripts/
# (upstream's kafka scripts), agents/ (kafka-agent and tracing-agent jars), jmx-exporter/.
ARG JAVA_BASE_IMAGE=coinstream-base/java:21-trixie
FROM ${JAVA_BASE_IMAGE}

ARG strimzi_version=1.2.0
ARG KAFKA_VERSION=4.3.1
LABEL org.opencontainers.image.source='https://github.com/strimzi/strimzi-kafka-operator' \
      name='kafka' version="${strimzi_version}-${KAFKA_VERSION}" \
      summary="Kafka ${KAFKA_VERSION} image of the Strimzi Kafka Operator project (jars from Maven Central)."

RUN useradd -r -m -u 1001 -g 0 kafka

ENV KAFKA_HOME=/opt/kafka \
    KAFKA_VERSION=${KAFKA_VERSION} \
    STRIMZI_VERSION=${strimzi_version} \
    JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64 \
    JMX_EXPORTER_HOME=/opt/prometheus-jmx-exporter

COPY kafka/ ${KAFKA_HOME}/
COPY scripts/ ${KAFKA_HOME}/
COPY agents/ ${KAFKA_HOME}/libs/
COPY jmx-exporter/ ${JMX_EXPORTER_HOME}/
RUN mkdir -p ${KAFKA_HOME}/plugins /var/lib/kafka && chmod 0775 /var/lib/kafka && chgrp 0 /var/lib/kafka

WORKDIR ${KAFKA_HOME}
USER 1001
