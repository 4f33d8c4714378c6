"""Every deployable component of coinstream and what each declares about itself.

The dev tool is the one place that knows every component: each component
declares the settings groups it reads (``SETTINGS_GROUPS`` in its own module)
and defines its own Prometheus series (its ``metrics`` module); this module
only collects those declarations, for the settings table (docs/SETTINGS.md),
the Helm chart's settings catalog and the tests that check the chart and the
dashboards against the code. The components never import each other.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from coinstream_common.settings import SettingsGroup, env_name, is_secret

# component name (the chart's app.kubernetes.io/component) -> (module declaring SETTINGS_GROUPS, metrics module)
_MODULES: dict[str, tuple[str, str | None]] = {
    "ingest": ("coinstream_ingest.settings", "coinstream_ingest.metrics"),
    "query": ("coinstream_query.settings", "coinstream_query.metrics"),
    "api": ("coinstream_api.settings", "coinstream_api.metrics"),
    "coingecko-sim": ("coingecko_sim.config", None),
    "price-lander": ("coinstream_lander.settings", "coinstream_lander.metrics"),
}
COMPONENTS: tuple[str, ...] = tuple(_MODULES)
# The components served by gunicorn from services/Dockerfile, with their Flask app factory.
HTTP_APPS: dict[str, str] = {
    "ingest": "coinstream_ingest.app",
    "query": "coinstream_query.app",
    "api": "coinstream_api.app",
    "coingecko-sim": "coingecko_sim.app",
}
SHARED_METRICS = "coinstream_common.metrics"


def settings_groups(component: str) -> tuple[type[SettingsGroup], ...]:
    """The settings groups a component reads, as its own module declares them."""
    return tuple(importlib.import_module(_MODULES[component][0]).SETTINGS_GROUPS)


def service_settings() -> dict[str, tuple[type[SettingsGroup], ...]]:
    return {c: settings_groups(c) for c in COMPONENTS}


def groups() -> tuple[type[SettingsGroup], ...]:
    """Every group any component reads, once: the shared groups first, then each component's own."""
    seen: dict[type[SettingsGroup], None] = {}
    every = [g for c in COMPONENTS for g in settings_groups(c)]
    for g in sorted(every, key=lambda g: g.__module__ != "coinstream_common.settings"):
        seen.setdefault(g, None)
    return tuple(seen)


def known_env_vars(component: str) -> set[str]:
    """Every environment variable a component reads."""
    return {env_name(g, f) for g in settings_groups(component) for f in g.model_fields}


def secret_env_vars() -> frozenset[str]:
    """The settings that are secrets (never logged, never in a ConfigMap)."""
    return frozenset(env_name(g, f) for g in groups() for f in g.model_fields if is_secret(g, f))


def metrics_module(component: str) -> ModuleType | None:
    """A component's own metrics module (None when it defines no series of its own)."""
    name = _MODULES[component][1]
    return importlib.import_module(name) if name else None
