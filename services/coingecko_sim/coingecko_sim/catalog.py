"""The coins and quote currencies the simulator knows (static data, no I/O).

Prices are plausible, not real: ``price_usd`` is the level the simulated path
wanders around from ``REFERENCE`` (2026-01-01) on, ``launch_usd`` the level at
``genesis`` (the first day CoinGecko has data for), and the path's trend joins
the two in log space. Pegged coins follow their peg (the US dollar or another
coin) within a fraction of a percent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime


def _ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


REFERENCE_MS = _ms("2026-01-01")


@dataclass(frozen=True)
class Coin:
    id: str
    symbol: str
    name: str
    genesis: str  # first day with data, YYYY-MM-DD (UTC)
    launch_usd: float  # price level at genesis (unpegged coins)
    price_usd: float  # price level from REFERENCE on (pegged coins: the peg ratio)
    supply: float  # circulating supply at REFERENCE
    max_supply: float | None
    supply_growth: float  # continuous growth of the circulating supply per year
    vol: float  # annualised volatility of log price
    beta: float  # weight of the market-wide component (0..1)
    turnover: float  # daily volume / market cap
    peg: str | None = None  # "usd" or the id of the coin it wraps

    @property
    def genesis_ms(self) -> int:
        return _ms(self.genesis)


# id, symbol, name, genesis, launch_usd, price_usd, supply, max_supply, supply_growth, vol, beta, turnover[, peg]
_ROWS: tuple[tuple, ...] = (
    ("bitcoin", "btc", "Bitcoin", "2013-04-28", 135.0, 91000.0, 19.97e6, 21e6, 0.02, 0.55, 0.95, 0.03),
    ("ethereum", "eth", "Ethereum", "2015-08-07", 2.8, 3050.0, 120.7e6, None, 0.01, 0.70, 0.85, 0.08),
    ("tether", "usdt", "Tether", "2015-02-25", 1.0, 1.0, 186e9, None, 0.30, 0.0, 0.0, 0.45, "usd"),
    ("ripple", "xrp", "XRP", "2013-08-04", 0.0058, 2.05, 60.2e9, 100e9, 0.05, 0.85, 0.75, 0.04),
    ("binancecoin", "bnb", "BNB", "2017-09-16", 0.11, 860.0, 137.7e6, 200e6, -0.01, 0.65, 0.75, 0.02),
    ("solana", "sol", "Solana", "2020-04-11", 0.96, 132.0, 560e6, None, 0.06, 0.85, 0.8, 0.06),
    ("usd-coin", "usdc", "USDC", "2018-10-08", 1.0, 1.0, 75e9, None, 0.35, 0.0, 0.0, 0.15, "usd"),
    ("tron", "trx", "TRON", "2017-09-13", 0.0021, 0.285, 94.7e9, None, 0.01, 0.6, 0.6, 0.03),
    ("dogecoin", "doge", "Dogecoin", "2013-12-15", 0.00056, 0.136, 151e9, None, 0.035, 0.95, 0.75, 0.06),
    ("cardano", "ada", "Cardano", "2017-10-18", 0.026, 0.36, 36.6e9, 45e9, 0.02, 0.85, 0.8, 0.04),
    (
        "staked-ether",
        "steth",
        "Lido Staked Ether",
        "2020-12-22",
        0.0,
        0.9995,
        9.5e6,
        None,
        0.2,
        0.0,
        0.0,
        0.003,
        "ethereum",
    ),
    (
        "wrapped-bitcoin",
        "wbtc",
        "Wrapped Bitcoin",
        "2019-01-30",
        0.0,
        0.9985,
        128e3,
        None,
        0.1,
        0.0,
        0.0,
        0.02,
        "bitcoin",
    ),
    ("chainlink", "link", "Chainlink", "2017-11-09", 0.19, 12.6, 678e6, 1e9, 0.06, 0.85, 0.8, 0.05),
    ("bitcoin-cash", "bch", "Bitcoin Cash", "2017-08-02", 550.0, 525.0, 19.9e6, 21e6, 0.02, 0.8, 0.75, 0.04),
    ("stellar", "xlm", "Stellar", "2014-08-05", 0.0029, 0.225, 32.4e9, 50e9, 0.06, 0.8, 0.7, 0.03),
    ("hyperliquid", "hype", "Hyperliquid", "2024-11-29", 3.9, 25.5, 337e6, 1e9, 0.08, 0.95, 0.6, 0.03),
    ("sui", "sui", "Sui", "2023-05-03", 1.25, 1.52, 3.7e9, 10e9, 0.25, 1.0, 0.75, 0.08),
    ("avalanche-2", "avax", "Avalanche", "2020-09-22", 4.4, 12.6, 430e6, 720e6, 0.08, 0.9, 0.8, 0.06),
    ("litecoin", "ltc", "Litecoin", "2013-04-28", 4.3, 78.0, 76.6e6, 84e6, 0.03, 0.75, 0.8, 0.06),
    ("hedera-hashgraph", "hbar", "Hedera", "2019-09-17", 0.038, 0.115, 42.5e9, 50e9, 0.08, 0.9, 0.75, 0.04),
    ("shiba-inu", "shib", "Shiba Inu", "2020-08-01", 0.0000000010, 0.0000073, 589e12, None, 0.0, 1.1, 0.7, 0.04),
    ("the-open-network", "ton", "Toncoin", "2021-11-02", 3.1, 1.62, 2.5e9, None, 0.1, 0.85, 0.55, 0.04),
    ("dai", "dai", "Dai", "2019-11-22", 1.0, 1.0, 5.4e9, None, 0.2, 0.0, 0.0, 0.05, "usd"),
    ("polkadot", "dot", "Polkadot", "2020-08-22", 4.1, 1.85, 1.62e9, None, 0.07, 0.9, 0.8, 0.07),
    ("monero", "xmr", "Monero", "2014-05-21", 2.4, 425.0, 18.45e6, None, 0.01, 0.7, 0.6, 0.02),
    ("uniswap", "uni", "Uniswap", "2020-09-17", 3.4, 5.6, 630e6, 1e9, 0.08, 0.9, 0.8, 0.06),
    ("aave", "aave", "Aave", "2020-10-03", 53.0, 165.0, 15.2e6, 16e6, 0.02, 0.9, 0.8, 0.08),
    ("ethena-usde", "usde", "Ethena USDe", "2024-02-20", 1.0, 1.0, 6.5e9, None, 0.5, 0.0, 0.0, 0.03, "usd"),
    ("pepe", "pepe", "Pepe", "2023-04-17", 0.00000008, 0.0000042, 420.69e12, 420.69e12, 0.0, 1.15, 0.7, 0.2),
    ("near", "near", "NEAR Protocol", "2020-10-14", 1.2, 1.62, 1.28e9, None, 0.06, 0.95, 0.8, 0.08),
    ("internet-computer", "icp", "Internet Computer", "2021-05-10", 460.0, 3.1, 540e6, None, 0.07, 0.95, 0.7, 0.05),
    ("ethereum-classic", "etc", "Ethereum Classic", "2016-07-24", 1.1, 12.6, 154e6, 210.7e6, 0.03, 0.8, 0.8, 0.05),
    ("aptos", "apt", "Aptos", "2022-10-19", 8.9, 1.72, 740e6, None, 0.15, 0.95, 0.8, 0.07),
    ("ondo-finance", "ondo", "Ondo", "2024-01-18", 0.22, 0.41, 3.16e9, 10e9, 0.2, 1.0, 0.7, 0.06),
    ("crypto-com-chain", "cro", "Cronos", "2018-12-14", 0.022, 0.096, 36e9, None, 0.05, 0.8, 0.7, 0.01),
    ("mantle", "mnt", "Mantle", "2023-07-19", 0.46, 1.06, 3.25e9, 6.22e9, 0.05, 0.85, 0.65, 0.03),
    ("cosmos", "atom", "Cosmos Hub", "2019-03-14", 7.2, 2.15, 470e6, None, 0.08, 0.9, 0.8, 0.06),
    ("filecoin", "fil", "Filecoin", "2020-10-15", 29.0, 1.32, 700e6, 1.96e9, 0.1, 0.95, 0.8, 0.1),
    ("render-token", "render", "Render", "2020-06-11", 0.15, 1.32, 518e6, 644e6, 0.03, 1.0, 0.75, 0.06),
    ("arbitrum", "arb", "Arbitrum", "2023-03-23", 1.28, 0.205, 5.4e9, 10e9, 0.2, 0.95, 0.8, 0.1),
    ("optimism", "op", "Optimism", "2022-06-01", 1.45, 0.31, 1.9e9, 4.29e9, 0.15, 0.95, 0.8, 0.1),
    ("algorand", "algo", "Algorand", "2019-06-20", 2.6, 0.122, 8.8e9, 10e9, 0.05, 0.85, 0.75, 0.04),
    ("vechain", "vet", "VeChain", "2018-07-30", 0.018, 0.0112, 86e9, 86.7e9, 0.01, 0.9, 0.75, 0.03),
    ("injective-protocol", "inj", "Injective", "2020-10-21", 0.62, 5.6, 99.8e6, 100e6, 0.01, 1.0, 0.75, 0.1),
    ("the-graph", "grt", "The Graph", "2020-12-17", 0.12, 0.041, 10.6e9, None, 0.04, 0.95, 0.8, 0.05),
    ("bittensor", "tao", "Bittensor", "2023-03-06", 38.0, 225.0, 10.2e6, 21e6, 0.2, 1.0, 0.65, 0.06),
    ("kaspa", "kas", "Kaspa", "2022-05-26", 0.00063, 0.046, 26.8e9, 28.7e9, 0.05, 1.0, 0.55, 0.04),
    (
        "fetch-ai",
        "fet",
        "Artificial Superintelligence Alliance",
        "2019-02-28",
        0.085,
        0.22,
        2.4e9,
        2.72e9,
        0.04,
        1.0,
        0.75,
        0.1,
    ),
    ("arweave", "ar", "Arweave", "2020-05-07", 1.1, 3.9, 65.6e6, 66e6, 0.01, 1.0, 0.75, 0.08),
    ("maker", "mkr", "Maker", "2017-12-20", 1050.0, 1550.0, 870e3, 1.005e6, -0.01, 0.8, 0.7, 0.03),
    ("tezos", "xtz", "Tezos", "2017-10-02", 1.1, 0.52, 1.05e9, None, 0.05, 0.8, 0.75, 0.03),
    ("eos", "eos", "EOS", "2017-07-01", 1.4, 0.26, 1.6e9, None, 0.03, 0.85, 0.75, 0.06),
    ("theta-token", "theta", "Theta Network", "2018-01-17", 0.17, 0.31, 1e9, 1e9, 0.0, 0.9, 0.75, 0.04),
    ("the-sandbox", "sand", "The Sandbox", "2020-08-14", 0.05, 0.122, 2.6e9, 3e9, 0.1, 1.0, 0.8, 0.08),
    ("decentraland", "mana", "Decentraland", "2017-09-17", 0.018, 0.131, 1.95e9, None, 0.0, 0.95, 0.8, 0.06),
    ("axie-infinity", "axs", "Axie Infinity", "2020-11-04", 0.58, 0.91, 165e6, 270e6, 0.1, 1.05, 0.75, 0.1),
    ("curve-dao-token", "crv", "Curve DAO", "2020-08-14", 3.1, 0.385, 1.4e9, 3.03e9, 0.1, 1.0, 0.8, 0.1),
    ("lido-dao", "ldo", "Lido DAO", "2021-01-05", 0.62, 0.56, 890e6, 1e9, 0.02, 1.0, 0.8, 0.1),
    ("weth", "weth", "WETH", "2018-06-16", 0.0, 1.0, 2.6e6, None, 0.05, 0.0, 0.0, 0.3, "ethereum"),
    ("bonk", "bonk", "Bonk", "2023-01-03", 0.0000003, 0.0000086, 88e12, 93.5e12, 0.05, 1.2, 0.7, 0.15),
    ("sei-network", "sei", "Sei", "2023-08-15", 0.17, 0.121, 6e9, 10e9, 0.25, 1.05, 0.8, 0.1),
    ("worldcoin-wld", "wld", "Worldcoin", "2023-07-24", 2.2, 0.56, 2.5e9, 10e9, 0.4, 1.05, 0.7, 0.15),
)

COINS: dict[str, Coin] = {row[0]: Coin(*row) for row in _ROWS}
CATALOG_IDS = frozenset(COINS)
MAX_LISTED = 1000  # coins listed at run time: the catalog stays small


class ListingError(ValueError):
    pass


class ListingConflict(ListingError):
    """The id is taken, or the simulator lists no more coins."""


def list_coin(coin_id: str, like: str) -> tuple[Coin, bool]:
    """List a new coin with the parameters of catalog coin ``like``; (the coin, whether it is new).

    Its id seeds its own price path, so a coin listed now has history nothing has asked for
    yet, as on CoinGecko: tests get fresh coin-days however much the stack has served.
    Listing the same coin again is a no-op; an id taken by another coin is an error.
    """
    if like not in CATALOG_IDS:
        raise ListingError(f"like must be a catalog coin, not {like!r}")
    base = COINS[like]
    coin = replace(base, id=coin_id, symbol=coin_id[:12], name=f"{base.name} ({coin_id})")
    existing = COINS.get(coin_id)
    if existing is not None:
        if existing != coin:
            raise ListingConflict(f"coin {coin_id!r} is already listed as another coin")
        return existing, False
    if len(COINS) - len(CATALOG_IDS) >= MAX_LISTED:
        raise ListingConflict(f"at most {MAX_LISTED} coins can be listed")
    COINS[coin_id] = coin
    return coin, True


@dataclass(frozen=True)
class Fiat:
    code: str
    per_usd: float  # units of the currency one US dollar buys (level around REFERENCE)
    vol: float  # annualised volatility of the rate


FIATS: dict[str, Fiat] = {
    f.code: f
    for f in (
        Fiat("usd", 1.0, 0.0),
        Fiat("eur", 0.862, 0.07),
        Fiat("gbp", 0.752, 0.08),
        Fiat("jpy", 155.3, 0.1),
        Fiat("chf", 0.801, 0.07),
        Fiat("cad", 1.392, 0.06),
        Fiat("aud", 1.521, 0.09),
        Fiat("cny", 7.08, 0.04),
        Fiat("inr", 88.6, 0.05),
        Fiat("krw", 1452.0, 0.08),
        Fiat("brl", 5.36, 0.14),
        Fiat("sgd", 1.297, 0.05),
        Fiat("hkd", 7.78, 0.01),
        Fiat("nzd", 1.741, 0.1),
        Fiat("sek", 9.42, 0.09),
        Fiat("nok", 10.08, 0.1),
    )
}

#: Crypto quote currencies: (coin whose price they are, units per coin).
CRYPTO_QUOTES: dict[str, tuple[str, float]] = {
    "btc": ("bitcoin", 1.0),
    "eth": ("ethereum", 1.0),
    "ltc": ("litecoin", 1.0),
    "bch": ("bitcoin-cash", 1.0),
    "bnb": ("binancecoin", 1.0),
    "xrp": ("ripple", 1.0),
    "xlm": ("stellar", 1.0),
    "link": ("chainlink", 1.0),
    "dot": ("polkadot", 1.0),
    "sol": ("solana", 1.0),
    "bits": ("bitcoin", 1e6),
    "sats": ("bitcoin", 1e8),
}

VS_CURRENCIES: tuple[str, ...] = tuple(CRYPTO_QUOTES) + tuple(FIATS)
