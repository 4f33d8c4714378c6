"""Pure builders of the SQL the query service sends to Trino.

Every builder returns a ``Statement``: SQL text with ``?`` placeholders and
the parameters to bind, in order. User input only ever travels as a bound
parameter (the trino client renders each as a typed, escaped literal of an
``EXECUTE IMMEDIATE ... USING``); the only names spliced into the text are
the catalog, schema and table from settings, which are checked against an
identifier pattern and quoted.

Time is exchanged as epoch milliseconds (BIGINT) and converted with
``date_diff`` and interval arithmetic against the epoch as a zone-less TIMESTAMP, so the
results do not depend on the session time zone (``ts`` holds UTC wall time).
Every scan carries a ``day BETWEEN`` predicate so Trino prunes partitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from coinstream_contract.vocabulary import STATUS_CARRIED, STATUS_MISSING, STATUS_OBSERVED

EPOCH = "TIMESTAMP '1970-01-01 00:00:00.000'"
TS_MS = f"date_diff('millisecond', {EPOCH}, ts)"
# Trino's sequence() returns at most this many elements; longer grids are built from two.
SEQUENCE_MAX = 10_000

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Severity of a status: a point is as bad as its worst counted holding.
SEVERITY = {STATUS_OBSERVED: 0, STATUS_CARRIED: 1, STATUS_MISSING: 2}


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]


@dataclass(frozen=True)
class Holding:
    """One lot of a valuation: ``amount`` of ``coin`` held from ``acquired_ms`` (always when None)."""

    coin: str
    amount: float
    acquired_ms: int | None = None


class _Binder:
    """Parameters by placeholder: ``b(value)`` returns a marker that ``statement`` turns into ``?``.

    Markers are resolved in the order they appear in the final text (which
    is what binds them), so a fragment may be built before the text that
    precedes it, and one marker may be used twice.
    """

    _MARK = re.compile(r"@p(\d+)@")

    def __init__(self) -> None:
        self._values: list[Any] = []

    def __call__(self, value: Any, cast: str | None = None) -> str:
        self._values.append(value)
        mark = f"@p{len(self._values) - 1}@"
        return f"CAST({mark} AS {cast})" if cast else mark

    def statement(self, sql: str) -> Statement:
        params = tuple(self._values[int(m.group(1))] for m in self._MARK.finditer(sql))
        return Statement(self._MARK.sub("?", sql), params)


def quote_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier")
    return f'"{name}"'


def table_name(catalog: str, schema: str, table: str) -> str:
    return ".".join(quote_identifier(part) for part in (catalog, schema, table))


def utc_day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _ts(b: _Binder, ms: int) -> str:
    # Not date_add('millisecond', ...): it takes an int32 amount and overflows after 25 days.
    return f"({EPOCH} + {b(int(ms), 'bigint')} * INTERVAL '0.001' SECOND)"


def _scan_filter(b: _Binder, vs_currency: str, coins: list[str], lo_ms: int, hi_ms: int, hi_inclusive: bool) -> str:
    """Rows of ``coins`` in ``vs_currency`` with lo <= ts < hi (or <= hi), partitions pruned by day."""
    if not coins:
        raise ValueError("at least one coin is needed")
    coin_list = ", ".join(b(c) for c in coins)
    last_ms = hi_ms if hi_inclusive else hi_ms - 1
    upper = "<=" if hi_inclusive else "<"
    return (
        f"vs_currency = {b(vs_currency)}\n"
        f"    AND coin_id IN ({coin_list})\n"
        f"    AND day BETWEEN {b(utc_day(lo_ms))} AND {b(utc_day(last_ms))}\n"
        f"    AND ts >= {_ts(b, lo_ms)}\n"
        f"    AND ts {upper} {_ts(b, hi_ms)}"
    )


def series(table: str, coin: str, vs_currency: str, start_ms: int, until_ms: int, step_ms: int) -> Statement:
    """The last observation of each ``step_ms`` bucket in [start, until), bucket starts ascending.

    Rows: (bucket_ms, ts_ms, price, market_cap, total_volume). Copies of one
    event_id (a replayed event landed twice) cannot yield two points: one row
    per bucket is picked, latest ts first, then event_id, then latest ingested,
    then highest price (so even indistinguishable copies give one answer).
    """
    b = _Binder()
    where = _scan_filter(b, vs_currency, [coin], start_ms, until_ms, hi_inclusive=False)
    step = b(int(step_ms), "bigint")
    sql = f"""SELECT bucket_ms, ts_ms, price, market_cap, total_volume
