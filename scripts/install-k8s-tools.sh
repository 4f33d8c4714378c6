#!/usr/bin/env bash
# helm and kubeconform for the offline k8s-tests, built from source with
# `go install` (the Go module proxy is the only place binaries may come from),
# and the Tiltfile checker of k8s-tests/tiltfile-check.
#
# Installs into ${COINSTREAM_TOOLS:-$HOME/.cache/coinstream/tools}/bin and is
# idempotent: a tool already built at the pinned version is left alone.
#
# helm is built with the Kubernetes version ldflags its own Makefile sets
# (from the client-go it vendors), otherwise `helm template` would assume
# Kubernetes 1.20; the tests pass --kube-version explicitly all the same.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
TOOLS="${COINSTREAM_TOOLS:-$HOME/.cache/coinstream/tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

command -v go >/dev/null || { echo "install-k8s-tools: Go is required (go install builds helm and kubeconform)" >&2; exit 1; }

export GOBIN="$BIN"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -trimpath"

installed_helm() {
  [ -x "$BIN/helm" ] && "$BIN/helm" version --template '{{.Version}}' 2>/dev/null || true
}

installed_kubeconform() {
  [ -x "$BIN/kubeconform" ] && "$BIN/kubeconform" -v 2>/dev/null || true
}

if [ "$(installed_helm)" != "$HELM_VERSION" ]; then
  echo "install-k8s-tools: building helm $HELM_VERSION (a few minutes on 2 cores)"
  # The Kubernetes version helm assumes: client-go v0.X.Y means Kubernetes 1.X.
  mod_dir="$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  client_go="$(sed -n 's/^[[:space:]]*k8s.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$mod_dir/go.mod" | head -n1)"
  [ -n "$client_go" ] || { echo "install-k8s-tools: cannot read client-go version from $mod_dir/go.mod" >&2; exit 1; }
  ldflags="-w -s -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$client_go"
  done
  go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

if [ "$(installed_kubeconform)" != "$KUBECONFORM_VERSION" ]; then
  echo "install-k8s-tools: building kubeconform $KUBECONFORM_VERSION"
  go install -ldflags "-w -s -X main.version=$KUBECONFORM_VERSION" \
    "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi

# The offline Tiltfile checker (k8s-tests/tiltfile-check: Tilt's Starlark interpreter with
# stand-ins for Tilt's functions); rebuilt when its sources change.
CHECK_SRC="$(cd "$(dirname "$0")/.." && pwd)/k8s-tests/tiltfile-check"
check_sum="$(cat "$CHECK_SRC/go.mod" "$CHECK_SRC/go.sum" "$CHECK_SRC"/*.go | sha256sum | cut -d' ' -f1)"
if [ ! -x "$BIN/tiltfile-check" ] || [ "$(cat "$BIN/.tiltfile-check.sum" 2>/dev/null)" != "$check_sum" ]; then
  echo "install-k8s-tools: building tiltfile-check"
  (cd "$CHECK_SRC" && go build -ldflags "-w -s" -o "$BIN/tiltfile-check" .)
  echo "$check_sum" > "$BIN/.tiltfile-check.sum"
fi

echo "install-k8s-tools: helm $(installed_helm), kubeconform $(installed_kubeconform) in $BIN"
