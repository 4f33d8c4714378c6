"""Policy checks over rendered objects. Each check returns a list of violations ([] = pass).

They encode what a reviewer of the chart would insist on: resources and probes on
every container, pinned images, non-root with a read-only root file system, Services
and monitors that select something real, ports that line up, no environment
variable a service does not know (coinstream.components.known_env_vars, from the SETTINGS_GROUPS
each component declares), and NetworkPolicies that give each outside system one owner (only
ingest reaches CoinGecko, only the query service reaches Trino for the others) while serving
the flows between them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from coinstream.components import COMPONENTS, known_env_vars

COMPONENT = "app.kubernetes.io/component"
HTTP_SERVICES = ("api", "ingest", "query", "coingecko-sim")
EXTRA_ENV = frozenset({"PROMETHEUS_MULTIPROC_DIR"})
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def _name(doc: dict) -> str:
    return f"{doc['kind']}/{doc['metadata']['name']}"


def pod_templates(docs: Iterable[dict]) -> Iterator[tuple[dict, dict]]:
    """(workload, pod template) of every built-in workload."""
    for d in docs:
        if d.get("kind") in WORKLOADS:
            yield d, d["spec"]["template"]


def containers(pod_spec: dict, init: bool = True) -> list[dict]:
    return list(pod_spec.get("containers", [])) + (list(pod_spec.get("initContainers", [])) if init else [])


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when it has none; digests count as pinned)."""
    if "@sha256:" in image:
        return "@digest"
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def selector_matches(selector: dict, labels: dict) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions, or a plain map)."""
    if not selector:
        return False  # an empty selector is never what a chart means here
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels, expressions = selector.get("matchLabels", {}), selector.get("matchExpressions", [])
    else:  # a Service's plain map
        match_labels, expressions = selector, []
    for k, v in match_labels.items():
        if labels.get(k) != v:
            return False
    for expr in expressions:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def spark_pods(docs) -> Iterator[tuple[dict, str, dict]]:
    """(SparkApplication, role, role spec) for its driver and executor."""
    for d in docs:
        if d.get("kind") == "SparkApplication":
            for role in ("driver", "executor"):
                yield d, role, d["spec"][role]


def pod_label_sets(docs) -> list[tuple[str, dict, list[dict]]]:
    """(owner, labels, containers) of every pod the chart's objects create."""
    out = [
        (_name(w), t["metadata"].get("labels", {}), containers(t["spec"], init=False)) for w, t in pod_templates(docs)
    ]
    for app, role, spec in spark_pods(docs):
        ports = spec.get("ports", [])
        out.append(
            (f"{_name(app)}/{role}", spec.get("labels", {}), [{"name": "spark-kubernetes-" + role, "ports": ports}])
        )
    return out


# ---- containers ------------------------------------------------------------------


def check_resources(docs) -> list[str]:
    bad = []
    for w, t in pod_templates(docs):
        for c in containers(t["spec"]):
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for key in ("cpu", "memory"):
                    if not (res.get(part) or {}).get(key):
                        bad.append(f"{_name(w)} container {c['name']}: no {part}.{key}")
    for app, role, spec in spark_pods(docs):
        for key in ("cores", "coreLimit", "memory", "memoryLimit"):
            if not spec.get(key):
                bad.append(f"{_name(app)} {role}: no {key}")
    for d in docs:
        if d.get("kind") == "KafkaNodePool":
            res = d["spec"].get("resources") or {}
            if not (res.get("requests") and res.get("limits")):
                bad.append(f"{_name(d)}: resources need requests and limits")
    return bad


