"""A real Prometheus (the stack's component) scraping the local stack after some traffic.

Every component with a scrape target is started through the session Stack;
one that is missing or fails to start is recorded with the reason, so the tests
name it in their failure instead of skipping, and the rest is still checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import requests
from coinstream.runtime.prometheus import ScrapeTarget, scrape_targets

SCRAPE_WAIT_S = 30.0


@dataclass
class Observed:
    url: str
    targets: list[ScrapeTarget]
    problems: dict[str, str]  # job -> why its component does not run
    traffic: list[str] = field(default_factory=list)  # what the traffic driver could not do

    def query(self, expr: str) -> dict:
        resp = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30)
        body = resp.json()
        if body.get("status") != "success":
            raise AssertionError(f"{body.get('errorType')}: {body.get('error')}")
        return body["data"]

    @staticmethod
    def poll(check, timeout_s: float, interval_s: float = 5.0, stall_s: float = 45.0) -> list[str]:
        """Call ``check()`` (a list of problems) until it returns none, time is up, or nothing
        improved for ``stall_s``; returns the last problems."""
        deadline = time.monotonic() + timeout_s
        best, improved_at = None, time.monotonic()
        while True:
            problems = check()
            now = time.monotonic()
            if best is None or len(problems) < best:
                best, improved_at = len(problems), now
            if not problems or now > deadline or now - improved_at > stall_s:
                return problems
            time.sleep(interval_s)

    def context(self) -> str:
        lines = [f"  {job}: {why}" for job, why in sorted(self.problems.items())]
        lines += [f"  traffic: {t}" for t in self.traffic]
        return ("\nKnown problems:\n" + "\n".join(lines)) if lines else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _start_components(session_stack, targets: list[ScrapeTarget]) -> dict[str, str]:
    stack = session_stack.stack
    by_class = {type(c).__name__: c for c in stack.components}
    failed: dict[str, str] = {}  # component name -> reason
    problems: dict[str, str] = {}
    for target in targets:
        if target.job == "prometheus":
            continue
        comp = by_class.get(target.component_class)
        if comp is None:
            problems[target.job] = f"the stack has no {target.component_class} component yet (coinstream.runtime)"
            continue
        try:
            chain = stack.resolve([comp.name])
        except KeyError as exc:
            problems[target.job] = f"{comp.name} cannot be started: {_first_line(exc)}"
            continue
        for dep in chain:  # one by one, so whatever started is stopped at the end of the session
            if dep.name in failed:
                problems[target.job] = f"{dep.name} did not start: {failed[dep.name]}"
                break
            try:
                session_stack.need(dep.name)
            except Exception as exc:  # noqa: BLE001 - recorded and reported by the tests
                failed[dep.name] = _first_line(exc)
                problems[target.job] = f"{dep.name} did not start: {failed[dep.name]}"
                break
    return problems


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class Traffic:
    """Requests a user would make, to every running service; failures are noted, not raised."""

    def __init__(self, cfg, running: set[str], notes: list[str]) -> None:
        self.cfg, self.running, self.notes = cfg, running, notes
        self.http = requests.Session()
        from coinstream_api.settings import ApiSettings

        self.http.headers["X-API-Key"] = ApiSettings().api_keys.split(",")[0]
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.window = {"from": _iso(now - timedelta(hours=2)), "to": _iso(now)}

    def url(self, port: int, path: str) -> str:
        return f"http://{self.cfg.host}:{port}{path}"

    def call(self, method: str, port: int, path: str, **kwargs) -> requests.Response | None:
        try:
            return self.http.request(method, self.url(port, path), timeout=kwargs.pop("timeout", 15), **kwargs)
        except requests.RequestException as exc:
            self.notes.append(f"{method} :{port}{path}: {_first_line(exc)}")
            return None

    def run(self) -> None:
        ports = {
            "api": self.cfg.api_port,
            "ingest": self.cfg.ingest_port,
            "query": self.cfg.query_port,
            "coingecko-sim": self.cfg.sim_port,
        }
        for job, port in ports.items():
            if job in self.running:
                for path in ("/healthz", "/readyz", "/openapi.json", "/no-such-path"):
                    self.call("GET", port, path)
        if "coingecko-sim" in self.running:
            self.call("GET", self.cfg.sim_port, "/api/v3/ping")
            self.call(
                "GET", self.cfg.sim_port, "/api/v3/simple/price", params={"ids": "bitcoin", "vs_currencies": "usd"}
            )
        if "ingest" in self.running:
            self.call(
                "POST",
                self.cfg.ingest_port,
                "/v1/fetch/prices",
                json={"coins": ["bitcoin", "ethereum"], "vs_currency": "usd"},
            )
            self.call(
                "POST",
                self.cfg.ingest_port,
                "/v1/fetch/history",
                json={"coin": "bitcoin", "vs_currency": "usd", **self.window},
            )
        if "query" in self.running:
            params = {"vs_currency": "usd", "interval": "5m", **self.window}
            self.call("GET", self.cfg.query_port, "/v1/prices/bitcoin", params=params)
            self.call("GET", self.cfg.query_port, "/v1/coverage", params={"coins": "bitcoin", **params})
            self.call("POST", self.cfg.query_port, "/v1/valuation", json={})
        if "api" in self.running:
            self.portfolio()
        if "kafka" in self.running or "lander" in self.running or "ingest" in self.running:
            self.invalid_records()
        if "coingecko-sim" in self.running and "ingest" in self.running:
            self.rate_limit_storm()

    def portfolio(self) -> None:
        body = {"holdings": [{"coin": "bitcoin", "amount": 1.5}], "vs_currency": "usd", **self.window}
        resp = self.call("POST", self.cfg.api_port, "/v1/portfolios", json=body)
        if resp is None or resp.status_code not in (201, 202):
            self.notes.append(f"POST /v1/portfolios answered {getattr(resp, 'status_code', None)}")
            return
        pid = resp.json().get("id")
        self.call("GET", self.cfg.api_port, f"/v1/portfolios/{pid}")
        try:  # hold a stream open across a scrape, so the open-streams gauge moves
            with self.http.get(
                self.url(self.cfg.api_port, f"/v1/portfolios/{pid}/stream"), stream=True, timeout=15
            ) as s:
                deadline = time.monotonic() + 6
                for _ in s.iter_lines():
                    if time.monotonic() > deadline:
                        break
        except requests.RequestException as exc:
            self.notes.append(f"portfolio stream: {_first_line(exc)}")

    def invalid_records(self) -> None:
        """One malformed record each where the lander and the backfill worker read: their error metrics move."""
        from coinstream_common.settings import TopicSettings
        from confluent_kafka import Producer

        topics = TopicSettings()
        producer = Producer({"bootstrap.servers": self.cfg.kafka_bootstrap, "client.id": "observability-test"})
        for topic in (topics.prices, topics.backfill_requests):
            producer.produce(topic, key=b"observability-test", value=b'{"schema": "not-a-valid-event"')
        if producer.flush(15) != 0:
            self.notes.append("malformed test records were not acknowledged by Kafka")

    def rate_limit_storm(self) -> None:
        """Use up the sim's rate limit, then ask ingest for prices: ingest meets a 429."""
        for _ in range(400):
            resp = self.call("GET", self.cfg.sim_port, "/api/v3/ping", timeout=5)
            if resp is None or resp.status_code == 429:
                break
        else:
            self.notes.append("the sim never answered 429 to 400 pings: no rate limit to observe")
            return
        self.call(
            "POST",
            self.cfg.ingest_port,
            "/v1/fetch/prices",
            json={"coins": ["solana"], "vs_currency": "usd"},
            timeout=10,
        )


def _wait_for_scrapes(url: str, since: float, timeout_s: float) -> None:
    """Until every target was scraped (successfully or not) after ``since``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        active = requests.get(f"{url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        scraped = [datetime.fromisoformat(t["lastScrape"]).timestamp() for t in active]
        if active and min(scraped) > since:
            return
        time.sleep(1)


@pytest.fixture(scope="session")
def observed(session_stack) -> Observed:
    cfg = session_stack.cfg
    targets = scrape_targets(cfg)
    problems = _start_components(session_stack, targets)
    try:
        session_stack.need("prometheus")
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the Prometheus component did not start: {exc}")
    obs = Observed(f"http://{cfg.host}:{cfg.prometheus_port}", targets, problems)
    running = {t.job for t in targets if t.job not in problems}
    Traffic(cfg, running, obs.traffic).run()
    _wait_for_scrapes(obs.url, time.time() + 1, SCRAPE_WAIT_S)
    return obs
