# Shared helpers of the add-ons (sourced, not run: k8s-up runs only k8s/addons/*.sh).
# Each add-on builds its program once into $K8S_CACHE/<name>-<version>/bin (Go module proxy
# only), wraps it in an image on the local base in the private Docker daemon, imports that
# image into the node's containerd (k8s/node/load-images.sh) and applies its manifest.
ADDONS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(cd "$ADDONS/../.." && pwd)"
NODE="$ROOT/k8s/node"
. "$NODE/lib.sh"
export KUBECONFIG="${KUBECONFIG:-$KUBECONFIG_HOST}"
KUBECTL="$K8S_BIN/kubectl"
DOCKER=(docker -H "$DOCKER_HOST_URI")

# go_install NAME VERSION MODULE_PATH@VERSION [LDFLAGS]: cached `go install` into
# $K8S_CACHE/NAME-VERSION/bin
go_install() {
  local name=$1 version=$2 pkg=$3 ldflags=${4:--s -w} out="$K8S_CACHE/$1-$2/bin"
  [ -x "$out/$name" ] && { log "$name $version: cached binary"; return 0; }
  mkdir -p "$out"
  log "$name $version: go install (minutes on 2 cores)"
  GOBIN="$out" CGO_ENABLED=0 GOWORK=off GOFLAGS="-buildvcs=false" \
    run_logged "$name-$version-build" 20 go install -v -trimpath -ldflags "$ldflags" "$pkg"
}

# base_image IMAGE BINARY [ENTRYPOINT_ARGS_JSON]: an image FROM the local Python base
# (its layers are already in the node: local-path-provisioner uses the same base) with
# BINARY as /usr/local/bin/<name> and the entrypoint; built only when missing.
base_image() {
  local image=$1 bin=$2 name ctx
  name="$(basename "$bin")"
  if "${DOCKER[@]}" image inspect "$image" >/dev/null 2>&1; then log "image $image: cached"; return 0; fi
  ctx="$(mktemp -d)"
  cp "$bin" "$ctx/$name"
  printf 'FROM %s\nCOPY %s /usr/local/bin/%s\nENTRYPOINT ["/usr/local/bin/%s"]\n' "$BASE_IMAGE" "$name" "$name" "$name" > "$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 "${DOCKER[@]}" build -q -t "$image" "$ctx" >/dev/null || { rm -rf "$ctx"; die "docker build $image failed"; }
  rm -rf "$ctx"
  log "image $image: built"
}

# node_image IMAGE: import into the node's containerd (skipped when already there)
node_image() {
  local ref=$1  # as containerd names it: registry host first (Docker Hub's), library/ for a bare name
  case "$ref" in
    */*) case "${ref%%/*}" in *.*|*:*|localhost) ;; *) ref="docker.io/$ref" ;; esac ;;
    *) ref="docker.io/library/$ref" ;;
  esac
  if ctr -a "$K8S_STATE/containerd/containerd.sock" -n k8s.io images ls -q 2>/dev/null | grep -qxF "$ref"; then return 0; fi
  "$NODE/load-images.sh" "$1"
}

# apply_manifest FILE VAR...: envsubst the listed variables into FILE and apply it
apply_manifest() {
  local f=$1; shift
  local vars="" v
  for v in "$@"; do export "${v?}"; vars+="\${$v} "; done
  envsubst "$vars" < "$f" | "$KUBECTL" apply -f - >/dev/null
}
