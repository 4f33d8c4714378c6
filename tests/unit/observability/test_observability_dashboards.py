"""Grafana dashboards: valid JSON that Grafana imports, PromQL that parses, metrics that exist."""

import json
import subprocess
import sys

import pytest
import yaml
from coinstream import components
from coinstream.runtime.prometheus import OBSERVABILITY, rule_files
from coinstream_common import metrics
from coinstream_testkit.promql import (
    DASHBOARDS_DIR,
    concrete,
    dashboard_files,
    dashboard_queries,
    rule_queries,
    selectors,
)
from prometheus_client import Counter, Gauge, Histogram

pytestmark = pytest.mark.unit


def _service_metric_names() -> set[str]:
    """Exposed sample names of every metric object: the shared ones and every component's own."""
    names = set()
    modules = [metrics] + [m for m in map(components.metrics_module, components.COMPONENTS) if m]
    for obj in (o for m in modules for o in vars(m).values()):
        if isinstance(obj, Histogram):
            names |= {obj._name + s for s in ("_bucket", "_count", "_sum")}
        elif isinstance(obj, Counter):
            names.add(obj._name + "_total")
        elif isinstance(obj, Gauge):
            names.add(obj._name)
    return names


def _boards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in dashboard_files()}


def _panels(panels):
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def test_dashboards_exist_and_are_generated_from_code():
    assert {
        "coinstream-overview.json",
        "coinstream-api.json",
        "coinstream-ingest.json",
        "coinstream-query.json",
        "coinstream-lander.json",
        "coinstream-kafka.json",
        "coinstream-trino.json",
    } <= set(_boards())
    result = subprocess.run(
        [sys.executable, str(OBSERVABILITY / "grafana.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


def test_every_dashboard_is_a_grafana_dashboard_with_a_prometheus_datasource_variable():
    problems = []
    uids = {}
    for name, board in _boards().items():
        for key in ("uid", "title", "panels", "schemaVersion"):
            if not board.get(key):
                problems.append(f"{name}: no {key}")
        if board.get("uid") in uids:
            problems.append(f"{name}: uid {board['uid']} also used by {uids[board['uid']]}")
        uids[board.get("uid")] = name
        if len(board.get("uid", "")) > 40:
            problems.append(f"{name}: Grafana uids are at most 40 characters")
        variables = {v["name"]: v for v in board.get("templating", {}).get("list", [])}
        ds = variables.get("datasource", {})
        if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            problems.append(f"{name}: needs a `datasource` variable of type datasource, query prometheus")
        ids = [p.get("id") for p in _panels(board["panels"])]
        if len(ids) != len(set(ids)):
            problems.append(f"{name}: panel ids are not unique")
        for panel in _panels(board["panels"]):
            where = f"{name}: panel {panel.get('title')!r}"
            if panel["type"] == "row":
                continue
            if not panel.get("targets"):
                problems.append(f"{where} has no query")
            for t in [panel, *panel.get("targets", [])]:
                if t.get("datasource") != {"type": "prometheus", "uid": "${datasource}"}:
                    problems.append(f"{where}: datasource must be the ${{datasource}} variable")
            g = panel.get("gridPos", {})
            if not (0 <= g.get("x", -1) and g.get("x", 0) + g.get("w", 0) <= 24 and g.get("h", 0) > 0):
                problems.append(f"{where}: gridPos {g} outside Grafana's 24 columns")
    assert not problems, "\n".join(problems)


def test_every_dashboard_and_rule_expression_parses(run_promtool, tmp_path):
    """promtool parses each expression as a recording rule: a syntax error names the panel."""
    queries = dashboard_queries() + rule_queries()
    assert len(queries) > 50
    rules = [{"record": f"check:expr_{i}", "expr": concrete(q.expr)} for i, q in enumerate(queries)]
    path = tmp_path / "expressions.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "expressions", "rules": rules}]}))
    result = run_promtool("check", "rules", str(path))
    if result.returncode != 0:
        out = result.stdout + result.stderr
        culprits = [f"{q.source}: {q.expr}" for i, q in enumerate(queries) if f'"check:expr_{i}"' in out]
        pytest.fail("promtool rejects:\n" + "\n".join(culprits) + "\n" + out)


def test_parse_check_catches_a_broken_expression(run_promtool, tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "g",
                        "rules": [{"record": "check:broken", "expr": concrete("sum(rate(x[$__rate_interval])")}],
                    }
                ]
            }
        )
    )
    assert run_promtool("check", "rules", str(path)).returncode != 0


def test_every_coinstream_metric_used_is_defined():
    """A typo in a coinstream_* name would otherwise only show as an empty panel."""
    known = _service_metric_names()
    recorded = {
        r.get("record") for p in rule_files() for g in yaml.safe_load(p.read_text())["groups"] for r in g["rules"]
    }
    unknown = []
    for q in dashboard_queries() + rule_queries():
        for s in selectors(q.expr):
            if s.metric.startswith("coinstream_") and s.metric not in known:
                unknown.append(
                    f"{q.source}: {s.metric} is defined in no metrics module (coinstream_common or a component's)"
                )
            if ":" in s.metric and s.metric not in recorded:
                unknown.append(f"{q.source}: {s.metric} is not a recording rule of helm/coinstream/rules")
    assert not unknown, "\n".join(sorted(set(unknown)))


def test_dashboards_cover_the_pipeline():
    """The overview shows the pipeline's health on one board: ingest rate, the lander's Kafka lag,
    event-to-queryable lag, API latency and 5xx errors, and CoinGecko's 429s."""
    exprs = " ".join(q.expr for q in dashboard_queries([DASHBOARDS_DIR / "coinstream-overview.json"]))
    for metric in (
        "coinstream_kafka_produced_total",
        "coinstream_lander_kafka_lag_records",
        "coinstream_pipeline_lag_seconds",
        "coinstream_http_request_duration_seconds_bucket",
        'status=~"5.."',
        "coinstream_coingecko_rate_limited_total",
    ):
        assert metric in exprs, f"the overview dashboard does not show {metric}"
