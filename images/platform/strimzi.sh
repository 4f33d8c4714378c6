#!/usr/bin/env bash
# Strimzi 1.2.0's images, built here from its source release (no container registry):
#   coinstream/strimzi-operator:1.2.0          cluster/topic/user operators, kafka-init
#   coinstream/strimzi-kafka:1.2.0-kafka-4.3.1 Kafka 4.3.1 (jars from Maven Central) + Strimzi's scripts
# Steps (each cached under $K8S_CACHE): strimzi/build-operator.sh (Maven), strimzi/build-kafka-libs.sh,
# strimzi/build-java-base.sh (trixie + Java 21), then `docker build` in the private daemon.
# Prints only the image references to load into the node on stdout; logs go to stderr.
# Settings: COINSTREAM_LOCAL_ARTIFACT_MIRROR (where the Strimzi source release is, offline).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../../k8s/node/lib.sh"

STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"
KAFKA_VERSION="${KAFKA_VERSION:-4.3.1}"
export STRIMZI_VERSION KAFKA_VERSION
OPERATOR_IMAGE="${STRIMZI_OPERATOR_IMAGE:-coinstream/strimzi-operator:$STRIMZI_VERSION}"
KAFKA_IMAGE="${STRIMZI_KAFKA_IMAGE:-coinstream/strimzi-kafka:$STRIMZI_VERSION-kafka-$KAFKA_VERSION}"
JAVA_BASE_IMAGE="${JAVA_BASE_IMAGE:-coinstream-base/java:21-trixie}"
export JAVA_BASE_IMAGE
DOCKER=(docker -H "$DOCKER_HOST_URI")
OUT="$K8S_CACHE/strimzi-$STRIMZI_VERSION"
SRC="$OUT/src"

"$HERE/strimzi/build-operator.sh" >&2
"$HERE/strimzi/build-kafka-libs.sh" >&2
"$HERE/strimzi/build-java-base.sh" >&2

# build_image IMAGE DOCKERFILE CONTEXT_FN STAMP...: skipped when the image carries the digest
# of its inputs (Dockerfile, these scripts, the STAMP files of the builds it copies from)
build_image() {
  local image=$1 dockerfile=$2 fill=$3 name
  name="$(basename "$2" .Dockerfile)"
  local ctx="$OUT/ctx-$name"
  shift 3
  local inputs
  inputs="$( { cat "$dockerfile" "$0" "$HERE/strimzi/"*.sh "$HERE/strimzi/kafka-bin/"*; cat "$@";
              "${DOCKER[@]}" image inspect -f '{{.Id}}' "$JAVA_BASE_IMAGE"; } | sha256sum | cut -c1-16)"
  if [ "$("${DOCKER[@]}" image inspect -f '{{index .Config.Labels "coinstream.inputs"}}' "$image" 2>/dev/null)" = "$inputs" ]; then
    log "$image: up to date"; return
  fi
  rm -rf "$ctx"; mkdir -p "$ctx"
  "$fill" "$ctx"
  local start=$SECONDS
  DOCKER_BUILDKIT=0 run_logged "image-$name" 15 "${DOCKER[@]}" build --network host \
    --build-arg JAVA_BASE_IMAGE="$JAVA_BASE_IMAGE" --build-arg strimzi_version="$STRIMZI_VERSION" \
    --build-arg KAFKA_VERSION="$KAFKA_VERSION" --label coinstream.inputs="$inputs" \
    -f "$dockerfile" -t "$image" "$ctx"
  rm -rf "$ctx"
  log "$image: built in $(( SECONDS - start ))s ($("${DOCKER[@]}" image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
}

fill_operator() {  # upstream docker-images/operator/Makefile: the four -dist.zip unzipped into tmp/
  local ctx=$1
  mkdir -p "$ctx/scripts" "$ctx/tmp"
  cp "$SRC/docker-images/operator/scripts/"* "$ctx/scripts/"
  for m in topic-operator user-operator kafka-init cluster-operator; do
    unzip -qo "$OUT/dist/$m-$STRIMZI_VERSION-dist.zip" -d "$ctx/tmp"
  done
}

fill_kafka() {
  local ctx=$1
  mkdir -p "$ctx/kafka/bin" "$ctx/kafka/config" "$ctx/scripts" "$ctx/agents"
  cp -a "$OUT/kafka-$KAFKA_VERSION/libs" "$ctx/kafka/libs"
  cp -a "$OUT/kafka-$KAFKA_VERSION/jmx-exporter" "$ctx/jmx-exporter"
  cp "$HERE/strimzi/kafka-bin/"*.sh "$ctx/kafka/bin/"
  cp "$SRC/docker-images/kafka-based/kafka/scripts/"* "$ctx/scripts/"
  cp "$OUT/dist/kafka-agent-$STRIMZI_VERSION.jar" "$OUT/dist/tracing-agent-$STRIMZI_VERSION.jar" "$ctx/agents/"
}

build_image "$OPERATOR_IMAGE" "$HERE/dockerfiles/strimzi-operator.Dockerfile" fill_operator "$OUT/dist/.done"
build_image "$KAFKA_IMAGE" "$HERE/dockerfiles/strimzi-kafka.Dockerfile" fill_kafka "$OUT/dist/.done" "$OUT/kafka-$KAFKA_VERSION/.done"

echo "$OPERATOR_IMAGE"
echo "$KAFKA_IMAGE"