FROM (
  SELECT ts_ms - mod(ts_ms, {step}) AS bucket_ms, ts_ms, price, market_cap, total_volume,
         row_number() OVER (
           PARTITION BY ts_ms - mod(ts_ms, {step})
           ORDER BY ts_ms DESC, event_id DESC, ingested_at DESC NULLS LAST, price DESC
         ) AS pick
  FROM (
    SELECT {TS_MS} AS ts_ms, price, market_cap, total_volume, event_id, ingested_at
    FROM {table}
    WHERE {where}
      AND price IS NOT NULL
  ) AS obs
) AS ranked
WHERE pick = 1
ORDER BY bucket_ms"""
    return b.statement(sql)


def coverage(table: str, coins: list[str], vs_currency: str, start_ms: int, until_ms: int, step_ms: int) -> Statement:
    """Islands of consecutive present buckets per coin in [start, until).

    Rows: (coin_id, first_bucket_ms, last_bucket_ms, buckets). The classic
    gaps-and-islands trick (bucket minus step x rank is constant along a run)
    keeps the answer as small as the number of holes, not of buckets.
    """
    b = _Binder()
    where = _scan_filter(b, vs_currency, coins, start_ms, until_ms, hi_inclusive=False)
    step = b(int(step_ms), "bigint")
    sql = f"""SELECT coin_id, min(bucket_ms) AS first_ms, max(bucket_ms) AS last_ms, count(*) AS buckets
FROM (
  SELECT coin_id, bucket_ms,
         bucket_ms - {step} * row_number() OVER (PARTITION BY coin_id ORDER BY bucket_ms) AS island
  FROM (
    SELECT DISTINCT coin_id, ts_ms - mod(ts_ms, {step}) AS bucket_ms
    FROM (
      SELECT coin_id, {TS_MS} AS ts_ms
      FROM {table}
      WHERE {where}
    ) AS obs
  ) AS present
) AS runs
GROUP BY coin_id, island
ORDER BY coin_id, first_ms"""
    return b.statement(sql)


def day_buckets(
    table: str,
    coin: str,
    vs_currency: str,
    first_ms: int,
    last_ms: int,
    step_ms: int,
    source: str | None = None,
) -> Statement:
    """Per UTC day, how many ``step_ms`` buckets with first <= ts <= last hold an observation.

    Rows: (day, buckets), days ascending; days without data are absent. With ``source``,
    only that source's observations count. A bucket never straddles two days (every
    interval divides a day), so a day is complete when its count reaches its grid points.
    """
    b = _Binder()
    where = _scan_filter(b, vs_currency, [coin], first_ms, last_ms, hi_inclusive=True)
    if source is not None:
        where += f"\n    AND source = {b(source)}"
    step = b(int(step_ms), "bigint")
    sql = f"""SELECT day, count(DISTINCT ts_ms - mod(ts_ms, {step})) AS buckets
