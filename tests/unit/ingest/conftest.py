"""A scripted local HTTP server standing in for CoinGecko in the ingest unit tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Stub:
    """Answers each request with the next scripted step (the last one repeats), or by ``route(path)``."""

    def __init__(self) -> None:
        self.script: list[tuple] = []
        self.route: Callable[[str], tuple] | None = None  # path -> step, instead of the script
        self.seen: list[tuple[str, dict]] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with stub.lock:
                    stub.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                    if stub.route is not None:
                        step = stub.route(self.path)
                    else:
                        step = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                kind = step[0]
                if kind == "hang":
                    time.sleep(step[1])
                    return
                status, body, headers = step[1], step[2], step[3] if len(step) > 3 else {}
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                length = len(raw) + 100 if kind == "truncated" else len(raw)
                self.send_header("Content-Length", str(length))
                if kind == "truncated":
                    self.send_header("Connection", "close")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)
                if kind == "truncated":
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()
