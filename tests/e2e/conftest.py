"""What the end-to-end tests share: a portfolio over fresh coin-days (of coins listed for the session), its SSE
stream followed on a thread, the final figures checked against the simulator's
seeded prices, the landed rows checked in Trino, and the stack put back.

Every helper talks to the real local stack (`coinstream up`) as a user or an
operator would: HTTP to the api, the query service and the simulator's
`/__sim` control API, SQL to Trino, and the Stack's components to kill,
stop and start servers.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from dataclasses import dataclass, field

import pytest
import requests
import trino
from coingecko_sim.prices import price_at
from coinstream_common.timeutil import parse_instant, to_iso
from coinstream_contract.vocabulary import INTERVAL_MS
from coinstream_testkit import portfolios, sse
from coinstream_testkit.portfolios import seeded_values
from coinstream_testkit.sim import SimAdmin, list_fresh_coins, new_tag

KEY = {"X-API-Key": "dev-key"}
DAY = INTERVAL_MS["daily"]
DAYS = 10  # grid points of every fault test's portfolio
COINS_PER_PORTFOLIO = 3


@dataclass
class Stream:
    """One SSE connection to a portfolio, read on a daemon thread."""

    url: str
    timeout_s: float
    events: list[tuple[str, str | None, dict]] = field(default_factory=list)
    status: int | None = None
    error: str | None = None
    ended: bool = False  # the server closed the stream
    done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Stream:
        self._stop = threading.Event()
        self._resp = None
        threading.Thread(target=self._run, name="sse-follower", daemon=True).start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        try:
            with requests.get(self.url, headers=KEY, stream=True, timeout=(10, 60)) as resp:
                self._resp = resp
                self.status = resp.status_code
                if resp.status_code != 200:
                    self.error = f"HTTP {resp.status_code}: {resp.text[:300]}"
                    return
                events = sse.stream(resp.iter_content(chunk_size=None))
                for event in events:
                    kind = event["event"]
                    self.events.append((kind, event.get("id"), json.loads(event["data"])))
                    if kind in ("complete", "timeout") or self._stop.is_set() or time.monotonic() > deadline:
                        break
                else:
                    self.ended = True
                    return
                # After `complete` the server ends the stream: nothing more may arrive.
                rest = list(events)
                self.ended = True
                if rest:
                    self.error = f"events after {self.events[-1][0]}: {[e['event'] for e in rest]}"
        except Exception as exc:  # noqa: BLE001 - recorded; the test asserts on it
            if not self._stop.is_set():
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.done.set()

    def wait(self, timeout_s: float) -> list[str]:
        self.done.wait(timeout_s)
        return self.kinds

    @property
    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]

    def close(self) -> None:
        self._stop.set()
        if self._resp is not None:
            with contextlib.suppress(Exception):  # closing a half-read response
                self._resp.close()


class FreshCoins:
    """Coins listed in the simulator by this test session: nothing can have landed for them, however
    much the stack served before. Listed in one go (ingest reloads the coin list the api reads for an
    unknown id at most once a minute), and in this process's catalog too, for the seeded prices."""

    POOL = 16 * COINS_PER_PORTFOLIO

    def __init__(self, sim_url: str) -> None:
        self.sim = SimAdmin(sim_url)
        self.tag = new_tag("e2e")
        self.rng = random.Random()
        self.unused: list[str] = []
        self.listed = 0

    def _list_more(self) -> None:
        ids = [f"{self.tag}-{n}" for n in range(self.listed, self.listed + self.POOL)]
        self.unused += list_fresh_coins(self.sim.list_coin, ids, self.rng)
        self.listed += len(ids)

    def take(self, count: int) -> list[str]:
        if len(self.unused) < count:
            self._list_more()
        taken, self.unused = self.unused[:count], self.unused[count:]
        return taken

    def portfolio(self) -> dict:
        """A portfolio of fresh coins over DAYS days within the plan's year of history."""
        today = int(time.time() * 1000) // DAY * DAY
        start = today - self.rng.randint(30, 330) * DAY
        return portfolios.body(self.take(COINS_PER_PORTFOLIO), start, DAYS, rng=self.rng)


