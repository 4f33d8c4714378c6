#!/usr/bin/env bash
# The pod sandbox ("pause") image: Kubernetes' own build/pause/linux/pause.c from the
# k8s.io/kubernetes module source, built with gcc -static, in an image FROM scratch,
# tagged $PAUSE_IMAGE in the private Docker daemon. Binary cached in $K8S_CACHE/pause-<v>/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
DOCKER=(docker -H "$DOCKER_HOST_URI")
OUT="$K8S_CACHE/pause-$PAUSE_VERSION"

if "${DOCKER[@]}" image inspect "$PAUSE_IMAGE" >/dev/null 2>&1; then log "pause image $PAUSE_IMAGE: present"; exit 0; fi
if [ ! -x "$OUT/pause" ]; then
  command -v gcc >/dev/null || die "gcc is required for the pause binary"
  src="$K8S_CACHE/kubernetes-$K8S_VERSION/src/build/pause/linux/pause.c"
  if [ ! -f "$src" ]; then
    dir="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    src="$dir/build/pause/linux/pause.c"
  fi
  [ -f "$src" ] || die "no pause.c in the k8s.io/kubernetes $K8S_VERSION source"
  mkdir -p "$OUT"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-coinstream" -o "$OUT/pause" "$src"
  strip "$OUT/pause"
fi
ctx="$(mktemp -d)"; trap 'rm -rf "$ctx"' EXIT
cp "$OUT/pause" "$ctx/pause"
printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' > "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 "${DOCKER[@]}" build -q -t "$PAUSE_IMAGE" "$ctx" >/dev/null 2>&1
log "pause image $PAUSE_IMAGE: built"
