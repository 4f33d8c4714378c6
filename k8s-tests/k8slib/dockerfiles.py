"""Dockerfile checks on top of dockerfile-parse: base images, stages, the user, what is copied.

dockerfile-parse reads the instructions (comments, line continuations), keeps
each stage's ``ARG`` values (global ones before the first ``FROM``, per-stage
ones, and build arguments that override them, as ``docker build --build-arg``
and Tilt's ``build_args`` do) and expands ``${VAR}``/``$VAR`` in words.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from dockerfile_parse import DockerfileParser
from dockerfile_parse.util import WordSplitter


@dataclass
class Stage:
    base: str  # image reference after ARG substitution, or an earlier stage's name
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)
    args: dict[str, str] = field(default_factory=dict)

    def words(self, arguments: str) -> list[str]:
        """``arguments`` split into words with this stage's ARGs substituted."""
        return list(WordSplitter(arguments, args=self.args).split())

    def users(self) -> list[str]:
        return [" ".join(self.words(a)) for i, a in self.instructions if i == "USER"]


def stages(path: Path, build_args: dict[str, str] | None = None) -> list[Stage]:
    parser = DockerfileParser(fileobj=io.BytesIO(path.read_bytes()), build_args=build_args or {})
    bases = iter(parser.parent_images)  # each FROM's image, global ARGs substituted
    result: list[Stage] = []
    for item, context in zip(parser.structure, parser.context_structure, strict=True):
        keyword, value = item["instruction"], item["value"]
        if keyword == "FROM":
            words = [w for w in WordSplitter(value).split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=next(bases), name=name))
        elif result and keyword != "COMMENT":
            result[-1].instructions.append((keyword, value))
            result[-1].args = dict(context.args)
    return result


def _used(name: str, text: str) -> bool:
    marker = "\0unset\0"
    return any(marker in w for w in WordSplitter(text, args={name: marker}).split())


def unset_args(path: Path, build_args: dict[str, str] | None = None) -> list[str]:
    """The ARGs a stage uses that have no value: no default and no build argument."""
    return sorted(
        {
            name
            for stage in stages(path, build_args)
            for name, value in stage.args.items()
            if not value and any(_used(name, a) for i, a in stage.instructions if i != "ARG")
        }
    )


def copy_sources(path: Path, build_args: dict[str, str] | None = None) -> list[str]:
    """What the COPY instructions take from the build context, with the arguments substituted."""
    sources = []
    for stage in stages(path, build_args):
        for keyword, rest in stage.instructions:
            words = stage.words(rest)
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
