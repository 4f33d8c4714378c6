"""Deterministic, seeded price paths: the value of any coin at any instant, in O(1).

Tests call these pure functions to know what the simulator answers (or should
have answered) without asking it:

    price_at(coin_id, vs_currency, ts_ms, seed=DEFAULT_SEED) -> float
    market_cap_at(coin_id, vs_currency, ts_ms, seed=DEFAULT_SEED) -> float
    volume_at(coin_id, vs_currency, ts_ms, seed=DEFAULT_SEED) -> float
    quote(coin_id, vs_currency, ts_ms, seed=DEFAULT_SEED) -> Quote(price, market_cap, total_volume)

The simulator's JSON carries exactly these floats (unless the client asks for
a ``precision``), so a test may compare with ``==``.

The model, per coin (log space, time in years):

    log p_usd(t) = trend(t) + vol * (noise(t) - noise(REFERENCE))

- ``trend`` joins the launch price at genesis to ``price_usd`` at REFERENCE
  (2026-01-01) linearly in log space and stays flat after it, so every coin
  trades at exactly its catalog price at REFERENCE and near it since.
- ``noise`` sums seeded sinusoids (periods 2 days to about 6 years, shared in part
  with a market-wide path, so coins move together over weeks) and value noise
  on 5-minute, hourly and 8-hourly UTC grids (hash of the grid index, linear
  interpolation between grid points), each with an amplitude growing like the
  square root of its time scale: returns look like a random walk with the
  coin's annual volatility, yet no history is needed to evaluate a point.
- Pegged coins follow their peg within about 0.1%; fiat quotes multiply by a
  seeded exchange-rate path; crypto quotes divide by the quote coin's price.

Every function is defined at every instant; the server only serves instants
from ``first_ms(coin, vs)`` (both coins listed) to now.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

from .catalog import COINS, CRYPTO_QUOTES, FIATS, REFERENCE_MS, VS_CURRENCIES, Coin
from .seeded import stream_key, uniform

DEFAULT_SEED = 42

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
YEAR_MS = 365.25 * DAY_MS

_TWO_PI = 2.0 * math.pi

#: Sinusoid periods in days before jitter (doubling from 2 days).
_SINE_PERIODS_D = tuple(2.0 * 2**j for j in range(11))
#: Value-noise grid steps. 5-minute points land exactly on the finest grid.
_OCTAVES_MS = (5 * MINUTE_MS, HOUR_MS, 8 * HOUR_MS)
#: Scale factors calibrated so the std of log returns is about vol * sqrt(dt in years).
_SINE_GAIN = 0.26
_OCTAVE_GAIN = 1.1
_PEG_NOISE = 0.02
_VOLUME_NOISE = 0.35


class UnknownCoin(KeyError):
    """No coin with this id."""


class UnknownCurrency(ValueError):
    """No quote currency with this code."""


class Quote(NamedTuple):
    price: float
    market_cap: float
    total_volume: float


def _draws(key: int):
    i = 0
    while True:
        yield uniform(key, i)
        i += 1


class _Noise:
    """A unit-volatility noise path: seeded sinusoids plus value noise on UTC grids."""

    __slots__ = ("octaves", "sines")

    def __init__(
        self,
        seed: int,
        name: str,
        periods_d: tuple[float, ...],
        octaves_ms: tuple[int, ...],
        octave_gain: float = _OCTAVE_GAIN,
    ) -> None:
        draws = _draws(stream_key(seed, name, "sines"))
        sines = []
        for period_d in periods_d:
            period_d *= math.exp(0.6 * (next(draws) - 0.5))
            amplitude = _SINE_GAIN * math.sqrt(period_d * DAY_MS / YEAR_MS)
            sines.append((_TWO_PI / (period_d * DAY_MS), _TWO_PI * next(draws), amplitude))
        self.sines = tuple(sines)
        self.octaves = tuple(
            (step, stream_key(seed, name, "octave", step), octave_gain * math.sqrt(step / YEAR_MS))
            for step in octaves_ms
        )

    def slow(self, t: int) -> float:
        """The sinusoids: moves over days to years."""
        total = 0.0
        for omega, phase, amplitude in self.sines:
            total += amplitude * math.sin(omega * t + phase)
        return total

    def fast(self, t: int) -> float:
        """The value noise: moves within minutes to hours."""
        total = 0.0
        for step, key, amplitude in self.octaves:
            k, rem = divmod(t, step)
            v0 = uniform(key, k)
            if rem:
                v0 += (uniform(key, k + 1) - v0) * (rem / step)
            total += amplitude * (2.0 * v0 - 1.0)
        return total

    def __call__(self, t: int) -> float:
        return self.slow(t) + self.fast(t)


@lru_cache(maxsize=64)
def _market(seed: int) -> _Noise:
    return _Noise(seed, "market", _SINE_PERIODS_D, ())


class _CoinPath:
    """One coin's path on one seed (parameters drawn once, then every instant is O(1))."""

    __slots__ = ("coin", "log_ref", "market", "offset", "own", "seed", "slope", "volume", "w_market", "w_own")

    def __init__(self, coin: Coin, seed: int) -> None:
        self.coin = coin
        self.seed = seed
        self.market = _market(seed)
        if coin.peg is None:
            self.own = _Noise(seed, coin.id, _SINE_PERIODS_D, _OCTAVES_MS)
        else:
            self.own = _Noise(seed, coin.id, (), _OCTAVES_MS, octave_gain=1.0)
        self.w_market = coin.beta
        self.w_own = math.sqrt(1.0 - coin.beta * coin.beta)
        self.offset = 0.0
        self.offset = self.noise(REFERENCE_MS)
        self.log_ref = math.log(coin.price_usd)
        log_launch = math.log(coin.launch_usd) if coin.launch_usd > 0 else self.log_ref
        self.slope = (self.log_ref - log_launch) / (REFERENCE_MS - coin.genesis_ms)
        self.volume = _Noise(seed, coin.id + ":volume", (7.0, 30.0), (HOUR_MS, 8 * HOUR_MS), octave_gain=1.0)

    def noise(self, t: int) -> float:
        """Unit-volatility noise, zero at REFERENCE: slow moves shared with the market (weight beta)."""
        own = self.own
        slow = self.w_own * own.slow(t)
        if self.w_market:
            slow += self.w_market * self.market.slow(t)
        return slow + own.fast(t) - self.offset

    def price_usd(self, t: int) -> float:
        coin = self.coin
        if coin.peg is None:
            trend = self.log_ref if t >= REFERENCE_MS else self.log_ref + self.slope * (t - REFERENCE_MS)
            return math.exp(trend + coin.vol * self.noise(t))
        peg = 1.0 if coin.peg == "usd" else _path(coin.peg, self.seed).price_usd(t)
        return peg * coin.price_usd * math.exp(_PEG_NOISE * self.noise(t))

    def supply(self, t: int) -> float:
        coin = self.coin
        supply = coin.supply * math.exp(coin.supply_growth * (t - REFERENCE_MS) / YEAR_MS)
        return min(supply, coin.max_supply) if coin.max_supply else supply

    def volume_factor(self, t: int) -> float:
        """Daily volume / market cap at t."""
        return self.coin.turnover * math.exp(_VOLUME_NOISE * self.volume(t))


