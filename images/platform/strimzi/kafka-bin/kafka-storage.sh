#!/usr/bin/env bash
# A minimal kafka-storage.sh: Kafka's StorageTool (format, info, random-uuid, ...).
exec "$(dirname "$0")/kafka-run-class.sh" kafka.tools.StorageTool "$@"
