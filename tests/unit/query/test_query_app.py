"""The HTTP layer with a gateway double: validation, response assembly, 503 mapping, pooling."""

import json

import pytest
import trino.exceptions
from coinstream_common.settings import ServiceSettings, TrinoSettings
from coinstream_query import params
from coinstream_query.app import create_app
from coinstream_query.settings import QuerySettings
from coinstream_query.sql import Statement
from coinstream_query.trino_access import TrinoGateway, TrinoUnavailable

pytestmark = pytest.mark.unit

D = 86_400_000
H = 3_600_000
D0 = 1767225600000  # 2026-01-01T00:00:00Z


class FakeGateway:
    table = '"hive"."coinstream"."coin_prices"'

    def __init__(self, rows=None, error=None):
        self.rows = rows or []
        self.error = error
        self.calls = []

    def fetch(self, statement, kind):
        self.calls.append((kind, statement))
        if self.error:
            raise self.error
        return self.rows

    def ping(self):
        return True, "fake"


def client(gateway, **query):
    app = create_app(TrinoSettings(), QuerySettings(**query), ServiceSettings(), gateway=gateway)
    return app.test_client()


def error_of(resp):
    assert resp.is_json, resp.data
    return resp.status_code, resp.get_json()["error"]["code"]


@pytest.mark.parametrize(
    "url, code",
    [
        ("/v1/prices/bitcoin?from=2026-01-01&to=2026-01-05&interval=weekly", "invalid_interval"),
        ("/v1/prices/bitcoin?from=2026-01-01&to=2026-01-05&vs_currency=US", "invalid_currency"),
        ("/v1/prices/Bit_coin?from=2026-01-01&to=2026-01-05", "invalid_coin"),
        ("/v1/prices/bitcoin?from=2026-01-05&to=2026-01-01", "invalid_range"),
        ("/v1/prices/bitcoin?from=2026-01-05&to=2026-01-05", "invalid_range"),
        ("/v1/prices/bitcoin?to=2026-01-05", "invalid_instant"),
        ("/v1/prices/bitcoin?from=yesterday&to=2026-01-05", "invalid_instant"),
        ("/v1/prices/bitcoin?from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z", "empty_range"),
        ("/v1/prices/bitcoin?from=2020-01-01&to=2026-01-05&interval=5m", "too_many_points"),
        ("/v1/coverage?from=2026-01-01&to=2026-01-05", "invalid_coin"),
        ("/v1/coverage?coins=bitcoin,,eth&from=2026-01-01&to=2026-01-05", "invalid_coin"),
        (
            "/v1/coverage?coins=" + ",".join(f"c{i}" for i in range(101)) + "&from=2026-01-01&to=2026-01-05",
            "too_many_coins",
        ),
    ],
)
def test_bad_queries_are_400_and_never_reach_trino(url, code):
    gw = FakeGateway()
    assert error_of(client(gw).get(url)) == (400, code)
    assert gw.calls == []


VALID = {
    "holdings": [{"coin": "bitcoin", "amount": 1.5}],
    "vs_currency": "usd",
    "from": "2026-01-01T00:00:00Z",
    "to": "2026-01-03T00:00:00Z",
    "interval": "daily",
}


@pytest.mark.parametrize(
    "change, code",
    [
        ({"interval": "minute"}, "invalid_interval"),
        ({"vs_currency": "dollars!"}, "invalid_currency"),
        ({"holdings": [{"coin": "Bitcoin", "amount": 1}]}, "invalid_coin"),
        ({"holdings": [{"coin": "bitcoin", "amount": 0}]}, "invalid_request"),
        ({"holdings": [{"coin": "bitcoin", "amount": -2}]}, "invalid_request"),
        ({"holdings": [{"coin": "bitcoin"}]}, "invalid_request"),
        ({"holdings": []}, "invalid_request"),
        ({"holdings": [{"coin": f"c{i}", "amount": 1} for i in range(101)]}, "too_many_holdings"),
        ({"holdings": [{"coin": "bitcoin", "amount": 1, "acquired_at": "soon"}]}, "invalid_instant"),
        ({"from": "2026-01-03T00:00:00Z"}, "invalid_range"),
        ({"from": "2000-01-01", "interval": "hourly"}, "too_many_points"),
        ({"staleness_s": -1}, "invalid_request"),
        ({"unexpected": 1}, "invalid_request"),
    ],
)
def test_bad_valuations_are_400(change, code):
    gw = FakeGateway()
    resp = client(gw).post("/v1/valuation", json={**VALID, **change})
    assert error_of(resp) == (400, code)
    assert resp.get_json()["error"]["message"]
    assert gw.calls == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b""])
