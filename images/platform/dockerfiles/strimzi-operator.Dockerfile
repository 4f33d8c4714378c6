# Strimzi's operator image (cluster, topic and user operators, kafka-init) as upstream's
# docker-images/operator/Dockerfile lays it out, on the trixie Java base
# (images/platform/strimzi/build-java-base.sh: openjdk-21-jre-headless, openssl, bash, tini).
# Context (made by images/platform/strimzi.sh): scripts/ (upstream's launch_java.sh) and
# tmp/ (the four -dist.zip files unzipped: tmp/bin, tmp/lib).
ARG JAVA_BASE_IMAGE=coinstream-base/java:21-trixie
FROM ${JAVA_BASE_IMAGE}

ARG strimzi_version=1.2.0
LABEL org.opencontainers.image.source='https://github.com/strimzi/strimzi-kafka-operator' \
      name='operator' version="${strimzi_version}" \
      summary='Operator image of the Strimzi Kafka Operator project (built from its source release).'

# upstream: user strimzi with UID 1001 in group 0 (access to mounted volumes)
RUN useradd -r -m -u 1001 -g 0 strimzi

ENV STRIMZI_VERSION=${strimzi_version} \
    STRIMZI_HOME=/opt/strimzi \
    JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64
RUN mkdir -p ${STRIMZI_HOME}/bin
WORKDIR ${STRIMZI_HOME}

COPY scripts/ tmp/bin/ bin/
COPY tmp/lib/ lib/

USER 1001
