#!/usr/bin/env bash
# Debian packages coinstream needs on a fresh machine: Maven (downloads Kafka,
# Hadoop, Trino and the Spark Kafka connector), and Prometheus (promtool for
# rule tests; the server for `coinstream up --prometheus`).
set -euo pipefail
need=()
command -v mvn >/dev/null || need+=(maven)
command -v promtool >/dev/null || need+=(prometheus)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing Debian packages: ${need[*]}"
$SUDO flock /var/lock/coinstream-apt.lock apt-get update -qq
# Do not let the package start a system-wide Prometheus service.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  echo exit 101 | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO flock /var/lock/coinstream-apt.lock apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
