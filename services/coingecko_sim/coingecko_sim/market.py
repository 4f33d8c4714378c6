"""Current and historical market snapshots in CoinGecko's JSON shapes (pure, given ``now``).

"Current" means the latest tick (now floored to the minute): ``/simple/price``
quotes the path at that instant and says so in ``last_updated_at``. 24-hour
figures compare with the path 24 hours before it; highs and lows of the day
take the hourly points in between; all-time highs and lows take the daily
(00:00 UTC) points since the pair's first day, plus the current price.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from . import prices
from .catalog import COINS
from .chart import DAY_MS, rounded, tick

HOUR_MS = 3_600_000
CHANGE_WINDOWS_MS = {
    "1h": HOUR_MS,
    "24h": DAY_MS,
    "7d": 7 * DAY_MS,
    "14d": 14 * DAY_MS,
    "30d": 30 * DAY_MS,
    "200d": 200 * DAY_MS,
    "1y": 365 * DAY_MS,
}
MARKET_ORDERS = ("market_cap_desc", "market_cap_asc", "volume_desc", "volume_asc", "id_asc", "id_desc")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def image(coin_id: str, size: str = "large") -> str:
    # A reserved (.invalid) host: the simulator serves no images.
    return f"https://images.coingecko-sim.invalid/coins/{coin_id}/{size}.png"


def _pct(now: float, then: float) -> float:
    return (now / then - 1.0) * 100.0


def simple_price(
    coin_ids: list[str],
    vs_currencies: list[str],
    now_ms: int,
    seed: int,
    *,
    market_cap: bool = False,
    volume: bool = False,
    change: bool = False,
    last_updated: bool = False,
    precision: int | None = None,
) -> dict[str, dict[str, Any]]:
    """``/simple/price``: known coins only, known currencies only (CoinGecko drops the others)."""
    at = tick(now_ms)
    out: dict[str, dict[str, Any]] = {}
    for coin_id in coin_ids:
        if coin_id in out or not prices.is_coin(coin_id):
            continue
        entry: dict[str, Any] = {}
        for vs in vs_currencies:
            if not prices.is_currency(vs) or at < prices.first_ms(coin_id, vs):
                continue
            q = prices.quote(coin_id, vs, at, seed)
            entry[vs] = rounded(q.price, precision)
            if market_cap:
                entry[f"{vs}_market_cap"] = q.market_cap
            if volume:
                entry[f"{vs}_24h_vol"] = q.total_volume
            if change:
                entry[f"{vs}_24h_change"] = _pct(q.price, prices.price_at(coin_id, vs, at - DAY_MS, seed))
        if last_updated:
            entry["last_updated_at"] = at // 1000
        out[coin_id] = entry
    return out


class _Extremes:
    """All-time high/low over daily points, extended day by day (cached: O(days) once per pair)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int], tuple[int, float, int, float, int]] = {}
        self._lock = threading.Lock()

    def through(self, coin_id: str, vs: str, seed: int, day_ms: int) -> tuple[float, int, float, int]:
        key = (coin_id, vs, seed)
        with self._lock:
            cached = self._cache.get(key)
        if cached and cached[0] >= day_ms:
            if cached[0] == day_ms:
                return cached[1:]
            cached = None  # asked about an earlier day (a test clock): recompute
        first = prices.first_ms(coin_id, vs)
        first_day = first - first % DAY_MS + (DAY_MS if first % DAY_MS else 0)
        if cached:
            start, hi, hi_t, lo, lo_t = cached[0] + DAY_MS, *cached[1:]
        else:
            start = first_day
            hi, hi_t, lo, lo_t = 0.0, first_day, float("inf"), first_day
        for t in range(start, day_ms + 1, DAY_MS):
            p = prices.price_at(coin_id, vs, t, seed)
            if p > hi:
                hi, hi_t = p, t
            if p < lo:
                lo, lo_t = p, t
        with self._lock:
            self._cache[key] = (day_ms, hi, hi_t, lo, lo_t)
        return hi, hi_t, lo, lo_t


EXTREMES = _Extremes()


