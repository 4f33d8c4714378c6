#!/usr/bin/env bash
# Monitoring: prometheus-operator v0.93.0 (the version whose CRDs k8s-up applies, and the one
# kube-prometheus-stack 88.0.0 of scripts/install-operators.sh runs) and one Prometheus that
# selects every ServiceMonitor, PodMonitor and PrometheusRule of every namespace
# (manifests/monitoring/: namespace monitoring, operator Deployment + RBAC, Prometheus CR, its
# RBAC, Service `prometheus` on 9090). No admission webhook (a separate upstream Deployment,
# not deployed), no Alertmanager, no Grafana.
#   40-monitoring.sh            build (cached), import the images, apply, wait for Prometheus Ready
#   40-monitoring.sh --build    build the binaries, and the images if the private dockerd runs (no cluster)
#   40-monitoring.sh --render   print the manifests only (no cluster, no build)
#
# Binaries, cached in $K8S_CACHE/<name>-<version>/bin:
# - operator and prometheus-config-reloader: `go build` of cmd/operator and
#   cmd/prometheus-config-reloader from a copy of the operator's module folder. Its go.mod
#   replaces its two nested modules (pkg/apis/monitoring, pkg/client) by local folders the module
#   download does not contain, so `go install` refuses it and the copy builds against the
#   tagged v0.93.0 of those modules instead (`go mod edit -dropreplace`).
# - prometheus: built from its Go module rather than taken from Debian: bookworm's package is
#   2.42 and the operator 0.93 defaults to and is tested with v3 (its compatibility matrix
#   ends at v3.13.1, which is also the Prometheus module the operator itself depends on, so the
#   two builds share most modules). v3.13.1 is tagged v0.313.1 in Go module terms; its go.mod
#   has a replace line, so again `go build` from a copy of the module folder. Tags
#   `remove_all_sd,enable_kubernetes_sd`: only Kubernetes service discovery (all the operator
#   generates for ServiceMonitors/PodMonitors; a ScrapeConfig with another SD would be refused)
#   and a shorter build. No web UI: its assets are a JavaScript build the module does not
#   carry (tag builtinassets needs them), so / and /query answer 500 ("Error opening React
#   index.html"); the HTTP API (/api/v1/..., /metrics, /-/ready, /-/reload) is complete.
# Images on the local base ($BASE_IMAGE), imported into the node's containerd; the config
# reloader sits at /bin/prometheus-config-reloader, the path the operator's pod spec runs.
set -euo pipefail
. "$(dirname "$0")/lib/addon.sh"
PROMETHEUS_OPERATOR_VERSION=v0.93.0
PROMETHEUS_VERSION=v3.13.1
PROMETHEUS_MODULE_VERSION=v0.313.1   # the module tag of Prometheus 3.13.1
PROMETHEUS_OPERATOR_IMAGE="coinstream/prometheus-operator:$PROMETHEUS_OPERATOR_VERSION"
PROMETHEUS_CONFIG_RELOADER_IMAGE="coinstream/prometheus-config-reloader:$PROMETHEUS_OPERATOR_VERSION"
PROMETHEUS_BASE_IMAGE=coinstream/prometheus
PROMETHEUS_IMAGE="$PROMETHEUS_BASE_IMAGE:$PROMETHEUS_VERSION"
MANIFESTS="$ADDONS/manifests/monitoring"
PY="${COINSTREAM_PYTHON:-$ROOT/.venv/bin/python}"
PROMETHEUS_NAME=coinstream          # the Prometheus CR: StatefulSet prometheus-coinstream
MANIFEST_VARS=(PROMETHEUS_OPERATOR_VERSION PROMETHEUS_VERSION PROMETHEUS_OPERATOR_IMAGE
               PROMETHEUS_CONFIG_RELOADER_IMAGE PROMETHEUS_BASE_IMAGE PROMETHEUS_IMAGE)

# render: the manifests with the images filled in, the namespace first
render() {
  local vars="" v f first=true
  for v in "${MANIFEST_VARS[@]}"; do export "${v?}"; vars+="\${$v} "; done
  for f in namespace.yaml operator.yaml prometheus.yaml; do
    $first || echo "---"; first=false
    envsubst "$vars" < "$MANIFESTS/$f"
  done
}
if [ "${1:-}" = --render ]; then render; exit 0; fi