@lru_cache(maxsize=4096)
def _path(coin_id: str, seed: int) -> _CoinPath:
    coin = COINS.get(coin_id)
    if coin is None:
        raise UnknownCoin(coin_id)
    return _CoinPath(coin, seed)


@lru_cache(maxsize=256)
def _fx_path(code: str, seed: int) -> tuple[_Noise, float]:
    noise = _Noise(seed, "fx:" + code, _SINE_PERIODS_D[1:], ())
    return noise, noise.slow(REFERENCE_MS)


def _usd_factor(vs_currency: str, t: int, seed: int) -> float:
    """Units of ``vs_currency`` per US dollar at t."""
    fiat = FIATS.get(vs_currency)
    if fiat is not None:
        if fiat.vol == 0.0:
            return fiat.per_usd
        noise, offset = _fx_path(vs_currency, seed)
        return fiat.per_usd * math.exp(fiat.vol * (noise.slow(t) - offset))
    crypto = CRYPTO_QUOTES.get(vs_currency)
    if crypto is None:
        raise UnknownCurrency(vs_currency)
    coin_id, units = crypto
    return units / _path(coin_id, seed).price_usd(t)


def price_at(coin_id: str, vs_currency: str, ts_ms: int, seed: int = DEFAULT_SEED) -> float:
    """Price of one ``coin_id`` in ``vs_currency`` at ``ts_ms`` (epoch ms) on the path of ``seed``."""
    return _path(coin_id, seed).price_usd(ts_ms) * _usd_factor(vs_currency, ts_ms, seed)


def market_cap_at(coin_id: str, vs_currency: str, ts_ms: int, seed: int = DEFAULT_SEED) -> float:
    """Market capitalisation: price times circulating supply."""
    return price_at(coin_id, vs_currency, ts_ms, seed) * _path(coin_id, seed).supply(ts_ms)


def volume_at(coin_id: str, vs_currency: str, ts_ms: int, seed: int = DEFAULT_SEED) -> float:
    """Trading volume over the 24 hours before ``ts_ms``."""
    path = _path(coin_id, seed)
    usd_cap = path.price_usd(ts_ms) * path.supply(ts_ms)
    return usd_cap * path.volume_factor(ts_ms) * _usd_factor(vs_currency, ts_ms, seed)


def quote(coin_id: str, vs_currency: str, ts_ms: int, seed: int = DEFAULT_SEED) -> Quote:
    """All three values at once (each equal to its ``*_at`` function), computing the price once."""
    path = _path(coin_id, seed)
    usd = path.price_usd(ts_ms)
    factor = _usd_factor(vs_currency, ts_ms, seed)
    supply = path.supply(ts_ms)
    price = usd * factor
    return Quote(price, price * supply, usd * supply * path.volume_factor(ts_ms) * factor)


def supply_at(coin_id: str, ts_ms: int, seed: int = DEFAULT_SEED) -> float:
    """Circulating supply at ``ts_ms``."""
    return _path(coin_id, seed).supply(ts_ms)


def first_ms(coin_id: str, vs_currency: str) -> int:
    """The first instant with data for the pair: both the coin and a crypto quote must exist."""
    coin = COINS.get(coin_id)
    if coin is None:
        raise UnknownCoin(coin_id)
    start = coin.genesis_ms
    if vs_currency in CRYPTO_QUOTES:
        start = max(start, COINS[CRYPTO_QUOTES[vs_currency][0]].genesis_ms)
    elif vs_currency not in FIATS:
        raise UnknownCurrency(vs_currency)
    return start


def is_coin(coin_id: str) -> bool:
    return coin_id in COINS


def is_currency(vs_currency: str) -> bool:
    return vs_currency in VS_CURRENCIES
