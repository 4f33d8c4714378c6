"""Policy checks pass on every values file, and each one bites on a broken chart."""

from __future__ import annotations

import copy

import pytest
from k8slib import policy, render
from k8slib.render import by_kind, find

pytestmark = pytest.mark.unit

FULL = render.RELEASE


@pytest.mark.parametrize("check", sorted(policy.ALL_CHECKS))
def test_policy_holds(rendered, check):
    problems = policy.ALL_CHECKS[check](rendered)
    assert not problems, "\n".join(problems)


def test_policy_holds_in_tilt_dev_mode(helm_bin):
    docs = render.render(("values-kind.yaml",), ("devMode.liveUpdate=true",))
    problems = {k: v for k, v in policy.violations(docs).items() if v}
    assert not problems


def _container(docs, name, index=0):
    return find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][index]


def _break(docs, mutate):
    docs = copy.deepcopy(list(docs))
    mutate(docs)
    return docs


def _set_env(docs, extra):
    find(docs, "ConfigMap", f"{FULL}-query-settings")["data"].update(extra)


BREAKAGES = {
    "resources": lambda d: _container(d, f"{FULL}-api")["resources"].pop("limits"),
    "probes": lambda d: _container(d, f"{FULL}-query").pop("readinessProbe"),
    "images": lambda d: _container(d, f"{FULL}-ingest").update(image="coinstream-ingest:latest"),
    "security": lambda d: _container(d, f"{FULL}-trino-coordinator")["securityContext"].update(
        readOnlyRootFilesystem=False
    ),
    "services": lambda d: find(d, "Service", f"{FULL}-query")["spec"]["selector"].update(
        {"app.kubernetes.io/component": "qeury"}
    ),
    "probe-ports": lambda d: _container(d, f"{FULL}-api")["livenessProbe"]["httpGet"].update(port="web"),
    "monitors": lambda d: find(d, "ServiceMonitor", f"{FULL}-api")["spec"]["endpoints"][0].update(port="metrics"),
    "selectors": lambda d: find(d, "HorizontalPodAutoscaler", f"{FULL}-api")["spec"]["scaleTargetRef"].update(
        name="gone"
    ),
    "env": lambda d: _set_env(d, {"COINSTREAM_API_QUERY_URL": "http://elsewhere"}),
    "secrets": lambda d: find(d, "Secret", f"{FULL}-api-keys")["stringData"].clear(),
    "network": lambda d: next(np for np in by_kind(d, "NetworkPolicy") if np["metadata"]["name"] == f"{FULL}-query")[
        "spec"
    ]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]}),
}


def _policy(docs, component):
    return next(np for np in by_kind(docs, "NetworkPolicy") if np["metadata"]["name"] == f"{FULL}-{component}")["spec"]


def _peer(*components):
    return {
        "podSelector": {
            "matchExpressions": [
                {"key": "app.kubernetes.io/instance", "operator": "In", "values": [FULL]},
                {"key": "app.kubernetes.io/component", "operator": "In", "values": list(components)},
            ]
        }
    }


def _ingest_to_trino(docs):
    _policy(docs, "ingest")["egress"].append({"to": [_peer("trino-coordinator")], "ports": [{"port": 8080}]})


BREAKAGES["flows"] = _ingest_to_trino


def test_every_check_has_a_breakage():
    assert set(BREAKAGES) == set(policy.ALL_CHECKS)


@pytest.mark.parametrize("check", sorted(BREAKAGES))
def test_policy_bites(kind_docs, check):
    assert policy.ALL_CHECKS[check](kind_docs) == []
    broken = _break(kind_docs, BREAKAGES[check])
    assert policy.ALL_CHECKS[check](broken), f"{check} did not notice the breakage"


def test_unknown_env_var_is_named(kind_docs):
    broken = _break(kind_docs, lambda d: _set_env(d, {"COINSTREAM_KAFKA_BOOTSTRAP_SERVERS": "x:9092"}))
    problems = policy.check_env_known(broken)
    assert problems == [
        f"Deployment/{FULL}-query (query): COINSTREAM_KAFKA_BOOTSTRAP_SERVERS is not a setting query knows"
    ]