def test_malformed_json_is_400(body):
    resp = client(FakeGateway()).post("/v1/valuation", data=body, content_type="application/json")
    assert error_of(resp) == (400, "malformed_json")


def test_too_many_cells_is_400():
    holdings = [{"coin": f"c{i}", "amount": 1} for i in range(10)]
    resp = client(FakeGateway(), max_valuation_cells=20).post("/v1/valuation", json={**VALID, "holdings": holdings})
    assert error_of(resp) == (400, "too_many_points")


def test_max_points_setting_is_the_cap():
    c = client(FakeGateway(), max_points=3)
    assert (
        client(FakeGateway(), max_points=3).get("/v1/prices/bitcoin?from=2026-01-01&to=2026-01-03").status_code == 200
    )  # 3 points
    assert error_of(c.get("/v1/prices/bitcoin?from=2026-01-01&to=2026-01-04")) == (400, "too_many_points")


def test_trino_unavailable_is_503_with_retry_after():
    gw = FakeGateway(error=TrinoUnavailable("the price store (Trino) is unavailable: connection refused"))
    c = client(gw)
    for resp in (
        c.get("/v1/prices/bitcoin?from=2026-01-01&to=2026-01-03"),
        c.get("/v1/coverage?coins=bitcoin&from=2026-01-01&to=2026-01-03"),
        c.post("/v1/valuation", json=VALID),
    ):
        assert error_of(resp) == (503, "trino_unavailable")
        assert int(resp.headers["Retry-After"]) > 0
        assert "Traceback" not in resp.get_data(as_text=True)


def test_series_response():
    rows = [(D0, D0 + 23 * H, 101.5, 2e12, 3e10), (D0 + 2 * D, D0 + 2 * D + 5, 99.0, None, None)]
    gw = FakeGateway(rows)
    body = client(gw).get("/v1/prices/bitcoin?vs_currency=eur&from=2026-01-01&to=2026-01-03").get_json()
    assert body == {
        "coin": "bitcoin",
        "vs_currency": "eur",
        "interval": "daily",
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-03T00:00:00Z",
        "points": [
            {
                "ts": "2026-01-01T00:00:00Z",
                "price": 101.5,
                "market_cap": 2e12,
                "total_volume": 3e10,
                "observed_at": "2026-01-01T23:00:00Z",
            },
            {
                "ts": "2026-01-03T00:00:00Z",
                "price": 99.0,
                "market_cap": None,
                "total_volume": None,
                "observed_at": "2026-01-03T00:00:00.005Z",
            },
        ],
    }
    kind, stmt = gw.calls[0]
    assert kind == "series" and "bitcoin" in stmt.params and "eur" in stmt.params
    # The scan covers the last bucket whole: [first point, last point + one day).
    assert D0 in stmt.params and D0 + 3 * D in stmt.params