# module_build NAME VERSION MODULE@MODULE_VERSION OUT TAGS LDFLAGS PKG... : `go build` of the
# packages from a copy of the module's folder (go mod download), binaries into OUT; skipped when
# all are there. Replace lines pointing at folders inside the module are dropped first (above).
module_build() {
  local name=$1 version=$2 module=$3 out=$4 tags=$5 ldflags=$6; shift 6
  local pkg missing=false dir src old drops=()
  for pkg in "$@"; do [ -x "$out/$(basename "$pkg")" ] || missing=true; done
  if ! $missing; then log "$name $version: cached binaries"; return 0; fi
  log "$name $version: go mod download + go build $* (minutes on 2 cores)"
  dir="$(cd / && GOWORK=off go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || die "$module: module folder not found"
  src="$(mktemp -d)"; cp -r "$dir/." "$src/"; chmod -R u+w "$src"
  while read -r old; do [ -z "$old" ] || drops+=("-dropreplace=$old"); done < <(cd "$src" && GOWORK=off go mod edit -json |
    "$PY" -c 'import json, sys; print("\n".join(r["Old"]["Path"] for r in json.load(sys.stdin).get("Replace") or [] if r["New"]["Path"].startswith(".")))')
  if [ ${#drops[@]} -gt 0 ]; then
    log "$name $version: building against the tagged modules instead of the missing local folders (${drops[*]#-dropreplace=})"
    (cd "$src" && GOWORK=off go mod edit "${drops[@]}")
  fi
  mkdir -p "$out" "$src/.bin"
  (cd "$src" && CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false -mod=mod" run_logged "$name-$version-build" 20 \
     go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$src/.bin/" "$@") || { rm -rf "$src"; exit 1; }
  for pkg in "$@"; do mv "$src/.bin/$(basename "$pkg")" "$out/"; done
  rm -rf "$src"
}

# image_at IMAGE BINARY PATH: an image on the local base with BINARY at PATH (the entrypoint)
image_at() {
  local image=$1 bin=$2 path=$3 ctx
  if "${DOCKER[@]}" image inspect "$image" >/dev/null 2>&1; then log "image $image: cached"; return 0; fi
  ctx="$(mktemp -d)"
  cp "$bin" "$ctx/"
  printf 'FROM %s\nCOPY %s %s\nENTRYPOINT ["%s"]\n' "$BASE_IMAGE" "$(basename "$bin")" "$path" "$path" > "$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 "${DOCKER[@]}" build -q -t "$image" "$ctx" >/dev/null || { rm -rf "$ctx"; die "docker build $image failed"; }
  rm -rf "$ctx"
  log "image $image: built"
}

# ---- build (cached) ------------------------------------------------------------------
version_ldflags() {  # VERSION: prometheus/common's version variables, as upstream's builds set them
  printf -- '-s -w -X github.com/prometheus/common/version.Version=%s -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.BuildUser=coinstream' "${1#v}"
}
OP_BIN="$K8S_CACHE/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION/bin"
PROM_BIN="$K8S_CACHE/prometheus-$PROMETHEUS_VERSION/bin"
module_build prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" \
  "$OP_BIN" "" "$(version_ldflags "$PROMETHEUS_OPERATOR_VERSION")" ./cmd/operator ./cmd/prometheus-config-reloader
module_build prometheus "$PROMETHEUS_VERSION" "github.com/prometheus/prometheus@$PROMETHEUS_MODULE_VERSION" \
  "$PROM_BIN" "netgo,remove_all_sd,enable_kubernetes_sd" "$(version_ldflags "$PROMETHEUS_VERSION")" ./cmd/prometheus
if [ "${1:-}" = --build ] && ! "${DOCKER[@]}" version >/dev/null 2>&1; then
  log "monitoring: binaries built; no private Docker daemon running, so the images wait for the next run"; exit 0
fi
base_image "$PROMETHEUS_OPERATOR_IMAGE" "$OP_BIN/operator"
image_at "$PROMETHEUS_CONFIG_RELOADER_IMAGE" "$OP_BIN/prometheus-config-reloader" /bin/prometheus-config-reloader
base_image "$PROMETHEUS_IMAGE" "$PROM_BIN/prometheus"
if [ "${1:-}" = --build ]; then exit 0; fi

# ---- deploy ----------------------------------------------------------------------------
node_image "$PROMETHEUS_OPERATOR_IMAGE"
node_image "$PROMETHEUS_CONFIG_RELOADER_IMAGE"
node_image "$PROMETHEUS_IMAGE"
render | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" -n monitoring rollout status deploy/prometheus-operator --timeout 120s >/dev/null \
  || { "$KUBECTL" -n monitoring logs deploy/prometheus-operator --tail 20 >&2 || true; die "prometheus-operator not ready"; }
log "prometheus-operator $PROMETHEUS_OPERATOR_VERSION: running"
STS="prometheus-$PROMETHEUS_NAME"
wait_for 120 "StatefulSet monitoring/$STS created by the operator" "$KUBECTL" -n monitoring get statefulset "$STS" \
  || { "$KUBECTL" -n monitoring logs deploy/prometheus-operator --tail 30 >&2 || true; die "the operator made no StatefulSet"; }
"$KUBECTL" -n monitoring rollout status statefulset "$STS" --timeout 180s >/dev/null || true
if ! "$KUBECTL" -n monitoring wait pod -l "prometheus=$PROMETHEUS_NAME" --for condition=Ready --timeout 60s >/dev/null; then
  "$KUBECTL" -n monitoring get pods -o wide >&2 || true
  "$KUBECTL" -n monitoring logs "$STS-0" -c prometheus --tail 30 >&2 || true
  die "Prometheus not Ready"
fi
# what runs, and what Prometheus sees (through the API server's service proxy)
"$KUBECTL" -n monitoring get pods -o wide >&2
api() { "$KUBECTL" get --raw "/api/v1/namespaces/monitoring/services/prometheus:web/proxy/api/v1/$1"; }
summary="$( { api targets; echo; api rules; } | "$PY" -c '
import json, sys
targets, rules = (json.loads(line) for line in sys.stdin if line.strip())
active = targets["data"]["activeTargets"]
up = sum(t["health"] == "up" for t in active)
groups = rules["data"]["groups"]
n_rules = sum(len(g["rules"]) for g in groups)
print(f"{len(active)} targets, {up} up (first scrapes may be pending), {len(groups)} rule groups, {n_rules} rules")' 2>/dev/null \
  || echo "targets/rules not readable yet")"
log "monitoring: prometheus-operator $PROMETHEUS_OPERATOR_VERSION, Prometheus $PROMETHEUS_VERSION Ready ($summary); API: kubectl -n monitoring port-forward svc/prometheus 9090"
