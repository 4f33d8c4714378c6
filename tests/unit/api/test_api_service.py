"""The api's HTTP behaviour with in-memory collaborators: create, read, access, errors, streams."""

import hashlib
import threading
import time

import pytest
from coinstream_contract.events import LandedCoin, LandedNotification
from coinstream_testkit import sse

pytestmark = pytest.mark.unit


def test_create_complete_portfolio_is_201_with_location_and_published_once(harness):
    h = harness
    h.land_days("bitcoin", [100, 110, 120, 130, 140])
    h.land_days("ethereum", [10, 10, 10, 10, 12])
    resp = h.post(h.body())
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert resp.headers["Location"] == f"/v1/portfolios/{doc['id']}"
    assert doc["status"] == "complete" and doc["completeness"]["fraction"] == 1.0
    assert doc["completeness"]["missing"] == []
    figures = doc["valuation"]["figures"]
    assert figures["pnl"] == pytest.approx((140 + 24) - (100 + 20))
    assert [p["value"] for p in doc["valuation"]["points"]] == [120, 130, 140, 150, 164]
    published = h.sent(h.topics.portfolio_events)
    assert [p.id for p in published] == [doc["id"]]
    assert published[0].owner == hashlib.sha256(h.KEY.encode()).hexdigest()
    assert h.KEY not in published[0].to_json().decode()
    assert h.sent(h.topics.backfill_requests) == []


def test_create_with_missing_data_is_202_and_requests_each_missing_range(harness):
    h = harness
    h.land_days("bitcoin", [100, 110])  # days 0-1 only
    resp = h.post(h.body())
    assert resp.status_code == 202
    doc = resp.get_json()
    assert doc["status"] == "pending"
    missing = {(m["coin"], m["from"], m["to"]) for m in doc["completeness"]["missing"]}
    assert missing == {
        ("bitcoin", "2025-01-03T00:00:00Z", "2025-01-05T00:00:00Z"),
        ("ethereum", "2025-01-01T00:00:00Z", "2025-01-05T00:00:00Z"),
    }
    assert doc["completeness"]["fraction"] == pytest.approx(2 / 10)
    backfills = h.sent(h.topics.backfill_requests)
    assert {(b.coin, b.from_, b.to, b.interval, b.requested_by) for b in backfills} == {
        ("bitcoin", h.T0 + 2 * h.DAY, h.T0 + 4 * h.DAY, "daily", f"api:{doc['id']}"),
        ("ethereum", h.T0, h.T0 + 4 * h.DAY, "daily", f"api:{doc['id']}"),
    }
    # Backfills go out before the portfolio, so a failed publish leaves no portfolio behind.
    topics = [t for t, _ in h.producer.sent]
    assert topics[-1] == h.topics.portfolio_events


