#!/usr/bin/env bash
# Builds coinstream's four HTTP service images from services/Dockerfile on the local
# Python base (images/build-base.sh), with the build arguments the Tiltfile passes, tagged
# as the chart names them with an empty image.registry: coinstream-<name>:<appVersion>.
#
# pip in the build stage must trust the host's CA bundle (TLS-intercepting proxy); that CA
# must not reach an image that runs. So the build stage starts from a build-only base
# (images/python-build.Dockerfile: the base plus the CA) and the final stage from the plain
# base: the build uses a copy of services/Dockerfile whose one `FROM ... AS build` line
# reads PYTHON_BUILD_IMAGE instead of PYTHON_IMAGE (generated in the cache, never committed).
#   build-services.sh [name...]   (default: api ingest query coingecko-sim)
set -euo pipefail
. "$(dirname "$0")/../k8s/node/lib.sh"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DOCKER=(docker -H "$DOCKER_HOST_URI")
export DOCKER_BUILDKIT=0

. "$ROOT/images/platform/lib/chart.sh"
TAG="$(chart_app_version)"
BUILD_IMAGE="coinstream-base/python-build:3.11-bookworm"
WORK="$K8S_CACHE/service-images"
mkdir -p "$WORK/build-base"

# name folder package port workers (as the Tiltfile's service_image calls)
SERVICES=(
  "api api coinstream_api 8000 2"
  "ingest ingest coinstream_ingest 8001 1"
  "query query coinstream_query 8002 2"
  "coingecko-sim coingecko_sim coingecko_sim 8100 1"
)
wanted=("$@")

# 1. the build-only base with the CA bundle
bundle=/etc/ssl/certs/ca-certificates.crt
[ -s "$bundle" ] || die "no CA bundle at $bundle"
cp "$bundle" "$WORK/build-base/build-ca-bundle.pem"
"${DOCKER[@]}" build -q --network host -f "$ROOT/images/python-build.Dockerfile" \
  --build-arg PYTHON_IMAGE="$BASE_IMAGE" -t "$BUILD_IMAGE" "$WORK/build-base" >/dev/null

# 2. the Dockerfile with its build stage on the build-only base
dockerfile="$WORK/services.Dockerfile"
{ echo "ARG PYTHON_BUILD_IMAGE"; sed 's/^FROM \${PYTHON_IMAGE} AS build$/FROM ${PYTHON_BUILD_IMAGE} AS build/' "$ROOT/services/Dockerfile"; } > "$dockerfile"
grep -q '^FROM \${PYTHON_BUILD_IMAGE} AS build$' "$dockerfile" || die "services/Dockerfile has no 'FROM \${PYTHON_IMAGE} AS build' line any more"
[ "$(grep -c '^FROM' "$dockerfile")" = 2 ] || die "services/Dockerfile no longer has exactly two stages"

for spec in "${SERVICES[@]}"; do
  read -r name folder package port workers <<<"$spec"
  if [ ${#wanted[@]} -gt 0 ] && [[ " ${wanted[*]} " != *" $name "* ]]; then continue; fi
  image="coinstream-$name:$TAG"
  start=$SECONDS
  run_logged "image-$name" 15 "${DOCKER[@]}" build --network host -f "$dockerfile" \
    --build-arg PYTHON_BUILD_IMAGE="$BUILD_IMAGE" --build-arg PYTHON_IMAGE="$BASE_IMAGE" \
    --build-arg SERVICE="$folder" --build-arg PACKAGE="$package" \
    --build-arg PORT="$port" --build-arg WORKERS="$workers" \
    -t "$image" "$ROOT"
  # The image that runs must not carry the build CA.
  if "${DOCKER[@]}" run --rm --network none --entrypoint /bin/sh "$image" -c \
       'test -e /usr/local/share/build-ca-bundle.pem || env | grep -q "^PIP_CERT="'; then
    die "$image carries the build CA"
  fi
  log "image $image: $(( SECONDS - start ))s, $("${DOCKER[@]}" image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}')"
done
