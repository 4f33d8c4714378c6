"""The query service as the API sees it: valuation and coverage over HTTP.

Every failure that means "no answer now" (connection refused, timeout, 5xx,
503 trino_unavailable, a body that is not the expected JSON) becomes
``QueryUnavailable``, which the API turns into a 503 or a stale answer.
"""

from __future__ import annotations

import threading

import requests
from coinstream_common.timeutil import to_iso


class QueryUnavailable(RuntimeError):
    """The query service (or Trino behind it) cannot answer now."""


class QueryRejected(RuntimeError):
    """The query service refused the request (4xx): a bug on our side, not the user's."""


class QueryClient:
    def __init__(self, base_url: str, timeout_s: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            resp = self._session().request(method, self.base_url + path, timeout=(3.0, self.timeout_s), **kwargs)
        except requests.RequestException as exc:
            raise QueryUnavailable(f"query service unreachable: {type(exc).__name__}") from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code >= 500 or not isinstance(body, dict):
            code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
            raise QueryUnavailable(f"query service answered {resp.status_code}{f' ({code})' if code else ''}")
        if resp.status_code >= 400:
            error = body.get("error")
            err = error if isinstance(error, dict) else {}
            raise QueryRejected(f"{err.get('code', resp.status_code)}: {err.get('message', '')}")
        return body

    def valuation(self, coins: dict[str, float], vs_currency: str, from_ms: int, to_ms: int, interval: str) -> dict:
        """Prices and coverage of ``coins`` (coin -> amount) at each point of the range."""
        body = {
            "holdings": [{"coin": c, "amount": a, "acquired_at": None} for c, a in sorted(coins.items())],
            "vs_currency": vs_currency,
            "from": to_iso(from_ms),
            "to": to_iso(to_ms),
            "interval": interval,
            "staleness_s": None,
        }
        data = self._call("POST", "/v1/valuation", json=body)
        if not isinstance(data.get("points"), list) or not isinstance(data.get("coverage"), dict):
            raise QueryUnavailable("query service answered a valuation without points or coverage")
        return data

    def healthy(self) -> tuple[bool, str]:
        try:
            resp = self._session().get(self.base_url + "/healthz", timeout=2.0)
        except requests.RequestException as exc:
            return False, f"query service unreachable: {type(exc).__name__}"
        return resp.status_code == 200, f"query service /healthz answered {resp.status_code}"
