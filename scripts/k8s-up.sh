#!/usr/bin/env bash
# `make k8s-up`: a real single-node Kubernetes on this machine from package registries only,
# with coinstream's chart installed on it (helm/coinstream with values-kind.yaml).
#   1. Debian packages (k8s/node/install-packages.sh)
#   2. builds, each cached under ~/.cache/coinstream/k8s/<thing>-<version>: Kubernetes from
#      its Go module source, CoreDNS, the pause image, local-path-provisioner, the Python
#      base image (mmdebstrap) and the four service images (services/Dockerfile) in a
#      private Docker daemon
#   3. the node: processes in the network namespace coinstream-k8s (k8s/node/start-node.sh),
#      with local-path-provisioner as the default StorageClass (so PVCs bind)
#   4. the operators' CRDs (server-side apply), then `helm upgrade --install`
#   5. waits until every Deployment and StatefulSet is Ready, Kafka Ready and the lander RUNNING
# `make k8s-down` undoes all of it except the build cache.
# Settings: COINSTREAM_LOCAL_ARTIFACT_MIRROR (where the Strimzi source release is, offline), COINSTREAM_K8S_API_PORT
# (host loopback port of the API server, 16443), COINSTREAM_K8S_WAIT (seconds to wait for
# every workload to be Ready, 900).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODE="$ROOT/k8s/node"
. "$NODE/lib.sh"
cd "$ROOT"

NAMESPACE="${COINSTREAM_NAMESPACE:-coinstream}"
RELEASE=coinstream
WAIT="${COINSTREAM_K8S_WAIT:-900}"
SERVICE_IMAGES=(api ingest query coingecko-sim)
. "$ROOT/images/platform/lib/chart.sh"
TAG="$(chart_app_version)"

T0=$SECONDS
declare -a TIMES=()
step() { local name=$1 s=$SECONDS; shift; log "== $name"; "$@"; TIMES+=("$name: $(( SECONDS - s ))s"); }

[ "$(id -u)" = 0 ] || die "k8s-up needs root"
# A node left over from an interrupted run: clean it up first.
if [ -d "$K8S_STATE/pids" ] && ! { [ -f "$K8S_STATE/pids/kube-apiserver.pid" ] && kill -0 "$(cat "$K8S_STATE/pids/kube-apiserver.pid")" 2>/dev/null; }; then
  log "state of a stopped node found: cleaning up first"; "$NODE/stop-node.sh"
fi

