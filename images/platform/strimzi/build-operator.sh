#!/usr/bin/env bash
# Strimzi's Java side from its source release, with Maven: the cluster, topic and user
# operators, kafka-init, kafka-agent and tracing-agent (their -dist.zip / jars), cached in
# $K8S_CACHE/strimzi-$STRIMZI_VERSION/ (source, Maven repository, dist/).
#
# Source: COINSTREAM_LOCAL_ARTIFACT_MIRROR/strimzi-kafka-operator-<v>-src.tar.gz when that
# setting is given, else Strimzi's public release (both through coinstream.crds.strimzi_source).
# Workarounds for the Maven Central reachable here (see images/platform/OPERATORS.md):
# JDK 25 with maven.compiler.release=21, maven-compiler-plugin 3.13.0 with proc=full,
# Lombok 1.18.42, the openshift-* fabric8 artifacts at 7.7.0 (7.8.0 is missing), no tests.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
. "$ROOT/k8s/node/lib.sh"

STRIMZI_VERSION="${STRIMZI_VERSION:-1.2.0}"
YQ_VERSION="${YQ_VERSION:-v4.54.3}"
JDK="${COINSTREAM_STRIMZI_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
OUT="$K8S_CACHE/strimzi-$STRIMZI_VERSION"
SRC="$OUT/src"
M2="$OUT/m2"
DIST="$OUT/dist"
YQ_DIR="$K8S_CACHE/yq-$YQ_VERSION"
PY="${COINSTREAM_PYTHON:-$ROOT/.venv/bin/python}"
MODULES=config-model-generator,cluster-operator,topic-operator,user-operator,kafka-init,kafka-agent,tracing-agent

# the inputs of the build: a change of this script rebuilds
STAMP="$(sha256sum "$0" | cut -c1-16)"
if [ -f "$DIST/.done" ] && [ "$(cat "$DIST/.done")" = "$STAMP" ]; then
  log "strimzi $STRIMZI_VERSION: Maven build cached ($DIST)"; exit 0
fi

# ---- mikefarah yq v4 (the version tools of the source call it; Debian's yq is another tool)
if [ ! -x "$YQ_DIR/bin/yq" ]; then
  mkdir -p "$YQ_DIR/bin"
  GOBIN="$YQ_DIR/bin" run_logged yq-go-install 15 env CGO_ENABLED=0 GOFLAGS=-mod=mod \
    go install "github.com/mikefarah/yq/v4@$YQ_VERSION"
fi

