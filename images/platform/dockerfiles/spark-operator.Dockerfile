# Kubeflow spark-operator's image after its upstream Dockerfile (FROM apache/spark, tini,
# the binary, entrypoint.sh), on the trixie Java base: SPARK_HOME is the pyspark sdist's
# Spark (bin/spark-submit, jars/ with spark-kubernetes), which is what the controller runs
# spark-submit from. Context (made by images/platform/spark-operator.sh): spark/ (SPARK_HOME),
# spark-operator (the binary), entrypoint.sh (upstream's).
ARG JAVA_BASE_IMAGE=coinstream-base/java:21-trixie
FROM ${JAVA_BASE_IMAGE}

ARG SPARK_UID=185
ARG SPARK_GID=185
ARG SPARK_OPERATOR_VERSION=v2.5.2
LABEL org.opencontainers.image.source='https://github.com/kubeflow/spark-operator' \
      version="${SPARK_OPERATOR_VERSION}" \
      summary='Kubeflow spark-operator (built from its Go module) with Spark from the pyspark sdist.'

# spark-submit and the spark-class scripts need bash, ps and python3 only for PySpark apps
RUN groupadd -g ${SPARK_GID} spark && useradd -u ${SPARK_UID} -g ${SPARK_GID} -d /home/spark -m -s /bin/bash spark

ENV SPARK_HOME=/opt/spark \
    JAVA_HOME=/usr/lib/jvm/java-21-openjdk-amd64
ENV PATH=${SPARK_HOME}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

COPY spark/ ${SPARK_HOME}/
RUN mkdir -p /etc/k8s-webhook-server/serving-certs ${SPARK_HOME}/work-dir && \
    chmod -R g+rw /etc/k8s-webhook-server/serving-certs && \
    chown -R spark /etc/k8s-webhook-server/serving-certs /home/spark ${SPARK_HOME}/work-dir

COPY spark-operator /usr/bin/spark-operator
COPY entrypoint.sh /usr/bin/entrypoint.sh
WORKDIR ${SPARK_HOME}/work-dir
USER ${SPARK_UID}:${SPARK_GID}
ENTRYPOINT ["/usr/bin/entrypoint.sh"]
