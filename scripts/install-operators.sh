#!/usr/bin/env bash
# The operators coinstream's chart needs, from their official Helm charts, at the
# versions whose CRDs the k8s-tests validate against (python -m coinstream.crds):
#   strimzi            Strimzi cluster operator 1.2.0 (kafka.strimzi.io/v1), namespace strimzi
#   spark-operator     Kubeflow spark-operator 2.5.2 (sparkoperator.k8s.io/v1beta2), namespace spark-operator
#   monitoring         kube-prometheus-stack 88.0.0 (prometheus-operator 0.93.0, Prometheus, Grafana
#                      with the dashboard sidecar), namespace monitoring
#   ingress-nginx      ingress-nginx 4.14.3, namespace ingress-nginx (for kind with --kind; a real
#                      cluster usually has an ingress controller: set ingress.className to it)
#
# Usage: scripts/install-operators.sh [--kind] [component ...]   (default: all four)
# Needs helm and kubectl pointing at the target cluster. Idempotent (helm upgrade --install).
# COINSTREAM_NAMESPACE (default coinstream) is where the chart goes: the operators watch it.
set -euo pipefail

STRIMZI_VERSION=1.2.0
SPARK_OPERATOR_VERSION=2.5.2
KUBE_PROMETHEUS_STACK_VERSION=88.0.0
INGRESS_NGINX_VERSION=4.14.3
APP_NAMESPACE="${COINSTREAM_NAMESPACE:-coinstream}"
TIMEOUT="${COINSTREAM_OPERATOR_TIMEOUT:-10m}"

kind=false
components=()
for arg in "$@"; do
  case "$arg" in
    --kind) kind=true ;;
    strimzi|strimzi-operator) components+=(strimzi) ;;
    spark-operator) components+=(spark-operator) ;;
    monitoring|kube-prometheus-stack) components+=(monitoring) ;;
    ingress-nginx) components+=(ingress-nginx) ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "install-operators: unknown component $arg" >&2; exit 2 ;;
  esac
done
[ ${#components[@]} -gt 0 ] || components=(ingress-nginx strimzi spark-operator monitoring)

HELM="${HELM:-$(command -v helm || echo "$HOME/.cache/coinstream/tools/bin/helm")}"
command -v kubectl >/dev/null || { echo "install-operators: kubectl is required" >&2; exit 1; }

ensure_namespace() {
  kubectl create namespace "$1" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
}

install() {  # release chart version namespace [helm flags...]
  local release=$1 chart=$2 version=$3 namespace=$4
  shift 4
  echo "install-operators: $release ($chart $version) in $namespace"
  "$HELM" upgrade --install "$release" "$chart" --version "$version" \
    --namespace "$namespace" --create-namespace --wait --timeout "$TIMEOUT" "$@"
}

for component in "${components[@]}"; do
  case "$component" in
    strimzi)
      "$HELM" repo add strimzi https://strimzi.io/charts/ --force-update >/dev/null
      ensure_namespace "$APP_NAMESPACE"  # the operator gets RoleBindings there
      install strimzi-kafka-operator strimzi/strimzi-kafka-operator "$STRIMZI_VERSION" strimzi \
        --set "watchNamespaces={$APP_NAMESPACE}"
      ;;
    spark-operator)
      "$HELM" repo add spark-operator https://kubeflow.github.io/spark-operator --force-update >/dev/null
      ensure_namespace "$APP_NAMESPACE"
      install spark-operator spark-operator/spark-operator "$SPARK_OPERATOR_VERSION" spark-operator \
        --set "spark.jobNamespaces={$APP_NAMESPACE}" \
        --set webhook.enable=true
      ;;
    monitoring)
      "$HELM" repo add prometheus-community https://prometheus-community.github.io/helm-charts --force-update >/dev/null
      # Select every ServiceMonitor/PodMonitor/PrometheusRule, and load dashboards from
      # ConfigMaps labelled grafana_dashboard=1 in any namespace.
      flags=(
        --set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false
        --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false
        --set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false
        --set grafana.sidecar.dashboards.enabled=true
        --set grafana.sidecar.dashboards.label=grafana_dashboard
        --set-string grafana.sidecar.dashboards.labelValue=1
        --set grafana.sidecar.dashboards.searchNamespace=ALL
        --set grafana.sidecar.dashboards.folderAnnotation=grafana_folder
        --set grafana.sidecar.dashboards.provider.foldersFromFilesStructure=true
      )
      if $kind; then
        # kind's control-plane components do not expose their metrics to the node network.
        flags+=(--set kubeEtcd.enabled=false --set kubeControllerManager.enabled=false
                --set kubeScheduler.enabled=false --set kubeProxy.enabled=false)
      fi
      install kube-prometheus-stack prometheus-community/kube-prometheus-stack \
        "$KUBE_PROMETHEUS_STACK_VERSION" monitoring "${flags[@]}"
      ;;
    ingress-nginx)
      "$HELM" repo add ingress-nginx https://kubernetes.github.io/ingress-nginx --force-update >/dev/null
      flags=(--set controller.ingressClassResource.name=nginx --set controller.ingressClassResource.default=true)
      if $kind; then
        # Bind the node's ports 80/443 (mapped to the host by k8s/kind-cluster.yaml).
        flags+=(--set controller.hostPort.enabled=true --set controller.service.type=NodePort
                --set-string 'controller.nodeSelector.ingress-ready=true'
                --set 'controller.tolerations[0].key=node-role.kubernetes.io/control-plane'
                --set 'controller.tolerations[0].operator=Exists'
                --set 'controller.tolerations[0].effect=NoSchedule'
                --set controller.admissionWebhooks.enabled=false)
      fi
      install ingress-nginx ingress-nginx/ingress-nginx "$INGRESS_NGINX_VERSION" ingress-nginx "${flags[@]}"
      ;;
  esac
done
