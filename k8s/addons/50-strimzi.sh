#!/usr/bin/env bash
# Strimzi 1.2.0's cluster operator in the node, in a namespace of its own (strimzi, as the
# official chart installs it on kind) watching the coinstream namespace:
# its upstream install files (ServiceAccount, ClusterRoles, RoleBindings, ConfigMap,
# Deployment; k8s/addons/manifests/strimzi/render.py) with the images
# images/platform/strimzi.sh built. The CRDs are applied by k8s-up before the add-ons.
#   50-strimzi.sh            apply and wait for the Deployment
#   50-strimzi.sh --render   print the manifests only (no cluster needed)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/k8s/node/lib.sh"
NAMESPACE="${COINSTREAM_NAMESPACE:-coinstream}"
OPERATOR_NAMESPACE="${COINSTREAM_STRIMZI_NAMESPACE:-strimzi}"
STRIMZI_VERSION=1.2.0
OPERATOR_IMAGE="${STRIMZI_OPERATOR_IMAGE:-coinstream/strimzi-operator:$STRIMZI_VERSION}"
KAFKA_IMAGE_PREFIX="${STRIMZI_KAFKA_IMAGE_PREFIX:-coinstream/strimzi-kafka:$STRIMZI_VERSION-kafka-}"
PY="${COINSTREAM_PYTHON:-$ROOT/.venv/bin/python}"
KUBECTL="${KUBECTL:-$K8S_BIN/kubectl}"

render() {
  # the namespaces first (helm's --create-namespace comes later), then the operator
  for ns in "$OPERATOR_NAMESPACE" "$NAMESPACE"; do
    "$KUBECTL" create namespace "$ns" --dry-run=client -o yaml
    echo "---"
  done
  (cd "$ROOT/local" && "$PY" "$ROOT/k8s/addons/manifests/strimzi/render.py" "$OPERATOR_NAMESPACE" "$NAMESPACE" "$OPERATOR_IMAGE" "$KAFKA_IMAGE_PREFIX")
}

if [ "${1:-}" = --render ]; then render; exit 0; fi
export KUBECONFIG="${KUBECONFIG:-$KUBECONFIG_HOST}"
# the images are loaded by k8s-up (images/platform/*.sh print them); when this add-on runs on
# its own, import them into the node's containerd if they are missing there
if [ -f "$ROOT/k8s/addons/lib/addon.sh" ]; then
  . "$ROOT/k8s/addons/lib/addon.sh"
  for image in "$OPERATOR_IMAGE" "${KAFKA_IMAGE_PREFIX}4.3.1"; do node_image "$image"; done
fi
render | "$KUBECTL" apply -f - >/dev/null
"$KUBECTL" -n "$OPERATOR_NAMESPACE" rollout status deploy/strimzi-cluster-operator --timeout 180s >&2
log "strimzi: cluster operator $STRIMZI_VERSION running in $OPERATOR_NAMESPACE, watching $NAMESPACE (image $OPERATOR_IMAGE)"
