#!/usr/bin/env bash
# Builds the Kubernetes binaries (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet, kube-proxy, kubectl) from the k8s.io/kubernetes module source of the Go module
# proxy into $K8S_CACHE/kubernetes-$K8S_VERSION/bin. Idempotent: a complete bin/ is reused.
#
# The module zip has no staging/ tree, so its `replace k8s.io/X => ./staging/src/k8s.io/X`
# lines are rewritten to the published k8s.io/X modules of the same release (v0.MINOR.PATCH),
# and the k8s.io/sample-* lines (not served by the proxy) are dropped.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OUT="$K8S_CACHE/kubernetes-$K8S_VERSION"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

complete() {
  local b
  for b in "${BINARIES[@]}"; do [ -x "$OUT/bin/$b" ] || return 1; done
  [ "$("$OUT/bin/kubectl" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(.*\)",/\1/p' | head -n1)" = "$K8S_VERSION" ]
}
if complete; then log "kubernetes $K8S_VERSION: cached in $OUT/bin"; exit 0; fi

command -v go >/dev/null || die "Go is required"
start=$SECONDS
log "kubernetes $K8S_VERSION: downloading the module source"
dir="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$dir" ] || die "go mod download k8s.io/kubernetes@$K8S_VERSION gave no source directory"

src="$OUT/src"
rm -rf "$src" && mkdir -p "$src"
cp -a "$dir/." "$src/" && chmod -R u+w "$src"
staging="v0.${K8S_VERSION#v1.}"   # v1.33.13 -> v0.33.13
sed -i -E \
  -e '/k8s\.io\/sample-/d' \
  -e "s#^([[:space:]]*)(k8s\.io/[A-Za-z0-9._-]+) => \./staging/src/k8s\.io/[A-Za-z0-9._-]+#\1\2 => \2 $staging#" \
  "$src/go.mod"
grep -q '=> ./staging' "$src/go.mod" && die "go.mod still points into staging/"

# The version ldflags hack/lib/version.sh sets (otherwise every binary reports v0.0.0).
minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
ldflags="-s -w"
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
done

export CGO_ENABLED=0 GOWORK=off GOFLAGS="-mod=mod -buildvcs=false"
mkdir -p "$OUT/bin.new"
pkgs=(); for b in "${BINARIES[@]}"; do pkgs+=("./cmd/$b"); done
log "kubernetes $K8S_VERSION: go build ${BINARIES[*]} (about 5 minutes on 2 cores with cold caches)"
cd "$src"
run_logged "kubernetes-$K8S_VERSION-build" 15 go build -v -trimpath -tags providerless -ldflags "$ldflags" -o "$OUT/bin.new/" "${pkgs[@]}"
rm -rf "$OUT/bin" && mv "$OUT/bin.new" "$OUT/bin"
complete || die "built binaries do not report $K8S_VERSION"
log "kubernetes $K8S_VERSION: built in $(( SECONDS - start ))s into $OUT/bin"
