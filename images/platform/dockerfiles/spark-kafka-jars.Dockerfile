# Build-only (never loaded into the node): the Spark Kafka connector's four jars in /jars, for
# the connector stage of spark-apps/price_lander/Dockerfile (its MAVEN_IMAGE). Every jar is
# already there, so that stage fetches nothing. images/platform/lander.sh fills the context
# with the local runtime's download (platform_fetch spark-kafka, i.e.
# coinstream.runtime.lander.KAFKA_CONNECTOR). BASE_IMAGE only has to bring /bin/sh.
ARG BASE_IMAGE=coinstream-base/spark-java:21-trixie
FROM ${BASE_IMAGE}
COPY *.jar /jars/
