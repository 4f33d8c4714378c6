#!/usr/bin/env bash
# Starts the single-node Kubernetes as processes inside the network namespace $NETNS:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet,
# kube-proxy and CoreDNS, plus a loopback relay (socat on the host's 127.0.0.1:$API_HOST_PORT
# -> the API server inside the namespace). PIDs in $K8S_STATE/pids, logs in $K8S_STATE/logs.
# Needs the binaries (build-kubernetes.sh, build-coredns.sh) and the pause image loaded
# (load-images.sh runs between containerd and the kubelet).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "the node needs root (network namespace, mounts, cgroups)"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  [ -x "$K8S_BIN/$b" ] || die "$K8S_BIN/$b missing: run k8s/node/build-kubernetes.sh"
done
[ -x "$COREDNS_BIN/coredns" ] || die "$COREDNS_BIN/coredns missing: run k8s/node/build-coredns.sh"
for c in etcd containerd runc socat nsenter iptables conntrack; do command -v "$c" >/dev/null || die "$c missing"; done

if [ -f "$K8S_STATE/pids/kube-apiserver.pid" ] && kill -0 "$(cat "$K8S_STATE/pids/kube-apiserver.pid")" 2>/dev/null; then
  die "a node is already running (state $K8S_STATE): make k8s-down first"
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$API_HOST_PORT") 2>/dev/null; then
  die "127.0.0.1:$API_HOST_PORT is in use: set COINSTREAM_K8S_API_PORT"
fi

ETC="$K8S_STATE/etc"; PIDS="$K8S_STATE/pids"; LOGS="$K8S_STATE/logs"
mkdir -p "$ETC" "$PIDS" "$LOGS" "$K8S_STATE/etcd" "$K8S_STATE/cni/net.d" "$K8S_STATE/cni/ipam" \
         "$K8S_STATE/containerd" "$K8S_STATE/kubelet" "$K8S_STATE/pod-logs" "$K8S_STATE/runc"
chmod 700 "$K8S_STATE/etcd"

