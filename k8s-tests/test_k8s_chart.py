"""The chart lints, renders every component, and mirrors the project's own definitions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml
from coinstream import components
from coinstream_common import settings
from coinstream_common.settings import TopicSettings
from coinstream_contract.topics import topic_specs
from k8slib import policy, render
from k8slib.render import by_kind, find

pytestmark = pytest.mark.unit

FULL = render.RELEASE  # the release name "coinstream" contains the chart name: no suffix


@pytest.mark.parametrize("values", render.VALUES_FILES)
def test_helm_lint_strict(helm_bin, values):
    result = render.helm(
        "lint",
        "--strict",
        str(render.CHART),
        "-f",
        str(render.CHART / values),
        "--kube-version",
        render.KUBE_VERSION,
        "--namespace",
        render.NAMESPACE,
    )
    assert result.ok, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


def test_helm_lint_fails_on_a_broken_chart(helm_bin, tmp_path):
    chart = tmp_path / "coinstream"
    shutil.copytree(render.CHART, chart)
    (chart / "templates" / "broken.yaml").write_text("kind: ConfigMap\n{{ .Values.nope.deeper }}\n")
    result = render.helm("lint", "--strict", str(chart), "--kube-version", render.KUBE_VERSION)
    assert not result.ok
    assert "broken.yaml" in result.stdout + result.stderr


def test_helm_is_built_for_a_current_kubernetes(helm_bin, tmp_path):
    """Without --kube-version a helm built without the ldflags would claim Kubernetes 1.20."""
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "templates" / "v.yaml").write_text("kind: Probe\nversion: {{ .Capabilities.KubeVersion.Minor | quote }}\n")
    result = render.helm("template", "p", str(chart))
    assert result.ok, result.stderr
    assert int(yaml.safe_load(result.stdout)["version"].rstrip("+")) >= 30


# Every component of the data path, as (kind, name) in the kind rendering.
KIND_COMPONENTS = [
    *[
        (k, f"{FULL}-{svc}")
        for svc in ("api", "ingest", "query", "coingecko-sim")
        for k in ("Deployment", "Service", "ServiceAccount")
    ],
    *[("ConfigMap", f"{FULL}-{svc}-settings") for svc in ("api", "ingest", "query", "coingecko-sim", "price-lander")],
    ("HorizontalPodAutoscaler", f"{FULL}-api"),
    ("HorizontalPodAutoscaler", f"{FULL}-query"),
    ("PodDisruptionBudget", f"{FULL}-api"),
    ("PodDisruptionBudget", f"{FULL}-ingest"),
    ("PodDisruptionBudget", f"{FULL}-query"),
    ("Ingress", f"{FULL}-api"),
    ("Secret", f"{FULL}-api-keys"),
    ("Secret", f"{FULL}-coingecko"),
    ("Kafka", FULL),
    ("KafkaNodePool", "combined"),
    *[
        ("KafkaTopic", f"{FULL}-{t.replace('.', '-')}")
        for t in ("coin.prices", "coin.prices.dlq", "coin.backfill.requests", "coin.prices.landed", "portfolio.events")
    ],
    ("SparkApplication", f"{FULL}-price-lander"),
    ("ServiceAccount", f"{FULL}-price-lander"),
    ("Role", f"{FULL}-price-lander"),
    ("RoleBinding", f"{FULL}-price-lander"),
    ("Deployment", f"{FULL}-trino-coordinator"),
    ("Deployment", f"{FULL}-trino-worker"),
    ("Service", f"{FULL}-trino"),
    ("ConfigMap", f"{FULL}-trino"),
    ("StatefulSet", f"{FULL}-hdfs-namenode"),
    ("StatefulSet", f"{FULL}-hdfs-datanode"),
    ("Service", f"{FULL}-hdfs-namenode"),
    ("ConfigMap", f"{FULL}-hdfs"),
    *[
        ("ServiceMonitor", f"{FULL}-{c}")
        for c in (
            "api",
            "ingest",
            "query",
            "coingecko-sim",
            "trino-coordinator",
            "trino-worker",
            "hdfs-namenode",
            "hdfs-datanode",
        )
    ],
    ("PodMonitor", f"{FULL}-kafka"),
    ("PodMonitor", f"{FULL}-price-lander"),
    ("PrometheusRule", f"{FULL}-coinstream"),
    ("NetworkPolicy", f"{FULL}-default-deny"),
    ("NetworkPolicy", f"{FULL}-allow-dns"),
    *[
        ("NetworkPolicy", f"{FULL}-{c}")
        for c in (
            "api",
            "query",
            "ingest",
            "coingecko-sim",
            "trino",
            "hdfs-namenode",
            "hdfs-datanode",
            "price-lander",
            "kafka",
        )
    ],
]


@pytest.mark.parametrize("kind,name", KIND_COMPONENTS, ids=[f"{k}/{n}" for k, n in KIND_COMPONENTS])
def test_kind_values_render_every_component(kind_docs, kind, name):
    find(kind_docs, kind, name)


def test_every_service_deployment_has_hpa_pdb_service(rendered):
    deployments = {d["metadata"]["name"] for d in by_kind(rendered, "Deployment")}
    services = {d["metadata"]["name"] for d in by_kind(rendered, "Service")}
    for svc in ("api", "ingest", "query"):
        assert f"{FULL}-{svc}" in deployments and f"{FULL}-{svc}" in services


def test_kind_kafka_is_one_combined_kraft_pool(kind_docs):
    pools = by_kind(kind_docs, "KafkaNodePool")
    assert [(p["spec"]["roles"], p["spec"]["replicas"]) for p in pools] == [(["controller", "broker"], 1)]
    assert all(p["metadata"]["labels"]["strimzi.io/cluster"] == FULL for p in pools)


def test_production_separates_controllers_and_brokers_and_drops_the_simulator():
    docs = render.render(("values-production.yaml",))
    roles = {p["metadata"]["name"]: p["spec"]["roles"] for p in by_kind(docs, "KafkaNodePool")}
    assert roles == {"controllers": ["controller"], "brokers": ["broker"]}
    assert not [d for d in docs if "coingecko-sim" in d["metadata"]["name"]]
    ingest = find(docs, "ConfigMap", f"{FULL}-ingest-settings")["data"]
    assert ingest["COINSTREAM_COINGECKO_BASE_URL"].startswith("https://")
    assert all(t["spec"]["replicas"] == 3 for t in by_kind(docs, "KafkaTopic"))
    # Secrets are managed outside the chart in production.
    assert not by_kind(docs, "Secret") or all("trino-metrics" in s["metadata"]["name"] for s in by_kind(docs, "Secret"))


def test_topics_mirror_the_shared_topic_specs(rendered):
    rendered_topics = {
        t["spec"]["topicName"]: (t["spec"]["partitions"], {k: str(v) for k, v in t["spec"]["config"].items()})
        for t in by_kind(rendered, "KafkaTopic")
    }
    expected = {s.name: (s.partitions, s.config) for s in topic_specs(TopicSettings())}
    assert rendered_topics == expected


def test_topic_names_reach_the_services_that_produce_and_consume(kind_docs):
    api = find(kind_docs, "ConfigMap", f"{FULL}-api-settings")["data"]
    for s in topic_specs(TopicSettings()):
        field = next(f for f, v in TopicSettings().model_dump().items() if v == s.name)
        assert api[settings.env_name(TopicSettings, field)] == s.name


CATALOG = render.CHART / "files" / "settings.generated.yaml"


def _settings_env(docs, component: str) -> set[str]:
    """The variables a component's containers get: its settings ConfigMap and its env entries."""
    names = set(find(docs, "ConfigMap", f"{FULL}-{component}-settings")["data"])
    for d in by_kind(docs, "Deployment"):
        if d["metadata"]["name"] == f"{FULL}-{component}":
            names |= {e["name"] for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
    return names - policy.EXTRA_ENV


@pytest.mark.parametrize("values", render.VALUES_FILES)
def test_each_component_gets_only_the_variables_its_groups_declare(helm_bin, values):
    """The chart names variables from the generated catalog; each is one the component's code reads."""
    docs = render.render((values,))
    for component in components.COMPONENTS:
        if not any(d["metadata"]["name"] == f"{FULL}-{component}-settings" for d in by_kind(docs, "ConfigMap")):
            continue  # disabled in these values
        got = _settings_env(docs, component)
        assert got, component
        assert got <= components.known_env_vars(component), (
            component,
            sorted(got - components.known_env_vars(component)),
        )


def test_secrets_are_never_in_a_config_map(kind_docs):
    for cm in by_kind(kind_docs, "ConfigMap"):
        assert not set(cm.get("data") or {}) & components.secret_env_vars(), cm["metadata"]["name"]
    api = find(kind_docs, "Deployment", f"{FULL}-api")["spec"]["template"]["spec"]["containers"][0]
    secret_env = {e["name"] for e in api["env"] if "secretKeyRef" in (e.get("valueFrom") or {})}
    assert secret_env == {"COINSTREAM_API_API_KEYS"}


def test_chart_names_variables_as_the_catalog_does(helm_bin, tmp_path):
    """Rename a variable in the catalog: the rendered ConfigMaps follow, so the names are not hand-written."""
    chart = tmp_path / "coinstream"
    shutil.copytree(render.CHART, chart)
    catalog = chart / "files" / "settings.generated.yaml"
    text = catalog.read_text()
    assert "    host: COINSTREAM_TRINO_HOST\n" in text and "    api_keys: COINSTREAM_API_API_KEYS\n" in text
    text = text.replace("    host: COINSTREAM_TRINO_HOST\n", "    host: COINSTREAM_TRINO_HOSTNAME\n")
    text = text.replace("    api_keys: COINSTREAM_API_API_KEYS\n", "    api_keys: COINSTREAM_API_KEYRING\n")
    catalog.write_text(text)
    result = render.template(("values-kind.yaml",), chart=chart)
    assert result.ok, result.stderr
    docs = render.parse(result.stdout)
    data = find(docs, "ConfigMap", f"{FULL}-query-settings")["data"]  # the only service that reaches Trino
    assert data["COINSTREAM_TRINO_HOSTNAME"] == f"{FULL}-trino" and "COINSTREAM_TRINO_HOST" not in data
    api = find(docs, "Deployment", f"{FULL}-api")["spec"]["template"]["spec"]["containers"][0]
    assert "COINSTREAM_API_KEYRING" in {e["name"] for e in api["env"]}


def test_chart_refuses_a_field_the_catalog_lacks(helm_bin, tmp_path):
    chart = tmp_path / "coinstream"
    shutil.copytree(render.CHART, chart)
    catalog = chart / "files" / "settings.generated.yaml"
    catalog.write_text(catalog.read_text().replace("    metrics_port: COINSTREAM_LANDER_METRICS_PORT\n", ""))
    result = render.template(("values-kind.yaml",), chart=chart)
    assert not result.ok
    assert "group lander has no field metrics_port" in result.stderr


@pytest.mark.parametrize(
    "setting, message",
    [
        ("query.settings.COINSTREAM_API_MAX_POINTS=5", "is not a setting query reads"),
        ("api.settings.COINSTREAM_API_API_KEYS=leaked", "is a secret"),
    ],
)
def test_extra_settings_must_be_known_and_not_secret(helm_bin, setting, message):
    result = render.template(("values-kind.yaml",), (setting,))
    assert not result.ok
    assert message in result.stderr


def test_extra_settings_reach_the_config_map(helm_bin):
    docs = render.render(("values-kind.yaml",), ("ingest.settings.COINSTREAM_INGEST_TRACKED_COINS=bitcoin",))
    assert find(docs, "ConfigMap", f"{FULL}-ingest-settings")["data"]["COINSTREAM_INGEST_TRACKED_COINS"] == "bitcoin"


def test_services_find_each_other(kind_docs):
    api = find(kind_docs, "ConfigMap", f"{FULL}-api-settings")["data"]
    ingest = find(kind_docs, "ConfigMap", f"{FULL}-ingest-settings")["data"]
    lander = find(kind_docs, "ConfigMap", f"{FULL}-price-lander-settings")["data"]
    assert api["COINSTREAM_API_QUERY_URL"] == f"http://{FULL}-query:8000"
    assert api["COINSTREAM_API_INGEST_URL"] == f"http://{FULL}-ingest:8000"
    assert api["COINSTREAM_KAFKA_BOOTSTRAP_SERVERS"] == f"{FULL}-kafka-bootstrap:9092"
    assert ingest["COINSTREAM_COINGECKO_BASE_URL"] == f"http://{FULL}-coingecko-sim:8000/api/v3"
    assert ingest["COINSTREAM_INGEST_QUERY_URL"] == f"http://{FULL}-query:8000"
    # One owner per outside system: the api has no CoinGecko setting, ingest no Trino one.
    assert not [k for k in api if k.startswith("COINSTREAM_COINGECKO_")]
    assert not [k for k in ingest if k.startswith("COINSTREAM_TRINO_")]
    assert lander["COINSTREAM_STORAGE_WAREHOUSE_URI"] == f"hdfs://{FULL}-hdfs-namenode:9000/coinstream/warehouse"
    assert find(kind_docs, "Service", f"{FULL}-hdfs-namenode")["spec"]["ports"][0]["port"] == 9000


def test_trino_hive_catalog_on_hdfs(kind_docs):
    data = find(kind_docs, "ConfigMap", f"{FULL}-trino")["data"]
    props = dict(line.split("=", 1) for line in data["catalog.properties"].splitlines() if line)
    assert props["connector.name"] == "hive"
    assert props["hive.metastore"] == "file"
    assert props["hive.metastore.catalog.dir"] == f"hdfs://{FULL}-hdfs-namenode:9000/coinstream/metastore"
    assert props["fs.hadoop.enabled"] == "true"
    # The same connector behaviour as the local runtime (time zone, partition registration, caches).
    from coinstream.runtime.trino import HIVE_CATALOG_PROPERTIES

    assert {k: props.get(k) for k in HIVE_CATALOG_PROPERTIES} == HIVE_CATALOG_PROPERTIES
    assert props["fs.cache.directories"].startswith("/data/trino/")  # the pod's writable data volume
    coordinator = find(kind_docs, "Deployment", f"{FULL}-trino-coordinator")
    assert coordinator["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/trinodb/trino:476"
    items = coordinator["spec"]["template"]["spec"]["volumes"][0]["configMap"]["items"]
    assert {"key": "catalog.properties", "path": "catalog/hive.properties"} in items


def test_trino_workers_follow_values(helm_bin):
    docs = render.render(("values-kind.yaml",), ("trino.workers.replicas=0",))
    assert not [d for d in by_kind(docs, "Deployment") if d["metadata"]["name"].endswith("trino-worker")]
    config = find(docs, "ConfigMap", f"{FULL}-trino")["data"]["config-coordinator.properties"]
    assert "node-scheduler.include-coordinator=true" in config


def test_spark_application_runs_the_lander(kind_docs):
    app = find(kind_docs, "SparkApplication", f"{FULL}-price-lander")["spec"]
    assert app["type"] == "Python" and app["mainApplicationFile"].startswith("local:///")
    assert app["driver"]["serviceAccount"] == f"{FULL}-price-lander"
    assert app["restartPolicy"]["type"] == "Always"
    binding = find(kind_docs, "RoleBinding", f"{FULL}-price-lander")
    assert binding["subjects"][0]["name"] == app["driver"]["serviceAccount"]


def test_ingress_routes_only_to_the_api(rendered):
    for ing in by_kind(rendered, "Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == f"{FULL}-api"


def test_ingress_class_is_configurable(helm_bin):
    docs = render.render(("values-kind.yaml",), ("ingress.className=traefik",))
    assert find(docs, "Ingress", f"{FULL}-api")["spec"]["ingressClassName"] == "traefik"


def test_rules_files_pass_promtool():
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: scripts/install-system-packages.sh installs Debian's prometheus package"
    files = sorted((render.CHART / "rules").glob("*.yml"))
    assert files
    result = subprocess.run(
        [promtool, "check", "rules", *map(str, files)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_cover_the_required_alerts(kind_docs):
    rules = [r for pr in by_kind(kind_docs, "PrometheusRule") for g in pr["spec"]["groups"] for r in g["rules"]]
    exprs = " ".join(r["expr"] for r in rules)
    for metric in (
        "coinstream_pipeline_lag_seconds",
        "coinstream_coingecko_rate_limited_total",
        "coinstream_http_request_duration_seconds_count",
        "coinstream_lander_batches_total",
    ):
        assert metric in exprs
    assert re.search(r"\bup\s*(==|\{)", exprs), "no alert on a component being down (up == 0)"


def test_monitor_job_names_are_the_component_names(kind_docs):
    jobs = set()
    for m in by_kind(kind_docs, "ServiceMonitor") + by_kind(kind_docs, "PodMonitor"):
        for ep in m["spec"].get("endpoints", []) + m["spec"].get("podMetricsEndpoints", []):
            jobs |= {r["replacement"] for r in ep["relabelings"] if r.get("targetLabel") == "job"}
    assert jobs == {
        "api",
        "ingest",
        "query",
        "coingecko-sim",
        "trino",
        "hdfs-namenode",
        "hdfs-datanode",
        "kafka",
        "lander",
    }


def test_dashboards_become_configmaps_for_the_grafana_sidecar(helm_bin, tmp_path):
    chart = tmp_path / "coinstream"
    shutil.copytree(render.CHART, chart)
    dashboard = {"title": "coinstream overview", "uid": "coinstream-overview", "panels": []}
    (chart / "dashboards" / "overview.json").write_text(json.dumps(dashboard))
    result = render.template(("values-kind.yaml",), chart=chart)
    assert result.ok, result.stderr
    cm = find(render.parse(result.stdout), "ConfigMap", f"{FULL}-dashboard-overview")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(cm["data"]["overview.json"]) == dashboard


def test_every_dashboard_in_the_chart_is_shipped(kind_docs):
    files = sorted((render.CHART / "dashboards").glob("*.json"))
    shipped = {
        k: v
        for cm in by_kind(kind_docs, "ConfigMap")
        if "grafana_dashboard" in cm["metadata"]["labels"]
        for k, v in cm["data"].items()
    }
    assert set(shipped) == {f.name for f in files}
    for f in files:
        assert json.loads(shipped[f.name]) == json.loads(f.read_text())


def test_values_are_documented_key_by_key():
    """Every leaf key of values.yaml has a comment just above it, or sits inside a value documented
    with a helm-docs "# --" comment (e.g. the defaults of resources or a security context)."""
    lines = (render.CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    ancestors: list[tuple[int, bool]] = []  # (indent, documented with "# --")
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(-\s+)?([A-Za-z_\"][^:#]*):", line)
        if not m:
            continue
        indent = len(m.group(1)) + len(m.group(2) or "")
        while ancestors and ancestors[-1][0] >= indent:
            ancestors.pop()
        comments = []
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#"):
            comments.append(lines[j].strip())
            j -= 1
        inherited = any(doc for _, doc in ancestors)
        if not line.rstrip().endswith(":") and not comments and not inherited and not m.group(2):
            undocumented.append(line.strip())
        ancestors.append((indent, any(c.startswith("# --") for c in comments) or inherited))
    assert not undocumented, f"values.yaml keys without a comment: {undocumented}"
