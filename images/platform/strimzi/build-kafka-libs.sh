#!/usr/bin/env bash
# Kafka's libs/ for Strimzi's Kafka image from Maven Central (kafka-libs/pom.xml), cached in
# $K8S_CACHE/strimzi-$STRIMZI_VERSION/kafka-$KAFKA_VERSION/libs (Maven repository shared
# with the operator build), and the Prometheus JMX exporter's Java agent beside it in
# jmx-exporter/ (metricsConfig type jmxPrometheusExporter; 1.0.1 is the newest on Maven Central).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../../../k8s/node/lib.sh"
STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"
KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
JMX_EXPORTER_VERSION="${JMX_EXPORTER_VERSION:-1.0.1}"
JDK="${COINSTREAM_STRIMZI_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
OUT="$K8S_CACHE/strimzi-$STRIMZI_VERSION/kafka-$KAFKA_VERSION"
M2="$K8S_CACHE/strimzi-$STRIMZI_VERSION/m2"
STAMP="$( { cat "$0" "$HERE/kafka-libs/pom.xml"; echo "$JMX_EXPORTER_VERSION"; } | sha256sum | cut -c1-16)"
if [ -f "$OUT/.done" ] && [ "$(cat "$OUT/.done")" = "$STAMP" ]; then
  log "kafka $KAFKA_VERSION libs: cached ($OUT/libs, $(ls "$OUT/libs" | wc -l) jars)"; exit 0
fi
TRUST=()
[ -f /etc/ssl/certs/java/cacerts ] && TRUST=(-Djavax.net.ssl.trustStore=/etc/ssl/certs/java/cacerts -Djavax.net.ssl.trustStorePassword=changeit)
export JAVA_HOME="$JDK" MAVEN_OPTS="${MAVEN_OPTS:-} ${TRUST[*]}"
rm -rf "$OUT"; mkdir -p "$OUT/libs"
cp "$HERE/kafka-libs/pom.xml" "$OUT/pom.xml"
run_logged "kafka-$KAFKA_VERSION-libs" 15 mvn -B -f "$OUT/pom.xml" -Dmaven.repo.local="$M2" \
  -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies -DoutputDirectory="$OUT/libs" -DincludeScope=runtime
run_logged "jmx-exporter-$JMX_EXPORTER_VERSION" 5 mvn -B -f "$OUT/pom.xml" -Dmaven.repo.local="$M2" \
  dependency:copy -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$JMX_EXPORTER_VERSION" -DoutputDirectory="$OUT/jmx-exporter"
ls "$OUT/libs" | grep -q "^kafka_2.13-$KAFKA_VERSION.jar$" || die "kafka_2.13-$KAFKA_VERSION.jar missing in $OUT/libs"
echo "$STAMP" > "$OUT/.done"
log "kafka $KAFKA_VERSION libs: $(ls "$OUT/libs" | wc -l) jars, $(du -sh "$OUT/libs" | cut -f1)"
