"""The seeded price model: deterministic, positive, plausible, consistent across its functions."""

from __future__ import annotations

import math
import statistics
import subprocess
import sys

import pytest
from coingecko_sim import prices
from coingecko_sim.catalog import COINS, CRYPTO_QUOTES, FIATS, REFERENCE_MS, VS_CURRENCIES
from hypothesis import given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit

DAY = 86_400_000
HOUR = 3_600_000
NOW_ISH = REFERENCE_MS + 300 * DAY
COIN_IDS = sorted(COINS)

instants = st.integers(min_value=1_360_000_000_000, max_value=1_900_000_000_000)


def test_catalog_has_fifty_real_coins_and_the_main_quotes():
    assert len(COINS) >= 50
    assert {"bitcoin", "ethereum", "solana", "tether", "ripple", "dogecoin", "cardano"} <= set(COINS)
    assert {"usd", "eur", "gbp", "jpy", "btc"} <= set(VS_CURRENCIES)
    for coin in COINS.values():
        assert coin.genesis_ms < REFERENCE_MS
        assert coin.peg is None or coin.peg == "usd" or coin.peg in COINS


@given(coin=st.sampled_from(COIN_IDS), vs=st.sampled_from(VS_CURRENCIES), t=instants, seed=st.integers(0, 2**31))
@settings(max_examples=300, deadline=None)
def test_values_are_positive_finite_and_consistent(coin, vs, t, seed):
    q = prices.quote(coin, vs, t, seed)
    assert q.price == prices.price_at(coin, vs, t, seed)
    assert q.market_cap == prices.market_cap_at(coin, vs, t, seed)
    assert q.total_volume == prices.volume_at(coin, vs, t, seed)
    for value in q:
        assert math.isfinite(value) and value > 0


def test_same_inputs_same_value_and_seed_matters():
    t = NOW_ISH + 12_345_678
    assert prices.price_at("bitcoin", "usd", t, 7) == prices.price_at("bitcoin", "usd", t, 7)
    assert prices.price_at("bitcoin", "usd", t, 7) != prices.price_at("bitcoin", "usd", t, 8)
    assert prices.price_at("bitcoin", "usd", t) == prices.price_at("bitcoin", "usd", t, prices.DEFAULT_SEED)


def test_value_does_not_depend_on_what_was_computed_before_nor_on_the_process():
    """A pure function: a fresh interpreter computes the same float (no hash() randomisation, no state)."""
    t = NOW_ISH + 777 * HOUR
    expected = prices.price_at("solana", "eur", t, 3)
    code = f"from coingecko_sim.prices import price_at; print(repr(price_at('solana', 'eur', {t}, 3)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert float(out.stdout) == expected


def test_catalog_price_holds_at_the_reference_instant():
    for coin_id in ("bitcoin", "ethereum", "solana", "pepe"):
        assert prices.price_at(coin_id, "usd", REFERENCE_MS) == pytest.approx(COINS[coin_id].price_usd, rel=1e-9)


def test_quotes_convert_consistently():
    t = NOW_ISH
    btc_usd = prices.price_at("bitcoin", "usd", t)
    assert prices.price_at("bitcoin", "btc", t) == pytest.approx(1.0, rel=1e-12)
    assert prices.price_at("bitcoin", "sats", t) == pytest.approx(1e8, rel=1e-12)
    assert prices.price_at("ethereum", "btc", t) == pytest.approx(prices.price_at("ethereum", "usd", t) / btc_usd)
    eur_per_usd = prices.price_at("tether", "eur", t) / prices.price_at("tether", "usd", t)
    assert eur_per_usd == pytest.approx(prices.price_at("solana", "eur", t) / prices.price_at("solana", "usd", t))
    assert 0.6 < eur_per_usd < 1.2
    assert prices.price_at("bitcoin", "jpy", t) / btc_usd == pytest.approx(FIATS["jpy"].per_usd, rel=0.5)


def test_pegged_coins_stay_on_their_peg():
    for i in range(0, 2000, 7):
        t = NOW_ISH - i * HOUR
        assert prices.price_at("tether", "usd", t) == pytest.approx(1.0, abs=0.01)
        wbtc, btc = prices.price_at("wrapped-bitcoin", "usd", t), prices.price_at("bitcoin", "usd", t)
        assert wbtc == pytest.approx(btc, rel=0.01)


def _log_returns(coin_id: str, step_ms: int, n: int = 800) -> list[float]:
    start = REFERENCE_MS - 2 * 365 * DAY
    return [
        math.log(
            prices.price_at(coin_id, "usd", start + (i + 1) * step_ms)
            / prices.price_at(coin_id, "usd", start + i * step_ms)
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("step_ms", [5 * 60_000, HOUR, DAY])
def test_volatility_matches_the_catalog_at_every_scale(step_ms):
    """Returns scale like a random walk with the coin's annual volatility (within a factor ~1.5)."""
    expected = COINS["bitcoin"].vol * math.sqrt(step_ms / (365.25 * DAY))
    observed = statistics.pstdev(_log_returns("bitcoin", step_ms))
    assert 0.65 * expected < observed < 1.5 * expected


def test_coins_move_together_over_days():
    btc, eth = _log_returns("bitcoin", DAY, 600), _log_returns("ethereum", DAY, 600)
    assert statistics.correlation(btc, eth) > 0.3


def test_history_has_a_trend_from_launch_to_catalog_price():
    genesis = COINS["bitcoin"].genesis_ms
    early = prices.price_at("bitcoin", "usd", genesis)
    assert early < COINS["bitcoin"].price_usd / 50  # about 135 USD in 2013


def test_first_ms_needs_both_coins_listed():
    assert prices.first_ms("bitcoin", "usd") == COINS["bitcoin"].genesis_ms
    assert prices.first_ms("bitcoin", "eth") == COINS["ethereum"].genesis_ms
    assert prices.first_ms("hyperliquid", "btc") == COINS["hyperliquid"].genesis_ms
    assert set(CRYPTO_QUOTES) <= set(VS_CURRENCIES)


def test_unknown_names_raise():
    with pytest.raises(prices.UnknownCoin):
        prices.price_at("no-such-coin", "usd", NOW_ISH)
    with pytest.raises(prices.UnknownCurrency):
        prices.price_at("bitcoin", "xyz", NOW_ISH)
    with pytest.raises(prices.UnknownCurrency):
        prices.first_ms("bitcoin", "xyz")
