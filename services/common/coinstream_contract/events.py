"""Versioned event schemas: the one place a schema changes.

Every event is a JSON object carrying ``schema`` (name and version). Producers
build events with these models and consumers parse with them, so a field
renamed here is renamed everywhere. Timestamps on the wire are epoch
milliseconds (UTC), which Spark, Trino and CoinGecko all read without
time-zone ambiguity.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .vocabulary import COIN_ID, EVENT_ID, MAX_AMOUNT, MAX_INSTANT_MS, PORTFOLIO_ID, SOURCE, VS_CURRENCY, Interval

CoinId = Annotated[str, Field(pattern=COIN_ID)]
VsCurrency = Annotated[str, Field(pattern=VS_CURRENCY)]
EpochMs = Annotated[int, Field(ge=0, lt=MAX_INSTANT_MS)]
Amount = Annotated[float, Field(gt=0, le=MAX_AMOUNT, allow_inf_nan=False)]


class EventError(ValueError):
    """An event that does not match its schema; carries a short reason."""


class Event(BaseModel):
    """Base of all events: strict, immutable, with its schema tag."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    SCHEMA: ClassVar[str]

    @property
    def key(self) -> str:
        """The Kafka message key (each event type says which field)."""
        raise NotImplementedError

    def to_json(self) -> bytes:
        return json.dumps(self.model_dump(mode="json", by_alias=True), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str | dict[str, Any] | None) -> Self:
        """The event ``raw`` holds; ``EventError`` if it is none (also for a record without a value)."""
        try:
            data = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
        except (ValueError, UnicodeDecodeError) as exc:
            raise EventError(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise EventError("not a JSON object")
        if data.get("schema") != cls.SCHEMA:
            raise EventError(f"schema {data.get('schema')!r} is not {cls.SCHEMA!r}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "event"
            raise EventError(f"{where}: {first['msg']}") from None


def now_ms() -> int:
    return int(time.time() * 1000)


def price_event_id(coin_id: str, vs_currency: str, ts_ms: int, source: str) -> str:
    """Deterministic id of one observation, so a replayed event dedupes."""
    key = f"{coin_id}|{vs_currency}|{ts_ms}|{source}".encode()
    return hashlib.sha256(key).hexdigest()[:32]


class PriceEvent(Event):
    """One observation of a coin's market at one instant (topic coin.prices)."""

    SCHEMA: ClassVar[str] = "coinstream.price.v1"
    schema_: Literal["coinstream.price.v1"] = Field("coinstream.price.v1", alias="schema")
    event_id: Annotated[str, Field(pattern=EVENT_ID)]
    coin_id: CoinId
    vs_currency: VsCurrency
    ts: EpochMs
    price: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    market_cap: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    total_volume: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    source: Annotated[str, Field(pattern=SOURCE)]
    ingested_at: EpochMs

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _id_matches_keys(self) -> PriceEvent:
        expected = price_event_id(self.coin_id, self.vs_currency, self.ts, self.source)
        if self.event_id != expected:
            raise ValueError("event_id does not match (coin_id, vs_currency, ts, source)")
        return self

    @classmethod
    def observe(
        cls,
        coin_id: str,
        vs_currency: str,
        ts_ms: int,
        price: float,
        source: str,
        market_cap: float | None = None,
        total_volume: float | None = None,
        ingested_at: int | None = None,
    ) -> PriceEvent:
        return cls(
            event_id=price_event_id(coin_id, vs_currency, ts_ms, source),
            coin_id=coin_id,
            vs_currency=vs_currency,
            ts=ts_ms,
            price=price,
            market_cap=market_cap,
            total_volume=total_volume,
            source=source,
            ingested_at=now_ms() if ingested_at is None else ingested_at,
        )

    @property
    def key(self) -> str:
        return self.coin_id


class BackfillRequest(Event):
    """Ask ingest to fetch a coin's history over [from, to] (topic coin.backfill.requests)."""

    SCHEMA: ClassVar[str] = "coinstream.backfill.v1"
    schema_: Literal["coinstream.backfill.v1"] = Field("coinstream.backfill.v1", alias="schema")
    coin: CoinId
    vs_currency: VsCurrency
    from_: EpochMs = Field(alias="from")
    to: EpochMs
    interval: Interval = "hourly"
    requested_by: Annotated[str, Field(min_length=1, max_length=128)]
    requested_at: EpochMs = Field(default_factory=now_ms)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> BackfillRequest:
        if self.from_ > self.to:
            raise ValueError("from is after to")
        return self

    @property
    def key(self) -> str:
        return f"{self.coin}|{self.vs_currency}"


class LandedCoin(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    coin_id: CoinId
    vs_currency: VsCurrency
    min_ts: EpochMs
    max_ts: EpochMs
    rows: Annotated[int, Field(ge=0)]


class LandedNotification(Event):
    """A Spark batch is committed and queryable (topic coin.prices.landed)."""

    SCHEMA: ClassVar[str] = "coinstream.landed.v1"
    schema_: Literal["coinstream.landed.v1"] = Field("coinstream.landed.v1", alias="schema")
    batch_id: Annotated[int, Field(ge=0)]
    coins: list[LandedCoin]
    min_ts: EpochMs
    max_ts: EpochMs
    rows: Annotated[int, Field(ge=0)]
    landed_at: EpochMs = Field(default_factory=now_ms)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def key(self) -> str:
        return str(self.batch_id)


class Holding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    coin: CoinId
    amount: Amount
    acquired_at: EpochMs | None = None
    acquired_price: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None


class PortfolioEvent(Event):
    """A portfolio as created (topic portfolio.events, compacted by id)."""

    SCHEMA: ClassVar[str] = "coinstream.portfolio.v1"
    schema_: Literal["coinstream.portfolio.v1"] = Field("coinstream.portfolio.v1", alias="schema")
    id: Annotated[str, Field(pattern=PORTFOLIO_ID)]
    owner: Annotated[str, Field(min_length=1, max_length=128)]  # a hash of the API key, never the key
    holdings: Annotated[list[Holding], Field(min_length=1)]
    vs_currency: VsCurrency
    from_: EpochMs = Field(alias="from")
    to: EpochMs
    interval: Interval = "daily"
    created_at: EpochMs = Field(default_factory=now_ms)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _ordered(self) -> PortfolioEvent:
        if self.from_ >= self.to:
            raise ValueError("from must be before to")
        return self

    @property
    def key(self) -> str:
        return self.id


EVENT_TYPES: dict[str, type[Event]] = {
    t.SCHEMA: t for t in (PriceEvent, BackfillRequest, LandedNotification, PortfolioEvent)
}

# Validation rules the Spark job applies column-wise (it cannot afford a Python
# call per row); kept next to the model so the two move together.
PRICE_EVENT_SPARK_RULES = {
    "schema": PriceEvent.SCHEMA,
    "required": ("event_id", "coin_id", "vs_currency", "ts", "price", "source", "ingested_at"),
    "coin_id_pattern": COIN_ID,
    "vs_currency_pattern": VS_CURRENCY,
    "event_id_pattern": EVENT_ID,
}
