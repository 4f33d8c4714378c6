"""The local stack: every component in dependency order.

`coinstream up`, `down`, `status` and the test fixtures all go through
``Stack``, so tests exercise exactly what users run.
"""

from __future__ import annotations

from collections.abc import Iterable

from coinstream_common.settings import load

from .component import Component
from .config import LocalSettings
from .hdfs import DataNode, NameNode
from .kafka import Kafka
from .lander import PriceLander
from .prometheus import Prometheus
from .services import Api, CoinGeckoSim, Ingest, Query
from .trino import Trino

# In start order.
COMPONENTS: list[type[Component]] = [Kafka, NameNode, DataNode, Trino, CoinGeckoSim, Ingest, PriceLander, Query, Api]
# Started only when named (`coinstream up --prometheus`).
OPTIONAL: list[type[Component]] = [Prometheus]


class Stack:
    def __init__(self, cfg: LocalSettings | None = None, with_optional: bool = True) -> None:
        self.cfg = cfg or load(LocalSettings)
        self.components: list[Component] = [cls(self.cfg) for cls in COMPONENTS]
        if with_optional:
            self.components += [cls(self.cfg) for cls in OPTIONAL]
        self.by_name = {c.name: c for c in self.components}

    def resolve(self, names: Iterable[str] | None) -> list[Component]:
        """The named components and what they require, in start order."""
        if names is None:
            return [c for c in self.components if c not in self._optional()]
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
        return [c for c in self.components if type(c) in OPTIONAL]

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