def test_a_service_selecting_nothing_is_caught(kind_docs):
    broken = _break(kind_docs, BREAKAGES["services"])
    assert any(
        f"Service/{FULL}-query" in p and "selects no pod" in p for p in policy.check_services_select_pods(broken)
    )


def test_missing_resource_limit_from_values_is_caught_by_both_layers(helm_bin):
    """A values override that drops the api's memory limit: the values schema rejects it, and
    with schema validation skipped the policy check still fails the rendering."""
    override = ("--set", "api.resources.limits.memory=null")  # null deletes the key
    rejected = render.helm(*render.template_args(("values-kind.yaml",)), *override)
    assert not rejected.ok and "memory" in rejected.stderr, rejected.stderr
    rendered = render.helm(*render.template_args(("values-kind.yaml",)), *override, "--skip-schema-validation")
    assert rendered.ok, rendered.stderr
    problems = policy.check_resources(render.parse(rendered.stdout))
    assert problems == [f"Deployment/{FULL}-api container api: no limits.memory"]


def test_unknown_setting_from_values_is_caught(helm_bin):
    """A setting the service does not read passes the schema (right shape); the chart refuses it (its
    settings catalog says what each component reads), and the policy catches one that gets in some other way."""
    result = render.template(("values-kind.yaml",), ("query.settings.COINSTREAM_API_MAX_HOLDINGS=5",))
    assert not result.ok
    assert "query.settings.COINSTREAM_API_MAX_HOLDINGS is not a setting query reads" in result.stderr
    docs = copy.deepcopy(list(render.render(("values-kind.yaml",))))
    find(docs, "ConfigMap", f"{FULL}-query-settings")["data"]["COINSTREAM_API_MAX_HOLDINGS"] = "5"
    problems = policy.check_env_known(docs)
    assert problems == [f"Deployment/{FULL}-query (query): COINSTREAM_API_MAX_HOLDINGS is not a setting query knows"]


def test_latest_tag_is_refused_by_the_chart(helm_bin):
    result = render.template(("values-kind.yaml",), ("trino.image.tag=latest",), extra=("--skip-schema-validation",))
    assert not result.ok and "pinned" in result.stderr


def test_only_ingest_reaches_coingecko_and_only_query_and_the_lander_reach_trino(kind_docs):
    flows = policy.allowed_flows(kind_docs)
    for side in ("egress", "ingress"):
        assert {(s, d) for s, d in flows[side] if d == "coingecko-sim"} == {("ingest", "coingecko-sim")}
        assert {s for s, d in flows[side] if d == "trino-coordinator"} <= policy.TRINO_CLIENTS
        assert ("ingest", "trino-coordinator") not in flows[side] and ("api", "trino-coordinator") not in flows[side]
    api_egress = _policy(kind_docs, "api")["egress"]
    assert not [p for rule in api_egress for p in rule["to"] if "ipBlock" in p]  # the api never leaves the cluster


def test_the_api_asks_ingest_and_ingest_asks_query(kind_docs):
    flows = policy.allowed_flows(kind_docs)
    for pair in (("api", "ingest"), ("ingest", "query"), ("api", "query")):
        assert pair in flows["egress"] and pair in flows["ingress"], pair


@pytest.mark.parametrize(
    "breakage, message",
    [
        (_ingest_to_trino, "egress: ingest may reach trino-coordinator"),
        (
            lambda d: _policy(d, "api")["egress"].append({"to": [_peer("coingecko-sim")], "ports": [{"port": "http"}]}),
            "egress: api may reach coingecko-sim",
        ),
        (
            lambda d: _policy(d, "trino")["ingress"].append({"from": [_peer("ingest")], "ports": [{"port": 8080}]}),
            "ingress: ingest may reach trino-coordinator",
        ),
        (lambda d: _policy(d, "ingest")["ingress"].pop(0), "ingress: api -> ingest is not allowed"),
        (lambda d: _policy(d, "ingest")["egress"].pop(1), "egress: ingest -> query is not allowed"),
    ],
    ids=["ingest-egress-trino", "api-egress-sim", "trino-ingress-ingest", "ingest-ingress-api", "ingest-egress-query"],
)
def test_flow_check_names_the_flow(kind_docs, breakage, message):
    assert policy.check_flows(kind_docs) == []
    problems = policy.check_flows(_break(kind_docs, breakage))
    assert any(message in p for p in problems), problems
