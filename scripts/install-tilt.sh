#!/usr/bin/env bash
# Tilt, built from its Go module (v0.33.0 is the release the module proxy serves here; the
# Tiltfile asks for >=0.33.0) into ${COINSTREAM_TOOLS:-~/.cache/coinstream/tools}/bin/tilt.
# Its go.mod has replace lines, so `go install` refuses it: built from a copy of the module
# folder with `go build -mod=mod` (its vendor/ holds only modules.txt in the module zip).
# The web UI's assets are in the module (pkg/assets/build). Minutes on 2 cores, then cached.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/k8s/node/lib.sh"
TILT_VERSION="${TILT_VERSION:-v0.33.0}"
BIN="$TOOLS_BIN"
if [ -x "$BIN/tilt" ] && [ "$("$BIN/tilt" version 2>/dev/null | cut -d, -f1)" = "$TILT_VERSION" ]; then
  log "tilt $TILT_VERSION: cached ($BIN/tilt)"; exit 0
fi
mod="$(cd / && GOFLAGS=-mod=mod go mod download -json "github.com/tilt-dev/tilt@$TILT_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -f "$mod/go.mod" ] || die "tilt $TILT_VERSION: module not downloaded"
src="$(mktemp -d)"; trap 'rm -rf "$src"' EXIT
cp -r "$mod/." "$src"; chmod -R u+w "$src"
mkdir -p "$BIN"
log "tilt $TILT_VERSION: go build (about 10 minutes on 2 cores with cold caches)"
(cd "$src" && run_logged "tilt-$TILT_VERSION-build" 30 go build -mod=mod -trimpath \
  -ldflags "-s -w -X main.version=${TILT_VERSION#v}" -o "$BIN/tilt" ./cmd/tilt)
log "tilt: $("$BIN/tilt" version)"
