"""coinstream's shared library: settings, event schemas, Kafka, metrics, logging, HTTP."""
