"""The topics: their names and how each is laid out.

The names are the defaults of ``coinstream_common.settings.TopicSettings``
(a deployment may rename a topic; every part then reads the new name from the
same variable). ``topic_specs`` gives each topic the partitioning and
retention its data needs: ``coinstream up`` creates the topics from it and the
Helm chart's KafkaTopics mirror it (the k8s-tests compare them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PRICES = "coin.prices"  # events.PriceEvent, keyed by coin
PRICES_DLQ = "coin.prices.dlq"  # price records the lander could not parse or validate
BACKFILL_REQUESTS = "coin.backfill.requests"  # events.BackfillRequest
PRICES_LANDED = "coin.prices.landed"  # events.LandedNotification, one per committed batch
PORTFOLIO_EVENTS = "portfolio.events"  # events.PortfolioEvent, compacted by portfolio id


class TopicNames(Protocol):
    """The topic names as a deployment configures them (TopicSettings), read-only."""

    @property
    def prices(self) -> str: ...
    @property
    def prices_dlq(self) -> str: ...
    @property
    def backfill_requests(self) -> str: ...
    @property
    def prices_landed(self) -> str: ...
    @property
    def portfolio_events(self) -> str: ...


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str]


def topic_specs(topics: TopicNames) -> list[TopicSpec]:
    """The contract's topics with the partitioning and retention the data needs."""
    week = str(7 * 24 * 3600 * 1000)
    return [
        TopicSpec(topics.prices, 6, {"retention.ms": str(30 * 24 * 3600 * 1000), "compression.type": "lz4"}),
        TopicSpec(topics.prices_dlq, 1, {"retention.ms": week}),
        TopicSpec(topics.backfill_requests, 3, {"retention.ms": week}),
        TopicSpec(topics.prices_landed, 1, {"retention.ms": str(24 * 3600 * 1000)}),
        TopicSpec(topics.portfolio_events, 3, {"cleanup.policy": "compact"}),
    ]
