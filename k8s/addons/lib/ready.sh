#!/usr/bin/env bash
# Waits until an operator that `make k8s-up` installed serves (the Tiltfile's prerequisites on
# the node, named as on kind):  ready.sh ingress-nginx|strimzi|spark-operator|kube-prometheus-stack
set -euo pipefail
. "$(dirname "$0")/addon.sh"
case "${1:?usage: ready.sh OPERATOR}" in
  ingress-nginx) ns=ingress-nginx ;;
  strimzi) ns=strimzi ;;
  spark-operator) ns=spark-operator ;;
  kube-prometheus-stack) ns=monitoring ;;
  *) die "unknown operator $1" ;;
esac
"$KUBECTL" -n "$ns" wait --for condition=Available deploy --all --timeout 300s