def post_portfolio(api_url: str, body: dict) -> requests.Response:
    """POST as a user would; a coin listed moments ago may take the api's next coin-list reload."""
    return portfolios.post_portfolio(api_url, body, KEY)


@pytest.fixture(scope="session")
def fresh_coins(whole_stack) -> FreshCoins:
    return FreshCoins(f"http://{whole_stack.host}:{whole_stack.sim_port}")


class Pipeline:
    """The running stack as the fault tests see it."""

    def __init__(self, session_stack, fresh_coins: FreshCoins) -> None:
        self.stack = session_stack.stack
        self.fresh_coins = fresh_coins
        cfg = session_stack.cfg
        self.cfg = cfg
        self.api = f"http://{cfg.host}:{cfg.api_port}"
        self.query = f"http://{cfg.host}:{cfg.query_port}"
        self.sim = SimAdmin(f"http://{cfg.host}:{cfg.sim_port}")
        self.streams: list[Stream] = []
        self.pollers: list[Poller] = []

    # -- components ---------------------------------------------------------
    def component(self, name: str):
        return self.stack.by_name[name]

    def ensure_all_healthy(self) -> list[str]:
        """Start whatever of the stack is not running (after a fault); returns what was started."""
        started = []
        for comp in self.stack.resolve(None):
            if not comp.safe_health().ok:
                comp.start(say=lambda *_: None)
                started.append(comp.name)
        return started

    # -- the simulator ------------------------------------------------------
    def sim_fault(self, **spec) -> None:
        self.sim.fault(**spec)

    def sim_clear_faults(self) -> None:
        self.sim.clear_faults()

    def sim_stats(self) -> dict:
        return self.sim.stats()

    def sim_calls(self, endpoint: str = "market_chart_range") -> int:
        return self.sim.calls(endpoint)

    def wait_sim_calls(self, endpoint: str, above: int, timeout_s: float) -> bool:
        """Wait until the simulator served more than ``above`` calls of ``endpoint`` (ingest is fetching)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sim_calls(endpoint) > above:
                return True
            time.sleep(0.1)
        return False

    # -- portfolios -------------------------------------------------------------
    def fresh_portfolio(self) -> dict:
        return self.fresh_coins.portfolio()

    def create(self, body: dict) -> tuple[dict, str]:
        """POST the portfolio; it must be accepted at once (202) with data missing."""
        created = post_portfolio(self.api, body)
        assert created.status_code == 202, created.text
        doc = created.json()
        assert doc["completeness"]["fraction"] < 1 and doc["completeness"]["missing"]
        return doc, created.headers["Location"]

    def follow(self, location: str, timeout_s: float) -> Stream:
        stream = Stream(f"{self.api}{location}/stream", timeout_s).start()
        self.streams.append(stream)
        deadline = time.monotonic() + 15
        while stream.status is None and not stream.done.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stream.status == 200, f"stream not opened: {stream.error}"
        return stream

    def get(self, path: str, timeout_s: float = 60) -> requests.Response:
        return requests.get(f"{self.api}{path}", headers=KEY, timeout=timeout_s)

    @staticmethod
    def expected_points(body: dict) -> int:
        """Coin-points (= landed rows) the portfolio needs: one per coin per day."""
        return len(body["holdings"]) * DAYS

    def coverage_present(self, body: dict) -> int | None:
        """Observed coin-points of the portfolio per the query service (None while it cannot say)."""
        try:
            resp = requests.get(
                f"{self.query}/v1/coverage",
                timeout=30,
                params={
                    "coins": ",".join(h["coin"] for h in body["holdings"]),
                    "vs_currency": "usd",
                    "from": body["from"],
                    "to": body["to"],
                    "interval": "daily",
                },
            )
            return resp.json()["present"] if resp.status_code == 200 else None
        except requests.RequestException:
            return None

    def start_backfill(self, follow_s: float) -> tuple[dict, str, Stream]:
        """A fresh portfolio created (202), its stream followed, and ingest fetching its history."""
        body = self.fresh_portfolio()
        calls = self.sim_calls()
        _doc, location = self.create(body)
        stream = self.follow(location, timeout_s=follow_s)
        assert self.wait_sim_calls("market_chart_range", calls, 60), "ingest never started the backfill"
        return body, location, stream

    # -- checks -------------------------------------------------------------
    def assert_not_landed_yet(self, body: dict, when: str) -> None:
        """The fault comes before the backfill landed, or it tests nothing."""
        present = self.coverage_present(body)
        assert present is not None and present < self.expected_points(body), (
            f"the backfill had already landed ({present} points) {when}: no fault injected"
        )

    def assert_completes_right(self, body: dict, location: str, stream: Stream, timeout_s: float) -> None:
        """The stream ends with `complete`, and the portfolio's figures equal the seeded prices'."""
        kinds = stream.wait(timeout_s)
        final = self.get(location).json()
        assert stream.error is None, f"stream failed: {stream.error} after {kinds}"
        if not kinds or kinds[-1] != "complete":
            unhealthy = [f"{name}: {detail}" for name, ok, detail in self.stack.status() if not ok]
            pytest.fail(
                f"stream ended with {kinds[-1] if kinds else 'nothing'} after {kinds} ({timeout_s:.0f}s); "
                f"the portfolio says status={final.get('status')} completeness={final.get('completeness')}; "
                f"unhealthy components: {unhealthy or 'none'}"
            )
        assert stream.ended, "the server did not end the stream after `complete`"
        fractions = [e[2]["completeness"]["fraction"] for e in stream.events if e[0] in ("update", "complete")]
        assert fractions == sorted(fractions), "completeness only grows as data lands"
        assert final["status"] == "complete" and final["completeness"]["fraction"] == 1, final["completeness"]
        assert final["stale"] is False

        grid, values = seeded_values(body)
        points = final["valuation"]["points"]
        assert [p["ts"] for p in points] == [to_iso(t) for t in grid]
        for got, want in zip(points, values):
            assert got["status"] == "observed"
            assert got["value"] == pytest.approx(want, rel=1e-9)
        figures = final["valuation"]["figures"]
        assert figures["pnl"] == pytest.approx(values[-1] - values[0], rel=1e-9)
        assert figures["total_return"] == pytest.approx(values[-1] / values[0] - 1, rel=1e-9)
        assert stream.events[-1][2]["valuation"]["points"] == points, "the `complete` event carries the final state"

    def landed_rows(self, body: dict, margin_days: int) -> list[tuple]:
        """(coin_id, ts_ms, price, event_id, source) of the portfolio's coins over its days (+/- margin) in Trino."""
        start = parse_instant(body["from"])
        first = to_iso(start - margin_days * DAY)[:10]
        last = to_iso(start + (DAYS - 1 + margin_days) * DAY)[:10]
        coins = ", ".join(f"'{h['coin']}'" for h in body["holdings"])  # ids from the catalog: [a-z0-9-]
        sql = (
            "SELECT coin_id, date_diff('millisecond', TIMESTAMP '1970-01-01 00:00:00', ts), price, event_id, source "
            "FROM hive.coinstream.coin_prices "
            f"WHERE vs_currency = 'usd' AND coin_id IN ({coins}) "
            f"AND day BETWEEN DATE '{first}' AND DATE '{last}'"
        )
        return self.trino(sql)

    def trino(self, sql: str, attempts: int = 10) -> list[tuple]:
        """Run one query; retried while Trino is (re)starting or a partition listing races a compaction."""
        for attempt in range(attempts):
            try:
                conn = trino.dbapi.connect(
                    host=self.cfg.host,
                    port=self.cfg.trino_port,
                    user="coinstream-tests",
                    catalog="hive",
                    schema="coinstream",
                    request_timeout=60,
                )
                try:
                    cur = conn.cursor()
                    cur.execute(sql)
                    return [tuple(r) for r in cur.fetchall()]
                finally:
                    conn.close()
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
        raise AssertionError("unreachable")

    def assert_exactly_once_in_trino(self, body: dict) -> None:
        """Every grid point of every coin is one row, with the seeded price; no event id twice nearby."""
        grid, _ = seeded_values(body)
        coins = [h["coin"] for h in body["holdings"]]
        rows = self.landed_rows(body, margin_days=0)
        ids = [r[3] for r in rows]
        assert len(rows) == len(set(ids)) == self.expected_points(body), (
            f"{len(rows)} rows, {len(set(ids))} distinct event ids, expected {self.expected_points(body)}"
        )
        assert sorted((r[0], r[1]) for r in rows) == sorted((c, t) for c in coins for t in grid)
        for coin, ts, price, _event_id, source in rows:
            assert source == "coingecko"
            assert price == price_at(coin, "usd", ts), f"{coin} at {to_iso(ts)}: {price}"
        # The backfill asks one interval before `from` too: nothing twice at the edges either.
        wider = self.landed_rows(body, margin_days=2)
        assert len(wider) == len({r[3] for r in wider}), "an event id landed twice next to the range"
        assert len({(r[0], r[1], r[4]) for r in wider}) == len(wider), "one observation in two rows"

    # -- during an outage -----------------------------------------------------
    @staticmethod
    def outage_answer(resp: requests.Response) -> str:
        """Classify an api answer during an outage: 'ok', 'stale' or '503'; fail on anything else.

        The api may answer 503 JSON (`{"error": {code, message}}`) or the last known
        valuation marked stale, never a 500 or a stack trace.
        """
        text = resp.text
        assert "Traceback" not in text and 'File "' not in text, f"stack trace in a {resp.status_code}: {text[:500]}"
        assert resp.headers.get("Content-Type", "").startswith("application/json"), (
            f"{resp.status_code} {resp.headers.get('Content-Type')}: {text[:300]}"
        )
        doc = resp.json()
        if resp.status_code == 503:
            assert doc["error"]["code"] and doc["error"]["message"], doc
            return "503:" + doc["error"]["code"]
        assert resp.status_code == 200, f"{resp.status_code}: {text[:500]}"
        return "stale" if doc["stale"] else "ok"

    def poller(self, location: str, every_s: float = 1.0) -> Poller:
        """GET the portfolio every ``every_s`` on a thread, classifying each answer, until stopped."""
        poller = Poller(self, location, every_s)
        self.pollers.append(poller)
        return poller.start()


