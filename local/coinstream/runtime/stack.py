"""The local stack: every component in dependency order.

`coinstream up`, `down`, `status` and the test fixtures all go through
``Stack``, so tests exercise exactly what users run.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

from coinstream_common.settings import load

from .component import Component
from .config import LocalSettings

# (module, class) in start order; a module not present yet is skipped, so the
# stack grows as components are added.
COMPONENTS: list[tuple[str, str]] = [
    ("coinstream.runtime.kafka", "Kafka"),
    ("coinstream.runtime.hdfs", "NameNode"),
    ("coinstream.runtime.hdfs", "DataNode"),
    ("coinstream.runtime.trino", "Trino"),
    ("coinstream.runtime.services", "CoinGeckoSim"),
    ("coinstream.runtime.services", "Ingest"),
    ("coinstream.runtime.lander", "PriceLander"),
    ("coinstream.runtime.services", "Query"),
    ("coinstream.runtime.services", "Api"),
]
OPTIONAL: list[tuple[str, str]] = [
    ("coinstream.runtime.prometheus", "Prometheus"),
]


def _load(entries: Iterable[tuple[str, str]], cfg: LocalSettings) -> list[Component]:
    found = []
    for module, cls in entries:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise
        if hasattr(mod, cls):
            found.append(getattr(mod, cls)(cfg))
    return found


class Stack:
    def __init__(self, cfg: LocalSettings | None = None, with_optional: bool = True) -> None:
        self.cfg = cfg or load(LocalSettings)
        self.components = _load(COMPONENTS, self.cfg)
        if with_optional:
            self.components += _load(OPTIONAL, self.cfg)
        self.by_name = {c.name: c for c in self.components}

    def resolve(self, names: Iterable[str] | None) -> list[Component]:
        """The named components and what they require, in start order."""
        if names is None:
            return [c for c in self.components if c.name not in {n for _, n in OPTIONAL} and c not in self._optional()]
        wanted: set[str] = set()

        def add(name: str) -> None:
            if name not in self.by_name:
                raise KeyError(f"unknown component {name!r}; known: {', '.join(self.by_name)}")
            if name in wanted:
                return
            wanted.add(name)
            for dep in self.by_name[name].requires:
                add(dep)

        for n in names:
            add(n)
        return [c for c in self.components if c.name in wanted]

    def _optional(self) -> list[Component]:
        optional_classes = {cls for _, cls in OPTIONAL}
        return [c for c in self.components if type(c).__name__ in optional_classes]

    def up(self, names: Iterable[str] | None = None, say=print) -> list[str]:
        """Start what is not running; returns the names this call started."""
        started = []
        for comp in self.resolve(names):
            say(f"  {comp.name:<16} starting ...")
            state = comp.start(say)
            say(f"  {comp.name:<16} {state}")
            if state == "started":
                started.append(comp.name)
        return started

    def down(self, names: Iterable[str] | None = None, say=print) -> None:
        if names is None:
            targets = self.components
        else:  # only what was named: stopping a service must not take its dependencies down
            unknown = [n for n in names if n not in self.by_name]
            if unknown:
                raise KeyError(f"unknown component {unknown[0]!r}; known: {', '.join(self.by_name)}")
            targets = [c for c in self.components if c.name in set(names)]
        for comp in reversed(targets):
            if comp.stop():
                say(f"  {comp.name:<16} stopped")

    def status(self) -> list[tuple[str, bool, str]]:
        return [(c.name, *c.status()) for c in self.components if c.proc.running() or c not in self._optional()]

    def endpoints(self) -> dict[str, dict[str, str]]:
        return {c.name: c.endpoints() for c in self.components if c.endpoints()}


def eprint(*args) -> None:
    print(*args, file=sys.stderr)
