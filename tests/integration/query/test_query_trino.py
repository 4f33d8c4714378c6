"""The query service against real Trino over Parquet on HDFS: series, coverage, valuation == reference."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pytest
from coinstream_common.timeutil import grid, parse_instant, to_iso
from coinstream_contract.vocabulary import INTERVAL_MS, POINT_STATUSES
from coinstream_query import valuation
from coinstream_query.sql import Holding
from coinstream_testkit.valuation_reference import Observation, valuate

pytestmark = pytest.mark.integration

M = 60_000
H = 3_600_000
D = 86_400_000


@dataclass(frozen=True)
class Row:
    coin_id: str
    ts_ms: int
    price: float | None
    vs_currency: str = "usd"
    market_cap: float | None = None
    total_volume: float | None = None
    source: str = "test"
    event_id: str | None = None
    ingested_ms: int | None = None

    def event(self) -> str:
        return self.event_id or f"{self.coin_id}-{self.ts_ms}-{self.source}"


def ms(text: str) -> int:
    return parse_instant(text)


def test_series_last_observation_per_bucket_across_days(land, coin_ids, query_client):
    (coin, other) = coin_ids(2)
    t0 = ms("2021-03-01T22:00:00Z")
    land(
        [
            Row(coin, t0 + 10 * M, 1.0),
            Row(coin, t0 + 50 * M, 2.0, market_cap=5e9, total_volume=7e7),
            Row(coin, t0 + H, 3.0),
            Row(coin, t0 + H, 3.0),  # the same event landed twice
            Row(coin, t0 + 3 * H + H - 1, 4.0),  # last ms of the 01:00 bucket, next day
            Row(coin, t0 + 2 * H + 5 * M, 9.0, vs_currency="eur"),
            Row(coin, t0 + 5 * H + 30 * M, 5.0),  # inside the last bucket (03:00), after `to`
            Row(coin, t0 + 6 * H, 6.0),  # beyond the last bucket
            Row(other, t0 + 2 * H, 100.0),
            Row(coin, t0 - 1, 0.5),  # before the range
        ]
    )
    resp = query_client.get(
        f"/v1/prices/{coin}", query_string={"from": to_iso(t0), "to": to_iso(t0 + 5 * H), "interval": "hourly"}
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert (body["coin"], body["vs_currency"], body["interval"]) == (coin, "usd", "hourly")
    assert [(p["ts"], p["price"], p["observed_at"]) for p in body["points"]] == [
        ("2021-03-01T22:00:00Z", 2.0, "2021-03-01T22:50:00Z"),
        ("2021-03-01T23:00:00Z", 3.0, "2021-03-01T23:00:00Z"),
        ("2021-03-02T01:00:00Z", 4.0, "2021-03-02T01:59:59.999Z"),
        ("2021-03-02T03:00:00Z", 5.0, "2021-03-02T03:30:00Z"),
    ]
    assert (body["points"][0]["market_cap"], body["points"][0]["total_volume"]) == (5e9, 7e7)
    assert body["points"][1]["market_cap"] is None

    daily = query_client.get(
        f"/v1/prices/{coin}", query_string={"from": "2021-03-01", "to": "2021-03-02", "interval": "daily"}
    ).get_json()
    assert [(p["ts"], p["price"]) for p in daily["points"]] == [
        ("2021-03-01T00:00:00Z", 3.0),
        ("2021-03-02T00:00:00Z", 6.0),
    ]

    eur = query_client.get(
        f"/v1/prices/{coin}",
        query_string={"from": to_iso(t0), "to": to_iso(t0 + 5 * H), "interval": "5m", "vs_currency": "eur"},
    ).get_json()
    assert [(p["ts"], p["price"]) for p in eur["points"]] == [("2021-03-02T00:05:00Z", 9.0)]


def test_coverage_reports_holes_as_merged_ranges(land, coin_ids, query_client):
    a, b, c = coin_ids(3)
    t0 = ms("2021-03-10T20:00:00Z")
    present_a = [0, 1, 4, 5, 6, 9]  # hours of the 10-hour grid holding data
    land(
        [Row(a, t0 + h * H + 17 * M, 1.0 + h) for h in present_a]
        + [Row(a, t0 + 4 * H + 59 * M, 2.0), Row(a, t0 - M, 1.0), Row(a, t0 + 10 * H, 1.0)]
        + [Row(c, t0 + h * H, 3.0) for h in range(10)]
    )
    resp = query_client.get(
        "/v1/coverage",
        query_string={"coins": f"{a},{b},{c}", "from": to_iso(t0), "to": to_iso(t0 + 9 * H), "interval": "hourly"},
    )
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    iso = lambda h: to_iso(t0 + h * H)
    assert body["coins"][a] == {
        "expected": 10,
        "present": 6,
        "missing": [{"from": iso(2), "to": iso(4)}, {"from": iso(7), "to": iso(9)}],
    }
    assert body["coins"][b] == {"expected": 10, "present": 0, "missing": [{"from": iso(0), "to": iso(10)}]}
    assert body["coins"][c] == {"expected": 10, "present": 10, "missing": []}
    assert (body["expected"], body["present"]) == (30, 16)
    assert body["fraction"] == pytest.approx(16 / 30)

    daily = query_client.get(
        "/v1/coverage", query_string={"coins": a, "from": "2021-03-09", "to": "2021-03-12"}
    ).get_json()
    assert daily["coins"][a]["missing"] == [
        {"from": "2021-03-09T00:00:00Z", "to": "2021-03-10T00:00:00Z"},
        {"from": "2021-03-12T00:00:00Z", "to": "2021-03-13T00:00:00Z"},
    ]


def random_history(rng: random.Random, coins: list[str], start: int, end: int) -> list[Row]:
    """Irregular observations with gaps, ties at one instant, replayed copies and grid-aligned instants."""
    rows: list[Row] = []
    for coin in coins:
        t = start - rng.randrange(1, 3 * H)
        rows.append(Row(coin, t, round(rng.uniform(0.01, 70000.0), 6), source="a"))  # known before the range
        while t < end:
            gap = rng.choice([rng.randrange(1, 40 * M), rng.randrange(1, 40 * M), rng.randrange(3 * H, 30 * H)])
            t += gap
            if rng.random() < 0.15:
                t -= t % H  # exactly on a grid point
            price = round(rng.uniform(0.01, 70000.0), 6)
            rows.append(Row(coin, t, price, source="a", ingested_ms=t + 1000))
            roll = rng.random()
            if roll < 0.1:  # another source at the same instant
                rows.append(Row(coin, t, price * 1.001, source="b", ingested_ms=t + 2000))
            elif roll < 0.2:  # the same event replayed, later ingest wins
                rows.append(Row(coin, t, price * 0.999, source="a", ingested_ms=t + 5000))
    return rows


def observations(rows: list[Row]) -> list[Observation]:
    return [Observation(r.coin_id, r.ts_ms, r.price, r.event(), r.ingested_ms) for r in rows if r.vs_currency == "usd"]


def assert_same(body: dict, reference: list, step: int) -> None:
    assert len(body["points"]) == len(reference)
    for got, want in zip(body["points"], reference):
        assert got["ts"] == to_iso(want.t)
        assert got["status"] == want.status, got
        if want.value is None:
            assert got["value"] is None
        else:
            assert math.isclose(got["value"], want.value, rel_tol=1e-9, abs_tol=1e-12), (got, want)
        assert set(got["holdings"]) == set(want.cells)
        for coin, cell in want.cells.items():
            g = got["holdings"][coin]
            assert (g["status"], g["price"], g["price_ts"]) == (
                cell.status,
                cell.price,
                None if cell.price_ts is None else to_iso(cell.price_ts),
            ), (got["ts"], coin)
            assert math.isclose(g["amount"], cell.amount, rel_tol=1e-12)
            if cell.value is None:
                assert g["value"] is None
            else:
                assert math.isclose(g["value"], cell.value, rel_tol=1e-9, abs_tol=1e-12)
    cov = valuation.coverage(reference, step)
    assert body["coverage"] == {
        "expected": cov.expected,
        "present": cov.present,
        "fraction": cov.fraction,
        "missing": [{"coin": c, "from": to_iso(f), "to": to_iso(t)} for c, f, t in cov.missing],
    }


ALL = set(POINT_STATUSES)


@pytest.mark.parametrize(
    "interval, staleness_s, statuses",
    [
        ("hourly", None, ALL),
        ("hourly", 0, {"observed", "missing"}),  # nothing is carried with no staleness allowed
        ("5m", 7200, ALL),
        ("daily", 3 * 3600, {"observed", "missing"}),  # a bound under one interval carries nothing
        ("daily", None, ALL),
    ],
)
def test_valuation_sql_equals_reference(land, coin_ids, query_client, interval, staleness_s, statuses):
    rng = random.Random(f"{interval}-{staleness_s}")
    c1, c2, c3 = coin_ids(3)
    start, end = ms("2021-04-01T00:00:00Z"), ms("2021-04-08T00:00:00Z")
    rows = [
        r
        for r in random_history(rng, [c1, c2, c3], start, end)
        # Holes: 36 h without c1 (carried at a daily point), 50 h without c3 (missing at one).
        if not (r.coin_id == c1 and start + 2 * D - 6 * H <= r.ts_ms < start + 3 * D + 6 * H)
        and not (r.coin_id == c3 and start + 4 * D - H <= r.ts_ms < start + 6 * D + H)
    ]
    land(rows)
    holdings = [
        {"coin": c1, "amount": 1.5},
        {"coin": c2, "amount": 2.25, "acquired_at": to_iso(start + 2 * D + 37 * M + 11)},
        {"coin": c2, "amount": 0.125, "acquired_at": to_iso(start - D)},
        {"coin": c3, "amount": 3.0, "acquired_at": to_iso(start + 3 * D)},  # exactly a grid point
    ]
    request = {
        "holdings": holdings,
        "vs_currency": "usd",
        "from": to_iso(start - 7),
        "to": to_iso(end),
        "interval": interval,
        "staleness_s": staleness_s,
    }
    resp = query_client.post("/v1/valuation", json=request)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()

    step = INTERVAL_MS[interval]
    stale = staleness_s * 1000 if staleness_s is not None else 2 * step
    assert body["staleness_s"] == stale // 1000
    lots = [
        Holding(h["coin"], h["amount"], parse_instant(h["acquired_at"]) if "acquired_at" in h else None)
        for h in holdings
    ]
    reference = valuate(lots, observations(rows), grid(start - 7, end, interval), step, stale)
    assert_same(body, reference, step)
    # The case is not degenerate: the statuses this configuration can produce all occur.
    assert {cell["status"] for p in body["points"] for cell in p["holdings"].values()} == statuses


def test_valuation_with_a_coin_without_data_and_a_grid_beyond_one_sequence(land, coin_ids, query_client):
    c1, empty = coin_ids(2)
    start = ms("2021-05-01T00:00:00Z")
    end = start + 36 * D  # 10369 five-minute points: more than one sequence() may hold
    rows = [Row(c1, start + i * D + 3 * M, 100.0 + i) for i in range(-1, 37)]
    land(rows)
    request = {
        "holdings": [{"coin": c1, "amount": 2.0}, {"coin": empty, "amount": 1.0, "acquired_at": to_iso(end)}],
        "from": to_iso(start),
        "to": to_iso(end),
        "interval": "5m",
        "staleness_s": 3600,
    }
    body = query_client.post("/v1/valuation", json=request).get_json()
    points = grid(start, end, "5m")
    assert len(points) == 10369 and len(body["points"]) == len(points)
    reference = valuate([Holding(c1, 2.0), Holding(empty, 1.0, end)], observations(rows), points, 5 * M, 3600_000)
    assert_same(body, reference, 5 * M)
    # The coin without data only counts at the last point, which therefore has no value.
    assert body["points"][-1]["value"] is None and body["points"][-1]["holdings"][empty]["status"] == "missing"
    assert body["points"][-2]["holdings"][empty]["value"] == 0.0


def test_gateway_times_out_as_unavailable(trino_settings):
    from coinstream_query.settings import QuerySettings
    from coinstream_query.sql import Statement
    from coinstream_query.trino_access import TrinoGateway, TrinoUnavailable

    gw = TrinoGateway(trino_settings, QuerySettings(query_timeout_s=1))
    heavy = Statement(
        "SELECT count_if(a * b * c % 7 = 3) FROM UNNEST(sequence(1, 3000)) AS x (a) "
        "CROSS JOIN UNNEST(sequence(1, 3000)) AS y (b) CROSS JOIN UNNEST(sequence(1, 3000)) AS z (c)",
        (),
    )
    with pytest.raises(TrinoUnavailable, match="exceeded_time_limit"):
        gw.fetch(heavy, "test")
    assert gw.fetch(Statement("SELECT ?", (41,)), "test") == [(41,)]


def test_every_statement_prunes_partitions_by_day(land, coin_ids, trino_conn, trino_settings):
    """EXPLAIN (TYPE IO) of each statement, with its parameters as literals, constrains `day` to the range."""
    import json

    from coinstream_query import sql

    (coin,) = coin_ids(1)
    start = ms("2021-06-10T00:00:00Z")
    land([Row(coin, start + i * D, 1.0) for i in (-9, -2, 0, 1, 2, 10)])  # partitions in and out of range
    table = sql.table_name(trino_settings.catalog, trino_settings.schema_, trino_settings.table)
    statements = [
        sql.series(table, coin, "usd", start, start + 3 * D, D),
        sql.coverage(table, [coin, "ethereum"], "usd", start, start + 3 * D, D),
        sql.valuation(table, [Holding(coin, 1.0)], "usd", start, 3, D, 2 * D),
    ]
    cur = trino_conn.cursor()
    for stmt in statements:
        literals = iter(cur._format_prepared_param(p) for p in stmt.params)
        parts = stmt.sql.split("?")
        text = "".join(part + (next(literals) if i < len(parts) - 1 else "") for i, part in enumerate(parts))
        cur.execute("EXPLAIN (TYPE IO, FORMAT JSON) " + text)
        plan = json.loads(cur.fetchall()[0][0])
        (scan,) = plan["inputTableColumnInfos"]
        day = next(c for c in scan["constraint"]["columnConstraints"] if c["columnName"] == "day")
        days = [r["low"]["value"] for r in day["domain"]["ranges"]]
        assert days and days[0] >= "2021-06-08" and days[-1] <= "2021-06-12", days
