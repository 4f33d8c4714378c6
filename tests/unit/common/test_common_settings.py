from pathlib import Path

import pytest
from coinstream_common import settings
from coinstream_common.timeutil import grid, parse_instant, to_iso

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
    monkeypatch.setenv("COINSTREAM_COINGECKO_API_PLAN", "enterprise")
    with pytest.raises(settings.SettingsError, match="COINSTREAM_COINGECKO_API_PLAN"):
        settings.load(settings.CoinGeckoSettings)


def test_known_env_vars_per_service():
    assert "COINSTREAM_COINGECKO_API_KEY" in settings.known_env_vars("ingest")
    assert "COINSTREAM_COINGECKO_API_KEY" not in settings.known_env_vars("query")
    assert "COINSTREAM_TRINO_SCHEMA" in settings.known_env_vars("query")


def test_settings_doc_is_generated_from_code():
    from coinstream.settings_doc import document

    doc = (ROOT / "docs" / "SETTINGS.md").read_text()
    assert doc == document(), "docs/SETTINGS.md is stale: run `make docs`"


def test_time_helpers():
    assert parse_instant("2026-01-02") == 1767312000000
    assert parse_instant("2026-01-02T00:00:00Z") == 1767312000000
    assert parse_instant(1767312000) == 1767312000000
    assert to_iso(1767312000000) == "2026-01-02T00:00:00Z"
    assert grid(1767312000000 - 1, 1767312000000 + 86_400_000, "daily") == [1767312000000, 1767398400000]
    with pytest.raises(ValueError):
        parse_instant("yesterday")
