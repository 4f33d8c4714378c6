#!/usr/bin/env bash
# Trino 476 as the chart names it (values.yaml trino.image: docker.io/trinodb/trino:476),
# built here: Java 25 (trixie's openjdk-25-jre-headless, coinstream-base/java:25-trixie)
# and the trino-server 476 tarball from Maven Central, fetched and cached by the local
# runtime's code (coinstream.runtime.trino / fetch). Only the plugins in TRINO_PLUGINS
# (default: hive tpch memory; the chart uses hive) go into the image.
# Prints the image reference on stdout; progress on stderr. Cached: skipped when the image
# exists with the same inputs (label io.coinstream.inputs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/../../k8s/node/lib.sh"
. "$HERE/lib/java-base.sh"
DOCKER=(docker -H "$DOCKER_HOST_URI")
export DOCKER_BUILDKIT=0
IMAGE="docker.io/trinodb/trino:476"
JAVA_IMAGE="coinstream-base/java:25-trixie"
PLUGINS="${TRINO_PLUGINS:-hive tpch memory}"

# libudev1: oshi (via JNA) reads the CPU layout through libudev; without it the server stops
# with "Error creating instance of configuration class [io.trino.execution.TaskManagerConfig]".
java_base "$JAVA_IMAGE" trixie openjdk-25-jre-headless ca-certificates-java coreutils bash libudev1
dist="$(platform_fetch trino)"
[ -d "$dist/lib" ] || die "no trino-server in $dist"

inputs="$( { "${DOCKER[@]}" image inspect -f '{{.Id}}' "$JAVA_IMAGE"; echo "$PLUGINS";
             cat "$dist/.coinstream-manifest.json"; find "$HERE/dockerfiles/trino" -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)"
if [ "$("${DOCKER[@]}" image inspect -f '{{ index .Config.Labels "io.coinstream.inputs" }}' "$IMAGE" 2>/dev/null)" = "$inputs" ]; then
  log "image $IMAGE: up to date"; echo "$IMAGE"; exit 0
fi
ctx="$K8S_CACHE/platform-trino/context"
rm -rf "$ctx"; mkdir -p "$ctx/trino-server/plugin" "$ctx/trino-server/bin"
cp -a "$HERE/dockerfiles/trino/." "$ctx/"
# hard links: no copy of the ~400 MB
cp -al "$dist/lib" "$dist/secrets-plugin" "$ctx/trino-server/"
cp -al "$dist/bin/launcher" "$dist/bin/launcher.properties" "$dist/bin/linux-amd64" "$ctx/trino-server/bin/"
for p in $PLUGINS; do
  [ -d "$dist/plugin/$p" ] || die "trino-server has no plugin $p"
  cp -al "$dist/plugin/$p" "$ctx/trino-server/plugin/"
done
start=$SECONDS
run_logged image-trino 15 "${DOCKER[@]}" build --network host --label "io.coinstream.inputs=$inputs" \
  --build-arg JAVA_IMAGE="$JAVA_IMAGE" -t "$IMAGE" "$ctx"
rm -rf "$ctx"
log "image $IMAGE: built in $(( SECONDS - start ))s"
assert_no_build_ca "$IMAGE"
echo "$IMAGE"
