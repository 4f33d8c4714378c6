"""The words every part uses: each fact stated once.

Intervals, point statuses, the id patterns and the bounds on instants and
amounts. Event schemas (``events``), request validation and the OpenAPI
documents of every service take them from here.
"""

from __future__ import annotations

from typing import Literal, get_args

# ---- intervals: the spacing of a series or valuation grid ----
Interval = Literal["5m", "hourly", "daily"]
INTERVALS: tuple[str, ...] = get_args(Interval)
INTERVAL_MS: dict[str, int] = {"5m": 5 * 60_000, "hourly": 3_600_000, "daily": 86_400_000}

# ---- statuses of one point of a series or valuation ----
STATUS_OBSERVED = "observed"  # a price observed within the point's interval
STATUS_CARRIED = "carried"  # an older price carried forward (within the staleness bound)
STATUS_MISSING = "missing"  # no usable price
PointStatus = Literal["observed", "carried", "missing"]
POINT_STATUSES: tuple[str, ...] = get_args(PointStatus)

# ---- identifiers ----
COIN_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"  # a CoinGecko coin id
VS_CURRENCY = r"^[a-z]{3,5}$"  # a quote currency (usd, eur, btc, ...)
PORTFOLIO_ID = r"^[A-Za-z0-9_-]{8,64}$"
EVENT_ID = r"^[0-9a-f]{32}$"  # a price event's deterministic id (events.price_event_id)
SOURCE = r"^[a-z0-9_.-]{1,32}$"  # where an observation came from

# ---- bounds ----
# Instants are epoch milliseconds in [0, MAX_INSTANT_MS): 1970-01-01 to 3000-01-01, beyond any
# date an event or the table holds.
MAX_INSTANT_MS = 32503680000000
# Units of a coin held: bounded so that sums and products stay finite floats.
MAX_AMOUNT = 1e15

assert tuple(INTERVAL_MS) == INTERVALS
assert (STATUS_OBSERVED, STATUS_CARRIED, STATUS_MISSING) == POINT_STATUSES
