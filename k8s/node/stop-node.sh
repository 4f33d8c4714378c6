#!/usr/bin/env bash
# Stops the node started by start-node.sh and removes what it created: the containers
# (through containerd), the node's processes (by the PIDs in $K8S_STATE/pids), the mounts
# under $K8S_STATE, the network namespace with its bridges, the kubelet's cgroups, the
# /var/log/containers links, the host kubeconfig and $K8S_STATE itself.
# The build cache ($K8S_CACHE/*-<version>, the Docker data root, image tarballs) stays.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/lib.sh"
PIDS="$K8S_STATE/pids"
SOCK="$K8S_STATE/containerd/containerd.sock"

# stop_pid NAME PID [GRACE]: TERM, wait up to GRACE seconds, then KILL
stop_pid() {
  local name=$1 pid=$2 grace=${3:-10} i
  kill -0 "$pid" 2>/dev/null || return 0
  # every process of the node names the state dir in its command line: a PID reused by
  # someone else's process is left alone
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$K8S_STATE/" \
    || { log "pid $pid ($name) is no longer ours: left alone"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  log "stopped $name (pid $pid)"
}
pid_of() { [ -f "$PIDS/$1.pid" ] && cat "$PIDS/$1.pid"; }

# 1. the host relays: the API server's and the add-ons' (k8s/addons: ingress-relay), each
#    a session of its own: its per-connection children go with it
for f in "$PIDS"/*-relay.pid; do
  [ -f "$f" ] || continue
  r="$(basename "$f" .pid)"
  if p=$(pid_of "$r"); then stop_pid "$r" "$p" 3; kill -TERM -- "-$p" 2>/dev/null; fi
done

# 2. the kubelet first (it would restart containers), then every container of the node
if p=$(pid_of kubelet); then stop_pid kubelet "$p" 10; fi
if [ -S "$SOCK" ] && p=$(pid_of containerd) && kill -0 "$p" 2>/dev/null; then
  CTR=(ctr -a "$SOCK" -n k8s.io)
  tasks=$("${CTR[@]}" tasks ls -q 2>/dev/null || true)
  for t in $tasks; do timeout 10 "${CTR[@]}" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  for t in $tasks; do timeout 10 "${CTR[@]}" tasks delete -f "$t" >/dev/null 2>&1 || true; done
  n=$(echo "$tasks" | grep -c . || true); log "containers killed: $n"
fi

# 3. the node's processes: TERM to all at once, up to 10 s, then KILL (the API server may
#    ignore TERM for a while)
ours() { { tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$K8S_STATE/"; }
if [ -f "$PIDS/order" ]; then
  declare -A procs=()
  for name in $(tac "$PIDS/order"); do
    case "$name" in *-relay|kubelet) continue ;; esac
    p=$(pid_of "$name") || continue
    if kill -0 "$p" 2>/dev/null && ours "$p"; then procs[$p]=$name; kill -TERM "$p" 2>/dev/null; fi
  done
  for ((i = 0; i < 50; i++)); do
    alive=0; for p in "${!procs[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.2
  done
  for p in "${!procs[@]}"; do
    if kill -0 "$p" 2>/dev/null && ours "$p"; then kill -KILL "$p"; log "killed ${procs[$p]} (pid $p)"; else log "stopped ${procs[$p]} (pid $p)"; fi
  done
fi

# 4. the private Docker daemon
"$HERE/dockerd.sh" stop

# 5. leftovers: shims and container processes of this node (found by our state path in
#    their command line, or in the kubelet's cgroups if this run created them)
leftovers() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] && continue
    { tr '\0' ' ' < "/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$K8S_STATE/" && echo "$p"
  done
}
for p in $(leftovers | sort -u); do
  [ "$p" = $$ ] || [ "$p" = "$PPID" ] && continue
  stop_pid "leftover $({ tr '\0' ' ' < /proc/$p/cmdline; } 2>/dev/null | cut -c1-60)" "$p" 3
done
if [ -d "$K8S_STATE" ] && [ ! -s "$K8S_STATE/.had-kubepods" ] && [ -d /sys/fs/cgroup/pids/kubepods ]; then
  for p in $(find /sys/fs/cgroup/pids/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null); do
    log "leftover container process $p: KILL"; kill -KILL "$p" 2>/dev/null || true
  done
fi

# 6. mounts under the state dir (pod volumes, overlay snapshots, sandbox /dev/shm, pod netns)
for _ in 1 2 3; do
  mapfile -t mounts < <(awk -v s="$K8S_STATE/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-)
  [ ${#mounts[@]} -eq 0 ] && break
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
done
left=$(awk -v s="$K8S_STATE/" 'index($5, s) == 1' /proc/self/mountinfo | wc -l)
log "mounts under $K8S_STATE left: $left"

# 7. the network namespace (its bridges go with it)
if ip netns list | grep -qw "^$NETNS"; then
  ip netns exec "$NETNS" ip link del cni0 2>/dev/null || true
  ip netns exec "$NETNS" ip link del br-cs-node 2>/dev/null || true
  ip netns del "$NETNS" && log "netns $NETNS deleted"
fi
# `ip netns add` made /run/netns a bind mount of itself; if this node created the
# directory and nothing else is in it, undo both
if [ ! -f "$K8S_STATE/.had-run-netns" ] && [ -d /run/netns ] && [ -z "$(ls -A /run/netns)" ]; then
  mountpoint -q /run/netns && umount /run/netns
  rmdir /run/netns 2>/dev/null || true
fi

# 8. the kubelet's cgroups (only if this node created them), deepest first
if [ -d "$K8S_STATE" ] && [ ! -s "$K8S_STATE/.had-kubepods" ]; then
  for ctl in /sys/fs/cgroup/*/; do
    [ -d "$ctl/kubepods" ] || continue
    find "$ctl/kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
fi

# 9. the kubelet's /var/log/containers links into our pod logs
if [ -d /var/log/containers ]; then
  find /var/log/containers -maxdepth 1 -type l -lname "$K8S_STATE/*" -delete 2>/dev/null || true
  [ -f "$K8S_STATE/.had-var-log-containers" ] || rmdir /var/log/containers 2>/dev/null || true
fi

# 10. files
rm -f "$KUBECONFIG_HOST"
if [ -d "$K8S_STATE" ]; then
  rm -rf "$K8S_STATE" 2>/dev/null || { log "some of $K8S_STATE could not be removed"; }
fi
log "node stopped, state removed (build cache kept in $K8S_CACHE)"
