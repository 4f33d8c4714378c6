"""Alert and recording rules: valid, unit-tested by promtool, and every alert tested both ways."""

from pathlib import Path

import pytest
import yaml
from coinstream.runtime.prometheus import RULE_TESTS_DIR, rule_files

pytestmark = pytest.mark.unit

SEVERITIES = {"critical", "warning", "info"}


def _alerts() -> dict[str, dict]:
    found = {}
    for path in rule_files():
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found[rule["alert"]] = rule
    return found


def _test_files() -> list[Path]:
    return sorted(RULE_TESTS_DIR.glob("*.yml"))


def test_there_are_rule_files_and_rule_tests():
    assert rule_files(), "no rule files in helm/coinstream/rules/"
    assert _test_files(), "no promtool rule tests in helm/coinstream/rules/tests/"


def test_promtool_check_rules_passes(run_promtool):
    result = run_promtool("check", "rules", *map(str, rule_files()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules_passes(run_promtool):
    result = run_promtool("test", "rules", *map(str, _test_files()))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent():
    fired: set[str] = set()
    silent: set[str] = set()
    for path in _test_files():
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    alerts = set(_alerts())
    assert not alerts - fired, f"alerts never shown to fire in a promtool test: {sorted(alerts - fired)}"
    assert not alerts - silent, f"alerts never shown to stay silent in a promtool test: {sorted(alerts - silent)}"


def test_every_alert_has_a_severity_and_says_what_is_wrong():
    problems = []
    for name, rule in _alerts().items():
        if rule.get("labels", {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity must be one of {sorted(SEVERITIES)}")
        for key in ("summary", "description"):
            if not rule.get("annotations", {}).get(key):
                problems.append(f"{name}: no {key} annotation")
        if not name.startswith("Coinstream"):
            problems.append(f"{name}: alert names start with Coinstream")
    assert not problems, "\n".join(problems)
