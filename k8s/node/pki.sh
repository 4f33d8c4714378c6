#!/usr/bin/env bash
# Certificates of the node with openssl, into $K8S_STATE/pki (deleted by `make k8s-down`):
# a CA, the API server's serving certificate (SANs: the names of the `kubernetes` service,
# its ClusterIP, the node IP and loopback for the host relay), the kubelet's serving
# certificate, one client certificate per component, and the service-account key pair.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PKI="$K8S_STATE/pki"
mkdir -p "$PKI"; chmod 700 "$PKI"
cd "$PKI"

# ECDSA P-256 keys: a fraction of the time RSA takes to generate
genkey() { openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }
[ -s ca.key ] || genkey ca.key
[ -s ca.crt ] || openssl req -x509 -new -key ca.key -days 3650 -subj "/CN=coinstream-k8s-ca" -out ca.crt 2>/dev/null

# issue NAME CN [O] [SANS] [client|server|both]
issue() {
  local name=$1 cn=$2 org=${3:-} sans=${4:-} usage=${5:-client}
  [ -s "$name.crt" ] && return 0
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org$subj"
  local eku=clientAuth
  case "$usage" in server) eku=serverAuth ;; both) eku="serverAuth,clientAuth" ;; esac
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$sans" ] && echo "subjectAltName=$sans"
  } > "$name.ext"
  genkey "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue apiserver kube-apiserver "" \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$NODE_IP,IP:$SERVICE_IP" server
issue kubelet-serving "system:node:$NODE_NAME" system:nodes "DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1" server
issue apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
issue admin coinstream-admin system:masters
issue controller-manager system:kube-controller-manager
issue scheduler system:kube-scheduler
issue kubelet "system:node:$NODE_NAME" system:nodes
issue kube-proxy system:kube-proxy
issue coredns coinstream:coredns
[ -s sa.key ] || { genkey sa.key; openssl ec -in sa.key -pubout -out sa.pub 2>/dev/null; }
chmod 600 ./*.key

# kubeconfig NAME SERVER: a kubeconfig with the client certificate NAME embedded
kubeconfig() {
  local name=$1 server=$2 file=$3
  cat > "$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: coinstream
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 ca.crt)
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$name.crt")
    client-key-data: $(base64 -w0 "$name.key")
contexts:
- name: coinstream
  context: {cluster: coinstream, user: $name}
current-context: coinstream
KC
  chmod 600 "$file"
}
mkdir -p "$K8S_STATE/etc"
for c in admin controller-manager scheduler kubelet kube-proxy coredns; do
  kubeconfig "$c" "https://$NODE_IP:$API_PORT" "$K8S_STATE/etc/$c.kubeconfig"
done
# The host's kubeconfig: the loopback relay.
mkdir -p "$(dirname "$KUBECONFIG_HOST")"
kubeconfig admin "https://127.0.0.1:$API_HOST_PORT" "$KUBECONFIG_HOST"
log "pki: certificates and kubeconfigs in $PKI and $K8S_STATE/etc"
