"""Fetch from CoinGecko, normalise, produce: what the endpoints, the poller and the backfill worker share.

A fetch returns only after the broker acknowledged every event it produced
(``EventProducer.send_and_wait``), so its count is a promise, not a hope.
History chunks are fetched by ``fetch_concurrency`` threads; the shared token
bucket keeps them within CoinGecko's rate limit, and each chunk is produced as
soon as it arrives so producing overlaps fetching.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass

from coinstream_common.kafka import EventProducer
from coinstream_contract.events import now_ms

from . import history
from .coingecko import BadRequest, CoinGeckoClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HistoryResult:
    coin: str
    vs_currency: str
    interval: str
    from_ms: int
    to_ms: int
    chunks: int
    produced: int


@dataclass(frozen=True)
class PricesResult:
    coins: list[str]
    vs_currency: str
    produced: int
    missing: list[str]


class Ingestor:
    def __init__(
        self,
        client: CoinGeckoClient,
        producer: EventProducer,
        topic: str,
        fetch_concurrency: int,
        history_limit_days: int,
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.client = client
        self.producer = producer
        self.topic = topic
        self.fetch_concurrency = fetch_concurrency
        self.history_limit_days = history_limit_days
        self.clock_ms = clock_ms

    # -- validation ------------------------------------------------------------------

    def check_vs_currency(self, vs_currency: str) -> None:
        """Unknown quote currency -> BadRequest; an API without the list endpoint is not held against us."""
        try:
            self.client.check_vs_currency(vs_currency)
        except BadRequest as exc:
            if exc.status == 404:  # no /simple/supported_vs_currencies: CoinGecko itself will judge
                return
            raise

    def check_history(self, coin: str, vs_currency: str, from_ms: int, to_ms: int, interval: str) -> tuple[int, int]:
        """Everything that can be refused before a price is fetched; returns the effective range."""
        checked = history.check_range(from_ms, to_ms, interval, self.clock_ms(), self.history_limit_days)
        self.check_vs_currency(vs_currency)
        self.client.check_coins([coin])
        return checked

    # -- fetching --------------------------------------------------------------------

    def fetch_prices(self, coins: list[str], vs_currency: str) -> PricesResult:
        self.check_vs_currency(vs_currency)
        self.client.check_coins(coins)
        payload = self.client.simple_price(coins, vs_currency)
        events = history.simple_price_events(payload, vs_currency, self.clock_ms())
        produced = self.producer.send_and_wait(self.topic, events) if events else 0
        got = {e.coin_id for e in events}
        return PricesResult(coins, vs_currency, produced, [c for c in coins if c not in got])

    def fetch_history(
        self, coin: str, vs_currency: str, from_ms: int, to_ms: int, interval: str, checked: bool = False
    ) -> HistoryResult:
        now = self.clock_ms()
        if not checked:
            from_ms, to_ms = self.check_history(coin, vs_currency, from_ms, to_ms, interval)
        chunks = history.plan_chunks(from_ms, to_ms, interval, now, history.earliest_ms(now, self.history_limit_days))
        produced = self._fetch_chunks(coin, vs_currency, interval, chunks)
        return HistoryResult(coin, vs_currency, interval, from_ms, to_ms, len(chunks), produced)

    def _fetch_chunk(self, coin: str, vs_currency: str, interval: str, chunk: history.Chunk) -> int:
        payload = self.client.market_chart_range(coin, vs_currency, chunk.fetch_from_s, chunk.fetch_to_s)
        events = history.normalise(payload, coin, vs_currency, interval, chunk.own_from, chunk.own_to, self.clock_ms())
        return self.producer.send_and_wait(self.topic, events) if events else 0

    def _fetch_chunks(self, coin: str, vs_currency: str, interval: str, chunks: list[history.Chunk]) -> int:
        if len(chunks) <= 1 or self.fetch_concurrency == 1:
            return sum(self._fetch_chunk(coin, vs_currency, interval, c) for c in chunks)
        started = time.perf_counter()
        with ThreadPoolExecutor(min(self.fetch_concurrency, len(chunks)), thread_name_prefix="chunk") as pool:
            futures = [pool.submit(self._fetch_chunk, coin, vs_currency, interval, c) for c in chunks]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for f in pending:
                f.cancel()
            errors = [exc for f in done if (exc := f.exception()) is not None]
            if errors:
                wait(pending)  # let running chunks finish before the error is reported
                raise errors[0]
            total = sum(f.result() for f in futures)
        log.info(
            "history %s/%s %s: %d chunks, %d events in %.2fs",
            coin,
            vs_currency,
            interval,
            len(chunks),
            total,
            time.perf_counter() - started,
        )
        return total
