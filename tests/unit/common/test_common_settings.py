from pathlib import Path

import pytest
from coinstream import components
from coinstream_common import settings
from coinstream_common.timeutil import grid, parse_instant, to_iso
from coinstream_contract import tables

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def test_defaults_match_design_names():
    topics = settings.TopicSettings()
    assert (topics.prices, topics.backfill_requests, topics.prices_landed, topics.portfolio_events) == (
        "coin.prices",
        "coin.backfill.requests",
        "coin.prices.landed",
        "portfolio.events",
    )
    trino = settings.TrinoSettings()
    assert (trino.catalog, trino.schema_, trino.table) == ("hive", "coinstream", "coin_prices")
    assert trino.table == tables.PRICE_TABLE


def test_env_overrides_and_one_line_errors(monkeypatch):
    monkeypatch.setenv("COINSTREAM_TRINO_PORT", "8443")
    monkeypatch.setenv("COINSTREAM_TRINO_SCHEMA", "other")
    t = settings.load(settings.TrinoSettings)
    assert (t.port, t.schema_) == (8443, "other")
    monkeypatch.setenv("COINSTREAM_TRINO_PORT", "not-a-port")
    with pytest.raises(settings.SettingsError) as err:
        settings.load(settings.TrinoSettings)
    assert "COINSTREAM_TRINO_PORT" in str(err.value) and "\n" not in str(err.value)


def test_bad_choice_is_rejected(monkeypatch):
    from coinstream_ingest.settings import CoinGeckoSettings

    monkeypatch.setenv("COINSTREAM_COINGECKO_API_PLAN", "enterprise")
    with pytest.raises(settings.SettingsError, match="COINSTREAM_COINGECKO_API_PLAN"):
        settings.load(CoinGeckoSettings)


def test_known_env_vars_per_service():
    assert "COINSTREAM_COINGECKO_API_KEY" in components.known_env_vars("ingest")
    assert "COINSTREAM_COINGECKO_API_KEY" not in components.known_env_vars("query")
    assert "COINSTREAM_TRINO_SCHEMA" in components.known_env_vars("query")


def test_settings_doc_is_generated_from_code():
    from coinstream.settings_doc import document

    doc = (ROOT / "docs" / "SETTINGS.md").read_text()
    assert doc == document(), "docs/SETTINGS.md is stale: run `make docs`"


def test_chart_settings_catalog_is_generated_from_code():
    from coinstream.settings_doc import CHART_CATALOG, chart_catalog

    assert CHART_CATALOG == ROOT / "helm" / "coinstream" / "files" / "settings.generated.yaml"
    assert CHART_CATALOG.read_text() == chart_catalog(), f"{CHART_CATALOG.relative_to(ROOT)} is stale: run `make docs`"


def test_chart_settings_catalog_says_what_each_component_reads():
    import yaml
    from coinstream.settings_doc import chart_catalog

    catalog = yaml.safe_load(chart_catalog())
    assert set(catalog["components"]) == set(components.COMPONENTS)
    for component, keys in catalog["components"].items():
        named = {catalog["groups"][k][f] for k in keys for f in catalog["groups"][k]}
        assert named == components.known_env_vars(component), component
    assert catalog["groups"]["trino"]["schema_"] == "COINSTREAM_TRINO_SCHEMA"  # an alias, not prefix + field
    assert set(catalog["secrets"]) == {"COINSTREAM_API_API_KEYS", "COINSTREAM_COINGECKO_API_KEY"}


def test_a_group_lives_with_the_only_component_reading_it_or_in_the_skeleton():
    """The skeleton holds the groups more than one component reads; a component's own groups only it reads."""
    readers: dict[type, set[str]] = {}
    for component, groups in components.service_settings().items():
        for g in groups:
            readers.setdefault(g, set()).add(component)
    owner_of = {
        "coinstream_ingest": "ingest",
        "coinstream_query": "query",
        "coinstream_api": "api",
        "coinstream_lander": "price-lander",
    }
    for g, who in readers.items():
        package = g.__module__.split(".")[0]
        if package == "coinstream_common":
            assert len(who) > 1, f"{g.__name__} is read by {who} only: it belongs in that component's settings"
        else:
            assert who == {owner_of[package]}, f"{g.__name__} ({g.__module__}) is read by {sorted(who)}"


def test_secret_fields_are_marked_on_their_groups():
    from coinstream_api.settings import ApiSettings
    from coinstream_ingest.settings import CoinGeckoSettings

    assert settings.is_secret(ApiSettings, "api_keys") and not settings.is_secret(ApiSettings, "query_url")
    assert settings.is_secret(CoinGeckoSettings, "api_key")
    assert {"COINSTREAM_API_API_KEYS", "COINSTREAM_COINGECKO_API_KEY"} <= settings.SECRET_ENV_VARS
    assert components.secret_env_vars() == {"COINSTREAM_API_API_KEYS", "COINSTREAM_COINGECKO_API_KEY"}


def test_logs_redact_every_secret_setting(monkeypatch):
    import logging

    import coinstream_api.settings  # noqa: F401  (the api defines its group before it configures logging)
    from coinstream_common import logs

    monkeypatch.setenv("COINSTREAM_API_API_KEYS", "alice-key,bob-key")
    monkeypatch.setenv("COINSTREAM_COINGECKO_API_KEY", "cg-secret")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure("test")
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "keys alice-key bob-key cg-secret", None, None)
        line = root.handlers[0].format(record)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logs._REDACT = logs._secret_values()
    assert "alice-key" not in line and "bob-key" not in line and "cg-secret" not in line
    assert "keys *** *** ***" in line


def test_time_helpers():
    assert parse_instant("2026-01-02") == 1767312000000
    assert parse_instant("2026-01-02T00:00:00Z") == 1767312000000
    assert parse_instant(1767312000) == 1767312000000
    assert to_iso(1767312000000) == "2026-01-02T00:00:00Z"
    assert grid(1767312000000 - 1, 1767312000000 + 86_400_000, "daily") == [1767312000000, 1767398400000]
    with pytest.raises(ValueError):
        parse_instant("yesterday")
