"""The api with the real Kafka: portfolios and streams shared by every instance, backfills requested."""

import json
import math
import time
import uuid

import pytest
import requests
from coinstream_common.kafka import make_consumer
from coinstream_common.timeutil import to_iso
from coinstream_contract.events import BackfillRequest, PortfolioEvent
from confluent_kafka import TopicPartition

pytestmark = pytest.mark.integration


def read_topic(env, topic, event_type, expect, timeout_s=20.0):
    consumer = make_consumer(env.kafka, f"test-read-{uuid.uuid4().hex[:8]}", [topic])
    found, deadline = [], time.monotonic() + timeout_s
    try:
        while len(found) < expect and time.monotonic() < deadline:
            for msg in consumer.consume(100, timeout=0.5):
                if not msg.error():
                    found.append((msg.key().decode(), event_type.from_json(msg.value())))
    finally:
        consumer.close()
    return found


def topic_size(env, topic):
    consumer = make_consumer(env.kafka, f"test-size-{uuid.uuid4().hex[:8]}", [topic])
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in meta.partitions)
    finally:
        consumer.close()


def body(days, coins, **extra):
    return {
        "holdings": [{"coin": c, "amount": a} for c, a in coins],
        "vs_currency": "usd",
        "from": to_iso(1_735_689_600_000),
        "to": to_iso(1_735_689_600_000 + (days - 1) * 86_400_000),
        "interval": "daily",
    } | extra


