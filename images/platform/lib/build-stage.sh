# shellcheck shell=bash
# Sourced by the image builders whose Dockerfiles pip-install in a build stage: pip there must
# trust this machine's CA bundle (TLS-intercepting proxy), which must never reach an image
# that runs. So the build stage starts from a build-only image (the base plus the CA) and the
# final stage from the plain base.
#   ca_build_image BASE IMAGE DIR        IMAGE = BASE + the CA bundle (images/python-build.Dockerfile)
#   build_stage_on_ca SRC ARG OUT        OUT = the Dockerfile SRC whose one `FROM ${ARG} AS build`
#                                        line reads PYTHON_BUILD_IMAGE instead (in the cache, never committed)
# Needs: k8s/node/lib.sh sourced (die), DOCKER set.
_BUILD_STAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"

ca_build_image() {
  local base=$1 image=$2 dir=$3 bundle=/etc/ssl/certs/ca-certificates.crt
  [ -s "$bundle" ] || die "no CA bundle at $bundle"
  mkdir -p "$dir"
  cp "$bundle" "$dir/build-ca-bundle.pem"
  "${DOCKER[@]}" build -q --network none -f "$_BUILD_STAGE_ROOT/images/python-build.Dockerfile" \
    --build-arg PYTHON_IMAGE="$base" -t "$image" "$dir" >/dev/null
}

build_stage_on_ca() {
  local src=$1 arg=$2 out=$3
  { echo "ARG PYTHON_BUILD_IMAGE"; sed "s/^FROM \${$arg} AS build\$/FROM \${PYTHON_BUILD_IMAGE} AS build/" "$src"; } > "$out"
  grep -q '^FROM \${PYTHON_BUILD_IMAGE} AS build$' "$out" || die "$src has no 'FROM \${$arg} AS build' line any more"
}