class Poller:
    """Answers of the api to a portfolio GET over time: (monotonic time, class or failure)."""

    def __init__(self, pipeline: Pipeline, location: str, every_s: float) -> None:
        self.pipeline, self.location, self.every_s = pipeline, location, every_s
        self.answers: list[tuple[float, str]] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outage-poller", daemon=True)

    def start(self) -> Poller:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            asked = time.monotonic()
            try:
                resp = self.pipeline.get(self.location, timeout_s=45)
                self.answers.append((asked, self.pipeline.outage_answer(resp)))
            except requests.RequestException as exc:
                self.failures.append(f"no answer: {type(exc).__name__}: {exc}")
            except AssertionError as exc:
                self.failures.append(str(exc))
            self._stop.wait(self.every_s)

    def stop(self) -> list[tuple[float, str]]:
        self._stop.set()
        self._thread.join(60)
        return self.answers

    def between(self, start: float, end: float) -> list[str]:
        """Answers to requests sent in [start, end]."""
        return [a for t, a in self.answers if start <= t <= end]


@pytest.fixture
def pipeline(whole_stack, session_stack, fresh_coins):
    """The stack, healthy before the test and put back after it (faults cleared, servers started)."""
    p = Pipeline(session_stack, fresh_coins)
    p.sim_clear_faults()
    p.ensure_all_healthy()
    yield p
    for stream in p.streams:
        stream.close()
    for poller in p.pollers:
        poller.stop()
    try:
        p.sim_clear_faults()
    finally:
        p.ensure_all_healthy()
