#!/usr/bin/env bash
# The Java base image of the operator images (Strimzi's operator and Kafka images, the
# spark-operator image), without any container registry: Debian trixie minbase (bookworm
# has only Java 17) with openjdk-21-jre-headless, openssl, bash, tini, passwd and the tools Strimzi's Kafka scripts call (gawk, netstat, curl, hostname), made by
# mmdebstrap from the Debian archive the host's apt uses, then `docker import`ed as
# $JAVA_BASE_IMAGE. Debian's own ca-certificates only: the machine's CA is not in it.
# The root file system tarball is cached in $K8S_CACHE/base-java21-trixie/.
# Prints nothing on stdout (the image stays in the build daemon; it is no node image).
set -euo pipefail
. "$(dirname "$0")/../../../k8s/node/lib.sh"

JAVA_BASE_IMAGE="${JAVA_BASE_IMAGE:-coinstream-base/java:21-trixie}"
DOCKER=(docker -H "$DOCKER_HOST_URI")
OUT="$K8S_CACHE/base-java21-trixie"
TAR="$OUT/rootfs.tar"

if "${DOCKER[@]}" image inspect "$JAVA_BASE_IMAGE" >/dev/null 2>&1; then
  log "java base image $JAVA_BASE_IMAGE: present"; exit 0
fi
if [ ! -s "$TAR" ]; then
  command -v mmdebstrap >/dev/null || die "mmdebstrap missing (apt-get install mmdebstrap)"
  # the archive the host's apt uses (its first URIs line / deb line), with the trixie suite
  sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$sources" ]; then
    uri="$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$sources" | head -n1)"
  else
    uri="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  [ -n "$uri" ] || die "no Debian archive found in the host's apt sources"
  mkdir -p "$OUT"
  start=$SECONDS
  # (man pages are left out, but the JRE's update-alternatives needs /usr/share/man/man1)
  log "java base image: mmdebstrap trixie minbase with openjdk-21-jre-headless (about 1 minute)"
  run_logged base-java21-trixie-mmdebstrap 15 mmdebstrap --variant=minbase --mode=root \
    --include=openjdk-21-jre-headless,openssl,tini,passwd,procps,hostname,ca-certificates,gawk,net-tools,curl,findutils,tar,gzip,unzip \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --essential-hook='mkdir -p "$1"/usr/share/man/man1' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    trixie "$OUT/rootfs.tmp.tar" "deb $uri trixie main"
  mv "$OUT/rootfs.tmp.tar" "$TAR"
  log "java base image: root file system $(du -h "$TAR" | cut -f1) in $(( SECONDS - start ))s"
fi
start=$SECONDS
"${DOCKER[@]}" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64' \
  --change 'CMD ["/bin/bash"]' \
  "$TAR" "$JAVA_BASE_IMAGE" >/dev/null
log "java base image $JAVA_BASE_IMAGE: imported in $(( SECONDS - start ))s ($("${DOCKER[@]}" run --rm --network none "$JAVA_BASE_IMAGE" java -version 2>&1 | head -n1))"