# ---- the source, extracted once (no top folder in a `git archive`; handled either way)
if [ ! -f "$SRC/.extracted" ]; then
  rm -rf "$SRC"; mkdir -p "$SRC"
  log "strimzi $STRIMZI_VERSION: fetching the source release (${COINSTREAM_LOCAL_ARTIFACT_MIRROR:+artifact mirror}${COINSTREAM_LOCAL_ARTIFACT_MIRROR:-public release})"
  (cd "$ROOT/local" && "$PY" -c '
import sys
from coinstream.crds import strimzi_source
from coinstream.runtime.config import LocalSettings
sys.stdout.buffer.write(strimzi_source(LocalSettings()))') > "$OUT/source.tar.gz"
  tar -xzf "$OUT/source.tar.gz" -C "$SRC"
  if [ ! -f "$SRC/pom.xml" ]; then
    top="$(find "$SRC" -mindepth 1 -maxdepth 1 -type d | head -n1)"
    (shopt -s dotglob; mv "$top"/* "$SRC"/; rmdir "$top")
  fi
  rm -f "$OUT/source.tar.gz"
  [ "$(cat "$SRC/release.version")" = "$STRIMZI_VERSION" ] || die "the source is not Strimzi $STRIMZI_VERSION"
  # openshift-* 7.8.0 is not on the Maven Central reachable here: 7.7.0 for that family only
  "$PY" - "$SRC/pom.xml" <<'PYEOF'
import re, sys
p = sys.argv[1]; s = open(p).read()
def fix(m):
    block = m.group(0)
    if re.search(r"<artifactId>openshift-[^<]*</artifactId>", block):
        block = re.sub(r"<version>\$\{fabric8\.[a-z-]+\.version\}</version>", "<version>7.7.0</version>", block)
    return block
s2 = re.sub(r"<dependency>.*?</dependency>", fix, s, flags=re.S)
open(p, "w").write(s2)
print(f"pom.xml: {s2.count('<version>7.7.0</version>')} openshift-* dependencies pinned to 7.7.0", file=sys.stderr)
PYEOF
  # Tests are not built (-Dmaven.test.skip) but Maven 3.8 still resolves test-scoped
  # dependencies, some of which (strimzi-test-container 0.116.0, ...) are not reachable:
  # drop them from the modules' poms (the root's dependencyManagement stays as it is).
  "$PY" - "$SRC" <<'PYEOF'
import glob, re, sys
DEP = re.compile(r"[ \t]*<dependency>(?:(?!<dependency>).)*?</dependency>\n?", re.S)
def aid(b):
    # groupId, artifactId, type, classifier: `api` and `api` test-jar are different entries
    return tuple((re.search(rf"<{t}>([^<]+)</{t}>", b) or [None, ""])[1].strip()
                 for t in ("groupId", "artifactId", "type", "classifier"))
root = open(sys.argv[1] + "/pom.xml").read()
# test-scoped in the root's dependencyManagement: a module's bare reference inherits the scope
managed_test = {aid(m.group(0)) for m in DEP.finditer(root) if "<scope>test</scope>" in m.group(0)}
n = 0
for p in glob.glob(sys.argv[1] + "/*/pom.xml"):
    s = open(p).read()
    def drop(m):
        global n
        b = m.group(0)
        if "<scope>test</scope>" in b or ("<scope>" not in b and aid(b) in managed_test):
            n += 1
            return ""
        return b
    s2 = DEP.sub(drop, s)
    if s2 != s:
        open(p, "w").write(s2)
print(f"module poms: {n} test-scoped dependencies dropped", file=sys.stderr)
PYEOF
  touch "$SRC/.extracted"
fi

# ---- Maven (the nested mvn calls of build-config-models.sh take MVN_ARGS)
TRUST=()
# the machine's CA bundle for Java (TLS interception), if there is one: build-time only
[ -f /etc/ssl/certs/java/cacerts ] && TRUST=(-Djavax.net.ssl.trustStore=/etc/ssl/certs/java/cacerts -Djavax.net.ssl.trustStorePassword=changeit)
export JAVA_HOME="$JDK" PATH="$YQ_DIR/bin:$JDK/bin:$PATH"
export MAVEN_OPTS="${MAVEN_OPTS:-} -Xmx2g ${TRUST[*]}"
export MVN_ARGS="-B -Dmaven.repo.local=$M2 -Dmaven.compiler.version=3.13.0 -Dmaven.compiler.proc=full -Dlombok.version=1.18.42 -Dmaven.test.skip=true -DskipTests -Dmdep.analyze.skip=true -Dmaven.javadoc.skip=true -Dspotbugs.skip=true -Dcheckstyle.skip=true"
mkdir -p "$M2"
cd "$SRC"
# shellcheck disable=SC2086
if [ ! -f "$SRC/.maven-done" ]; then
  log "strimzi $STRIMZI_VERSION: mvn install of $MODULES (about 1.5 min with a warm Maven repository, 3-5 min cold)"
  run_logged "strimzi-$STRIMZI_VERSION-maven" 15 mvn $MVN_ARGS -pl "$MODULES" -am install
  touch "$SRC/.maven-done"
fi

rm -rf "$DIST"; mkdir -p "$DIST"
for m in cluster-operator topic-operator user-operator kafka-init; do
  cp "$SRC/docker-images/artifacts/binaries/$m-$STRIMZI_VERSION-dist.zip" "$DIST/"
done
for m in kafka-agent tracing-agent; do
  cp "$SRC/$m/target/$m-$STRIMZI_VERSION.jar" "$DIST/"
done
echo "$STAMP" > "$DIST/.done"
log "strimzi $STRIMZI_VERSION: $(ls "$DIST" | tr '\n' ' ')"