@pytest.mark.parametrize(
    "mutate, code, words",
    [
        (lambda b: b | {"holdings": [{"coin": "notacoin", "amount": 1}]}, "unknown_coin", "notacoin"),
        (lambda b: b | {"holdings": [{"coin": "bitcoin", "amount": 0}]}, "invalid_request", "amount"),
        (lambda b: b | {"holdings": [{"coin": "bitcoin", "amount": -2}]}, "invalid_request", "amount"),
        (lambda b: b | {"from": b["to"], "to": b["from"]}, "invalid_range", "before"),
        (lambda b: b | {"from": "2010-01-01T00:00:00Z"}, "range_too_long", "at most"),
        (lambda b: b | {"vs_currency": "xyz"}, "unsupported_currency", "xyz"),
        (lambda b: b | {"vs_currency": "US Dollars"}, "unsupported_currency", "US Dollars"),
        (lambda b: b | {"holdings": [{"coin": "bitcoin", "amount": 1}] * 51}, "too_many_holdings", "51"),
        (lambda b: b | {"holdings": []}, "invalid_request", "holdings"),
        (lambda b: b | {"from": "yesterday"}, "invalid_instant", "yesterday"),
        (lambda b: b | {"interval": "5m", "from": "2024-01-01T00:00:00Z"}, "too_many_points", "5m"),
        (lambda b: b | {"surprise": 1}, "invalid_request", "surprise"),
        (lambda b: {k: v for k, v in b.items() if k != "to"}, "invalid_request", "to"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem_and_creates_nothing(harness, mutate, code, words):
    resp = harness.post(mutate(harness.body()))
    assert resp.status_code == 400
    err = resp.get_json()["error"]
    assert err["code"] == code and words in err["message"], err
    assert harness.producer.sent == [] and harness.store.portfolios == {}


def test_malformed_json_and_wrong_content_type(harness):
    h = harness
    resp = h.client.post(
        "/v1/portfolios", data="{not json", headers={"X-API-Key": h.KEY, "Content-Type": "application/json"}
    )
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"
    resp = h.client.post(
        "/v1/portfolios",
        data="holdings=1",
        headers={"X-API-Key": h.KEY, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 415 and "Content-Type" in resp.get_json()["error"]["message"]
    resp = h.client.post("/v1/portfolios", json=[1, 2], headers={"X-API-Key": h.KEY})
    assert resp.status_code == 400
    assert h.producer.sent == []


def test_keys_are_required_and_checked(harness):
    h = harness
    assert h.post(h.body(), key=None).status_code == 401
    wrong = h.post(h.body(), key="nope")
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "invalid_api_key"
    assert "WWW-Authenticate" in wrong.headers
    h.land_days("bitcoin", [1] * 5)
    h.land_days("ethereum", [1] * 5)
    bearer = h.client.post("/v1/portfolios", json=h.body(), headers={"Authorization": f"Bearer {h.KEY}"})
    assert bearer.status_code == 201
    for public in ("/healthz", "/openapi.json", "/metrics"):
        assert h.client.get(public).status_code == 200
    assert h.client.get("/v1/portfolios/pf_whatever123").status_code == 401


def test_portfolio_is_visible_only_with_the_key_that_created_it(harness):
    h = harness
    h.land_days("bitcoin", [1, 2, 3, 4, 5])
    h.land_days("ethereum", [1, 2, 3, 4, 5])
    pid = h.post(h.body()).get_json()["id"]
    assert h.get(f"/v1/portfolios/{pid}").status_code == 200
    for path in (f"/v1/portfolios/{pid}", f"/v1/portfolios/{pid}/chart.png", f"/v1/portfolios/{pid}/stream"):
        other = h.get(path, key=h.OTHER_KEY)
        assert other.status_code == 404, path
    unknown = h.get("/v1/portfolios/pf_doesnotexist")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    assert h.get("/v1/portfolios/x").status_code == 404  # not even a plausible id


def test_rate_limit_per_key_with_retry_after(make_harness):
    h = make_harness(rate_limit_per_minute=3)
    for _ in range(3):
        assert h.get("/v1/portfolios/pf_doesnotexist").status_code == 404
    limited = h.get("/v1/portfolios/pf_doesnotexist")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1 and limited.get_json()["error"]["code"] == "rate_limited"
    # Another key has its own bucket.
    assert h.get("/v1/portfolios/pf_doesnotexist", key=h.OTHER_KEY).status_code == 404


def test_kafka_down_on_create_is_503_and_nothing_exists(harness):
    h = harness
    h.producer.fail = True
    resp = h.post(h.body())
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "kafka_unavailable"
    assert h.store.portfolios == {}


def test_kafka_down_on_lookup_miss_is_503(harness):
    harness.store.fail = True
    resp = harness.get("/v1/portfolios/pf_doesnotexist")
    assert resp.status_code == 503 and "Traceback" not in resp.get_data(as_text=True)


def test_query_down_create_is_503_get_is_last_known_marked_stale(harness):
    h = harness
    h.land_days("bitcoin", [1, 2])
    h.query.down = True
    resp = h.post(h.body())
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "query_unavailable"
    assert h.producer.sent == []
    h.query.down = False
    created = h.post(h.body()).get_json()
    h.query.down = True
    stale = h.get(f"/v1/portfolios/{created['id']}")
    assert stale.status_code == 200
    doc = stale.get_json()
    assert doc["stale"] is True and doc["as_of"] == created["as_of"]
    assert doc["valuation"] == created["valuation"]
    chart = h.get(f"/v1/portfolios/{created['id']}/chart.svg")
    assert chart.status_code == 200 and b"STALE" in chart.data


def test_a_valuation_the_query_service_refuses_is_a_400_on_create(harness):
    from coinstream_api.query_client import QueryRejected

    def refuse(*_args):
        raise QueryRejected("too_many_cells: 438000 coin x point cells; at most 250000")

    harness.query.valuation = refuse
    resp = harness.post(harness.body())
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "valuation_refused"
    assert "438000" in resp.get_json()["error"]["message"] and harness.producer.sent == []


def test_query_down_without_last_known_is_503(make_harness):
    a = make_harness()
    a.land_days("bitcoin", [1] * 5)
    pid = a.post(a.body(coins=(("bitcoin", 1.0),))).get_json()["id"]
    b = make_harness()  # another replica: knows the portfolio, never valued it
    b.store.portfolios = a.store.portfolios
    b.query.down = True
    resp = b.get(f"/v1/portfolios/{pid}")
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "query_unavailable"


def test_complete_valuation_is_cached_until_a_landed_batch_touches_it(harness):
    h = harness
    h.land_days("bitcoin", [1, 2, 3, 4, 5])
    h.land_days("ethereum", [1, 2, 3, 4, 5])
    pid = h.post(h.body()).get_json()["id"]
    calls = h.query.calls
    for _ in range(3):
        assert h.get(f"/v1/portfolios/{pid}").status_code == 200
    assert h.query.calls == calls
    unrelated = LandedNotification(
        batch_id=1,
        coins=[LandedCoin(coin_id="solana", vs_currency="usd", min_ts=h.T0, max_ts=h.T0, rows=1)],
        min_ts=h.T0,
        max_ts=h.T0,
        rows=1,
    )
    h.watcher.deliver(unrelated, 1)
    h.get(f"/v1/portfolios/{pid}")
    assert h.query.calls == calls
    touching = LandedNotification(
        batch_id=2,
        coins=[LandedCoin(coin_id="bitcoin", vs_currency="usd", min_ts=h.T0, max_ts=h.T0, rows=1)],
        min_ts=h.T0,
        max_ts=h.T0,
        rows=1,
    )
    h.watcher.deliver(touching, 2)
    h.get(f"/v1/portfolios/{pid}")
    assert h.query.calls == calls + 1


def test_chart_endpoints(harness):
    h = harness
    h.land_days("bitcoin", [1, 2, 3])
    pid = h.post(h.body()).get_json()["id"]
    png = h.get(f"/v1/portfolios/{pid}/chart.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = h.get(f"/v1/portfolios/{pid}/chart.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert h.get(f"/v1/portfolios/{pid}/chart.gif").status_code == 404


def test_openapi_document_describes_the_routes(harness):
    doc = harness.client.get("/openapi.json").get_json()
    assert {
        "/v1/portfolios",
        "/v1/portfolios/{id}",
        "/v1/portfolios/{id}/stream",
        "/v1/portfolios/{id}/chart.png",
        "/v1/portfolios/{id}/chart.svg",
    } <= set(doc["paths"])
    assert {"Portfolio", "PortfolioRequest", "Figures", "Error"} <= set(doc["components"]["schemas"])
    assert set(doc["paths"]["/v1/portfolios"]["post"]["responses"]) >= {"201", "202", "400", "401", "429", "503"}


def test_answers_match_the_documented_schemas(harness):
    import jsonschema

    h = harness
    doc = h.client.get("/openapi.json").get_json()

    def errors(path, method, status, body):
        schema = doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator({**schema, "components": doc["components"]})
        return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(body)]

    h.land_days("bitcoin", [100, 110, 120, 130, 140])
    h.land_days("ethereum", [10, 10])  # partly missing: a pending portfolio with missing ranges
    body = h.body(coins=(("bitcoin", 1.0), ("ethereum", 2.0)))
    body["holdings"][0]["acquired_at"] = "2025-01-02T00:00:00Z"
    created = h.post(body)
    assert created.status_code == 202 and created.get_json()["completeness"]["missing"]
    assert errors("/v1/portfolios", "post", 202, created.get_json()) == []
    read = h.get(f"/v1/portfolios/{created.get_json()['id']}")
    assert read.status_code == 200
    assert errors("/v1/portfolios/{id}", "get", 200, read.get_json()) == []
    assert errors("/v1/portfolios/{id}", "get", 200, {**read.get_json(), "stale": "no"})  # the schema bites
    refused = h.post({**body, "holdings": []})
    assert refused.status_code == 400 and errors("/v1/portfolios", "post", 400, refused.get_json()) == []


# --- streams ------------------------------------------------------------------


def _note(batch, coin, ts):
    return LandedNotification(
        batch_id=batch,
        coins=[LandedCoin(coin_id=coin, vs_currency="usd", min_ts=ts, max_ts=ts, rows=1)],
        min_ts=ts,
        max_ts=ts,
        rows=1,
    )


def _read_stream(resp, until_events, timeout_s=20.0):
    """Read SSE chunks until the stream ends or `until_events` events arrived; returns (events, raw)."""
    raw, deadline = "", time.monotonic() + timeout_s
    for chunk in resp.response:
        raw += chunk.decode() if isinstance(chunk, bytes) else chunk
        if len(sse.parse(raw)) >= until_events or time.monotonic() > deadline:
            break
    return sse.parse(raw), raw


def test_stream_sends_updates_as_data_lands_then_complete(make_harness):
    h = make_harness(heartbeat_s=0.2, stream_timeout_s=30)
    h.watcher._positions = {0: 7}  # the landed topic's offsets when the stream starts
    pid = h.post(h.body(days=3, coins=(("bitcoin", 2.0),))).get_json()["id"]
    from coinstream_api import metrics

    before = metrics.PORTFOLIO_STREAMS_OPEN._value.get()
    resp = h.get(f"/v1/portfolios/{pid}/stream", buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"

    def land():
        for n, price in enumerate([100.0, 110.0, 121.0]):
            time.sleep(0.3)
            ts = h.T0 + n * h.DAY
            h.table.add("bitcoin", "usd", {ts: price})
            h.watcher._positions = {0: 8 + n}
            h.watcher.deliver(_note(n, "bitcoin", ts), 8 + n)

    first, opening = _read_stream(resp, until_events=1)
    assert metrics.PORTFOLIO_STREAMS_OPEN._value.get() == before + 1
    threading.Thread(target=land, daemon=True).start()
    rest, raw = _read_stream(resp, until_events=99)
    events = first + rest
    assert metrics.PORTFOLIO_STREAMS_OPEN._value.get() == before
    names = [e["event"] for e in events]
    assert names == ["update", "update", "update", "update", "complete"], raw
    assert [int(e["id"]) for e in events] == [7, 8, 9, 10, 10]
    assert ": heartbeat" in raw and opening.startswith("retry: ")
    import json

    final = json.loads(events[-1]["data"])
    assert final["status"] == "complete"
    assert final["valuation"]["figures"]["total_return"] == pytest.approx(0.21)


def test_stream_resumes_after_last_event_id_and_times_out(make_harness):
    h = make_harness(heartbeat_s=0.2, stream_timeout_s=1.0)
    h.watcher._positions = {0: 5}
    pid = h.post(h.body(days=3, coins=(("bitcoin", 2.0),))).get_json()["id"]
    # Seen up to 5 already: nothing new, so no update; only heartbeats, then timeout.
    resp = h.get(f"/v1/portfolios/{pid}/stream", headers={"Last-Event-ID": "5"}, buffered=False)
    events, raw = _read_stream(resp, until_events=99)
    assert [e["event"] for e in events] == ["timeout"], raw
    assert "id" not in events[0]  # the client's Last-Event-ID stays the last real update
    # Seen up to 3 only: the state since then is sent at once.
    resp = h.get(f"/v1/portfolios/{pid}/stream", headers={"Last-Event-ID": "3"}, buffered=False)
    events, _ = _read_stream(resp, until_events=1)
    assert events[0]["event"] == "update" and events[0]["id"] == "5"


def test_stream_of_a_complete_portfolio_ends_at_once(harness):
    h = harness
    h.land_days("bitcoin", [1, 2, 3, 4, 5])
    h.land_days("ethereum", [1, 2, 3, 4, 5])
    pid = h.post(h.body()).get_json()["id"]
    events, _ = _read_stream(h.get(f"/v1/portfolios/{pid}/stream", buffered=False), until_events=99)
    assert [e["event"] for e in events] == ["complete"]
