#!/usr/bin/env bash
# A private Docker daemon for building and exporting the node's images:
#   dockerd.sh start | stop | status
# Its own data root (kept in the build cache: images survive `make k8s-down`), exec root,
# socket and pid file under the node state; no iptables rules, no masquerading, no
# forwarding, no bridge: it changes nothing of the host's network (builds use --network host).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PIDFILE="$DOCKER_RUN/dockerd.pid"
DOCKER=(docker -H "$DOCKER_HOST_URI")

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && "${DOCKER[@]}" version >/dev/null 2>&1; }

case "${1:-start}" in
start)
  if running; then log "dockerd: already running (pid $(cat "$PIDFILE"))"; exit 0; fi
  command -v dockerd >/dev/null || die "dockerd missing (apt-get install docker.io)"
  mkdir -p "$DOCKER_ROOT" "$DOCKER_RUN/exec"
  echo '{}' > "$DOCKER_RUN/daemon.json"
  setsid dockerd \
    --config-file "$DOCKER_RUN/daemon.json" \
    --data-root "$DOCKER_ROOT" \
    --exec-root "$DOCKER_RUN/exec" \
    --host "$DOCKER_HOST_URI" \
    --pidfile "$PIDFILE" \
    --iptables=false --ip-masq=false --ip-forward=false --bridge=none --ipv6=false \
    --userland-proxy=false --storage-driver overlay2 \
    >"$DOCKER_RUN/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$DOCKER_RUN/dockerd.launcher.pid"
  wait_for 60 "dockerd up" "${DOCKER[@]}" version || { tail -n 20 "$DOCKER_RUN/dockerd.log" >&2; exit 1; }
  ;;
stop)
  [ -f "$PIDFILE" ] || { log "dockerd: not running"; exit 0; }
  pid="$(cat "$PIDFILE")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PIDFILE" "$DOCKER_RUN/dockerd.launcher.pid"
  log "dockerd: stopped (pid $pid)"
  ;;
status) running && echo "dockerd running (pid $(cat "$PIDFILE"))" || { echo "dockerd not running"; exit 1; } ;;
*) die "usage: $0 start|stop|status" ;;
esac
