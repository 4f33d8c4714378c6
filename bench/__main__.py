"""``python -m bench`` (``make bench``): run every bench/bench_*.py and write one table of every figure.

Each benchmark runs as its own subprocess, with a time bound, from the
repository root. The convention every bench script follows: its LAST line of
output is

    BENCH_JSON {"bench": "<name>", "figures": [{"name": str, "value": any, "unit": str,
                                               "target": str | null, "ok": bool | null}, ...]}

(``ok`` null: a figure reported without a target; an optional ``"skipped": "<why>"``
says the bench could not run here, e.g. the stack it needs is down). The
table goes to stdout and bench/results/summary.md; each bench's whole output
to bench/results/<name>.log. Exit status 1 if a bench failed to run or a
figure missed its target, else 0.

    python -m bench [names ...] [--timeout S]      e.g. python -m bench load api
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
MARKER = "BENCH_JSON "
# Longest each may run (s); a bench not listed gets DEFAULT_TIMEOUT_S.
TIMEOUTS_S = {"api": 300, "lander": 900, "load": 300}
DEFAULT_TIMEOUT_S = 600


@dataclass
class Outcome:
    name: str
    seconds: float
    figures: list[dict] = field(default_factory=list)
    error: str | None = None  # could not run, or broke the convention
    skipped: str | None = None


def discover() -> dict[str, Path]:
    return {p.stem.removeprefix("bench_"): p for p in sorted(BENCH_DIR.glob("bench_*.py"))}


def parse_output(stdout: str) -> dict:
    """The BENCH_JSON object of a bench's output (its last such line); ValueError if there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
                raise ValueError("BENCH_JSON without a figures list")
            return data
    raise ValueError("no BENCH_JSON line in the output")


def run_one(name: str, path: Path, timeout_s: float) -> Outcome:
    started = time.monotonic()
    log = RESULTS / f"{name}.log"
    # its own session: on timeout the whole group goes (a bench starts servers and load generators)
    proc = subprocess.Popen(
        [sys.executable, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        log.write_text(stdout + "\n--- stderr ---\n" + stderr)
        return Outcome(name, time.monotonic() - started, error=f"timed out after {timeout_s:.0f} s")
    log.write_text(stdout + "\n--- stderr ---\n" + stderr)
    seconds = time.monotonic() - started
    try:
        data = parse_output(stdout)
    except ValueError as exc:
        tail = (stderr.strip().splitlines() or ["(no stderr)"])[-1][:200]
        return Outcome(name, seconds, error=f"exit {proc.returncode}, {exc}; last stderr line: {tail}")
    outcome = Outcome(name, seconds, figures=data["figures"], skipped=data.get("skipped"))
    if proc.returncode != 0:
        outcome.error = f"exit status {proc.returncode}"
    return outcome


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the bench's process group (its servers clean up), SIGKILL what is left after 15 s."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        value = f"{value:,.3f}".rstrip("0").rstrip(".")
    return str(value).replace("|", "\\|").replace("\n", " ")


def verdict(figure: dict) -> str:
    ok = figure.get("ok")
    return "pass" if ok is True else "**FAIL**" if ok is False else ""


def table(outcomes: list[Outcome]) -> str:
    lines = ["| bench | figure | value | unit | target | result |", "|---|---|---|---|---|---|"]
    for o in outcomes:
        if o.error:
            what = "did not run" if not o.figures else "ended badly"
            lines.append(f"| {o.name} | ({what}: {_cell(o.error)}) |  |  |  | **FAIL** |")
        elif o.skipped and not o.figures:
            lines.append(f"| {o.name} | (skipped: {_cell(o.skipped)}) |  |  |  | skipped |")
        for f in o.figures:
            lines.append(
                f"| {o.name} | {_cell(f.get('name'))} | {_cell(f.get('value'))} | {_cell(f.get('unit'))} "
                f"| {_cell(f.get('target'))} | {verdict(f)} |"
            )
    return "\n".join(lines)


def summary(outcomes: list[Outcome], started: datetime) -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    failed = sum(1 for o in outcomes if o.error) + sum(1 for o in outcomes for f in o.figures if f.get("ok") is False)
    header = [
        "# coinstream benchmarks",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC on {platform.node()} ({os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; load average at the end {load[0]:.2f}). "
        + ", ".join(f"{o.name} {o.seconds:.0f} s" for o in outcomes)
        + ".",
        "",
        (
            f"{'All figures met their targets.' if not failed else f'{failed} figure(s) or bench(es) FAILED.'} "
            "Each bench's full output: bench/results/<bench>.log."
        ),
        "",
    ]
    return "\n".join(header) + table(outcomes) + "\n"


def main(argv: list[str] | None = None) -> int:
    available = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"benches to run (default: all of {', '.join(available)})")
    parser.add_argument("--timeout", type=float, help="time bound of each bench, s (default: per bench)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in available]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; known: {', '.join(available)}")
    RESULTS.mkdir(exist_ok=True)
    started = datetime.now(UTC)
    outcomes = []
    for name in args.names or list(available):
        timeout_s = args.timeout or TIMEOUTS_S.get(name, DEFAULT_TIMEOUT_S)
        print(f"running {name} (at most {timeout_s:.0f} s) ...", file=sys.stderr, flush=True)
        outcomes.append(run_one(name, available[name], timeout_s))
    text = summary(outcomes, started)
    (RESULTS / "summary.md").write_text(text)
    print(text)
    bad = any(o.error for o in outcomes) or any(f.get("ok") is False for o in outcomes for f in o.figures)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
