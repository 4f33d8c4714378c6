#!/bin/bash
# The container entrypoint of coinstream-base/spark, after Spark's own for Kubernetes
# (kubernetes/dockerfiles/spark/entrypoint.sh of the Spark distribution, as apache/spark's
# images ship it in /opt/entrypoint.sh). spark-submit's Kubernetes backend, which the Spark
# operator drives, starts the pods with one of two commands:
#   driver ARGS...  spark-submit --deploy-mode client with spark.driver.bindAddress =
#                   $SPARK_DRIVER_BIND_ADDRESS (the pod IP); ARGS are the submission's
#                   (--properties-file, --class, the application and its arguments)
#   executor        the JVM of org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend,
#                   configured by SPARK_DRIVER_URL, SPARK_EXECUTOR_{ID,CORES,MEMORY,POD_IP,POD_NAME},
#                   SPARK_APPLICATION_ID, SPARK_RESOURCE_PROFILE_ID and SPARK_JAVA_OPT_<n>
# Both run under tini (-s: a subreaper also when tini is not PID 1), as the spark user when
# started as root. Any other command runs as given (pass-through).
set -eo pipefail

# A UID without a passwd entry (a random UID as on OpenShift): name it through nss_wrapper,
# because Hadoop's login and Java's user.name need one.
fake_passwd_entry() {
  local myuid mygid wrapper
  myuid="$(id -u)"
  getent passwd "$myuid" >/dev/null 2>&1 && return 0
  for wrapper in {/usr,}/lib{/*,}/libnss_wrapper.so; do
    if [ -s "$wrapper" ]; then
      mygid="$(id -g)"
      NSS_WRAPPER_PASSWD="$(mktemp)"
      NSS_WRAPPER_GROUP="$(mktemp)"
      export LD_PRELOAD="$wrapper" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
      printf 'spark:x:%s:%s:%s:%s:/bin/false\n' "$myuid" "$mygid" "${SPARK_USER_NAME:-anonymous uid}" "$SPARK_HOME" > "$NSS_WRAPPER_PASSWD"
      printf 'spark:x:%s:\n' "$mygid" > "$NSS_WRAPPER_GROUP"
      return 0
    fi
  done
}

# started as root (docker run --user 0): drop to the spark user, as Spark's image does with gosu
as_spark() {
  if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid=spark --regid=spark --init-groups -- "$@"
  fi
  exec "$@"
}

: "${SPARK_HOME:=/opt/spark}"
if [ -z "${JAVA_HOME:-}" ]; then
  JAVA_HOME="$(java -XshowSettings:properties -version 2>&1 >/dev/null | awk '$1 == "java.home" {print $3}')"
fi

SPARK_CLASSPATH="${SPARK_CLASSPATH:+$SPARK_CLASSPATH:}$SPARK_HOME/jars/*"
if [ -n "${SPARK_EXTRA_CLASSPATH:-}" ]; then
  SPARK_CLASSPATH="$SPARK_CLASSPATH:$SPARK_EXTRA_CLASSPATH"
fi
# the executor's JVM options, SPARK_JAVA_OPT_0, _1, ... in their numeric order
SPARK_EXECUTOR_JAVA_OPTS=()
while IFS= read -r v; do
  [ -n "$v" ] && SPARK_EXECUTOR_JAVA_OPTS+=("${!v}")
done < <(compgen -v SPARK_JAVA_OPT_ | sort -t_ -k4 -n)

if [ -n "${PYSPARK_PYTHON+x}" ]; then export PYSPARK_PYTHON; fi
if [ -n "${PYSPARK_DRIVER_PYTHON+x}" ]; then export PYSPARK_DRIVER_PYTHON; fi

# Hadoop jars of a HADOOP_HOME for the executor, unless SPARK_DIST_CLASSPATH is given
if [ -n "${HADOOP_HOME:-}" ] && [ -z "${SPARK_DIST_CLASSPATH:-}" ]; then
  SPARK_DIST_CLASSPATH="$("$HADOOP_HOME/bin/hadoop" classpath)"
  export SPARK_DIST_CLASSPATH
fi
if [ -n "${HADOOP_CONF_DIR+x}" ]; then
  SPARK_CLASSPATH="$HADOOP_CONF_DIR:$SPARK_CLASSPATH"
fi
if [ -n "${SPARK_CONF_DIR+x}" ]; then
  SPARK_CLASSPATH="$SPARK_CONF_DIR:$SPARK_CLASSPATH"
else
  SPARK_CLASSPATH="$SPARK_HOME/conf:$SPARK_CLASSPATH"
fi
# SPARK-43540: the working directory (files the driver ships) is on the executor's class path
SPARK_CLASSPATH="$SPARK_CLASSPATH:$PWD"

case "${1:-}" in
  driver)
    shift 1
    CMD=(
      "$SPARK_HOME/bin/spark-submit"
      --conf "spark.driver.bindAddress=$SPARK_DRIVER_BIND_ADDRESS"
      --conf "spark.executorEnv.SPARK_DRIVER_POD_IP=$SPARK_DRIVER_BIND_ADDRESS"
      --deploy-mode client
      "$@"
    )
    ;;
  executor)
    shift 1
    CMD=(
      "$JAVA_HOME/bin/java"
      "${SPARK_EXECUTOR_JAVA_OPTS[@]}"
      -Xms"$SPARK_EXECUTOR_MEMORY"
      -Xmx"$SPARK_EXECUTOR_MEMORY"
      -cp "$SPARK_CLASSPATH${SPARK_DIST_CLASSPATH:+:$SPARK_DIST_CLASSPATH}"
      org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend
      --driver-url "$SPARK_DRIVER_URL"
      --executor-id "$SPARK_EXECUTOR_ID"
      --cores "$SPARK_EXECUTOR_CORES"
      --app-id "$SPARK_APPLICATION_ID"
      --hostname "$SPARK_EXECUTOR_POD_IP"
      --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID"
      --podName "$SPARK_EXECUTOR_POD_NAME"
    )
    ;;
  "")
    echo "usage: /opt/entrypoint.sh driver ARGS... | executor | COMMAND [ARGS...]" >&2
    exit 2
    ;;
  *)
    # not a Spark-on-Kubernetes command: run it as given
    exec "$@"
    ;;
esac

fake_passwd_entry
as_spark /usr/bin/tini -s -- "${CMD[@]}"