FROM (
  SELECT day, {TS_MS} AS ts_ms
  FROM {table}
  WHERE {where}
) AS obs
GROUP BY day
ORDER BY day"""
    return b.statement(sql)


def _grid_relation(b: _Binder, first_ms: int, points: int, step_ms: int) -> str:
    """A relation ``(t)`` of ``points`` instants first, first+step, ... built with sequence()."""
    if points < 1:
        raise ValueError("a grid needs at least one point")
    if points <= SEQUENCE_MAX:
        last_ms = first_ms + (points - 1) * step_ms
        return (
            f"SELECT t FROM UNNEST(sequence({b(first_ms, 'bigint')}, {b(last_ms, 'bigint')}, "
            f"{b(step_ms, 'bigint')})) AS g (t)"
        )
    chunks = (points - 1) // SEQUENCE_MAX
    return (
        f"SELECT {b(first_ms, 'bigint')} + (hi * {SEQUENCE_MAX} + lo) * {b(step_ms, 'bigint')} AS t\n"
        f"  FROM UNNEST(sequence(0, {b(chunks, 'bigint')})) AS a (hi)\n"
        f"  CROSS JOIN UNNEST(sequence(0, {SEQUENCE_MAX - 1})) AS z (lo)\n"
        f"  WHERE hi * {SEQUENCE_MAX} + lo < {b(points, 'bigint')}"
    )


def valuation(
    table: str,
    holdings: list[Holding],
    vs_currency: str,
    first_ms: int,
    points: int,
    step_ms: int,
    staleness_ms: int,
) -> Statement:
    """A portfolio's value at each grid point, in one query.

    Rows: (t, coin_id, amount, price, price_ts, status, value, point_value,
    point_severity), ordered by t then coin. For each coin and grid point t
    the last observation at or before t is found with ``last_value(...)
    IGNORE NULLS`` over the coin's observations and grid points merged on
    one time line (an ASOF join in one sort, not a range join). Its age
    t - price_ts decides the status: < step observed, <= staleness carried,
    otherwise (or none) missing, with price and price_ts null. The amount of
    a coin at t sums its lots acquired at or before t (or with no acquisition
    time). A holding with amount 0 does not count: value 0, and it does not
    affect the point. A point's value is null when a counted holding is
    missing; its severity is the worst counted status (0 when none counts).
    """
    if not holdings:
        raise ValueError("a valuation needs holdings")
    b = _Binder()
    rows = ",\n    ".join(
        f"({b(h.coin, 'varchar')}, {b(float(h.amount), 'double')}, "
        f"{b(None if h.acquired_ms is None else int(h.acquired_ms), 'bigint')})"
        for h in holdings
    )
    grid = _grid_relation(b, first_ms, points, step_ms)
    last_ms = first_ms + (points - 1) * step_ms
    lookback_ms = max(staleness_ms, step_ms)
    coins = list(dict.fromkeys(h.coin for h in holdings))
    where = _scan_filter(b, vs_currency, coins, first_ms - lookback_ms, last_ms, hi_inclusive=True)
    step = b(int(step_ms), "bigint")
    stale = b(int(staleness_ms), "bigint")
    sql = f"""WITH holdings (coin_id, amount, acquired_ms) AS (
  VALUES
    {rows}
),
grid AS (
  {grid}
),
held AS (
  SELECT g.t, h.coin_id,
         coalesce(sum(h.amount) FILTER (WHERE h.acquired_ms IS NULL OR h.acquired_ms <= g.t), 0e0) AS amount
  FROM grid AS g CROSS JOIN holdings AS h
  GROUP BY g.t, h.coin_id
),
obs AS (
  SELECT coin_id, {TS_MS} AS ts_ms, price, event_id,
         date_diff('millisecond', {EPOCH}, ingested_at) AS ingested_ms
  FROM {table}
  WHERE {where}
    AND price IS NOT NULL
),
timeline AS (
  SELECT coin_id, ts_ms AS at_ms, 0 AS kind, event_id, ingested_ms, ts_ms AS price_ts, price, NULL AS amount FROM obs
  UNION ALL
  SELECT coin_id, t AS at_ms, 1 AS kind, NULL, NULL, NULL, NULL, amount FROM held
),
asof AS (
  SELECT coin_id, at_ms AS t, kind, amount,
         last_value(price_ts) IGNORE NULLS OVER w AS price_ts,
         last_value(price) IGNORE NULLS OVER w AS price
  FROM timeline
  WINDOW w AS (
    PARTITION BY coin_id ORDER BY at_ms, kind, event_id, ingested_ms NULLS FIRST, price
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
  )
),
rated AS (
  SELECT t, coin_id, amount, price_ts, price,
         CASE
           WHEN price_ts IS NULL THEN '{STATUS_MISSING}'
           WHEN t - price_ts < {step} THEN '{STATUS_OBSERVED}'
           WHEN t - price_ts <= {stale} THEN '{STATUS_CARRIED}'
           ELSE '{STATUS_MISSING}'
         END AS status
  FROM asof
  WHERE kind = 1
),
valued AS (
  SELECT t, coin_id, amount, status,
         IF(status = '{STATUS_MISSING}', NULL, price_ts) AS price_ts,
         IF(status = '{STATUS_MISSING}', NULL, price) AS price,
         CASE WHEN amount = 0 THEN 0e0 WHEN status = '{STATUS_MISSING}' THEN NULL ELSE amount * price END AS value,
         IF(amount > 0, CASE status WHEN '{STATUS_MISSING}' THEN {SEVERITY[STATUS_MISSING]}
                                    WHEN '{STATUS_CARRIED}' THEN {SEVERITY[STATUS_CARRIED]}
                                    ELSE {SEVERITY[STATUS_OBSERVED]} END, 0) AS severity
  FROM rated
)
SELECT t, coin_id, amount, price, price_ts, status, value,
       IF(max(severity) OVER (PARTITION BY t) = {SEVERITY[STATUS_MISSING]}, NULL,
          sum(value) OVER (PARTITION BY t)) AS point_value,
       max(severity) OVER (PARTITION BY t) AS point_severity
FROM valued
ORDER BY t, coin_id"""
    return b.statement(sql)
