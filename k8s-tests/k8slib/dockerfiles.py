"""A small Dockerfile reader: enough to check base images, stages and the user.

Handles comments, line continuations, ``ARG`` defaults (global ones before the
first ``FROM`` and per-stage ones), build arguments that override them (as
``docker build --build-arg`` and Tilt's ``build_args`` do) and ``${VAR}``/``$VAR``
substitution.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Stage:
    base: str  # image reference after ARG substitution, or an earlier stage's name
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)
    args: dict[str, str] = field(default_factory=dict)

    def users(self) -> list[str]:
        return [substitute(a, self.args) for i, a in self.instructions if i == "USER"]


def substitute(text: str, args: dict[str, str]) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        return args.get(name, m.group(2) or "")

    return _VAR.sub(repl, text)


def instructions(text: str) -> list[tuple[str, str]]:
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    return out


def _parse_arg(rest: str) -> tuple[str, str]:
    name, _, default = rest.partition("=")
    return name.strip(), shlex.split(default)[0] if default.strip() else ""


def stages(path: Path, build_args: dict[str, str] | None = None) -> list[Stage]:
    given = build_args or {}
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    for keyword, rest in instructions(path.read_text()):
        if keyword == "ARG" and not result:
            name, default = _parse_arg(rest)
            global_args[name] = given.get(name, default)
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            base = substitute(words[0], global_args)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=base, name=name))
        elif result:
            stage = result[-1]
            if keyword == "ARG":
                name, default = _parse_arg(rest)
                stage.args[name] = given.get(name, default or global_args.get(name, ""))
            stage.instructions.append((keyword, rest))
    return result


def _used(name: str, text: str) -> bool:
    return any((m.group(1) or m.group(3)) == name for m in _VAR.finditer(text))


def unset_args(path: Path, build_args: dict[str, str] | None = None) -> list[str]:
    """The ARGs a stage uses that have no value: no default and no build argument."""
    return sorted(
        {
            name
            for stage in stages(path, build_args)
            for name, value in stage.args.items()
            if not value and any(_used(name, a) for _i, a in stage.instructions)
        }
    )


def copy_sources(path: Path, build_args: dict[str, str] | None = None) -> list[str]:
    """What the COPY instructions take from the build context, with the arguments substituted."""
    sources = []
    for stage in stages(path, build_args):
        for keyword, rest in stage.instructions:
            words = substitute(rest, stage.args).split()
            if keyword in ("COPY", "ADD") and not any(w.startswith("--from=") for w in words):
                sources += [w for w in words[:-1] if not w.startswith("--")]
    return sources


def image_problems(path: Path, build_args: dict[str, str] | None = None) -> list[str]:
    """Why a Dockerfile, built with these arguments, is not a pinned, multi-stage, non-root
    build ([] when it is)."""
    found = stages(path, build_args)
    if not found:
        return [f"{path}: no FROM"]
    problems = [f"{path}: build argument {name} has no value" for name in unset_args(path, build_args)]
    names = set()
    for stage in found:
        if stage.base in names or stage.base == "scratch":
            pass
        else:
            last = stage.base.rsplit("/", 1)[-1]
            if "@sha256:" not in stage.base and (":" not in last or last.endswith(":latest") or "$" in stage.base):
                problems.append(f"{path}: FROM {stage.base!r} is not a pinned tag")
        if stage.name:
            names.add(stage.name)
    if len(found) < 2:
        problems.append(f"{path}: single stage (build tools would ship in the final image)")
    final = found[-1]
    if len(found) >= 2 and not any(i == "COPY" and "--from=" in a for i, a in final.instructions):
        problems.append(f"{path}: the final stage copies nothing from a build stage")
    users = final.users()
    if not users:
        problems.append(f"{path}: the final stage sets no USER (runs as root)")
    elif users[-1].split(":")[0] in ("root", "0", ""):
        problems.append(f"{path}: the final stage runs as {users[-1]!r}")
    installs = " ".join(a for i, a in final.instructions if i == "RUN")
    for tool in ("build-essential", "gcc", "g++", "make "):
        if re.search(rf"(apt-get|apk|yum|dnf)[^&;]*install[^&;]*\b{re.escape(tool.strip())}\b", installs):
            problems.append(f"{path}: the final stage installs {tool.strip()}")
    return problems
