#!/usr/bin/env bash
# The Python base image of the service images, without any container registry:
# Debian bookworm minbase with python3 (3.11), python3-venv and ca-certificates, made by
# mmdebstrap from the same Debian archive the host's apt uses (its sources file), then
# `docker import`ed as $BASE_IMAGE into the private Docker daemon (k8s/node/dockerd.sh).
# The root file system tarball is cached in $K8S_CACHE/base-python3.11-bookworm/.
set -euo pipefail
. "$(dirname "$0")/../k8s/node/lib.sh"

DOCKER=(docker -H "$DOCKER_HOST_URI")
OUT="$K8S_CACHE/base-python3.11-bookworm"
TAR="$OUT/rootfs.tar"

if "${DOCKER[@]}" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "base image $BASE_IMAGE: present"; exit 0
fi
if [ ! -s "$TAR" ]; then
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing (apt-get install mmdebstrap)"
  sources=/etc/apt/sources.list.d/debian.sources
  [ -f "$sources" ] || sources=/etc/apt/sources.list
  mkdir -p "$OUT"
  start=$SECONDS
  log "base image: mmdebstrap bookworm minbase (about 20-40 s)"
  # python-is-python3: the Dockerfile and its HEALTHCHECK call `python`; passwd: groupadd/useradd.
  run_logged base-mmdebstrap 10 mmdebstrap --variant=minbase --mode=root \
    --include=python3,python3-venv,python-is-python3,ca-certificates,passwd \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm "$OUT/rootfs.tmp.tar" "$sources"
  mv "$OUT/rootfs.tmp.tar" "$TAR"
  log "base image: root file system $(du -h "$TAR" | cut -f1) in $(( SECONDS - start ))s"
fi
start=$SECONDS
"${DOCKER[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  "$TAR" "$BASE_IMAGE" >/dev/null
log "base image $BASE_IMAGE: imported in $(( SECONDS - start ))s ($("${DOCKER[@]}" run --rm --network none "$BASE_IMAGE" python --version 2>&1))"
