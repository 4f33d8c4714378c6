"""fetch.cached from processes started side by side (CI builds the cluster beside the tests):
one fills the cache, the others wait and find it there."""

from __future__ import annotations

import threading
import time

import pytest
from coinstream.runtime import fetch

pytestmark = pytest.mark.unit


def test_concurrent_callers_fill_the_cache_once(tmp_path):
    fills = []

    def fill(tmp):
        fills.append(tmp)
        time.sleep(0.3)  # long enough for the other callers to arrive meanwhile
        (tmp / "artifact.txt").write_text("payload")

    dest = tmp_path / "thing-1.0"
    results, errors = [], []

    def call():
        try:
            results.append(fetch.cached("thing 1.0", dest, fill))
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(fills) == 1, f"filled {len(fills)} times"
    assert results == [dest] * 4 and (dest / "artifact.txt").read_text() == "payload"
