# shellcheck shell=bash
# Sourced by images/platform/*.sh: the chart's facts the image builders need.
#   chart_app_version   coinstream's image tag: the appVersion of helm/coinstream/Chart.yaml
#                       (COINSTREAM_IMAGE_TAG overrides it, as in images/build-services.sh)
# Needs: k8s/node/lib.sh sourced (die).

chart_app_version() {
  local chart; chart="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/helm/coinstream/Chart.yaml"
  local tag="${COINSTREAM_IMAGE_TAG:-$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}[[:space:]]*$/\1/p' "$chart")}"
  [ -n "$tag" ] || die "cannot read appVersion from $chart"
  echo "$tag"
}
