"""The lander on the real stack: distinct valid events land exactly once, rejects go to the DLQ,
a driver killed with SIGKILL mid-batch leaves no duplicate, no loss and no partial file, and
compacting a finished day leaves query results identical."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from coinstream_contract.events import LandedNotification, PriceEvent
from coinstream_lander.compact import COMPACTED_RE
from coinstream_lander.publish import PART_RE

pytestmark = pytest.mark.integration

MIDNIGHT = 1_767_225_600_000  # 2026-01-01T00:00:00Z: events on both sides of a day boundary


def produce(lander, values, keys=None) -> None:
    p = lander.producer()
    for i, v in enumerate(values):
        key = keys[i] if keys else b"k"
        while True:
            try:
                p.produce(lander.topic, v, key=key)
                break
            except BufferError:
                p.poll(0.05)
        if i % 5000 == 0:
            p.poll(0)
    assert p.flush(30) == 0


def events(coins, n, start=MIDNIGHT - 300_000, step=1000, source="it"):
    return [PriceEvent.observe(c, "usd", start + i * step, 10.0 + i, source) for c in coins for i in range(n)]


def counts(lander, coins) -> tuple[int, int]:
    marks = ",".join("?" for _ in coins)
    (row,) = lander.query(
        f"SELECT count(*), count(DISTINCT event_id) FROM coin_prices WHERE coin_id IN ({marks})", list(coins)
    )
    return row[0], row[1]


def assert_only_published_files(lander) -> None:
    paths = [r[0] for r in lander.query('SELECT DISTINCT "$path" FROM coin_prices')]
    assert paths, "no files visible"
    for path in paths:
        name = path.rsplit("/", 1)[1]
        assert PART_RE.match(name) or COMPACTED_RE.match(name), path


def wait_caught_up(lander, timeout_s=90) -> None:
    """Lag 0 in two reports a few seconds apart: every record produced so far is committed."""
    lander.wait_until(lambda: lander.metric("coinstream_lander_kafka_lag_records") == 0, timeout_s, "lag 0")
    time.sleep(3)
    lander.wait_until(lambda: lander.metric("coinstream_lander_kafka_lag_records") == 0, timeout_s, "lag 0 again")


def test_distinct_valid_events_land_once_and_rejects_go_to_the_dlq(lander):
    coins = [f"it-{lander.run}-{c}" for c in ("a", "b", "c")]
    valid = events(coins, 1000)  # 3,000 over two days
    exact_repeats = valid[:500]
    replays = [PriceEvent.observe(e.coin_id, "usd", e.ts, 99.0, e.source) for e in valid[1000:1200]]
    good = PriceEvent.observe(coins[0], "usd", MIDNIGHT, 1.0, "it").to_json()
    malformed = [
        b"not json at all",
        b"[1, 2, 3]",
        good.replace(b"coinstream.price.v1", b"coinstream.price.v0"),
        good.replace(b'"price":1.0', b'"price":-1.0'),
        good.replace(coins[0].encode(), b"NOT-A-COIN"),
        good.replace(b'"event_id":"', b'"event_id":"f'),
        None,
    ]
    produce(lander, [e.to_json() for e in valid + exact_repeats + replays] + malformed)
    lander.wait_until(lambda: counts(lander, coins)[0] >= len(valid), 120, "the valid events in Trino")

    # Replays again, now in a later batch: the dedupe state must drop them too.
    produce(lander, [e.to_json() for e in valid[:300] + replays])
    wait_caught_up(lander)
    assert counts(lander, coins) == (len(valid), len(valid))

    # Timestamps come back exactly (ms), and a day boundary splits the partitions.
    first = valid[0]
    ((ts, day),) = lander.query("SELECT ts, day FROM coin_prices WHERE event_id = ?", [first.event_id])
    assert ts == datetime.fromtimestamp(first.ts / 1000, UTC).replace(tzinfo=None) and str(day) == "2025-12-31"
    days = {str(r[0]) for r in lander.query("SELECT DISTINCT day FROM coin_prices")}
    assert days == {"2025-12-31", "2026-01-01"}
    assert_only_published_files(lander)

    dlq = lander.consume_all(lander.env["COINSTREAM_TOPIC_PRICES_DLQ"], expect_at_least=len(malformed))
    assert len(dlq) == len(malformed)
    assert {m.value() for m in dlq} == set(malformed)
    reasons = [dict(m.headers())["coinstream.dlq.reason"].decode() for m in dlq]
    assert any(r.startswith("malformed") for r in reasons) and any(r.startswith("price: below") for r in reasons)
    assert lander.metric("coinstream_lander_dead_letters_total") == len(malformed)

    landed = lander.consume_all(lander.env["COINSTREAM_TOPIC_PRICES_LANDED"], expect_at_least=1)
    notes = [LandedNotification.from_json(m.value()) for m in landed]
    assert sum(n.rows for n in notes) == len(valid)
    assert {c.coin_id for n in notes for c in n.coins} == set(coins)


def _staged_batch(lander) -> str | None:
    """A batch being staged or published right now (the driver is mid-batch)."""
    staging = f"{lander.table_path}/_staging"
    for entry in lander.hdfs_list(staging):
        if entry["pathSuffix"].startswith("batch=") and lander.hdfs_list(f"{staging}/{entry['pathSuffix']}"):
            return entry["pathSuffix"]
    return None


def test_sigkill_mid_batch_then_restart_lands_every_event_exactly_once(lander):
    coin = f"it-{lander.run}-kill"
    evs = [PriceEvent.observe(coin, "usd", MIDNIGHT + i * 10, 1.0 + i % 97, "it") for i in range(150_000)]
    produce(lander, [e.to_json() for e in evs])
    killed_in = lander.wait_until(lambda: _staged_batch(lander), 90, "a staged batch", every_s=0.05)
    lander.component.proc.kill()
    assert not lander.component.proc.running()
    landed_before, _ = counts(lander, [coin])
    assert landed_before < len(evs), f"everything landed before the kill ({killed_in})"

    # Retried produces while the job is down.
    produce(lander, [e.to_json() for e in evs[:20_000]])
    lander.component.start(say=lambda *_: None)
    lander.wait_until(lambda: counts(lander, [coin])[0] >= len(evs), 150, "every event after the restart")
    wait_caught_up(lander)
    assert counts(lander, [coin]) == (len(evs), len(evs))
    assert_only_published_files(lander)
    assert not _staged_batch(lander)
    print(json.dumps({"killed_during": killed_in, "visible_at_kill": landed_before}))


def test_compaction_of_a_finished_day_keeps_query_results_identical(lander):
    coin = f"it-{lander.run}-cmp"
    day_start = 1_748_736_000_000  # 2025-06-01T00:00:00Z, a day only this test writes
    waves, per_wave = int(lander.env["COINSTREAM_LANDER_COMPACT_MIN_FILES"]), 200
    sql = (
        'SELECT count(*), count(DISTINCT event_id), sum(price), min(ts), max(ts), count(DISTINCT "$path") '
        "FROM coin_prices WHERE day = DATE '2025-06-01' AND coin_id = ?"
    )
    all_events = []
    for w in range(waves):  # one batch, so one file, per wave: compaction can only start after the last
        evs = [
            PriceEvent.observe(coin, "usd", day_start + (w * per_wave + i) * 60_000, float(i), "it")
            for i in range(per_wave)
        ]
        all_events += evs
        produce(lander, [e.to_json() for e in evs])
        lander.wait_until(lambda w=w: counts(lander, [coin])[0] >= (w + 1) * per_wave, 60, f"wave {w}")
    as_utc = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)
    expected = (
        len(all_events),
        len(all_events),
        sum(e.price for e in all_events),
        as_utc(min(e.ts for e in all_events)),
        as_utc(max(e.ts for e in all_events)),
    )
    (before,) = lander.query(sql, [coin])  # prices are integers: sums are exact in any order
    assert tuple(before[:5]) == expected

    def compacted():
        # the day's files first, then the figures: compaction swaps files once, so figures read
        # after the one compacted file is seen are the compacted day's
        paths = [r[0] for r in lander.query("SELECT DISTINCT \"$path\" FROM coin_prices WHERE day = DATE '2025-06-01'")]
        if len(paths) != 1 or not COMPACTED_RE.match(paths[0].rsplit("/", 1)[1]):
            return None
        (row,) = lander.query(sql, [coin])
        return row

    after = lander.wait_until(compacted, 90, f"the {waves} files of the day compacted into one", every_s=2)
    assert tuple(after[:5]) == expected and after[5] == 1
    assert lander.metric("coinstream_lander_compacted_days_total") >= 1