# What existed before we started: k8s-down removes only what we created.
[ -d /var/log/containers ] && touch "$K8S_STATE/.had-var-log-containers" || true
[ -d /run/netns ] && touch "$K8S_STATE/.had-run-netns" || true
for ctl in /sys/fs/cgroup/*/; do [ -d "$ctl/kubepods" ] && echo "$ctl" >> "$K8S_STATE/.had-kubepods"; done; true

# ---- network namespace -------------------------------------------------------------
if ! ip netns list | grep -qw "^$NETNS"; then
  ip netns add "$NETNS"
fi
touch "$K8S_STATE/.netns-created"
in_netns ip link set lo up
in_netns ip link show br-cs-node >/dev/null 2>&1 || in_netns ip link add br-cs-node type bridge
in_netns ip addr replace "$NODE_IP/24" dev br-cs-node
in_netns ip link set br-cs-node up
# The service range is routed into the port-less bridge (kube-proxy's DNAT happens after
# the route lookup); every other destination outside the namespace is `unreachable`, so a
# lookup or connection to the world (an image pull of an image not loaded, a pod calling
# out) fails at once without a single packet being sent.
in_netns ip route replace "$SERVICE_CIDR" dev br-cs-node
in_netns ip route replace unreachable default
in_netns sysctl -qw net.ipv4.ip_forward=1
in_netns sysctl -qw net.ipv4.conf.all.route_localnet=1 || true
log "netns $NETNS: node IP $NODE_IP on br-cs-node (no link to the host)"

# ---- configuration -----------------------------------------------------------------
export K8S_STATE NODE_IP NODE_NAME POD_CIDR DNS_IP PAUSE_IMAGE
render() { envsubst '${K8S_STATE} ${NODE_IP} ${NODE_NAME} ${POD_CIDR} ${DNS_IP} ${PAUSE_IMAGE}' < "$HERE/templates/$1" > "$2"; }
render containerd.toml "$ETC/containerd.toml"
render 10-coinstream.conflist "$K8S_STATE/cni/net.d/10-coinstream.conflist"
render kubelet.yaml "$ETC/kubelet.yaml"
render kube-proxy.yaml "$ETC/kube-proxy.yaml"
render Corefile "$ETC/Corefile"
render cluster-dns.yaml "$ETC/cluster-dns.yaml"
printf 'nameserver %s\noptions ndots:5\n' "$DNS_IP" > "$ETC/resolv.conf"
"$HERE/pki.sh"
PKI="$K8S_STATE/pki"
# API aggregation (metrics-server's APIService, k8s/addons/20-metrics-server.sh): the API
# server proxies to extension API servers with this client certificate (CN
# front-proxy-client, signed by the node's CA) and the request-header flags below
if [ ! -s "$PKI/front-proxy-client.crt" ]; then
  ( cd "$PKI"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > fp.ext
    openssl ecparam -name prime256v1 -genkey -noout -out front-proxy-client.key 2>/dev/null
    openssl req -new -key front-proxy-client.key -subj /CN=front-proxy-client -out fp.csr 2>/dev/null
    openssl x509 -req -in fp.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile fp.ext -out front-proxy-client.crt 2>/dev/null
    rm -f fp.csr fp.ext; chmod 600 front-proxy-client.key )
fi

# start NAME CMD...: a process of the node, in the namespace, in a session of its own
start() {
  local name=$1; shift
  setsid nsenter --net="/run/netns/$NETNS" -- "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! > "$PIDS/$name.pid"
  echo "$name" >> "$PIDS/order"
}
KUBECTL=(nsenter --net="/run/netns/$NETNS" -- "$K8S_BIN/kubectl" --kubeconfig "$ETC/admin.kubeconfig")
t0=$SECONDS

# ---- runtime and images (first: the imports overlap the control plane's start) ------
start containerd containerd --config "$ETC/containerd.toml"
wait_for 30 "containerd up" ctr -a "$K8S_STATE/containerd/containerd.sock" version || { tail -n 30 "$LOGS/containerd.log" >&2; exit 1; }
"$HERE/load-images.sh" "$PAUSE_IMAGE"
images_pid=""
if [ -n "${COINSTREAM_NODE_IMAGES:-}" ]; then
  # shellcheck disable=SC2086
  "$HERE/load-images.sh" $COINSTREAM_NODE_IMAGES &
  images_pid=$!
fi

# ---- control plane -----------------------------------------------------------------
start etcd etcd --name "$NODE_NAME" --data-dir "$K8S_STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$NODE_NAME=http://127.0.0.1:2380" --listen-metrics-urls "" \
  --quota-backend-bytes 2147483648 --snapshot-count 10000 --log-level warn

start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers http://127.0.0.1:2379 \
  --bind-address 0.0.0.0 --secure-port "$API_PORT" --advertise-address "$NODE_IP" \
  --service-cluster-ip-range "$SERVICE_CIDR" --service-node-port-range 30000-32767 \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" \
  --kubelet-preferred-address-types InternalIP \
  --requestheader-client-ca-file "$PKI/ca.crt" --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
  --enable-aggregator-routing=true \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --profiling=false --v=1

wait_for 90 "kube-apiserver ready" "${KUBECTL[@]}" get --raw /readyz || { tail -n 30 "$LOGS/kube-apiserver.log" >&2; exit 1; }

start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$ETC/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$ETC/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$ETC/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --root-ca-file "$PKI/ca.crt" --service-account-private-key-file "$PKI/sa.key" \
  --use-service-account-credentials=true --service-cluster-ip-range "$SERVICE_CIDR" \
  --controllers '*,bootstrapsigner,tokencleaner' --profiling=false --v=1

start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig "$ETC/scheduler.kubeconfig" \
  --authentication-kubeconfig "$ETC/scheduler.kubeconfig" \
  --authorization-kubeconfig "$ETC/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1

# ---- node agents ---------------------------------------------------------------------
start kubelet "$K8S_BIN/kubelet" --config "$ETC/kubelet.yaml" --kubeconfig "$ETC/kubelet.kubeconfig" \
  --node-ip "$NODE_IP" --hostname-override "$NODE_NAME" --root-dir "$K8S_STATE/kubelet" --v=1
start kube-proxy "$K8S_BIN/kube-proxy" --config "$ETC/kube-proxy.yaml" --v=1

# ---- cluster DNS: CoreDNS as a process, the kube-dns Service pointing at it ---------
"${KUBECTL[@]}" apply -f "$ETC/cluster-dns.yaml" >/dev/null
start coredns "$COREDNS_BIN/coredns" -conf "$ETC/Corefile"

# ---- the host's way in: a loopback relay into the namespace -------------------------
printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s socat STDIO TCP:127.0.0.1:%s\n' "$NETNS" "$API_PORT" > "$ETC/api-relay.sh"
chmod +x "$ETC/api-relay.sh"
setsid socat "TCP-LISTEN:$API_HOST_PORT,bind=127.0.0.1,reuseaddr,fork" "EXEC:$ETC/api-relay.sh" \
  >"$LOGS/api-relay.log" 2>&1 </dev/null &
echo $! > "$PIDS/api-relay.pid"; echo api-relay >> "$PIDS/order"

K=("$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_HOST")
wait_for 30 "API server through 127.0.0.1:$API_HOST_PORT" "${K[@]}" get --raw /readyz
node_ready() { [ "$("${K[@]}" get node "$NODE_NAME" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }
wait_for 120 "node $NODE_NAME Ready" node_ready || { tail -n 30 "$LOGS/kubelet.log" >&2; exit 1; }
dns_up() { in_netns python3 "$HERE/dns-query.py" "$NODE_IP" kubernetes.default.svc.cluster.local; }
wait_for 30 "CoreDNS answers kubernetes.default.svc.cluster.local" dns_up || { tail -n 20 "$LOGS/coredns.log" >&2; exit 1; }
if [ -n "$images_pid" ]; then
  wait "$images_pid" || die "loading images into the node failed"
fi
log "node up in $(( SECONDS - t0 ))s"