def test_coverage_response_merges_islands_per_coin():
    rows = [("bitcoin", D0, D0 + H, 2), ("bitcoin", D0 + 4 * H, D0 + 4 * H, 1)]
    body = (
        client(FakeGateway(rows))
        .get(
            "/v1/coverage?coins=bitcoin,ethereum,bitcoin&from=2026-01-01T00:00:00Z&to=2026-01-01T05:00:00Z&interval=hourly"
        )
        .get_json()
    )
    assert body["coins"] == {
        "bitcoin": {
            "expected": 6,
            "present": 3,
            "missing": [
                {"from": "2026-01-01T02:00:00Z", "to": "2026-01-01T04:00:00Z"},
                {"from": "2026-01-01T05:00:00Z", "to": "2026-01-01T06:00:00Z"},
            ],
        },
        "ethereum": {
            "expected": 6,
            "present": 0,
            "missing": [{"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T06:00:00Z"}],
        },
    }
    assert (body["expected"], body["present"], body["fraction"]) == (12, 3, 0.25)
    assert (body["interval"], body["vs_currency"]) == ("hourly", "usd")


def test_valuation_response_from_rows():
    rows = [
        (D0, "bitcoin", 1.5, 100.0, D0, "observed", 150.0, 150.0, 0),
        (D0 + D, "bitcoin", 1.5, 100.0, D0, "carried", 150.0, 150.0, 1),
        (D0 + 2 * D, "bitcoin", 1.5, None, None, "missing", None, None, 2),
    ]
    gw = FakeGateway(rows)
    resp = client(gw).post("/v1/valuation", data=json.dumps(VALID), content_type="application/json")
    body = resp.get_json()
    assert resp.status_code == 200
    assert [(p["ts"], p["value"], p["status"]) for p in body["points"]] == [
        ("2026-01-01T00:00:00Z", 150.0, "observed"),
        ("2026-01-02T00:00:00Z", 150.0, "carried"),
        ("2026-01-03T00:00:00Z", None, "missing"),
    ]
    assert body["points"][1]["holdings"]["bitcoin"] == {
        "amount": 1.5,
        "price": 100.0,
        "price_ts": "2026-01-01T00:00:00Z",
        "value": 150.0,
        "status": "carried",
    }
    assert body["coverage"] == {
        "expected": 3,
        "present": 1,
        "fraction": 1 / 3,
        "missing": [{"coin": "bitcoin", "from": "2026-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}],
    }
    assert body["staleness_s"] == 2 * 86400  # default: two intervals
    kind, stmt = gw.calls[0]
    assert kind == "valuation" and stmt.params[:3] == ("bitcoin", 1.5, None)


def test_staleness_precedence():
    assert params.staleness_ms(600, 3600, H) == 600_000
    assert params.staleness_ms(None, 3600, H) == 3_600_000
    assert params.staleness_ms(None, 0, H) == 2 * H
    assert params.staleness_ms(0, 3600, H) == 0


def test_openapi_describes_the_three_endpoints():
    doc = client(FakeGateway()).get("/openapi.json").get_json()
    assert {"/v1/prices/{coin}", "/v1/coverage", "/v1/valuation", "/healthz", "/readyz"} <= set(doc["paths"])
    post = doc["paths"]["/v1/valuation"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ValuationRequest"
    }
    assert {"200", "400", "503"} <= set(post["responses"])
    for name in ("ValuationRequest", "Valuation", "Series", "Coverage", "Error"):
        assert name in doc["components"]["schemas"]


class FakeCursor:
    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql, params=None):
        self.conn.executed.append((sql, params))
        if self.conn.fail:
            raise self.conn.fail

    def fetchall(self):
        return [[1]]


class FakeConnection:
    def __init__(self, fail=None):
        self.fail = fail
        self.executed = []
        self.closed = False

    def cursor(self):
        return FakeCursor(self)

    def close(self):
        self.closed = True


def test_gateway_reuses_connections_and_drops_failed_ones():
    made = []
    failures = iter([None, None, trino.exceptions.TrinoConnectionError("refused"), None])

    def connect(**kwargs):
        made.append(kwargs)
        return FakeConnection()

    gw = TrinoGateway(TrinoSettings(port=1234, request_timeout_s=7), QuerySettings(query_timeout_s=9), connect=connect)
    assert gw.fetch(Statement("SELECT ?", (1,)), "t") == [(1,)]
    assert gw.fetch(Statement("SELECT ?", (2,)), "t") == [(1,)]
    assert len(made) == 1  # the idle connection was reused
    assert made[0]["port"] == 1234 and made[0]["request_timeout"] == 7
    assert made[0]["session_properties"] == {"query_max_run_time": "9s"}
    assert made[0]["timezone"] == "UTC"

    conn = gw._idle.get_nowait()
    assert conn.executed == [("SELECT ?", [1]), ("SELECT ?", [2])]
    conn.fail = next(f for f in failures if f is not None)
    gw._idle.put_nowait(conn)
    with pytest.raises(TrinoUnavailable):
        gw.fetch(Statement("SELECT 1", ()), "t")
    assert conn.closed and gw._idle.empty()  # dropped, not pooled
    gw.fetch(Statement("SELECT 1", ()), "t")
    assert len(made) == 2


def query_error(name, error_type):
    return trino.exceptions.TrinoUserError({"errorName": name, "errorType": error_type, "message": name})


@pytest.mark.parametrize(
    "exc, unavailable",
    [
        (
            trino.exceptions.TrinoQueryError(
                {"errorName": "EXCEEDED_TIME_LIMIT", "errorType": "INSUFFICIENT_RESOURCES"}
            ),
            True,
        ),
        (query_error("TABLE_NOT_FOUND", "USER_ERROR"), True),
        (trino.exceptions.Http503Error("busy"), True),
        (trino.exceptions.TrinoConnectionError("reset"), True),
        (query_error("SYNTAX_ERROR", "USER_ERROR"), False),
    ],
)
def test_gateway_classifies_failures(exc, unavailable):
    gw = TrinoGateway(TrinoSettings(), QuerySettings(), connect=lambda **_: FakeConnection(fail=exc))
    if unavailable:
        with pytest.raises(TrinoUnavailable):
            gw.fetch(Statement("SELECT 1", ()), "t")
    else:
        with pytest.raises(type(exc)):
            gw.fetch(Statement("SELECT 1", ()), "t")


def test_gateway_retries_once_when_a_compaction_swapped_files_under_the_query():
    swapped = query_error("HIVE_FILE_NOT_FOUND", "EXTERNAL")
    made = []

    def connect(**_):
        conn = FakeConnection(fail=swapped if not made else None)
        made.append(conn)
        return conn

    gw = TrinoGateway(TrinoSettings(), QuerySettings(), connect=connect)
    assert gw.fetch(Statement("SELECT 1", ()), "t") == [(1,)]
    assert len(made) == 2 and made[0].closed  # the failed connection was dropped, the retry answered


def test_gateway_gives_up_after_the_one_retry():
    gw = TrinoGateway(
        TrinoSettings(),
        QuerySettings(),
        connect=lambda **_: FakeConnection(fail=query_error("HIVE_CANNOT_OPEN_SPLIT", "EXTERNAL")),
    )
    with pytest.raises(TrinoUnavailable, match="hive_cannot_open_split"):
        gw.fetch(Statement("SELECT 1", ()), "t")


# -- landed days (ingest asks before a backfill) --------------------------------------------


def test_landed_days_are_the_complete_days_of_the_range():
    from datetime import date

    # 12:00 on Jan 1 to 05:00 on Jan 4, hourly: Jan 1 needs 12 buckets, Jan 2 and 3 need 24, Jan 4 needs 6.
    rows = [(date(2026, 1, 1), 12), (date(2026, 1, 2), 23), ("2026-01-03", 24), (date(2026, 1, 4), 6)]
    gw = FakeGateway(rows)
    resp = client(gw).get(
        "/v1/landed/bitcoin?vs_currency=eur&interval=hourly&source=coingecko"
        "&from=2026-01-01T11:30:00Z&to=2026-01-04T05:00:00Z"
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {
        "coin": "bitcoin",
        "vs_currency": "eur",
        "interval": "hourly",
        "from": "2026-01-01T11:30:00Z",
        "to": "2026-01-04T05:00:00Z",
        "days": [
            {"from": "2026-01-01T12:00:00Z", "to": "2026-01-01T23:59:59.999Z"},
            {"from": "2026-01-03T00:00:00Z", "to": "2026-01-04T05:00:00Z"},
        ],
    }
    kind, stmt = gw.calls[0]
    assert kind == "landed" and f"FROM {FakeGateway.table}" in stmt.sql
    assert ("bitcoin" in stmt.params) and ("eur" in stmt.params) and ("coingecko" in stmt.params)
    assert D0 + 12 * H in stmt.params  # the scan starts at the first grid point, not at from


@pytest.mark.parametrize(
    "query, code",
    [
        ("from=2026-01-02&to=2026-01-01", "invalid_range"),
        ("from=2000-01-01&to=2026-01-01", "invalid_range"),  # longer than any backfill
        ("from=2026-01-01", "invalid_instant"),
        ("from=2026-01-01&to=2026-01-02&interval=weekly", "invalid_interval"),
        ("from=2026-01-01&to=2026-01-02&vs_currency=US", "invalid_currency"),
        ("from=2026-01-01&to=2026-01-02&source=Not%20A%20Source", "invalid_request"),
    ],
)
def test_bad_landed_lookups_are_400_and_never_reach_trino(query, code):
    gw = FakeGateway()
    assert error_of(client(gw).get(f"/v1/landed/bitcoin?{query}")) == (400, code)
    assert error_of(client(gw).get("/v1/landed/Bit_coin?from=2026-01-01&to=2026-01-02")) == (400, "invalid_coin")
    assert gw.calls == []


def test_landed_lookup_without_a_grid_point_asks_nothing_and_trino_down_is_503():
    gw = FakeGateway()
    resp = client(gw).get("/v1/landed/bitcoin?interval=daily&from=2026-01-01T01:00:00Z&to=2026-01-01T02:00:00Z")
    assert resp.status_code == 200 and resp.get_json()["days"] == [] and gw.calls == []
    down = FakeGateway(error=TrinoUnavailable("the price store (Trino) is unavailable: timed out"))
    resp = client(down).get("/v1/landed/bitcoin?from=2026-01-01&to=2026-01-03")
    assert error_of(resp) == (503, "trino_unavailable") and int(resp.headers["Retry-After"]) > 0


def test_landed_lookup_runs_on_its_own_gateway_bounded_by_landed_timeout():
    from coinstream_query.app import landed_gateway_for

    slow, quick = FakeGateway(), FakeGateway([])
    app = create_app(TrinoSettings(), QuerySettings(), ServiceSettings(), gateway=slow, landed_gateway=quick)
    assert app.test_client().get("/v1/landed/bitcoin?from=2026-01-01&to=2026-01-03").status_code == 200
    assert [k for k, _ in quick.calls] == ["landed"] and slow.calls == []

    made = []
    gw = landed_gateway_for(TrinoSettings(request_timeout_s=30), QuerySettings(query_timeout_s=20, landed_timeout_s=3))
    gw._connect = lambda **kwargs: made.append(kwargs) or FakeConnection()
    gw.fetch(Statement("SELECT 1", ()), "landed")
    assert made[0]["request_timeout"] == 3 and made[0]["session_properties"] == {"query_max_run_time": "3s"}
    assert gw.table == '"hive"."coinstream"."coin_prices"'


def test_openapi_describes_the_landed_lookup():
    doc = client(FakeGateway()).get("/openapi.json").get_json()
    get = doc["paths"]["/v1/landed/{coin}"]["get"]
    assert {p["name"] for p in get["parameters"]} == {"coin", "vs_currency", "from", "to", "interval", "source"}
    assert {"200", "400", "503"} <= set(get["responses"]) and "LandedDays" in doc["components"]["schemas"]
