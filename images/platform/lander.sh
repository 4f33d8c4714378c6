#!/usr/bin/env bash
# The price lander's image under the name the chart gives it with values-kind's empty
# image.registry (values.yaml lander.image: coinstream-price-lander:<Chart appVersion>), built
# here from spark-apps/price_lander/Dockerfile without any container registry:
#   coinstream-base/spark-java:21-trixie   lib/java-base.sh: trixie minbase + openjdk-21-jre-headless,
#                                          Debian's python3 (+ pip), tini, bash, procps, passwd,
#                                          util-linux (setpriv), libnss-wrapper
#   coinstream-base/spark:4.1.1-scala2.13-java21-python3-trixie
#                                          dockerfiles/spark/: what apache/spark offers the Spark
#                                          operator: SPARK_HOME /opt/spark = the pyspark 4.1.1 sdist's
#                                          Spark (spark-operator/build-spark-home.sh) + python/ of the
#                                          same sdist, /opt/entrypoint.sh (driver, executor), tini,
#                                          user 185, work dir /opt/spark/work-dir     -> SPARK_IMAGE
#   coinstream-build/spark-kafka-jars:4.1.1  build only: the Kafka connector's four jars in /jars
#                                          (platform_fetch spark-kafka, fetched by the local runtime
#                                          on the host)                               -> MAVEN_IMAGE
#   coinstream-build/spark-pip:4.1.1       build only: the Spark base + this machine's CA bundle
#                                          (images/python-build.Dockerfile), for the pip stage
# The pip stage needs the CA (TLS-intercepting proxy), the image that runs must not carry it: as
# in images/build-services.sh the build uses a copy of the Dockerfile whose `FROM ${SPARK_IMAGE}
# AS build` line reads PYTHON_BUILD_IMAGE (generated in the cache, never committed).
# Prints only the image reference to load into the node on stdout; progress on stderr. Cached:
# each image is rebuilt only when its inputs change (label io.coinstream.inputs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$ROOT/k8s/node/lib.sh"
. "$HERE/lib/java-base.sh"
. "$HERE/lib/chart.sh"
. "$HERE/lib/build-stage.sh"
DOCKER=(docker -H "$DOCKER_HOST_URI")
export DOCKER_BUILDKIT=0

PYSPARK_VERSION="${PYSPARK_VERSION:-4.1.1}"            # = the chart's lander.sparkVersion
SPARK_OPERATOR_VERSION="${SPARK_OPERATOR_VERSION:-v2.5.2}"  # build-spark-home.sh caches under its folder
export PYSPARK_VERSION SPARK_OPERATOR_VERSION
IMAGE="coinstream-price-lander:$(chart_app_version)"
JAVA_IMAGE="coinstream-base/spark-java:21-trixie"      # not the operators' base (another package set)
SPARK_IMAGE="coinstream-base/spark:$PYSPARK_VERSION-scala2.13-java21-python3-trixie"
JARS_IMAGE="coinstream-build/spark-kafka-jars:$PYSPARK_VERSION"
PIP_IMAGE="coinstream-build/spark-pip:$PYSPARK_VERSION"
WORK="$K8S_CACHE/lander"
SDIST_DIR="$K8S_CACHE/spark-operator-$SPARK_OPERATOR_VERSION/pyspark-$PYSPARK_VERSION"
mkdir -p "$WORK"

image_id() { "${DOCKER[@]}" image inspect -f '{{.Id}}' "$1"; }
image_size() { "${DOCKER[@]}" image inspect -f '{{.Size}}' "$1" | awk '{printf "%d MB", $1/1e6}'; }
# up_to_date IMAGE INPUTS: IMAGE exists and was built from INPUTS
up_to_date() {
  [ "$("${DOCKER[@]}" image inspect -f '{{ index .Config.Labels "io.coinstream.inputs" }}' "$1" 2>/dev/null)" = "$2" ]
}
# link_tree FROM TO: hard links (no copy of the jars), a copy across file systems
link_tree() { cp -al "$1" "$2" 2>/dev/null || cp -a "$1" "$2"; }

# ---- the Java 21 + python3 base ---------------------------------------------------------
java_base "$JAVA_IMAGE" trixie openjdk-21-jre-headless python3 python3-pip tini bash procps \
  passwd util-linux libnss-wrapper coreutils

# ---- the Spark base: SPARK_HOME and python/ from the pyspark sdist ------------------------
"$HERE/spark-operator/build-spark-home.sh" >&2
python_dir="$WORK/pyspark-$PYSPARK_VERSION-python"
if [ ! -f "$python_dir/.done" ]; then
  sdist="$SDIST_DIR/dl/pyspark-$PYSPARK_VERSION.tar.gz"
  [ -s "$sdist" ] || die "no pyspark sdist at $sdist (spark-operator/build-spark-home.sh keeps it there)"
  rm -rf "$python_dir" "$python_dir.tmp"; mkdir -p "$python_dir.tmp"
  # pyspark/ (the package) and lib/ (pyspark.zip, py4j-*-src.zip): Spark's python/ folder
  tar -xzf "$sdist" -C "$python_dir.tmp" --strip-components=1 "pyspark-$PYSPARK_VERSION/pyspark" "pyspark-$PYSPARK_VERSION/lib"
  touch "$python_dir.tmp/.done"; mv "$python_dir.tmp" "$python_dir"
  log "python/ of Spark from the pyspark $PYSPARK_VERSION sdist: $(du -sh "$python_dir" | cut -f1)"
