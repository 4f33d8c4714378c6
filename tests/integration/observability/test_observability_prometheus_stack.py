"""A real Prometheus against the running local stack: targets up, dashboard metrics present, every query valid.

A component the stack does not have yet, or that fails to start, is named in
the failure (with its reason) rather than skipped.
"""

import pytest
import requests
from coinstream.runtime.prometheus import rule_files
from coinstream_testkit.promql import concrete, dashboard_queries, rule_queries, selectors

pytestmark = pytest.mark.integration

DATA_WAIT_S = 120.0  # the lander lands asynchronously: give the pipeline time to move


def test_every_scrape_target_is_up(observed):
    def down() -> list[str]:
        active = requests.get(f"{observed.url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        by_job = {t["labels"]["job"]: t for t in active}
        problems = []
        for target in observed.targets:
            t = by_job.get(target.job)
            if t is None:
                problems.append(f"{target.job}: not in Prometheus' targets")
            elif t["health"] != "up":
                why = observed.problems.get(target.job) or t["lastError"] or t["health"]
                hint = f" ({target.note})" if target.note and target.job not in observed.problems else ""
                problems.append(f"{target.job} at {t['scrapeUrl']}: {why}{hint}")
        return problems

    problems = observed.poll(down, timeout_s=20)
    assert not problems, "targets not up:\n" + "\n".join(problems)


def test_every_metric_the_dashboards_use_has_data(observed):
    """Each selector, with its equality matchers (job, stage, ...), returns at least one series."""
    used: dict[str, set[str]] = {}
    for q in dashboard_queries():
        for s in selectors(q.expr):
            used.setdefault(s.promql(("=",)), set()).add(q.source.split(":")[0])
    assert used

    def missing() -> list[str]:
        return [
            f"{sel}  (in {', '.join(sorted(boards))})"
            for sel, boards in sorted(used.items())
            if not observed.query(f"count({sel})")["result"]
        ]

    problems = observed.poll(missing, timeout_s=DATA_WAIT_S)
    assert not problems, (
        f"{len(problems)} of {len(used)} dashboard metrics have no data:\n" + "\n".join(problems) + observed.context()
    )


def test_every_dashboard_and_rule_expression_executes(observed):
    errors = []
    for q in dashboard_queries() + rule_queries():
        try:
            observed.query(concrete(q.expr))
        except AssertionError as exc:
            errors.append(f"{q.source}: {exc}\n    {q.expr}")
    assert not errors, "expressions Prometheus rejects:\n" + "\n".join(errors)


def test_the_rules_are_loaded_and_evaluate_without_error(observed):
    expected = {q.source.split("/", 1)[1] for q in rule_queries()}
    assert rule_files() and expected

    def unhealthy() -> list[str]:
        groups = requests.get(f"{observed.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
        loaded = {r["name"]: r for g in groups for r in g["rules"]}
        problems = [f"{name}: not loaded" for name in sorted(expected - set(loaded))]
        problems += [
            f"{name}: {r['health']} {r.get('lastError', '')}"
            for name, r in loaded.items()
            if name in expected and r["health"] != "ok"
        ]
        return problems

    problems = observed.poll(unhealthy, timeout_s=20, interval_s=2)
    assert not problems, "\n".join(problems)
