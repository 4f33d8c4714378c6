#!/usr/bin/env bash
# metrics-server v0.8.0: `go install sigs.k8s.io/metrics-server/cmd/metrics-server@v0.8.0`
# (cached in $K8S_CACHE/metrics-server-v0.8.0/bin), image on the local base, Deployment in
# kube-system with --kubelet-insecure-tls and --kubelet-preferred-address-types=InternalIP,
# APIService v1beta1.metrics.k8s.io (the API server's aggregation flags and front-proxy
# client certificate are set by k8s/node/start-node.sh). Waits for the APIService to be
# Available; `kubectl top` answers once the first scrape is in (~15-30 s).
set -euo pipefail
. "$(dirname "$0")/lib/addon.sh"
MS_VERSION=v0.8.0
METRICS_SERVER_IMAGE="coinstream/metrics-server:$MS_VERSION"
go_install metrics-server "$MS_VERSION" "sigs.k8s.io/metrics-server/cmd/metrics-server@$MS_VERSION" \
  "-s -w -X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$MS_VERSION"
base_image "$METRICS_SERVER_IMAGE" "$K8S_CACHE/metrics-server-$MS_VERSION/bin/metrics-server"
node_image "$METRICS_SERVER_IMAGE"
apply_manifest "$ADDONS/manifests/metrics-server.yaml" METRICS_SERVER_IMAGE
"$KUBECTL" -n kube-system rollout status deploy/metrics-server --timeout 90s >/dev/null \
  || { "$KUBECTL" -n kube-system logs deploy/metrics-server --tail 20 >&2 || true; die "metrics-server not ready"; }
"$KUBECTL" wait --for condition=Available --timeout 60s apiservice/v1beta1.metrics.k8s.io >/dev/null \
  || die "APIService v1beta1.metrics.k8s.io not Available"
log "metrics-server $MS_VERSION: APIService v1beta1.metrics.k8s.io Available"
