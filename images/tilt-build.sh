#!/usr/bin/env bash
# Tilt's custom_build on the node of `make k8s-up` (no registry to push to): builds the image
# Tilt asks for with the same builders as k8s-up, in the private Docker daemon, under the
# reference Tilt expects, and imports it into the node's containerd.
#   tilt-build.sh NAME        NAME: api | ingest | query | coingecko-sim | price-lander
# Env (set by Tilt): EXPECTED_REF, e.g. coinstream-api:tilt-0123456789abcdef
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/k8s/node/lib.sh"
name=${1:?usage: tilt-build.sh NAME}
ref=${EXPECTED_REF:?EXPECTED_REF is set by Tilt}
[ "${ref%:*}" = "coinstream-$name" ] || die "Tilt expects $ref, not an image of coinstream-$name"
export COINSTREAM_IMAGE_TAG="${ref##*:}"   # the builders tag coinstream-<name>:<that>
case "$name" in
  price-lander) "$ROOT/images/platform/lander.sh" >/dev/null ;;
  *) "$ROOT/images/build-services.sh" "$name" ;;
esac
"$ROOT/k8s/node/load-images.sh" "$ref"