fi
py4j_zip="$(cd "$python_dir/lib" && ls py4j-*-src.zip)"
[ -f "$python_dir/lib/pyspark.zip" ] || die "no lib/pyspark.zip in the pyspark sdist"

spark_inputs="$( { image_id "$JAVA_IMAGE"; echo "$PYSPARK_VERSION $py4j_zip";
                   cat "$HERE/dockerfiles/spark/Dockerfile" "$HERE/dockerfiles/spark/entrypoint.sh" \
                       "$HERE/spark-operator/build-spark-home.sh"; } | sha256sum | cut -c1-16)"
if up_to_date "$SPARK_IMAGE" "$spark_inputs"; then
  log "image $SPARK_IMAGE: up to date"
else
  ctx="$WORK/spark-context"
  rm -rf "$ctx"; mkdir -p "$ctx"
  link_tree "$SDIST_DIR/spark" "$ctx/spark"; rm -f "$ctx/spark/.done"
  link_tree "$python_dir" "$ctx/python"; rm -f "$ctx/python/.done"
  install -m 0755 "$HERE/dockerfiles/spark/entrypoint.sh" "$ctx/entrypoint.sh"
  chmod -R a+rX "$ctx"   # the files go in as they are (a chmod in the image would copy the jars)
  start=$SECONDS
  run_logged image-spark-base 15 "${DOCKER[@]}" build --network none --label "io.coinstream.inputs=$spark_inputs" \
    --build-arg JAVA_IMAGE="$JAVA_IMAGE" --build-arg SPARK_VERSION="$PYSPARK_VERSION" --build-arg PY4J_ZIP="$py4j_zip" \
    -f "$HERE/dockerfiles/spark/Dockerfile" -t "$SPARK_IMAGE" "$ctx"
  rm -rf "$ctx"
  log "image $SPARK_IMAGE: built in $(( SECONDS - start ))s ($(image_size "$SPARK_IMAGE"))"
fi

# ---- build only: the connector's jars, and the Spark base with the CA for pip -------------
jars="$(platform_fetch spark-kafka)"
ls "$jars"/spark-sql-kafka-0-10_*.jar >/dev/null 2>&1 || die "no spark-sql-kafka jar in $jars"
jars_inputs="$( { image_id "$JAVA_IMAGE"; cat "$jars/.coinstream-manifest.json" "$HERE/dockerfiles/spark-kafka-jars.Dockerfile"; } \
                | sha256sum | cut -c1-16)"
if up_to_date "$JARS_IMAGE" "$jars_inputs"; then
  log "image $JARS_IMAGE: up to date"
else
  ctx="$WORK/jars-context"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -al "$jars"/*.jar "$ctx/" 2>/dev/null || cp -a "$jars"/*.jar "$ctx/"
  "${DOCKER[@]}" build -q --network none --label "io.coinstream.inputs=$jars_inputs" --build-arg BASE_IMAGE="$JAVA_IMAGE" \
    -f "$HERE/dockerfiles/spark-kafka-jars.Dockerfile" -t "$JARS_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  log "image $JARS_IMAGE: $(ls "$jars"/*.jar | wc -l) jars"
fi

ca_build_image "$SPARK_IMAGE" "$PIP_IMAGE" "$WORK/pip-context"

# ---- the lander ----------------------------------------------------------------------------
dockerfile="$WORK/lander.Dockerfile"
build_stage_on_ca "$ROOT/spark-apps/price_lander/Dockerfile" SPARK_IMAGE "$dockerfile"
[ "$(grep -c '^FROM \${SPARK_IMAGE}$' "$dockerfile")" = 1 ] || die "spark-apps/price_lander/Dockerfile's final stage is no longer 'FROM \${SPARK_IMAGE}'"

inputs="$( { cat "$0" "$dockerfile"; image_id "$SPARK_IMAGE"; image_id "$PIP_IMAGE"; image_id "$JARS_IMAGE";
             cd "$ROOT" && find services/common/coinstream_contract services/common/coinstream_common spark-apps/price_lander -type f \
               ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)"
if up_to_date "$IMAGE" "$inputs"; then
  log "image $IMAGE: up to date"; echo "$IMAGE"; exit 0
fi
start=$SECONDS
run_logged image-lander 15 "${DOCKER[@]}" build --network host --label "io.coinstream.inputs=$inputs" \
  --build-arg SPARK_IMAGE="$SPARK_IMAGE" --build-arg PYTHON_BUILD_IMAGE="$PIP_IMAGE" --build-arg MAVEN_IMAGE="$JARS_IMAGE" \
  -f "$dockerfile" -t "$IMAGE" "$ROOT"
log "image $IMAGE: built in $(( SECONDS - start ))s"
assert_no_build_ca "$IMAGE"
"${DOCKER[@]}" run --rm --network none --entrypoint python3 "$IMAGE" -c \
  "import coinstream_contract.events, coinstream_common.kafka, coinstream_lander.runner, pyspark; print('python3 imports: pyspark', pyspark.__version__)" >&2 \
  || die "$IMAGE: the lander's packages do not import"
echo "$IMAGE"
