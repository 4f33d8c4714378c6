"""What the local Prometheus is asked: the expressions of the alert rules and the Grafana
dashboards, and the metric selectors inside them, which the observability tests
execute against a running server and hold to the metrics the services export.

Grafana's built-in variables (``$__rate_interval`` ...) are replaced by fixed values
(``concrete``) so Prometheus accepts an expression as is. The selector scan is a small
PromQL tokenizer, enough for the expressions of this repository.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from coinstream.runtime.prometheus import REPO, rule_files

DASHBOARDS_DIR = REPO / "helm" / "coinstream" / "dashboards"

GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "${__rate_interval}": "1m",
    "$__interval": "30s",
    "${__interval}": "30s",
    "$__range": "1h",
    "${__range}": "1h",
}


@dataclass(frozen=True)
class Query:
    source: str  # "<file>: <panel or rule>"
    expr: str


def rule_queries(files: list[Path] | None = None) -> list[Query]:
    found = []
    for path in files if files is not None else rule_files():
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            for rule in group.get("rules", []):
                name = rule.get("alert") or rule.get("record")
                found.append(Query(f"{path.name}: {group['name']}/{name}", str(rule["expr"])))
    return found


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def _panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries(files: list[Path] | None = None) -> list[Query]:
    found = []
    for path in files if files is not None else dashboard_files():
        board = json.loads(path.read_text())
        for panel in _panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    found.append(Query(f"{path.name}: {panel.get('title', panel.get('id'))}", target["expr"]))
    return found


def concrete(expr: str) -> str:
    """A dashboard expression with Grafana's built-in variables replaced, ready for Prometheus."""
    for var in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(var, GRAFANA_VARIABLES[var])
    return expr


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[tuple[str, str, str], ...] = ()

    def promql(self, ops: tuple[str, ...] = ("=", "!=", "=~", "!~")) -> str:
        kept = [f"{k}{op}{json.dumps(v)}" for k, op, v in self.matchers if op in ops]
        return self.metric + ("{" + ",".join(kept) + "}" if kept else "")


_TOKEN = re.compile(
    r'\s+|(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`)'
    r"|(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z]*)"
    r"|(?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"|(?P<sym>=~|!~|!=|==|<=|>=|[(){}\[\],:=<>+\-*/%^@])"
)
_LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_KEYWORDS = _LABEL_LIST_KEYWORDS | {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise ValueError(f"cannot tokenize PromQL at {expr[pos : pos + 20]!r}")
        pos = m.end()
        if m.lastgroup:
            out.append((m.lastgroup, m.group()))
    return out


def _unquote(s: str) -> str:
    return s[1:-1] if s.startswith("`") else json.loads(s) if s.startswith('"') else s[1:-1]


def selectors(expr: str) -> list[Selector]:
    """The metric selectors of a PromQL expression (functions, keywords and label lists skipped)."""
    toks = _tokens(concrete(expr))
    found: list[Selector] = []
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if text == "[":  # a range or subquery: durations only
            i = _skip_group(toks, i, "[", "]")
            continue
        if kind == "ident" and text.lower() in _LABEL_LIST_KEYWORDS and nxt == "(":
            i = _skip_group(toks, i + 1)
            continue
        is_function = nxt == "(" or nxt.lower() in {"by", "without"}  # `sum by (x) (...)`
        if kind != "ident" or is_function or text.lower() in _KEYWORDS:
            i += 1
            continue
        matchers: list[tuple[str, str, str]] = []
        i += 1
        if nxt == "{":
            i += 1
            while toks[i][1] != "}":
                if toks[i][1] == ",":
                    i += 1
                    continue
                matchers.append((toks[i][1], toks[i + 1][1], _unquote(toks[i + 2][1])))
                i += 3
            i += 1
        found.append(Selector(text, tuple(matchers)))
    return found


def _skip_group(toks: list[tuple[str, str]], open_at: int, opening: str = "(", closing: str = ")") -> int:
    """The index after the bracket that closes the one at ``open_at``."""
    depth = 0
    for j in range(open_at, len(toks)):
        depth += {opening: 1, closing: -1}.get(toks[j][1], 0)
        if depth == 0:
            return j + 1
    return len(toks)
