"""The api app wired to in-memory collaborators (no Kafka, no query service)."""

from __future__ import annotations

import pytest
from coinstream_api.settings import ApiSettings
from coinstream_api.store import StoreUnavailable
from coinstream_common.kafka import DeliveryError
from coinstream_common.settings import KafkaSettings, TopicSettings
from coinstream_common.timeutil import to_iso
from coinstream_testkit import stub_query

KEY, OTHER_KEY = "key-alice", "key-bob"
DAY = 86_400_000
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z


class FakeStore:
    def __init__(self) -> None:
        self.portfolios = {}
        self.fail = False

    def put(self, p):
        self.portfolios[p.id] = p

    def get(self, pid):
        if self.fail:
            raise StoreUnavailable("kafka down")
        return self.portfolios.get(pid)


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []
        self.fail = False

    def send_and_wait(self, topic, events):
        events = list(events)
        if self.fail:
            raise DeliveryError(f"{len(events)} of {len(events)} events not acknowledged on {topic}: broker down")
        self.sent += [(topic, e) for e in events]
        return len(events)


class FakeQuery:
    def __init__(self, table) -> None:
        self.table = table
        self.down = False
        self.calls = 0

    def valuation(self, coins, vs_currency, from_ms, to_ms, interval):
        from coinstream_api.query_client import QueryUnavailable

        self.calls += 1
        if self.down:
            raise QueryUnavailable("query service answered 503 (trino_unavailable)")
        body = {
            "holdings": [{"coin": c, "amount": a} for c, a in coins.items()],
            "vs_currency": vs_currency,
            "from": to_iso(from_ms),
            "to": to_iso(to_ms),
            "interval": interval,
        }
        return stub_query.valuation(self.table, body)

    def healthy(self):
        return (not self.down, "fake query")


class FakeCoins:
    def __init__(self, ids) -> None:
        self._ids = frozenset(ids) if ids is not None else None

    def ids(self):
        return self._ids

    def reload_for_unknown(self, coins=()) -> bool:
        return False

    def start(self):
        pass


class Harness:
    def __init__(self, **settings) -> None:
        from coinstream_api.app import create_app
        from coinstream_api.landed import LandedWatcher

        self.table = stub_query.PriceTable()
        self.store = FakeStore()
        self.producer = FakeProducer()
        self.query = FakeQuery(self.table)
        self.topics = TopicSettings()
        self.watcher = LandedWatcher(KafkaSettings(), self.topics.prices_landed, "test")
        self.settings = ApiSettings(**({"api_keys": f"{KEY},{OTHER_KEY}", "rate_limit_per_minute": 10_000} | settings))
        self.app = create_app(
            start=False,
            settings=self.settings,
            kafka=KafkaSettings(),
            topics=self.topics,
            store=self.store,
            watcher=self.watcher,
            producer=self.producer,
            query=self.query,
            coins=FakeCoins(["bitcoin", "ethereum", "solana"]),
        )
        self.client = self.app.test_client()

    def land_days(self, coin, prices, start=T0, vs="usd"):
        self.table.add(coin, vs, {start + i * DAY: p for i, p in enumerate(prices)})

    def post(self, body, key=KEY, **kw):
        headers = {"X-API-Key": key} if key else {}
        return self.client.post("/v1/portfolios", json=body, headers=headers, **kw)

    def get(self, path, key=KEY, **kw):
        headers = kw.pop("headers", {}) | ({"X-API-Key": key} if key else {})
        return self.client.get(path, headers=headers, **kw)

    def sent(self, topic):
        return [e for t, e in self.producer.sent if t == topic]

    @staticmethod
    def body(days=5, coins=(("bitcoin", 1.0), ("ethereum", 2.0)), **extra):
        return {
            "holdings": [{"coin": c, "amount": a} for c, a in coins],
            "vs_currency": "usd",
            "from": to_iso(T0),
            "to": to_iso(T0 + (days - 1) * DAY),
            "interval": "daily",
        } | extra

    KEY, OTHER_KEY, DAY, T0 = KEY, OTHER_KEY, DAY, T0


@pytest.fixture
def harness():
    return Harness()


@pytest.fixture
def make_harness():
    return Harness
