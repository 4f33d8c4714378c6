{{/*
Names, labels, images and the settings each component receives.
*/}}

{{- define "coinstream.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "coinstream.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels on every object; pass (dict "root" $ "component" "api"). */}}
{{- define "coinstream.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: coinstream
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
{{ include "coinstream.selectorLabels" . }}
{{- end }}

{{/* The labels a Service, PDB or NetworkPolicy selects a component's pods by. */}}
{{- define "coinstream.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coinstream.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* An image reference: (dict "root" $ "image" .Values.x.image "own" true); own images default to image.tag, then appVersion. */}}
{{- define "coinstream.image" -}}
{{- $registry := .image.registry | default "" }}
{{- $tag := .image.tag | default "" }}
{{- if .own }}
{{- $registry = .root.Values.image.registry }}
{{- $tag = .image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end }}
{{- if not $tag }}{{ fail (printf "image %s needs a pinned tag" .image.repository) }}{{ end }}
{{- if eq (toString $tag) "latest" }}{{ fail (printf "image %s: the tag must be pinned, not latest" .image.repository) }}{{ end }}
{{- if $registry }}{{ printf "%s/%s:%s" (trimSuffix "/" $registry) .image.repository (toString $tag) }}{{ else }}{{ printf "%s:%s" .image.repository (toString $tag) }}{{ end }}
{{- end }}

{{- define "coinstream.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* ---- Where the components find each other ---- */}}

{{- define "coinstream.kafkaCluster" -}}
{{- include "coinstream.fullname" . }}
{{- end }}

{{- define "coinstream.kafkaBootstrap" -}}
{{- if .Values.kafka.enabled }}
{{- printf "%s-kafka-bootstrap:9092" (include "coinstream.kafkaCluster" .) }}
{{- else }}
{{- required "kafka.externalBootstrapServers is required when kafka.enabled is false" .Values.kafka.externalBootstrapServers }}
{{- end }}
{{- end }}

{{- define "coinstream.trinoHost" -}}
{{- if .Values.trino.enabled }}
{{- printf "%s-trino" (include "coinstream.fullname" .) }}
{{- else }}
{{- required "trino.externalHost is required when trino.enabled is false" .Values.trino.externalHost }}
{{- end }}
{{- end }}

{{- define "coinstream.trinoPort" -}}
{{- if .Values.trino.enabled }}8080{{ else }}{{ .Values.trino.externalPort }}{{ end }}
{{- end }}

{{- define "coinstream.hdfsUri" -}}
{{- if .Values.hdfs.enabled }}
{{- printf "hdfs://%s-hdfs-namenode:9000" (include "coinstream.fullname" .) }}
{{- else }}
{{- required "hdfs.externalUri is required when hdfs.enabled is false" .Values.hdfs.externalUri | trimSuffix "/" }}
{{- end }}
{{- end }}

{{- define "coinstream.coingeckoBaseUrl" -}}
{{- if .Values.coingeckoSim.enabled }}
{{- printf "http://%s-coingecko-sim:8000/api/v3" (include "coinstream.fullname" .) }}
{{- else }}
{{- .Values.settings.coingecko.baseUrl }}
{{- end }}
{{- end }}

{{- define "coinstream.apiKeysSecret" -}}
{{- .Values.secrets.apiKeys.existingSecret | default (printf "%s-api-keys" (include "coinstream.fullname" .)) }}
{{- end }}

{{- define "coinstream.coingeckoSecret" -}}
{{- .Values.secrets.coingecko.existingSecret | default (printf "%s-coingecko" (include "coinstream.fullname" .)) }}
{{- end }}

{{/* ---- Settings (docs/SETTINGS.md) ----
The groups each component reads mirror coinstream_common.settings.SERVICE_SETTINGS;
the k8s-tests check every variable a container gets against known_env_vars(). */}}

{{- define "coinstream.settingGroups" -}}
api: [service, kafka, topic, api]
ingest: [service, kafka, topic, coingecko, ingest]
query: [service, trino, query]
coingecko-sim: [service]
price-lander: [kafka, topic, trino, storage, lander]
{{- end }}

{{/* One group's variables as a YAML map; pass (dict "root" $ "group" "kafka" "values" .Values.api). */}}
{{- define "coinstream.settings.service" -}}
COINSTREAM_LOG_LEVEL: {{ .root.Values.settings.logLevel | quote }}
COINSTREAM_HTTP_HOST: "0.0.0.0"
COINSTREAM_HTTP_PORT: "8000"
COINSTREAM_HTTP_WORKERS: {{ .values.workers | quote }}
COINSTREAM_HTTP_THREADS: {{ .values.threads | quote }}
{{- end }}

{{- define "coinstream.settings.kafka" -}}
COINSTREAM_KAFKA_BOOTSTRAP_SERVERS: {{ include "coinstream.kafkaBootstrap" .root | quote }}
COINSTREAM_KAFKA_CLIENT_ID: {{ printf "coinstream-%s" .component | quote }}
COINSTREAM_KAFKA_SECURITY_PROTOCOL: {{ .root.Values.settings.kafkaSecurityProtocol | quote }}
{{- end }}

{{- define "coinstream.settings.topic" -}}
{{- range .root.Values.kafka.topics }}
{{ printf "COINSTREAM_TOPIC_%s" (upper .setting) }}: {{ .name | quote }}
{{- end }}
{{- end }}

{{- define "coinstream.settings.trino" -}}
COINSTREAM_TRINO_HOST: {{ include "coinstream.trinoHost" .root | quote }}
COINSTREAM_TRINO_PORT: {{ include "coinstream.trinoPort" .root | quote }}
COINSTREAM_TRINO_USER: {{ .root.Values.settings.trino.user | quote }}
COINSTREAM_TRINO_CATALOG: {{ .root.Values.settings.trino.catalog | quote }}
COINSTREAM_TRINO_SCHEMA: {{ .root.Values.settings.trino.schema | quote }}
COINSTREAM_TRINO_TABLE: {{ .root.Values.settings.trino.table | quote }}
{{- end }}

{{- define "coinstream.settings.storage" -}}
{{- $hdfs := include "coinstream.hdfsUri" .root }}
COINSTREAM_STORAGE_WAREHOUSE_URI: {{ printf "%s%s" $hdfs .root.Values.settings.storage.warehousePath | quote }}
COINSTREAM_STORAGE_CHECKPOINT_URI: {{ printf "%s%s" $hdfs .root.Values.settings.storage.checkpointPath | quote }}
{{- end }}

{{- define "coinstream.settings.coingecko" -}}
COINSTREAM_COINGECKO_BASE_URL: {{ include "coinstream.coingeckoBaseUrl" .root | quote }}
COINSTREAM_COINGECKO_API_PLAN: {{ .root.Values.settings.coingecko.apiPlan | quote }}
COINSTREAM_COINGECKO_RATE_LIMIT_PER_MINUTE: {{ .root.Values.settings.coingecko.rateLimitPerMinute | quote }}
{{- end }}

{{- define "coinstream.settings.api" -}}
COINSTREAM_API_QUERY_URL: {{ printf "http://%s-query:8000" (include "coinstream.fullname" .root) | quote }}
COINSTREAM_API_INGEST_URL: {{ printf "http://%s-ingest:8000" (include "coinstream.fullname" .root) | quote }}
{{- end }}

{{- define "coinstream.settings.ingest" -}}
COINSTREAM_INGEST_QUERY_URL: {{ printf "http://%s-query:8000" (include "coinstream.fullname" .root) | quote }}
{{- end }}

{{- define "coinstream.settings.query" -}}
{{- end }}

{{- define "coinstream.settings.lander" -}}
COINSTREAM_LANDER_METRICS_PORT: "9108"
{{- end }}

{{/* Every non-secret variable of one component, as a YAML map:
     (dict "root" $ "component" "api" "values" .Values.api) */}}
{{- define "coinstream.settings" -}}
{{- $groups := index (include "coinstream.settingGroups" . | fromYaml) .component }}
{{- $env := dict }}
{{- range $groups }}
{{- $part := include (printf "coinstream.settings.%s" .) (dict "root" $.root "component" $.component "values" $.values) | fromYaml }}
{{- $env = merge $env $part }}
{{- end }}
{{- range $k, $v := .values.settings }}
{{- $_ := set $env $k (toString $v) }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/* Volumes every coinstream container needs with a read-only root file system. */}}
{{- define "coinstream.scratchVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
- name: metrics
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
{{- end }}

{{- define "coinstream.scratchMounts" -}}
- name: tmp
  mountPath: /tmp
- name: metrics
  mountPath: /run/coinstream-metrics
{{- end }}

{{/* gunicorn's multiprocess metrics directory: a subdirectory of the emptyDir,
     because prepare_multiprocess_dir() removes and recreates it (a mount point cannot be removed). */}}
{{- define "coinstream.multiprocDir" -}}
/run/coinstream-metrics/multiproc
{{- end }}
