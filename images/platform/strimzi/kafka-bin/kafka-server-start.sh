#!/usr/bin/env bash
# A minimal kafka-server-start.sh: kafka.Kafka with a server.properties (KAFKA_HEAP_OPTS 1G by default).
[ $# -ge 1 ] || { echo "usage: $0 [-daemon] server.properties [--override property=value]*" >&2; exit 1; }
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx1G -Xms1G}"
exec "$(dirname "$0")/kafka-run-class.sh" -name kafkaServer kafka.Kafka "$@"
