#!/usr/bin/env bash
# `make k8s-down`: stops the node of `make k8s-up` (its processes by PID, the private Docker
# daemon), unmounts, deletes the network namespace and its bridges, removes the node's
# state; keeps the build cache (~/.cache/coinstream/k8s/<thing>-<version>, Docker data root).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/k8s/node/lib.sh"
start=$SECONDS
"$ROOT/k8s/node/stop-node.sh"
# What is left of ours, if anything (the check prints nothing when clean).
left=0
for p in /proc/[0-9]*; do
  p=${p#/proc/}; [ "$p" = $$ ] && continue
  if { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$K8S_STATE/"; then
    log "still running: $p $({ tr '\0' ' ' < /proc/$p/cmdline; } 2>/dev/null | cut -c1-100)"; left=1
  fi
done
if ip netns list 2>/dev/null | grep -qw "^$NETNS"; then log "netns $NETNS still there"; left=1; fi
if grep -qF -- "$K8S_STATE" /proc/self/mountinfo; then log "mounts under $K8S_STATE still there"; left=1; fi
if [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ] && mountpoint -q /run/netns; then log "/run/netns is still a mount (of ip netns add)"; fi
[ -e "$K8S_STATE" ] && { log "$K8S_STATE still there"; left=1; }
log "k8s-down: $(( SECONDS - start ))s$([ $left = 0 ] && echo ', nothing left')"
exit $left