def market_row(
    coin_id: str,
    vs: str,
    now_ms: int,
    seed: int,
    rank: int | None = None,
    price_change_windows: tuple[str, ...] = (),
    sparkline: bool = False,
    precision: int | None = None,
) -> dict[str, Any]:
    """One item of ``/coins/markets``."""
    coin = COINS[coin_id]
    at = tick(now_ms)
    q = prices.quote(coin_id, vs, at, seed)
    day_ago = prices.quote(coin_id, vs, at - DAY_MS, seed)
    first = prices.first_ms(coin_id, vs)
    hours = [t for t in range(at - at % HOUR_MS - 23 * HOUR_MS, at, HOUR_MS) if t >= first]
    day = [prices.price_at(coin_id, vs, t, seed) for t in hours] + [q.price]
    today = at - at % DAY_MS
    hi, hi_t, lo, lo_t = EXTREMES.through(coin_id, vs, seed, today)
    if q.price > hi:
        hi, hi_t = q.price, at
    if q.price < lo:
        lo, lo_t = q.price, at
    supply = prices.supply_at(coin_id, at, seed)
    total = coin.max_supply or supply
    row: dict[str, Any] = {
        "id": coin.id,
        "symbol": coin.symbol,
        "name": coin.name,
        "image": image(coin.id),
        "current_price": rounded(q.price, precision),
        "market_cap": q.market_cap,
        "market_cap_rank": rank,
        "fully_diluted_valuation": q.price * total,
        "total_volume": q.total_volume,
        "high_24h": rounded(max(day), precision),
        "low_24h": rounded(min(day), precision),
        "price_change_24h": q.price - day_ago.price,
        "price_change_percentage_24h": _pct(q.price, day_ago.price),
        "market_cap_change_24h": q.market_cap - day_ago.market_cap,
        "market_cap_change_percentage_24h": _pct(q.market_cap, day_ago.market_cap),
        "circulating_supply": supply,
        "total_supply": total,
        "max_supply": coin.max_supply,
        "ath": rounded(hi, precision),
        "ath_change_percentage": _pct(q.price, hi),
        "ath_date": iso(hi_t),
        "atl": rounded(lo, precision),
        "atl_change_percentage": _pct(q.price, lo),
        "atl_date": iso(lo_t),
        "roi": None,
        "last_updated": iso(at),
    }
    if sparkline:
        start = at - at % HOUR_MS - 167 * HOUR_MS
        row["sparkline_in_7d"] = {
            "price": [prices.price_at(coin_id, vs, t, seed) for t in range(start, at + 1, HOUR_MS) if t >= first]
        }
    for window in price_change_windows:
        then = at - CHANGE_WINDOWS_MS[window]
        row[f"price_change_percentage_{window}_in_currency"] = (
            _pct(q.price, prices.price_at(coin_id, vs, then, seed)) if then >= first else None
        )
    return row


def markets(
    vs: str,
    now_ms: int,
    seed: int,
    ids: list[str] | None,
    order: str,
    per_page: int,
    page: int,
    price_change_windows: tuple[str, ...] = (),
    sparkline: bool = False,
    precision: int | None = None,
) -> list[dict[str, Any]]:
    """``/coins/markets``: rank by market cap, order, then one page."""
    at = tick(now_ms)
    listed = [c for c in list(COINS) if prices.first_ms(c, vs) <= at]  # a copy: coins get listed meanwhile
    caps = {c: prices.market_cap_at(c, vs, at, seed) for c in listed}
    ranks = {c: i + 1 for i, c in enumerate(sorted(listed, key=lambda c: -caps[c]))}
    chosen = [c for c in listed if ids is None or c in ids]
    field, _, direction = order.rpartition("_")
    if field == "id":
        chosen.sort(reverse=direction == "desc")
    elif field == "volume":
        vols = {c: prices.volume_at(c, vs, at, seed) for c in chosen}
        chosen.sort(key=lambda c: vols[c], reverse=direction == "desc")
    else:
        chosen.sort(key=lambda c: caps[c], reverse=direction == "desc")
    page_ids = chosen[(page - 1) * per_page : page * per_page]
    return [market_row(c, vs, now_ms, seed, ranks[c], price_change_windows, sparkline, precision) for c in page_ids]


def history(coin_id: str, day_ms: int, now_ms: int, seed: int, localization: bool = True) -> dict[str, Any]:
    """``/coins/{id}/history``: the coin at 00:00 UTC of a day, in every quote currency it has data for."""
    coin = COINS[coin_id]
    body: dict[str, Any] = {"id": coin.id, "symbol": coin.symbol, "name": coin.name}
    if localization:
        body["localization"] = {"en": coin.name, "de": coin.name, "es": coin.name, "fr": coin.name, "ja": coin.name}
    body["image"] = {"thumb": image(coin.id, "thumb"), "small": image(coin.id, "small")}
    if day_ms > now_ms or day_ms < coin.genesis_ms:
        return body  # CoinGecko leaves market_data out when it has none for the day
    quotes = {
        vs: prices.quote(coin_id, vs, day_ms, seed)
        for vs in prices.VS_CURRENCIES
        if day_ms >= prices.first_ms(coin_id, vs)
    }
    body["market_data"] = {
        "current_price": {vs: q.price for vs, q in quotes.items()},
        "market_cap": {vs: q.market_cap for vs, q in quotes.items()},
        "total_volume": {vs: q.total_volume for vs, q in quotes.items()},
    }
    return body
