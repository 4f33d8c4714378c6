"""Portfolios as a user posts them, and their values from the simulator's seeded prices."""

from __future__ import annotations

import random
import time

import requests
from coingecko_sim.prices import price_at
from coinstream_api.coins import MISS_ASK_S
from coinstream_common.timeutil import parse_instant, to_iso
from coinstream_contract.vocabulary import INTERVAL_MS
from coinstream_ingest.settings import COIN_LIST_MISS_RELOAD_S


def body(coins: list[str], start_ms: int, points: int, interval: str = "daily", rng=None) -> dict:
    """A portfolio of ``coins`` (random amounts) over ``points`` grid points from ``start_ms``."""
    rng = rng or random.Random()
    return {
        "vs_currency": "usd",
        "from": to_iso(start_ms),
        "to": to_iso(start_ms + (points - 1) * INTERVAL_MS[interval]),
        "interval": interval,
        "holdings": [{"coin": c, "amount": round(rng.uniform(0.5, 50), 3)} for c in coins],
    }


def grid(body: dict) -> list[int]:
    """The portfolio's grid: ``from`` to ``to`` (inclusive) every interval."""
    step = INTERVAL_MS[body["interval"]]
    start, end = parse_instant(body["from"]), parse_instant(body["to"])
    return list(range(start, end + 1, step))


def seeded_values(body: dict) -> tuple[list[int], list[float]]:
    """The portfolio's grid and its value at each point from the simulator's seeded prices
    (every holding counted at every point: no ``acquired_at``)."""
    points = grid(body)
    vs = body["vs_currency"]
    return points, [sum(h["amount"] * price_at(h["coin"], vs, t) for h in body["holdings"]) for t in points]


def post_portfolio(
    api_url: str,
    body: dict,
    headers: dict[str, str],
    *,
    margin_s: float = 15.0,
    every_s: float = 2.0,
    answer_within_s: float = 10.0,
) -> requests.Response:
    """``POST /v1/portfolios`` as a user would, again while the api answers ``unknown_coin``.

    A coin listed in the simulator moments ago is known to the api only after its next
    coin-list reload (the api asks ingest at most every ``MISS_ASK_S``, ingest CoinGecko at
    most every ``COIN_LIST_MISS_RELOAD_S`` for an unknown id), so
    the request is repeated every ``every_s`` for that long plus ``margin_s``. Every
    answer must come within ``answer_within_s`` (the api never makes a client wait for
    a valuation); the last answer is returned, whatever it is.
    """
    deadline = time.monotonic() + COIN_LIST_MISS_RELOAD_S + MISS_ASK_S + margin_s
    while True:
        asked = time.monotonic()
        created = requests.post(f"{api_url}/v1/portfolios", json=body, headers=headers, timeout=30)
        took = time.monotonic() - asked
        assert took < answer_within_s, f"POST /v1/portfolios answered after {took:.1f} s"
        if not _unknown_coin(created) or time.monotonic() > deadline:
            return created
        time.sleep(every_s)


def _unknown_coin(resp: requests.Response) -> bool:
    if resp.status_code != 400:
        return False
    try:
        return resp.json()["error"]["code"] == "unknown_coin"
    except (ValueError, KeyError, TypeError):
        return False
