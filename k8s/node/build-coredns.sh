#!/usr/bin/env bash
# CoreDNS, built with `go install` from the Go module proxy into $COREDNS_BIN. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ -x "$COREDNS_BIN/coredns" ] && "$COREDNS_BIN/coredns" -version 2>/dev/null | grep -q "CoreDNS-${COREDNS_VERSION#v}"; then
  log "coredns $COREDNS_VERSION: cached in $COREDNS_BIN"; exit 0
fi
mkdir -p "$COREDNS_BIN"
log "coredns $COREDNS_VERSION: go install (about 2-3 minutes on 2 cores)"
export GOBIN="$COREDNS_BIN" CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false"
run_logged "coredns-$COREDNS_VERSION-build" 15 go install -v -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
"$COREDNS_BIN/coredns" -version | head -n1 >&2