def check_probes(docs) -> list[str]:
    """Every long-running container has liveness and readiness probes; the HTTP services on /healthz and /readyz."""
    bad = []
    for w, t in pod_templates(docs):
        component = t["metadata"].get("labels", {}).get(COMPONENT)
        for c in containers(t["spec"], init=False):
            for probe in ("livenessProbe", "readinessProbe"):
                if not c.get(probe):
                    bad.append(f"{_name(w)} container {c['name']}: no {probe}")
            if component in HTTP_SERVICES:
                live = (c.get("livenessProbe") or {}).get("httpGet", {}).get("path")
                ready = (c.get("readinessProbe") or {}).get("httpGet", {}).get("path")
                if live != "/healthz":
                    bad.append(f"{_name(w)}: livenessProbe must GET /healthz (has {live})")
                if ready != "/readyz":
                    bad.append(f"{_name(w)}: readinessProbe must GET /readyz (has {ready})")
    return bad


def check_images(docs) -> list[str]:
    bad = []
    refs = []
    for w, t in pod_templates(docs):
        refs += [
            (f"{_name(w)} container {c['name']}", c.get("image", ""), c.get("imagePullPolicy"))
            for c in containers(t["spec"])
        ]
    for d in docs:
        if d.get("kind") == "SparkApplication":
            refs.append((_name(d), d["spec"].get("image", ""), d["spec"].get("imagePullPolicy")))
    for where, image, policy in refs:
        tag = image_tag(image)
        if not image or tag is None:
            bad.append(f"{where}: image {image!r} has no tag")
        elif tag == "latest":
            bad.append(f"{where}: image {image!r} uses latest")
        if policy != "IfNotPresent":
            bad.append(f"{where}: imagePullPolicy {policy!r}, expected IfNotPresent")
    return bad


def _non_root(pod_ctx: dict, ctx: dict) -> bool:
    return bool(ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))) and (
        ctx.get("runAsUser", pod_ctx.get("runAsUser")) != 0
    )


def _hardened(ctx: dict) -> list[str]:
    missing = []
    if ctx.get("readOnlyRootFilesystem") is not True:
        missing.append("readOnlyRootFilesystem")
    if ctx.get("allowPrivilegeEscalation") is not False:
        missing.append("allowPrivilegeEscalation=false")
    if "ALL" not in ((ctx.get("capabilities") or {}).get("drop") or []):
        missing.append("capabilities.drop ALL")
    return missing


def check_security(docs) -> list[str]:
    bad = []
    for w, t in pod_templates(docs):
        pod_ctx = t["spec"].get("securityContext") or {}
        for c in containers(t["spec"]):
            ctx = c.get("securityContext") or {}
            if not _non_root(pod_ctx, ctx):
                bad.append(f"{_name(w)} container {c['name']}: may run as root")
            bad += [f"{_name(w)} container {c['name']}: no {m}" for m in _hardened(ctx)]
    for app, role, spec in spark_pods(docs):
        if not _non_root(spec.get("podSecurityContext") or {}, spec.get("securityContext") or {}):
            bad.append(f"{_name(app)} {role}: may run as root")
        bad += [f"{_name(app)} {role}: no {m}" for m in _hardened(spec.get("securityContext") or {})]
    for d in docs:
        if d.get("kind") == "Kafka":
            tpl = d["spec"]["kafka"].get("template", {})
            bad += [
                f"{_name(d)} kafka container: no {m}"
                for m in _hardened(tpl.get("kafkaContainer", {}).get("securityContext", {}))
            ]
    return bad


# ---- wiring ----------------------------------------------------------------------


