#!/usr/bin/env bash
# Kubeflow spark-operator's image, built here (no container registry):
#   coinstream/spark-operator:v2.5.2   the operator binary (spark-operator/build-operator.sh,
#                                      go build from its Go module), SPARK_HOME from the pyspark
#                                      4.1.1 sdist (spark-operator/build-spark-home.sh), Java 21
#                                      (the trixie base of strimzi/build-java-base.sh), tini
# Prints only the image reference to load into the node on stdout; logs go to stderr.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../../k8s/node/lib.sh"

SPARK_OPERATOR_VERSION="${SPARK_OPERATOR_VERSION:-v2.5.2}"
PYSPARK_VERSION="${PYSPARK_VERSION:-4.1.1}"
export SPARK_OPERATOR_VERSION PYSPARK_VERSION
IMAGE="${SPARK_OPERATOR_IMAGE:-coinstream/spark-operator:$SPARK_OPERATOR_VERSION}"
JAVA_BASE_IMAGE="${JAVA_BASE_IMAGE:-coinstream-base/java:21-trixie}"
export JAVA_BASE_IMAGE
DOCKER=(docker -H "$DOCKER_HOST_URI")
OUT="$K8S_CACHE/spark-operator-$SPARK_OPERATOR_VERSION"
DOCKERFILE="$HERE/dockerfiles/spark-operator.Dockerfile"

"$HERE/spark-operator/build-operator.sh" >&2
"$HERE/spark-operator/build-spark-home.sh" >&2
"$HERE/strimzi/build-java-base.sh" >&2

inputs="$( { cat "$DOCKERFILE" "$0" "$HERE/spark-operator/"*.sh; sha256sum "$OUT/bin/spark-operator" "$OUT/entrypoint.sh";
            "${DOCKER[@]}" image inspect -f '{{.Id}}' "$JAVA_BASE_IMAGE"; } | sha256sum | cut -c1-16)"
if [ "$("${DOCKER[@]}" image inspect -f '{{index .Config.Labels "coinstream.inputs"}}' "$IMAGE" 2>/dev/null)" = "$inputs" ]; then
  log "$IMAGE: up to date"
else
  ctx="$OUT/ctx"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -al "$OUT/pyspark-$PYSPARK_VERSION/spark" "$ctx/spark" 2>/dev/null || cp -a "$OUT/pyspark-$PYSPARK_VERSION/spark" "$ctx/spark"
  rm -f "$ctx/spark/.done"
  install -m 0755 "$OUT/bin/spark-operator" "$OUT/entrypoint.sh" "$ctx/"   # the module cache is read-only
  start=$SECONDS
  DOCKER_BUILDKIT=0 run_logged image-spark-operator 15 "${DOCKER[@]}" build --network host \
    --build-arg JAVA_BASE_IMAGE="$JAVA_BASE_IMAGE" --build-arg SPARK_OPERATOR_VERSION="$SPARK_OPERATOR_VERSION" \
    --label coinstream.inputs="$inputs" -f "$DOCKERFILE" -t "$IMAGE" "$ctx"
  rm -rf "$ctx"
  log "$IMAGE: built in $(( SECONDS - start ))s ($("${DOCKER[@]}" image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
fi
echo "$IMAGE"
