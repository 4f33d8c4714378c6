#!/usr/bin/env bash
# Builds coinstream's four HTTP service images from services/Dockerfile on the local
# Python base (images/build-base.sh), with the build arguments the Tiltfile passes, tagged
# as the chart names them with an empty image.registry: coinstream-<name>:<appVersion>.
#
# pip's build stage trusts the host's CA, the final stage does not (images/platform/lib/build-stage.sh).
#   build-services.sh [name...]   (default: api ingest query coingecko-sim)
set -euo pipefail
. "$(dirname "$0")/../k8s/node/lib.sh"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DOCKER=(docker -H "$DOCKER_HOST_URI")
export DOCKER_BUILDKIT=0

. "$ROOT/images/platform/lib/chart.sh"
. "$ROOT/images/platform/lib/build-stage.sh"
TAG="$(chart_app_version)"
BUILD_IMAGE="coinstream-base/python-build:3.11-bookworm"
WORK="$K8S_CACHE/service-images"

# name folder package port workers (as the Tiltfile's service_image calls)
SERVICES=(
  "api api coinstream_api 8000 2"
  "ingest ingest coinstream_ingest 8001 1"
  "query query coinstream_query 8002 2"
  "coingecko-sim coingecko_sim coingecko_sim 8100 1"
)
wanted=("$@")

# 1. the build-only base with the CA bundle; 2. the Dockerfile with its build stage on it
ca_build_image "$BASE_IMAGE" "$BUILD_IMAGE" "$WORK/build-base"
dockerfile="$WORK/services.Dockerfile"
build_stage_on_ca "$ROOT/services/Dockerfile" PYTHON_IMAGE "$dockerfile"
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