def check_services_select_pods(docs) -> list[str]:
    bad = []
    pods = pod_label_sets(docs)
    for svc in (d for d in docs if d.get("kind") == "Service"):
        selector = svc["spec"].get("selector") or {}
        matched = [p for p in pods if selector_matches(selector, p[1])]
        if not matched:
            bad.append(f"{_name(svc)}: selector {selector} selects no pod of the chart")
            continue
        for port in svc["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for owner, _labels, cs in matched:
                names = {p.get("name") for c in cs for p in c.get("ports", [])}
                numbers = {p.get("containerPort") for c in cs for p in c.get("ports", [])}
                if target not in names and target not in numbers:
                    bad.append(f"{_name(svc)} port {port.get('name')}: targetPort {target!r} is not a port of {owner}")
    return bad


def check_probe_ports(docs) -> list[str]:
    bad = []
    for w, t in pod_templates(docs):
        for c in containers(t["spec"], init=False):
            names = {p.get("name") for p in c.get("ports", [])}
            numbers = {p.get("containerPort") for p in c.get("ports", [])}
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                spec = c.get(probe) or {}
                action = spec.get("httpGet") or spec.get("tcpSocket")
                if action and action["port"] not in names and action["port"] not in numbers:
                    bad.append(
                        f"{_name(w)} container {c['name']}: {probe} port {action['port']!r} is not a container port"
                    )
    return bad


def check_monitors(docs) -> list[str]:
    """ServiceMonitors select a Service having the endpoint's port; PodMonitors select pods having it."""
    bad = []
    services = [d for d in docs if d.get("kind") == "Service"]
    kafkas = {d["metadata"]["name"] for d in docs if d.get("kind") == "Kafka"}
    pods = pod_label_sets(docs)
    for sm in (d for d in docs if d.get("kind") == "ServiceMonitor"):
        selected = [s for s in services if selector_matches(sm["spec"]["selector"], s["metadata"].get("labels", {}))]
        if not selected:
            bad.append(f"{_name(sm)}: selects no Service")
            continue
        for ep in sm["spec"]["endpoints"]:
            ports = {p.get("name") for s in selected for p in s["spec"].get("ports", [])}
            if ep.get("port") not in ports:
                bad.append(
                    f"{_name(sm)}: port {ep.get('port')!r} is in none of {[s['metadata']['name'] for s in selected]}"
                )
    for pm in (d for d in docs if d.get("kind") == "PodMonitor"):
        labels = pm["spec"]["selector"].get("matchLabels", {})
        if labels.get("strimzi.io/cluster"):
            # Strimzi creates these pods; the selector must name a rendered Kafka and its metrics port.
            if labels["strimzi.io/cluster"] not in kafkas:
                bad.append(f"{_name(pm)}: selects Strimzi cluster {labels['strimzi.io/cluster']!r}, not rendered")
            if any(ep.get("port") != "tcp-prometheus" for ep in pm["spec"]["podMetricsEndpoints"]):
                bad.append(f"{_name(pm)}: Strimzi serves metrics on port tcp-prometheus")
            continue
        selected = [p for p in pods if selector_matches(pm["spec"]["selector"], p[1])]
        if not selected:
            bad.append(f"{_name(pm)}: selects no pod of the chart")
        for ep in pm["spec"]["podMetricsEndpoints"]:
            names = {p.get("name") for _o, _l, cs in selected for c in cs for p in c.get("ports", [])}
            if ep.get("port") not in names:
                bad.append(f"{_name(pm)}: port {ep.get('port')!r} is not a port of the selected pods")
    return bad


def check_selectors(docs) -> list[str]:
    """HPAs scale a rendered Deployment; PDBs select pods."""
    bad = []
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    pods = pod_label_sets(docs)
    for d in docs:
        if d.get("kind") == "HorizontalPodAutoscaler":
            ref = d["spec"]["scaleTargetRef"]
            if (ref["kind"], ref["name"]) not in names:
                bad.append(f"{_name(d)}: scales {ref['kind']}/{ref['name']}, not rendered")
        if d.get("kind") == "PodDisruptionBudget" and not any(
            selector_matches(d["spec"]["selector"], p[1]) for p in pods
        ):
            bad.append(f"{_name(d)}: selects no pod")
    return bad


def _config_maps(docs) -> dict[str, dict]:
    return {d["metadata"]["name"]: d.get("data", {}) for d in docs if d.get("kind") == "ConfigMap"}


def env_names(docs, env: list[dict], env_from: list[dict], where: str) -> tuple[set[str], list[str]]:
    """Names a container's environment gets (env + envFrom ConfigMaps of the chart)."""
    names = {e["name"] for e in env or []}
    problems = []
    cms = _config_maps(docs)
    for src in env_from or []:
        ref = src.get("configMapRef")
        if ref:
            if ref["name"] not in cms:
                problems.append(f"{where}: envFrom ConfigMap {ref['name']} is not rendered")
                continue
            names |= {src.get("prefix", "") + k for k in cms[ref["name"]]}
        elif src.get("secretRef"):
            problems.append(f"{where}: envFrom a whole Secret hides which variables it sets")
    return names, problems


def check_env_known(docs) -> list[str]:
    """Every variable a service container gets is one its settings groups read."""
    bad = []
    for w, t in pod_templates(docs):
        service = t["metadata"].get("labels", {}).get(COMPONENT)
        if service not in COMPONENTS:
            continue
        allowed = known_env_vars(service) | EXTRA_ENV
        for c in containers(t["spec"], init=False):
            names, problems = env_names(docs, c.get("env"), c.get("envFrom"), f"{_name(w)} container {c['name']}")
            bad += problems
            bad += [f"{_name(w)} ({service}): {n} is not a setting {service} knows" for n in sorted(names - allowed)]
    for app, role, spec in spark_pods(docs):
        allowed = known_env_vars("price-lander") | EXTRA_ENV
        names, problems = env_names(docs, spec.get("env"), spec.get("envFrom"), f"{_name(app)} {role}")
        bad += problems
        bad += [f"{_name(app)} {role}: {n} is not a setting price-lander knows" for n in sorted(names - allowed)]
    return bad


def check_secret_refs(docs) -> list[str]:
    """secretKeyRefs name a rendered Secret and key (unless optional or an existing Secret is configured)."""
    bad = []
    secrets = {
        d["metadata"]["name"]: set((d.get("stringData") or {}) | (d.get("data") or {}))
        for d in docs
        if d.get("kind") == "Secret"
    }
    for w, t in pod_templates(docs):
        for c in containers(t["spec"]):
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if not ref or ref.get("optional"):
                    continue
                if ref["name"] in secrets and ref["key"] not in secrets[ref["name"]]:
                    bad.append(f"{_name(w)}: {e['name']} reads key {ref['key']} missing from Secret {ref['name']}")
    return bad


def check_network_policies(docs) -> list[str]:
    """Default deny; only the api admits the ingress controller; only ingest leaves the cluster (443)."""
    bad = []
    nps = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    if not nps:
        return bad
    if not any(
        np["spec"].get("podSelector") == {}
        and set(np["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not np["spec"].get("ingress")
        and not np["spec"].get("egress")
        for np in nps
    ):
        bad.append("no default-deny NetworkPolicy (podSelector {} with no rules)")
    for np in nps:
        targets = _policy_components(np)
        for rule in np["spec"].get("ingress") or []:
            for peer in rule.get("from") or []:
                if _is_ingress_controller(peer) and targets != {"api"}:
                    bad.append(f"{_name(np)}: admits the ingress controller to {sorted(targets)}")
        for rule in np["spec"].get("egress") or []:
            blocks = [p["ipBlock"] for p in rule.get("to") or [] if "ipBlock" in p]
            if not blocks:
                continue
            ports = {p.get("port") for p in rule.get("ports") or []}
            if targets == {"ingest"} and ports == {443}:
                continue
            if ports and ports <= {443, 6443} and targets & {"price-lander", "kafka"}:
                continue  # the Kubernetes API for the Spark driver and Strimzi's entity operator
            bad.append(f"{_name(np)}: {sorted(targets)} may leave the cluster on {sorted(ports) or 'any port'}")
    return bad


# Who may reach an outside system's pods: every other flow the policies allow to them is a violation.
TRINO_CLIENTS = frozenset({"query", "price-lander", "trino-coordinator", "trino-worker"})
OWNERS = {
    "coingecko-sim": frozenset({"ingest"}),  # and the real CoinGecko: only ingest has egress on 443
    "trino-coordinator": TRINO_CLIENTS,  # the lander creates and registers the table
    "trino-worker": TRINO_CLIENTS,
}
# Flows the services need (from, to): each allowed by the egress of the one and the ingress of the other.
REQUIRED_FLOWS = (
    ("api", "query"),  # valuations
    ("api", "ingest"),  # the coin list
    ("ingest", "query"),  # the days already landed, before a backfill
    ("ingest", "coingecko-sim"),
    ("query", "trino-coordinator"),
)


def _peer_components(peer: dict) -> set[str]:
    """The components of this release a policy peer selects (none for namespaces, Kafka, address blocks)."""
    if "ipBlock" in peer or "namespaceSelector" in peer:
        return set()
    for expr in (peer.get("podSelector") or {}).get("matchExpressions", []):
        if expr["key"] == COMPONENT and expr["operator"] == "In":
            return set(expr["values"])
    return set()


def allowed_flows(docs) -> dict[str, set[tuple[str, str]]]:
    """(from, to) component pairs each side's policies allow: {"egress": ..., "ingress": ...}."""
    flows: dict[str, set[tuple[str, str]]] = {"egress": set(), "ingress": set()}
    for np in (d for d in docs if d.get("kind") == "NetworkPolicy"):
        targets = _policy_components(np)
        for rule in np["spec"].get("egress") or []:
            for peer in rule.get("to") or []:
                flows["egress"] |= {(t, c) for t in targets for c in _peer_components(peer)}
        for rule in np["spec"].get("ingress") or []:
            for peer in rule.get("from") or []:
                flows["ingress"] |= {(c, t) for t in targets for c in _peer_components(peer)}
    return flows


def check_flows(docs) -> list[str]:
    """Only the owners reach CoinGecko(-sim) and Trino; the flows between the services are served."""
    nps = [d for d in docs if d.get("kind") == "NetworkPolicy"]
    if not nps:
        return []
    bad = []
    flows = allowed_flows(docs)
    for side, pairs in sorted(flows.items()):
        for src, dst in sorted(pairs):
            if dst in OWNERS and src not in OWNERS[dst]:
                bad.append(f"{side}: {src} may reach {dst} (only {', '.join(sorted(OWNERS[dst]))} may)")
    with_policy = set().union(*(_policy_components(np) for np in nps))
    for src, dst in REQUIRED_FLOWS:
        if {src, dst} <= with_policy:
            bad += [
                f"{side}: {src} -> {dst} is not allowed"
                for side in ("egress", "ingress")
                if (src, dst) not in flows[side]
            ]
    return bad


def _policy_components(np: dict) -> set[str]:
    sel = np["spec"].get("podSelector") or {}
    if sel.get("matchLabels", {}).get("strimzi.io/cluster"):
        return {"kafka"}
    for expr in sel.get("matchExpressions", []):
        if expr["key"] == COMPONENT:
            return set(expr["values"])
    return {"*"}


def _is_ingress_controller(peer: dict) -> bool:
    labels = (peer.get("namespaceSelector") or {}).get("matchLabels", {})
    return any("ingress" in str(v) for v in labels.values())


ALL_CHECKS = {
    "resources": check_resources,
    "probes": check_probes,
    "images": check_images,
    "security": check_security,
    "services": check_services_select_pods,
    "probe-ports": check_probe_ports,
    "monitors": check_monitors,
    "selectors": check_selectors,
    "env": check_env_known,
    "secrets": check_secret_refs,
    "network": check_network_policies,
    "flows": check_flows,
}


def violations(docs) -> dict[str, list[str]]:
    return {name: check(docs) for name, check in ALL_CHECKS.items()}
