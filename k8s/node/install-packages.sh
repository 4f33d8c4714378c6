#!/usr/bin/env bash
# The Debian packages the node needs (from Debian's archive through apt); skipped when all
# commands are present. None of their services is started here (policy-rc.d): the node
# starts its own daemons.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need=()
for c in dockerd:docker.io containerd:containerd runc:runc etcd:etcd-server mmdebstrap:mmdebstrap \
         /usr/lib/cni/bridge:containernetworking-plugins iptables:iptables conntrack:conntrack socat:socat \
         openssl:openssl envsubst:gettext-base gcc:gcc; do
  cmd=${c%%:*}; pkg=${c#*:}
  if [[ $cmd == /* ]]; then [ -x "$cmd" ] || need+=("$pkg"); else command -v "$cmd" >/dev/null || need+=("$pkg"); fi
done
[ ${#need[@]} -eq 0 ] && { log "packages: all present"; exit 0; }
log "packages: apt-get install ${need[*]}"
flock /var/lock/coinstream-apt.lock apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive flock /var/lock/coinstream-apt.lock apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
