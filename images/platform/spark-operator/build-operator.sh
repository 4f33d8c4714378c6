#!/usr/bin/env bash
# Kubeflow spark-operator's binary (one binary: `controller start` and `webhook start`) from
# its Go module, cached in $K8S_CACHE/spark-operator-$SPARK_OPERATOR_VERSION/bin/.
# `go install` is refused for it (its go.mod has replace lines), so: `go mod download` of the
# module, a writable copy of it, `go build ./cmd/operator` there (the Makefile's ldflags).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
. "$ROOT/k8s/node/lib.sh"

SPARK_OPERATOR_VERSION="${SPARK_OPERATOR_VERSION:-v2.5.2}"
MODULE=github.com/kubeflow/spark-operator/v2
OUT="$K8S_CACHE/spark-operator-$SPARK_OPERATOR_VERSION"
BIN="$OUT/bin/spark-operator"

if [ -x "$BIN" ]; then log "spark-operator $SPARK_OPERATOR_VERSION: binary cached ($BIN)"; exit 0; fi
command -v go >/dev/null || die "go missing"
mkdir -p "$OUT"
log "spark-operator $SPARK_OPERATOR_VERSION: go mod download"
dir="$(cd / && GOFLAGS=-mod=mod go mod download -json "$MODULE@$SPARK_OPERATOR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -d "$dir" ] || die "go mod download $MODULE@$SPARK_OPERATOR_VERSION failed"
rm -rf "$OUT/src"; cp -r "$dir" "$OUT/src"; chmod -R u+w "$OUT/src"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$SPARK_OPERATOR_VERSION -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
cd "$OUT/src"
mkdir -p "$OUT/bin"
log "spark-operator $SPARK_OPERATOR_VERSION: go build ./cmd/operator (about 3 minutes on 2 cores with cold caches)"
run_logged "spark-operator-$SPARK_OPERATOR_VERSION-build" 15 env CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod \
  go build -v -trimpath -ldflags "$ldflags" -o "$BIN.new" ./cmd/operator
mv "$BIN.new" "$BIN"
install -m 0755 entrypoint.sh "$OUT/entrypoint.sh"
rm -rf "$OUT/src"
log "spark-operator $SPARK_OPERATOR_VERSION: $BIN ($(du -h "$BIN" | cut -f1))"
