"""The live poller: current prices of the tracked coins, every ``poll_interval_s``.

Each poll is one ``/simple/price`` call per quote currency. Events are stamped
with CoinGecko's ``last_updated_at``, so polling faster than CoinGecko updates
produces the same event ids again (deduplicated downstream), not new points.
A failed poll is logged and counted; the next one runs on schedule.
"""

from __future__ import annotations

import logging
import threading

from .coingecko import CoinGeckoError, UnknownCoin
from .ingestor import Ingestor

log = logging.getLogger(__name__)


def split_list(value: str) -> list[str]:
    """A comma-separated setting as a list, blanks and duplicates dropped, order kept."""
    return list(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))


class Poller:
    def __init__(self, ingestor: Ingestor, coins: list[str], vs_currencies: list[str], interval_s: float) -> None:
        self.ingestor = ingestor
        self.coins = coins
        self.vs_currencies = vs_currencies
        self.interval_s = interval_s
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="price-poller", daemon=True)
        self.polls = 0
        self.produced = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout_s)

    def poll_once(self) -> int:
        produced = 0
        for vs in self.vs_currencies:
            produced += self._poll(vs)
        self.polls += 1
        self.produced += produced
        return produced

    def _poll(self, vs: str, retry_unknown: bool = True) -> int:
        if not self.coins:
            return 0
        try:
            return self.ingestor.fetch_prices(self.coins, vs).produced
        except UnknownCoin as exc:  # a typo in the setting must not stop the other coins
            log.warning("not tracking %s: CoinGecko does not know them", ", ".join(exc.coins))
            self.coins = [c for c in self.coins if c not in exc.coins]
            return self._poll(vs, retry_unknown=False) if retry_unknown else 0
        except CoinGeckoError as exc:
            log.warning("price poll for %s failed: %s", vs, exc)
        except Exception:  # the poller must outlive a broker or parsing problem
            log.exception("price poll for %s failed", vs)
        return 0

    def _run(self) -> None:
        if not self.coins or not self.vs_currencies:
            log.info("price poller has nothing to track")
            return
        while not self.stop_event.is_set():
            self.poll_once()
            self.stop_event.wait(self.interval_s)
