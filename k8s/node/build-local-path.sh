#!/usr/bin/env bash
# rancher's local-path-provisioner (dynamic hostPath PersistentVolumes, so the chart's PVCs
# bind) built with `go install` into $K8S_CACHE/local-path-provisioner-<v>/bin, and its image
# assembled on the local Python base (the provisioner's helper pods need a shell:
# sh, mkdir, rm) as $LOCAL_PATH_IMAGE in the private Docker daemon.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
DOCKER=(docker -H "$DOCKER_HOST_URI")
OUT="$K8S_CACHE/local-path-provisioner-$LOCAL_PATH_VERSION"
if [ ! -x "$OUT/bin/local-path-provisioner" ]; then
  mkdir -p "$OUT/bin"
  export GOBIN="$OUT/bin" CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false"
  log "local-path-provisioner $LOCAL_PATH_VERSION: go install (about 2-3 minutes on 2 cores)"
  run_logged "local-path-provisioner-$LOCAL_PATH_VERSION-build" 15 go install -v -trimpath \
    -ldflags "-s -w -X main.VERSION=$LOCAL_PATH_VERSION" "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
fi
if ! "${DOCKER[@]}" image inspect "$LOCAL_PATH_IMAGE" >/dev/null 2>&1; then
  ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
  cp "$OUT/bin/local-path-provisioner" "$ctx/"
  printf 'FROM %s\nCOPY local-path-provisioner /usr/bin/local-path-provisioner\nENTRYPOINT ["/usr/bin/local-path-provisioner"]\n' "$BASE_IMAGE" > "$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 "${DOCKER[@]}" build -q -t "$LOCAL_PATH_IMAGE" "$ctx" >/dev/null 2>&1
  log "local-path-provisioner image $LOCAL_PATH_IMAGE: built"
else
  log "local-path-provisioner $LOCAL_PATH_VERSION: cached"
fi
