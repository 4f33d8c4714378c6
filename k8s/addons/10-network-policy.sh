#!/usr/bin/env bash
# NetworkPolicy enforcement: kube-router v2.1.0 as the policy controller only
# (--run-firewall=true --run-router=false --run-service-proxy=false) beside the node's bridge
# CNI. Pod-to-pod traffic on cni0 goes through the namespace's iptables (br_netfilter:
# net.bridge.bridge-nf-call-iptables is 1 inside the namespace, set below in case), so
# kube-router's FORWARD/ipset rules see it.
# Like kube-proxy and CoreDNS it runs as a process of the node, in the namespace
# (`nsenter --net`, PID in $K8S_STATE/pids, stopped by k8s-down), with the host's iptables
# (nf_tables backend, as kube-proxy) and ipset (Debian package `ipset`, installed if missing).
# Binary: `go install github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@v2.1.0`,
# cached in $K8S_CACHE/kube-router-v2.1.0/bin.
set -euo pipefail
. "$(dirname "$0")/lib/addon.sh"
KR_VERSION=v2.1.0
go_install kube-router "$KR_VERSION" "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KR_VERSION" \
  "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KR_VERSION"
if ! command -v ipset >/dev/null; then
  log "packages: apt-get install ipset"
  DEBIAN_FRONTEND=noninteractive flock /var/lock/coinstream-apt.lock apt-get install -y -q --no-install-recommends ipset >/dev/null
fi
in_netns sysctl -qw net.bridge.bridge-nf-call-iptables=1 \
  || die "net.bridge.bridge-nf-call-iptables cannot be set in the namespace: bridged pod traffic would bypass iptables"

PIDS="$K8S_STATE/pids"
if [ -f "$PIDS/kube-router.pid" ] && kill -0 "$(cat "$PIDS/kube-router.pid")" 2>/dev/null; then
  log "kube-router: already running"; exit 0
fi
# its API access: the admin kubeconfig of the node (it watches pods, namespaces, nodes and
# NetworkPolicies cluster-wide)
setsid nsenter --net="/run/netns/$NETNS" -- "$K8S_CACHE/kube-router-$KR_VERSION/bin/kube-router" \
  --kubeconfig "$K8S_STATE/etc/admin.kubeconfig" --hostname-override "$NODE_NAME" \
  --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
  --enable-ipv4=true --enable-ipv6=false \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --iptables-sync-period 5m --ipvs-sync-period 5m --cache-sync-timeout 60s \
  --health-port 20244 --metrics-port 0 --v=1 \
  >"$K8S_STATE/logs/kube-router.log" 2>&1 </dev/null &
echo $! > "$PIDS/kube-router.pid"; echo kube-router >> "$PIDS/order"
healthy() { in_netns curl -sf -m 2 http://127.0.0.1:20244/healthz; }
chains() { in_netns iptables -S KUBE-ROUTER-FORWARD; }
wait_for 60 "kube-router healthy" healthy || { tail -n 20 "$K8S_STATE/logs/kube-router.log" >&2; die "kube-router not healthy"; }
wait_for 30 "kube-router's KUBE-ROUTER-FORWARD chain" chains || { tail -n 20 "$K8S_STATE/logs/kube-router.log" >&2; die "kube-router set no rules"; }
# the node's DNS is a process on the node IP: allow it in the chart's namespace
NAMESPACE="${COINSTREAM_NAMESPACE:-coinstream}"
apply_manifest "$ADDONS/manifests/node-dns-policy.yaml" NAMESPACE NODE_IP
log "network policy: kube-router $KR_VERSION (firewall only) enforcing NetworkPolicies"
