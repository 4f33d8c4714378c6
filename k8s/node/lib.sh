# Shared settings of the process-based node (sourced by the scripts in k8s/node, images/
# and scripts/k8s-up.sh / k8s-down.sh). Everything built lives under $K8S_CACHE/<thing>-<version>;
# everything a running node needs (certificates, configs, data, logs, PIDs) under $K8S_STATE,
# which `make k8s-down` deletes.
K8S_VERSION="${K8S_VERSION:-v1.33.13}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.7}"
LOCAL_PATH_VERSION="${LOCAL_PATH_VERSION:-v0.0.30}"
K8S_CACHE="${COINSTREAM_K8S_CACHE:-$HOME/.cache/coinstream/k8s}"
K8S_STATE="${COINSTREAM_K8S_STATE:-$K8S_CACHE/state}"
K8S_BIN="$K8S_CACHE/kubernetes-$K8S_VERSION/bin"
COREDNS_BIN="$K8S_CACHE/coredns-$COREDNS_VERSION/bin"
TOOLS_BIN="${COINSTREAM_TOOLS:-$HOME/.cache/coinstream/tools}/bin"
KUBECONFIG_HOST="${COINSTREAM_KUBECONFIG:-$K8S_CACHE/kubeconfig}"

# The node's network: a namespace of its own with no link to the host at all; the node IP
# sits on a port-less bridge, the service range is routed into it and the default route is
# `unreachable`, so nothing inside it can reach beyond the namespace.
# The host reaches the API server only through a loopback relay (socat + nsenter).
NETNS="${COINSTREAM_K8S_NETNS:-coinstream-k8s}"
NODE_NAME="coinstream-node"
NODE_IP="10.244.255.2"          # on the bridge br-cs-node inside the namespace
POD_CIDR="10.244.0.0/24"        # the bridge CNI's range (cni0 inside the namespace)
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1"          # the `kubernetes` service
DNS_IP="10.96.0.10"             # CoreDNS, a process on the node (bound to this address)
API_PORT=6443                   # inside the namespace
API_HOST_PORT="${COINSTREAM_K8S_API_PORT:-16443}"   # loopback relay on the host

# Private Docker daemon: its own data root, socket and pid file; touches no host network.
DOCKER_ROOT="${COINSTREAM_DOCKER_ROOT:-$K8S_CACHE/docker}"
DOCKER_RUN="$K8S_STATE/docker"
DOCKER_SOCK="$DOCKER_RUN/docker.sock"
DOCKER_HOST_URI="unix://$DOCKER_SOCK"

BASE_IMAGE="coinstream-base/python:3.11-bookworm"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# run CMD... in the node's network namespace
in_netns() { nsenter --net="/run/netns/$NETNS" -- "$@"; }

# wait_for SECONDS DESCRIPTION CMD...: poll CMD every second, bounded
wait_for() {
  local limit=$1 what=$2; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS - start >= limit )); then log "timed out after ${limit}s waiting for $what"; return 1; fi
    sleep 1
  done
  log "$what ($(( SECONDS - start ))s)"
}

# run_logged NAME SECONDS_BETWEEN_LINES CMD...: run a long command with its output in a
# log file, printing one progress line every few seconds (the log's line count, elapsed).
run_logged() {
  local name=$1 every=$2; shift 2
  local logf="$K8S_CACHE/logs/$name.log"
  mkdir -p "$K8S_CACHE/logs"
  local start=$SECONDS
  "$@" >"$logf" 2>&1 &
  local pid=$! next=$(( start + every ))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS >= next )); then
      next=$(( next + every ))
      log "$name: $(( SECONDS - start ))s, $(wc -l <"$logf") lines of output (tail: $(tail -n1 "$logf" | cut -c1-80))"
    fi
  done
  if ! wait "$pid"; then tail -n 30 "$logf" >&2; die "$name failed (log: $logf)"; fi
  log "$name: done in $(( SECONDS - start ))s"
}

PAUSE_VERSION="3.10"
PAUSE_IMAGE="coinstream/pause:$PAUSE_VERSION"   # the sandbox image containerd's CRI uses
LOCAL_PATH_IMAGE="coinstream/local-path-provisioner:$LOCAL_PATH_VERSION"
