"""The SQL builders: placeholders match parameters, partitions are pruned, nothing user-given is spliced in."""

from datetime import date

import pytest
from coinstream_query import sql

pytestmark = pytest.mark.unit

DAY = 86_400_000
JAN1 = 1767225600000  # 2026-01-01T00:00:00Z
TABLE = sql.table_name("hive", "coinstream", "coin_prices")


def test_table_name_is_quoted_and_rejects_non_identifiers():
    assert TABLE == '"hive"."coinstream"."coin_prices"'
    for bad in ("coin_prices; DROP TABLE x", "a.b", 'x"y', "", "1abc"):
        with pytest.raises(ValueError):
            sql.table_name("hive", "coinstream", bad)


def test_series_binds_every_value_and_prunes_days():
    stmt = sql.series(TABLE, "bitcoin", "usd", JAN1, JAN1 + 3 * DAY, DAY)
    assert stmt.sql.count("?") == len(stmt.params)
    assert "day BETWEEN ? AND ?" in stmt.sql
    # Upper bound is exclusive: the last day scanned is the one holding until - 1 ms.
    assert date(2026, 1, 1) in stmt.params and date(2026, 1, 3) in stmt.params and date(2026, 1, 4) not in stmt.params
    assert stmt.params.count(DAY) == 2  # the step, once per use in the text
    assert "bitcoin" not in stmt.sql and "usd" not in stmt.sql
    assert stmt.params[:2] == (DAY, DAY)  # placeholders resolve in text order: step comes before the WHERE


def test_user_values_never_reach_the_text():
    hostile = "x') OR 1=1 --"
    for stmt in (
        sql.series(TABLE, hostile, hostile, JAN1, JAN1 + DAY, DAY),
        sql.coverage(TABLE, [hostile, "b"], hostile, JAN1, JAN1 + DAY, DAY),
        sql.valuation(TABLE, [sql.Holding(hostile, 1.0)], hostile, JAN1, 2, DAY, 2 * DAY),
    ):
        assert hostile not in stmt.sql
        assert hostile in stmt.params
        assert stmt.sql.count("?") == len(stmt.params)


def test_coverage_lists_each_coin_as_a_parameter():
    stmt = sql.coverage(TABLE, ["bitcoin", "ethereum", "solana"], "eur", JAN1, JAN1 + 2 * DAY, 3_600_000)
    assert "coin_id IN (?, ?, ?)" in stmt.sql
    assert stmt.params.count(3_600_000) == 2
    assert [p for p in stmt.params if isinstance(p, str)] == ["eur", "bitcoin", "ethereum", "solana"]


def test_valuation_params_in_text_order():
    holdings = [sql.Holding("bitcoin", 1.5), sql.Holding("ethereum", 2.0, JAN1 + DAY), sql.Holding("bitcoin", 0.5, 7)]
    stmt = sql.valuation(TABLE, holdings, "usd", JAN1, 4, DAY, 3 * DAY)
    assert stmt.sql.count("?") == len(stmt.params)
    assert stmt.params[:9] == ("bitcoin", 1.5, None, "ethereum", 2.0, JAN1 + DAY, "bitcoin", 0.5, 7)
    assert stmt.params[9:12] == (JAN1, JAN1 + 3 * DAY, DAY)  # sequence(first, last, step)
    # Coins are deduplicated for the scan; the scan reaches back by the staleness bound.
    assert "coin_id IN (?, ?)" in stmt.sql
    assert date(2025, 12, 29) in stmt.params and date(2026, 1, 4) in stmt.params
    assert JAN1 - 3 * DAY in stmt.params
    assert stmt.params[-2:] == (DAY, 3 * DAY)  # step, then staleness, in the CASE


def test_valuation_looks_back_at_least_one_step():
    stmt = sql.valuation(TABLE, [sql.Holding("a", 1.0)], "usd", JAN1, 2, DAY, 0)
    assert JAN1 - DAY in stmt.params


def test_grid_uses_one_sequence_up_to_its_limit_and_two_beyond():
    small = sql.valuation(TABLE, [sql.Holding("a", 1.0)], "usd", JAN1, sql.SEQUENCE_MAX, 300_000, 600_000)
    assert small.sql.count("sequence(") == 1
    big = sql.valuation(TABLE, [sql.Holding("a", 1.0)], "usd", JAN1, sql.SEQUENCE_MAX + 1, 300_000, 600_000)
    assert big.sql.count("sequence(") == 2
    assert sql.SEQUENCE_MAX + 1 in big.params and 1 in big.params  # point count, chunks


def test_builders_refuse_empty_inputs():
    with pytest.raises(ValueError):
        sql.valuation(TABLE, [], "usd", JAN1, 2, DAY, DAY)
    with pytest.raises(ValueError):
        sql.coverage(TABLE, [], "usd", JAN1, JAN1 + DAY, DAY)
    with pytest.raises(ValueError):
        sql.valuation(TABLE, [sql.Holding("a", 1.0)], "usd", JAN1, 0, DAY, DAY)


def test_utc_day():
    assert sql.utc_day(JAN1 - 1) == date(2025, 12, 31)
    assert sql.utc_day(JAN1) == date(2026, 1, 1)


def test_day_buckets_bind_everything_quote_the_table_and_filter_the_source_only_when_asked():
    hostile = "x') OR 1=1 --"
    stmt = sql.day_buckets(TABLE, hostile, "usd", JAN1, JAN1 + 2 * DAY - 1, 3_600_000, source=hostile)
    assert f"FROM {TABLE}" in stmt.sql and hostile not in stmt.sql
    assert stmt.sql.count("?") == len(stmt.params)
    assert "source = ?" in stmt.sql and stmt.params.count(hostile) == 2
    # Both ends inclusive: the last day scanned holds ``last``; one step to bucket by.
    assert date(2026, 1, 1) in stmt.params and date(2026, 1, 2) in stmt.params and date(2026, 1, 3) not in stmt.params
    assert "ts <= " in stmt.sql and stmt.params.count(3_600_000) == 1
    assert "GROUP BY day" in stmt.sql
    plain = sql.day_buckets(TABLE, "bitcoin", "usd", JAN1, JAN1 + DAY, DAY)
    assert "source" not in plain.sql and plain.sql.count("?") == len(plain.params)
