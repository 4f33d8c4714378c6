"""coingecko-sim: a CoinGecko API v3 compatible server with deterministic, seeded prices."""