step packages "$NODE/install-packages.sh"
step kubernetes "$NODE/build-kubernetes.sh"
# the project's venv and tools (after the longest build, so a `make install` started beside
# this one has long finished: never two pip runs in one venv)
step install make -s -C "$ROOT" install
step coredns "$NODE/build-coredns.sh"
step dockerd "$NODE/dockerd.sh" start
step pause-image "$NODE/build-pause.sh"
step base-image "$ROOT/images/build-base.sh"
step local-path-provisioner "$NODE/build-local-path.sh"
# docker's layer cache makes a rebuild of unchanged sources take a few seconds
step service-images "$ROOT/images/build-services.sh" "${SERVICE_IMAGES[@]}"
images=("$LOCAL_PATH_IMAGE"); for n in "${SERVICE_IMAGES[@]}"; do images+=("coinstream-$n:$TAG"); done
# The platform's images (Trino, Hadoop, the lander, the operators): each images/platform/<name>.sh
# builds (cached) and prints the image references to load into the node, one a line.
mkdir -p "$K8S_CACHE/logs"
for builder in "$ROOT"/images/platform/*.sh; do
  [ -e "$builder" ] || continue
  name="$(basename "$builder" .sh)"
  step "image-$name" "$builder" > "$K8S_CACHE/logs/image-$name.refs"
  while IFS= read -r ref; do [ -n "$ref" ] && images+=("$ref"); done < "$K8S_CACHE/logs/image-$name.refs"
done
export COINSTREAM_NODE_IMAGES="${images[*]}"
step node "$NODE/start-node.sh"
export KUBECONFIG="$KUBECONFIG_HOST"
KUBECTL="$K8S_BIN/kubectl"
HELM="$TOOLS_BIN/helm"

# ---- storage: the default StorageClass local-path ---------------------------------------
storage() {
  export K8S_STATE LOCAL_PATH_IMAGE
  envsubst '${K8S_STATE} ${LOCAL_PATH_IMAGE}' < "$NODE/templates/local-path.yaml" | "$KUBECTL" apply -f - >/dev/null
  "$KUBECTL" -n local-path-storage rollout status deploy/local-path-provisioner --timeout 60s >/dev/null
  log "storage: StorageClass local-path (default), volumes under $K8S_STATE/local-path"
}
step storage storage

# ---- CRDs -----------------------------------------------------------------------------
crds() {
  # The CRDs the offline k8s-tests validate against: fetched (Go modules, the Strimzi source
  # release from COINSTREAM_LOCAL_ARTIFACT_MIRROR or its public release) and cached.
  local folders files=()
  folders="$("$ROOT/.venv/bin/python" -m coinstream.crds)" || die "the operators' CRDs are not available"
  while IFS= read -r f; do files+=(-f "$f"); done < <(for d in $folders; do find "$d" -maxdepth 1 -name '*.yaml'; done | sort)
  "$KUBECTL" apply --server-side --force-conflicts "${files[@]}" >/dev/null
  "$KUBECTL" wait --for condition=Established --timeout 60s crd --all >/dev/null
  log "CRDs: $("$KUBECTL" get crd -o name | wc -l) established"
}
step crds crds

# ---- add-ons: each k8s/addons/<NN-name>.sh installs one cluster component (CNI policy,
# metrics-server, ingress controller, operators) into the running node, in name order ------
for addon in "$ROOT"/k8s/addons/*.sh; do
  [ -e "$addon" ] || continue
  step "addon-$(basename "$addon" .sh)" "$addon"
done

# ---- the chart --------------------------------------------------------------------------
[ -x "$HELM" ] || "$ROOT/scripts/install-k8s-tools.sh"
step helm "$HELM" upgrade --install "$RELEASE" helm/coinstream -f helm/coinstream/values-kind.yaml \
  -n "$NAMESPACE" --create-namespace --wait=false

# ---- every workload Ready ----------------------------------------------------------------
not_ready() {  # the workloads still waiting, one a line (none: all Ready)
  "$KUBECTL" get deploy,statefulset -A -o jsonpath='{range .items[*]}{.kind}/{.metadata.namespace}/{.metadata.name} {.spec.replicas} {.status.readyReplicas}{"\n"}{end}' \
    | awk '$2 != ($3 == "" ? 0 : $3) {print $1}'
  [ "$("$KUBECTL" -n "$NAMESPACE" get kafka "$RELEASE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ] \
    || echo "Kafka/$NAMESPACE/$RELEASE"
  [ "$("$KUBECTL" -n "$NAMESPACE" get sparkapplication "$RELEASE-price-lander" -o 'jsonpath={.status.applicationState.state}' 2>/dev/null)" = RUNNING ] \
    || echo "SparkApplication/$NAMESPACE/$RELEASE-price-lander"
}
wait_workloads() {
  local start=$SECONDS waiting last=""
  while waiting="$(not_ready | tr '\n' ' ')"; [ -n "${waiting// }" ]; do
    (( SECONDS - start < WAIT )) || { log "not Ready after ${WAIT}s: $waiting"; return 1; }
    [ "$waiting" = "$last" ] || log "waiting for: $waiting"
    last=$waiting; sleep 5
  done
  log "every workload Ready ($(( SECONDS - start ))s)"
}
step wait-workloads wait_workloads

echo
"$KUBECTL" get nodes -o wide
echo
"$KUBECTL" -n "$NAMESPACE" get pods -o wide
echo
log "times: ${TIMES[*]}"
log "k8s-up: $(( SECONDS - T0 ))s in all"
echo
echo "export KUBECONFIG=$KUBECONFIG_HOST"
echo "export PATH=$K8S_BIN:$TOOLS_BIN:\$PATH"
if [ -f "$K8S_STATE/pids/ingress-relay.pid" ]; then
  url="http://127.0.0.1:${COINSTREAM_K8S_HTTP_PORT:-18080}"
  echo "# the api through the Ingress (k8s/addons/30-ingress.sh); the key of values-kind.yaml is dev-key"
  echo "curl $url/healthz"
  echo "curl -s -H 'X-API-Key: dev-key' -H 'Content-Type: application/json' -d '{\"holdings\":[{\"coin\":\"bitcoin\",\"amount\":1}],\"vs_currency\":\"usd\",\"from\":\"$(date -u -d '-30 days' +%Y-%m-%d)\",\"to\":\"$(date -u -d '-1 day' +%Y-%m-%d)\",\"interval\":\"daily\"}' $url/v1/portfolios"
fi
