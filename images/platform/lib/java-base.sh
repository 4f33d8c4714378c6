# Sourced by images/platform/*.sh: Java base images without any container registry.
#   java_base IMAGE SUITE PACKAGES...
# mmdebstrap's a Debian minbase of SUITE (bookworm or trixie) with PACKAGES from the same
# Debian archive the host's apt uses (the URIs of its sources file, other suite), then
# `docker import`s it as IMAGE. The root file system is cached in
# $K8S_CACHE/base-<IMAGE as file name>-<hash of suite and packages>/rootfs.tar; the image is
# rebuilt only when it is missing or was imported from another package list (image label).
# No CA of this machine goes into these images: mmdebstrap fetches with the host's apt.
# Needs: k8s/node/lib.sh sourced (log, die, run_logged, K8S_CACHE, DOCKER_HOST_URI).

java_base() {
  local image=$1 suite=$2; shift 2
  local pkgs; pkgs="$(printf '%s\n' "$@" | sort -u | paste -sd, -)"
  local key; key="$(printf '%s %s v1' "$suite" "$pkgs" | sha256sum | cut -c1-12)"
  local docker=(docker -H "$DOCKER_HOST_URI")
  if [ "$("${docker[@]}" image inspect -f '{{ index .Config.Labels "io.coinstream.base-key" }}' "$image" 2>/dev/null)" = "$key" ]; then
    log "base image $image: present"; return 0
  fi
  local out="$K8S_CACHE/base-$(echo "$image" | tr '/:' '__')-$key" tar
  tar="$out/rootfs.tar"
  if [ ! -s "$tar" ]; then
    command -v mmdebstrap >/dev/null || die "mmdebstrap missing (apt-get install mmdebstrap)"
    local hostsrc=/etc/apt/sources.list.d/debian.sources uri
    if [ -f "$hostsrc" ]; then
      uri="$(sed -n 's/^URIs:[[:space:]]*//p' "$hostsrc" | awk '{print $1}' | grep -v -- '-security' | head -n1)"
    else
      uri="$(awk '$1=="deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list)"
    fi
    [ -n "$uri" ] || die "cannot read the Debian archive's URI from the host's apt sources"
    mkdir -p "$out"
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$uri" "$suite" "$suite" > "$out/debian.sources"
    log "base image $image: mmdebstrap $suite minbase + $pkgs (about 1 min)"
    run_logged "base-$(basename "$out")" 15 mmdebstrap --variant=minbase --mode=root \
      --include="$pkgs" \
      --aptopt='Acquire::Languages "none"' \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-exclude=/usr/share/locale/*' \
      --essential-hook='mkdir -p "$1"/usr/share/man/man1' \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
      "$suite" "$out/rootfs.tmp.tar" "$out/debian.sources"
    mv "$out/rootfs.tmp.tar" "$tar"
  fi
  local start=$SECONDS
  "${docker[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL io.coinstream.base-key=$key" \
    "$tar" "$image" >/dev/null
  log "base image $image: imported in $(( SECONDS - start ))s ($(du -h "$tar" | cut -f1) root file system)"
}

# platform_fetch KIND ...: the local runtime's cached, verified downloads (coinstream.runtime),
# printing the directory: `trino` (trino-server tarball, unpacked), `hadoop` (HDFS jars),
# `spark-kafka` (the Spark Kafka connector jars).
platform_fetch() {
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
  "$root/.venv/bin/python" - "$1" <<'PY'
import sys
from pathlib import Path
from coinstream.runtime import fetch, hdfs, lander, trino
from coinstream.runtime.config import LocalSettings
cache = LocalSettings().cache
kind = sys.argv[1]
if kind == "trino":
    d = fetch.archive(f"trino-server {trino.TRINO_VERSION}", cache / f"trino-server-{trino.TRINO_VERSION}", trino.ARCHIVE)
elif kind == "hadoop":
    d = fetch.jars(f"hadoop {hdfs.HADOOP_VERSION}", cache / f"hadoop-{hdfs.HADOOP_VERSION}", hdfs.ARTIFACTS)
elif kind == "spark-kafka":
    d = fetch.jars(f"spark-sql-kafka {lander.SPARK_VERSION}", cache / f"spark-sql-kafka-{lander.SPARK_VERSION}",
                   lander.KAFKA_CONNECTOR, transitive=False)
else:
    sys.exit(f"unknown kind {kind}")
print(d)
PY
}

# assert_no_build_ca IMAGE: fail when IMAGE carries this machine's CA files or a pip/SSL CA setting.
assert_no_build_ca() {
  local image=$1 f fp
  local docker=(docker -H "$DOCKER_HOST_URI")
  if "${docker[@]}" run --rm --network none --entrypoint /bin/sh "$image" -c \
      'test -e /usr/local/share/build-ca-bundle.pem || ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1 || env | grep -Eq "^(PIP_CERT|SSL_CERT_FILE|REQUESTS_CA_BUNDLE)="'; then
    die "$image carries a build CA"
  fi
  # and no file in the image holds one of this machine's CA certificates
  for f in /usr/local/share/ca-certificates/*.crt; do
    [ -e "$f" ] || continue
    fp="$(sed -n '2p' "$f" | cut -c1-60)"
    if "${docker[@]}" run --rm --network none --entrypoint /bin/sh "$image" -c \
        "grep -rqsF -- '$fp' /etc/ssl /usr/local/share /usr/share/ca-certificates /opt 2>/dev/null"; then
      die "$image holds the CA of $f"
    fi
  done
  log "image $image: no build CA ($("${docker[@]}" image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
}
