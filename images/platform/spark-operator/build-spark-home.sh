#!/usr/bin/env bash
# SPARK_HOME for the spark-operator image from the pyspark sdist on PyPI (its deps/ folder is
# a Spark distribution: bin/spark-submit, jars/ with spark-kubernetes), cached in
# $K8S_CACHE/spark-operator-$SPARK_OPERATOR_VERSION/pyspark-$PYSPARK_VERSION/spark.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
. "$ROOT/k8s/node/lib.sh"
SPARK_OPERATOR_VERSION="${SPARK_OPERATOR_VERSION:-v2.5.2}"
PYSPARK_VERSION="${PYSPARK_VERSION:-4.1.1}"
OUT="$K8S_CACHE/spark-operator-$SPARK_OPERATOR_VERSION/pyspark-$PYSPARK_VERSION"
PY="${COINSTREAM_PYTHON:-$ROOT/.venv/bin/python}"
if [ -f "$OUT/spark/.done" ]; then log "SPARK_HOME from pyspark $PYSPARK_VERSION: cached ($OUT/spark)"; exit 0; fi
mkdir -p "$OUT/dl"
sdist="$OUT/dl/pyspark-$PYSPARK_VERSION.tar.gz"
if [ ! -s "$sdist" ]; then
  # the sdist (pyspark has no wheel); pip prepares its metadata in an isolated build env
  run_logged "pyspark-$PYSPARK_VERSION-download" 15 "$PY" -m pip download --no-deps --no-binary :all: \
    "pyspark==$PYSPARK_VERSION" -d "$OUT/dl"
fi
[ -s "$sdist" ] || die "pyspark-$PYSPARK_VERSION.tar.gz not downloaded"
rm -rf "$OUT/x" "$OUT/spark"; mkdir -p "$OUT/x"
log "SPARK_HOME: unpacking $(du -h "$sdist" | cut -f1) sdist"
tar -xzf "$sdist" -C "$OUT/x" "pyspark-$PYSPARK_VERSION/deps"
mv "$OUT/x/pyspark-$PYSPARK_VERSION/deps" "$OUT/spark"; rm -rf "$OUT/x"
ls "$OUT/spark/jars"/spark-kubernetes_*.jar >/dev/null || die "no spark-kubernetes jar in the pyspark sdist"
[ -x "$OUT/spark/bin/spark-submit" ] || die "no bin/spark-submit in the pyspark sdist"
# the sdist's bin/ carries no RELEASE file: spark-class looks for jars/ when RELEASE is absent
touch "$OUT/spark/.done"
log "SPARK_HOME from pyspark $PYSPARK_VERSION: $(du -sh "$OUT/spark" | cut -f1), $(ls "$OUT/spark/jars" | wc -l) jars"
