#!/usr/bin/env bash
# Kubeflow spark-operator v2.5.2 in the node (namespace spark-operator), handling
# SparkApplications of the coinstream namespace: its own Helm chart from its Go module
# (the same module the image is built from) with k8s/addons/manifests/spark-operator/values.yaml.
# The CRDs are applied by k8s-up before the add-ons (--skip-crds).
#   60-spark-operator.sh            helm upgrade --install, wait for controller and webhook
#   60-spark-operator.sh --render   print the manifests only (helm template, no cluster needed)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/k8s/node/lib.sh"
VERSION=v2.5.2
NS="${COINSTREAM_SPARK_OPERATOR_NAMESPACE:-spark-operator}"
JOB_NS="${COINSTREAM_NAMESPACE:-coinstream}"
HELM="${HELM:-$TOOLS_BIN/helm}"
KUBECTL="${KUBECTL:-$K8S_BIN/kubectl}"
VALUES="$ROOT/k8s/addons/manifests/spark-operator/values.yaml"

dir="$(cd / && GOFLAGS=-mod=mod go mod download -json "github.com/kubeflow/spark-operator/v2@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
CHART="$dir/charts/spark-operator-chart"
[ -f "$CHART/Chart.yaml" ] || die "spark-operator chart not found in its Go module ($dir)"
ARGS=(spark-operator "$CHART" -n "$NS" -f "$VALUES" --skip-crds --set "spark.jobNamespaces={$JOB_NS}")

if [ "${1:-}" = --render ]; then "$HELM" template "${ARGS[@]}"; exit 0; fi
export KUBECONFIG="${KUBECONFIG:-$KUBECONFIG_HOST}"
# the images are loaded by k8s-up (images/platform/*.sh print them); when this add-on runs on
# its own, import them into the node's containerd if they are missing there
if [ -f "$ROOT/k8s/addons/lib/addon.sh" ]; then
  . "$ROOT/k8s/addons/lib/addon.sh"
  for image in "coinstream/spark-operator:$VERSION"; do node_image "$image"; done
fi
"$KUBECTL" create namespace "$JOB_NS" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
"$HELM" upgrade --install "${ARGS[@]}" --create-namespace --wait=false >&2
"$KUBECTL" -n "$NS" rollout status deploy/spark-operator-controller --timeout 180s >&2
"$KUBECTL" -n "$NS" rollout status deploy/spark-operator-webhook --timeout 180s >&2
log "spark-operator: $VERSION running in $NS for SparkApplications in $JOB_NS"
