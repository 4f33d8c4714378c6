#!/usr/bin/env bash
# Ingress controller: Traefik v2.11.0 (v3 does not build from the Go module proxy: a
# submodule is missing; ingress-nginx needs OpenResty, which Debian does not have).
# Built with `go build ./cmd/traefik` from a copy of its module folder (`go mod download`:
# its go.mod has replace lines, so `go install` refuses it), image on the local base,
# Deployment in the namespace ingress-nginx serving the IngressClass `nginx` (see
# manifests/ingress-traefik.yaml), Service with the fixed ClusterIP $INGRESS_CLUSTER_IP.
# The host's way in: socat on 127.0.0.1:$COINSTREAM_K8S_HTTP_PORT (18080), each connection
# `nsenter --net` into the node's namespace to that ClusterIP:80 (like the API server's
# relay; PID in $K8S_STATE/pids/ingress-relay.pid, stopped by k8s-down).
set -euo pipefail
. "$(dirname "$0")/lib/addon.sh"
TRAEFIK_VERSION=v2.11.0
TRAEFIK_IMAGE="coinstream/traefik:$TRAEFIK_VERSION"
INGRESS_CLUSTER_IP=10.96.0.80      # in the range's static band (not handed out at random)
HTTP_HOST_PORT="${COINSTREAM_K8S_HTTP_PORT:-18080}"

# ---- build (cached) ------------------------------------------------------------------
OUT="$K8S_CACHE/traefik-$TRAEFIK_VERSION/bin"
if [ ! -x "$OUT/traefik" ]; then
  log "traefik $TRAEFIK_VERSION: go mod download + go build (about 6-8 minutes on 2 cores)"
  dir="$(GOWORK=off go mod download -json "github.com/traefik/traefik/v2@$TRAEFIK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || die "traefik module folder not found"
  src="$(mktemp -d)"; cp -r "$dir/." "$src/"; chmod -R u+w "$src"
  mkdir -p "$OUT"
  # shellcheck disable=SC2016
  (cd "$src" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false" run_logged "traefik-$TRAEFIK_VERSION-build" 20 \
     go build -trimpath -ldflags "-s -w -X github.com/traefik/traefik/v2/pkg/version.Version=$TRAEFIK_VERSION" \
     -o "$OUT/traefik.tmp" ./cmd/traefik) || { rm -rf "$src"; exit 1; }
  mv "$OUT/traefik.tmp" "$OUT/traefik"; rm -rf "$src"
else
  log "traefik $TRAEFIK_VERSION: cached binary"
fi
base_image "$TRAEFIK_IMAGE" "$OUT/traefik"
node_image "$TRAEFIK_IMAGE"

# ---- deploy ----------------------------------------------------------------------------
apply_manifest "$ADDONS/manifests/ingress-traefik.yaml" TRAEFIK_IMAGE INGRESS_CLUSTER_IP
"$KUBECTL" -n ingress-nginx rollout status deploy/traefik --timeout 90s >/dev/null \
  || { "$KUBECTL" -n ingress-nginx logs deploy/traefik --tail 20 >&2 || true; die "traefik not ready"; }

# ---- the host's way in -------------------------------------------------------------------
if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_HOST_PORT") 2>/dev/null; then
  die "127.0.0.1:$HTTP_HOST_PORT is in use: set COINSTREAM_K8S_HTTP_PORT"
fi
relay="$K8S_STATE/etc/ingress-relay.sh"
printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s socat STDIO TCP:%s:80,connect-timeout=5\n' "$NETNS" "$INGRESS_CLUSTER_IP" > "$relay"
chmod +x "$relay"
setsid socat "TCP-LISTEN:$HTTP_HOST_PORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:$relay" \
  >"$K8S_STATE/logs/ingress-relay.log" 2>&1 </dev/null &
echo $! > "$K8S_STATE/pids/ingress-relay.pid"
# Traefik answers 404 for a path no Ingress routes: that is enough to know the relay works
wait_for 20 "ingress through 127.0.0.1:$HTTP_HOST_PORT" \
  sh -c "curl -s -o /dev/null -m 3 -w '%{http_code}' http://127.0.0.1:$HTTP_HOST_PORT/ | grep -q '^[1-5]'"
log "ingress: Traefik $TRAEFIK_VERSION, IngressClass nginx (default), curl http://127.0.0.1:$HTTP_HOST_PORT/"
