#!/usr/bin/env bash
# A minimal kafka-run-class.sh (Kafka's bin/ scripts are in no Maven artifact): the
# environment variables Kafka's own script reads and Strimzi's scripts set.
#   kafka-run-class.sh [-daemon] [-name NAME] [-loggc] CLASS [ARGS...]
set -e
base_dir="$(cd "$(dirname "$0")/.." && pwd)"
while [ $# -gt 0 ]; do
  case "$1" in
    -daemon|-loggc) shift ;;
    -name) shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "usage: $0 CLASS [ARGS...]" >&2; exit 1; }
CLASSPATH="${CLASSPATH:+$CLASSPATH:}$base_dir/libs/*"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx256M}"
KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}"
if [ -z "$KAFKA_LOG4J_OPTS" ]; then
  if [ -f "$base_dir/config/log4j2.yaml" ]; then KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=$base_dir/config/log4j2.yaml"
  elif [ -f "$base_dir/config/tools-log4j2.yaml" ]; then KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=$base_dir/config/tools-log4j2.yaml"; fi
fi
[ -n "$LOG_DIR" ] && KAFKA_LOG4J_OPTS="-Dkafka.logs.dir=$LOG_DIR $KAFKA_LOG4J_OPTS"
# shellcheck disable=SC2086
exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS \
  -cp "$CLASSPATH" $KAFKA_OPTS "$@"
