#!/usr/bin/env bash
# Moves images from the private Docker daemon into the node's containerd (namespace k8s.io):
#   load-images.sh IMAGE...
# `docker save` goes to a tarball cached by image ID in $K8S_CACHE/image-tars (a second
# `make k8s-up` skips the save), then `ctr images import`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
DOCKER=(docker -H "$DOCKER_HOST_URI")
CTR=(ctr -a "$K8S_STATE/containerd/containerd.sock" -n k8s.io)
TARS="$K8S_CACHE/image-tars"
mkdir -p "$TARS"
# load IMAGE: save (once per image ID) and import
load() {
  local image=$1 start=$SECONDS id tar
  id="$("${DOCKER[@]}" image inspect -f '{{.Id}}' "$image")" || die "image $image not built"
  id="${id#sha256:}"
  tar="$TARS/$(echo "$image" | tr '/:' '__')-${id:0:12}.tar"
  if [ ! -s "$tar" ]; then
    rm -f "$TARS/$(echo "$image" | tr '/:' '__')"-*.tar
    "${DOCKER[@]}" save "$image" > "$tar.tmp" && mv "$tar.tmp" "$tar"
  fi
  "${CTR[@]}" images import "$tar" >/dev/null
  log "image $image -> node ($(( SECONDS - start ))s)"
}
# two at a time (2 cores: unpacking is the slow part)
pids=()
for image in "$@"; do
  load "$image" & pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || exit 1; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p" || exit 1; done