def test_create_answers_202_at_once_then_the_stream_follows_landed_data_to_complete(env, api, it):
    headers = {"X-API-Key": it.KEY}
    coins = [("bitcoin", 0.5), ("ethereum", 4.0), ("solana", 30.0)]
    started = time.monotonic()
    resp = requests.post(f"{api.base_url}/v1/portfolios", json=body(10, coins), headers=headers, timeout=30)
    assert resp.status_code == 202, resp.text
    assert time.monotonic() - started < 10
    doc = resp.json()
    pid = doc["id"]
    assert doc["completeness"]["fraction"] == 0.0 and len(doc["completeness"]["missing"]) == 3
    assert resp.headers["Location"] == f"/v1/portfolios/{pid}"

    # The portfolio is on the compacted topic keyed by id, owned by a hash of the key; one backfill per coin.
    ((key, event),) = read_topic(env, env.topics.portfolio_events, PortfolioEvent, 1)
    assert key == pid and event.owner != it.KEY and len(event.owner) == 64
    backfills = read_topic(env, env.topics.backfill_requests, BackfillRequest, 3)
    assert sorted(b.coin for _, b in backfills) == ["bitcoin", "ethereum", "solana"]
    assert all(b.from_ == it.T0 and b.to >= it.T0 + 9 * it.DAY and b.requested_by == f"api:{pid}" for _, b in backfills)

    reader = it.SseReader(f"{api.base_url}/v1/portfolios/{pid}/stream", headers)
    first = reader.wait_for("update", 15)
    assert json.loads(first["data"])["status"] == "pending"
    prices = {
        "bitcoin": {d: 90000.0 + 1000 * d for d in range(10)},
        "ethereum": {d: 3000.0 - 20 * d for d in range(10)},
        "solana": {d: 150.0 + (d % 3) for d in range(10)},
    }
    # Land in batches: first half of each coin, then the rest; each batch is a landed notification.
    for coin, by_day in prices.items():
        env.land_days(coin, {d: p for d, p in by_day.items() if d < 5})
        time.sleep(0.3)
    for coin, by_day in prices.items():
        env.land_days(coin, {d: p for d, p in by_day.items() if d >= 5})
        time.sleep(0.3)
    complete = reader.wait_for("complete", 60)
    reader.close()
    names = [e["event"] for e in reader.events]
    assert names.count("update") >= 4 and names[-1] == "complete", names
    ids = [int(e["id"]) for e in reader.events if "id" in e]
    assert ids == sorted(ids) and len(set(ids[:-1])) == len(ids) - 1  # monotonic; complete repeats the last update's
    fractions = [json.loads(e["data"])["completeness"]["fraction"] for e in reader.events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    final = json.loads(complete["data"])
    f = final["valuation"]["figures"]
    start = sum(a * prices[c][0] for c, a in coins)
    end = sum(a * prices[c][9] for c, a in coins)
    assert math.isclose(f["total_return"], end / start - 1, rel_tol=1e-9)
    assert math.isclose(f["pnl"], end - start, rel_tol=1e-9)
    for c, a in coins:
        assert math.isclose(
            f["holdings"][c]["contribution"], a * (prices[c][9] - prices[c][0]) / start, rel_tol=1e-9, abs_tol=1e-12
        )
    got = requests.get(f"{api.base_url}/v1/portfolios/{pid}", headers=headers, timeout=30)
    assert got.status_code == 200 and got.json()["status"] == "complete"
    assert got.json()["valuation"] == final["valuation"]


def test_two_instances_share_portfolios_and_streams_through_kafka(env, api, gunicorn_api, it):
    headers = {"Authorization": f"Bearer {it.KEY}"}
    resp = requests.post(f"{api.base_url}/v1/portfolios", json=body(4, [("bitcoin", 1.0)]), headers=headers, timeout=30)
    assert resp.status_code == 202
    pid = resp.json()["id"]
    # The other instance (another process, two workers) has never seen it: it reads Kafka to the end first.
    for _ in range(4):  # several requests: both workers answer
        other = requests.get(f"{gunicorn_api.base_url}/v1/portfolios/{pid}", headers=headers, timeout=30)
        assert other.status_code == 200, other.text
        assert other.json()["id"] == pid
    assert (
        requests.get(
            f"{gunicorn_api.base_url}/v1/portfolios/{pid}", headers={"X-API-Key": it.OTHER_KEY}, timeout=30
        ).status_code
        == 404
    )
    assert (
        requests.get(
            f"{gunicorn_api.base_url}/v1/portfolios/pf_nosuchportfolio", headers=headers, timeout=30
        ).status_code
        == 404
    )

    # A stream on the other instance wakes on landed notifications, and resumes after Last-Event-ID.
    reader = it.SseReader(f"{gunicorn_api.base_url}/v1/portfolios/{pid}/stream", headers)
    reader.wait_for("update", 15)
    time.sleep(0.5)
    env.land_days("bitcoin", {0: 100.0, 1: 101.0})
    deadline = time.monotonic() + 30
    while len([e for e in reader.events if e["event"] == "update"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    reader.close()
    updates = [e for e in reader.events if e["event"] == "update"]
    assert len(updates) >= 2, reader.raw
    seen = updates[-1]["id"]
    assert json.loads(updates[-1]["data"])["completeness"]["present"] == 2

    # Reconnect on the first instance: nothing new since `seen`, so no update until the next batch lands.
    again = it.SseReader(f"{api.base_url}/v1/portfolios/{pid}/stream", headers | {"Last-Event-ID": seen})
    time.sleep(1.5)
    assert [e["event"] for e in again.events] == [], again.raw
    env.land_days("bitcoin", {2: 102.0, 3: 103.0})
    done = again.wait_for("complete", 30)
    again.close()
    assert [e["event"] for e in again.events] == ["update", "complete"]
    assert int(done["id"]) > int(seen)
    assert ": heartbeat" in again.raw


def test_bad_requests_create_nothing_on_kafka(env, api, it):
    url, headers = f"{api.base_url}/v1/portfolios", {"X-API-Key": it.KEY}
    cases = [
        (body(5, [("not-a-listed-coin", 1.0)]), 400, "unknown_coin"),
        (body(5, [("bitcoin", -1.0)]), 400, "invalid_request"),
        (body(5, [("bitcoin", 1.0)], vs_currency="zzz"), 400, "unsupported_currency"),
        (body(5, [("bitcoin", 1.0)], **{"from": "2030-01-01T00:00:00Z"}), 400, "invalid_range"),
    ]
    for data, status, code in cases:
        resp = requests.post(url, json=data, headers=headers, timeout=30)
        assert resp.status_code == status and resp.json()["error"]["code"] == code, resp.text
    malformed = requests.post(
        url, data=b'{"holdings": [', headers=headers | {"Content-Type": "application/json"}, timeout=30
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    assert requests.post(url, json=body(5, [("bitcoin", 1.0)]), timeout=30).status_code == 401
    assert topic_size(env, env.topics.portfolio_events) == 0
    assert topic_size(env, env.topics.backfill_requests) == 0


def test_query_outage_serves_last_known_as_stale_and_rate_limit_applies(env, it, monkeypatch):
    monkeypatch.setenv("COINSTREAM_API_RATE_LIMIT_PER_MINUTE", "30")
    instance = it.InProcessApi()
    headers = {"X-API-Key": it.KEY}
    try:
        env.stub.table.add("bitcoin", "usd", {it.T0 + d * it.DAY: 10.0 + d for d in range(2)})
        created = requests.post(
            f"{instance.base_url}/v1/portfolios", json=body(3, [("bitcoin", 1.0)]), headers=headers, timeout=30
        )
        assert created.status_code == 202
        pid = created.json()["id"]
        env.stub.down = True
        # Nothing landed since: the cached valuation is still exact, so it is not stale.
        cached = requests.get(f"{instance.base_url}/v1/portfolios/{pid}", headers=headers, timeout=30)
        assert cached.status_code == 200 and cached.json()["stale"] is False
        # Data lands: the cached valuation is dropped, and with the query service down the last
        # known one is served, marked stale.
        env.land_days("bitcoin", {2: 12.0})
        # Polled at a pace the key's limit allows (30/min), however long the notification takes
        # on a loaded machine; a 429 on the way is waited out, as a client would.
        deadline, last_fresh = time.monotonic() + 40, cached
        while True:
            stale = requests.get(f"{instance.base_url}/v1/portfolios/{pid}", headers=headers, timeout=30)
            if stale.status_code == 429 and time.monotonic() < deadline:
                time.sleep(float(stale.headers.get("Retry-After", "2")))
                continue
            if stale.json().get("stale") or time.monotonic() > deadline:
                break
            last_fresh = stale  # the notification is not read yet: still the cached valuation
            time.sleep(1.0)
        assert stale.status_code == 200 and stale.json()["stale"] is True, stale.text[:300]
        assert stale.json()["as_of"] == last_fresh.json()["as_of"]  # the last one computed
        env.stub.down = False
        fresh = requests.get(f"{instance.base_url}/v1/portfolios/{pid}", headers=headers, timeout=30)
        assert fresh.status_code == 200 and fresh.json()["stale"] is False
        answers = [
            requests.get(f"{instance.base_url}/v1/portfolios/{pid}", headers=headers, timeout=30) for _ in range(40)
        ]
        statuses = [r.status_code for r in answers]
        assert statuses[0] == 200 and statuses[-1] == 429, statuses
        assert int(answers[-1].headers["Retry-After"]) >= 1
        assert answers[-1].json()["error"]["code"] == "rate_limited"
    finally:
        env.stub.down = False
        instance.close()


def test_kafka_down_is_a_503_not_a_hang_or_a_stack_trace(stub, it, monkeypatch):
    monkeypatch.setenv("COINSTREAM_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("COINSTREAM_KAFKA_DELIVERY_TIMEOUT_MS", "1500")
    monkeypatch.setenv("COINSTREAM_API_QUERY_URL", stub.base_url)
    monkeypatch.setenv("COINSTREAM_API_INGEST_URL", stub.ingest_url)
    monkeypatch.setenv("COINSTREAM_API_API_KEYS", it.KEY)
    from coinstream_api.app import create_app

    app = create_app(configure_logging=False)
    client = app.test_client()
    started = time.monotonic()
    resp = client.post("/v1/portfolios", json=body(3, [("bitcoin", 1.0)]), headers={"X-API-Key": it.KEY})
    assert resp.status_code == 503 and resp.get_json()["error"]["code"] == "kafka_unavailable"
    assert time.monotonic() - started < 15
    miss = client.get("/v1/portfolios/pf_nosuchportfolio", headers={"X-API-Key": it.KEY})
    assert miss.status_code == 503 and "Traceback" not in miss.get_data(as_text=True)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "kafka" in ready.get_json()["error"]["message"].lower()
    service = app.extensions["coinstream"]
    service.store.stop()
    service.watcher.stop()
