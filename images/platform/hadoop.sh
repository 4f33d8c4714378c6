#!/usr/bin/env bash
# HDFS (NameNode and DataNode) under the name the chart gives it (values.yaml hdfs.image:
# docker.io/apache/hadoop:3.5.0), built here from Hadoop 3.5.0's Maven jars (the local
# runtime's coinstream.runtime.hdfs set, fetched and cached by its code) on Java 21
# (trixie's openjdk-21-jre-headless, coinstream-base/hadoop-java:21-trixie).
# Prints the image reference on stdout; progress on stderr; cached by its inputs.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../../k8s/node/lib.sh"
. "$HERE/lib/java-base.sh"
DOCKER=(docker -H "$DOCKER_HOST_URI")
export DOCKER_BUILDKIT=0
IMAGE="docker.io/apache/hadoop:3.5.0"
JAVA_IMAGE="coinstream-base/hadoop-java:21-trixie"  # not the operators' base (another package set)

java_base "$JAVA_IMAGE" trixie openjdk-21-jre-headless coreutils bash
lib="$(platform_fetch hadoop)"
ls "$lib"/hadoop-hdfs-*.jar >/dev/null 2>&1 || die "no hadoop jars in $lib"
inputs="$( { "${DOCKER[@]}" image inspect -f '{{.Id}}' "$JAVA_IMAGE"; cat "$lib/.coinstream-manifest.json";
             find "$HERE/dockerfiles/hadoop" -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)"
if [ "$("${DOCKER[@]}" image inspect -f '{{ index .Config.Labels "io.coinstream.inputs" }}' "$IMAGE" 2>/dev/null)" = "$inputs" ]; then
  log "image $IMAGE: up to date"; echo "$IMAGE"; exit 0
fi
ctx="$K8S_CACHE/platform-hadoop/context"
rm -rf "$ctx"; mkdir -p "$ctx/lib"
cp -a "$HERE/dockerfiles/hadoop/." "$ctx/"
cp -al "$lib"/*.jar "$ctx/lib/"
start=$SECONDS
run_logged image-hadoop 15 "${DOCKER[@]}" build --network host --label "io.coinstream.inputs=$inputs" \
  --build-arg JAVA_IMAGE="$JAVA_IMAGE" -t "$IMAGE" "$ctx"
rm -rf "$ctx"
log "image $IMAGE: built in $(( SECONDS - start ))s"
assert_no_build_ca "$IMAGE"
echo "$IMAGE"
