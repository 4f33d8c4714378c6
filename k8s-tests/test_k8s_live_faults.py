"""Pods of every kind deleted while a backfill is under way (api, ingest, query, the lander's
driver, a Kafka broker, a Trino worker): Kubernetes and the operators bring them back, the
portfolio still reaches `complete` with the simulator's seeded figures, and every price lands
in the table exactly once."""

from __future__ import annotations

import json
import random
import time

import pytest
import requests
from coingecko_sim.catalog import CATALOG_IDS, COINS, list_coin
from coingecko_sim.prices import price_at
from coinstream_common.settings import COIN_LIST_MISS_RELOAD_S
from coinstream_common.timeutil import to_iso
from coinstream_contract.vocabulary import INTERVAL_MS
from k8slib import live

pytestmark = pytest.mark.live

DAY = INTERVAL_MS["daily"]
DAYS = 60
# (what, label selector) of the pods deleted, one after the other
VICTIMS = [
    ("api", f"app.kubernetes.io/instance={live.RELEASE},app.kubernetes.io/component=api"),
    ("ingest", f"app.kubernetes.io/instance={live.RELEASE},app.kubernetes.io/component=ingest"),
    ("query", f"app.kubernetes.io/instance={live.RELEASE},app.kubernetes.io/component=query"),
    ("lander driver", "spark-role=driver"),
    ("Kafka broker", f"strimzi.io/cluster={live.RELEASE},strimzi.io/broker-role=true"),
    ("Trino worker", f"app.kubernetes.io/instance={live.RELEASE},app.kubernetes.io/component=trino-worker"),
]
SIM_LIST = (
    "import json,sys,urllib.request\n"
    "req=urllib.request.Request('http://127.0.0.1:8000/__sim/coins', data=sys.argv[1].encode(),"
    " headers={'Content-Type':'application/json'}, method='POST')\n"
    "print(urllib.request.urlopen(req, timeout=10).status)\n"
)
TRINO_SQL = (
    "import json,sys,trino\n"
    "c=trino.dbapi.connect(host=sys.argv[1], port=8080, user='k8s-tests', catalog='hive').cursor()\n"
    "c.execute(sys.argv[2]); print(json.dumps(c.fetchall(), default=str))\n"
)


def fresh_coins(kube, count: int) -> list[str]:
    """Coins listed in the cluster's simulator (and in this process's catalog, for the seeded
    prices) now: nothing can have landed for them."""
    sim = live.pods(kube, "coingecko-sim")[0].metadata.name
    today = int(time.time() * 1000) // DAY * DAY
    likes = sorted(c for c, coin in COINS.items() if c in CATALOG_IDS and coin.genesis_ms < today - 400 * DAY)
    tag = f"k8s{random.getrandbits(32):08x}"
    coins = []
    for n in range(count):
        coin_id, like = f"{tag}-{n}", random.choice(likes)
        out = live.exec_in(kube, sim, ["python3", "-c", SIM_LIST, json.dumps({"id": coin_id, "like": like})])
        assert out.strip() == "201", out
        list_coin(coin_id, like)
        coins.append(coin_id)
    return coins


def sql(kube, statement: str) -> list:
    query = live.pods(kube, "query")[0].metadata.name
    out = live.exec_in(kube, query, ["python3", "-c", TRINO_SQL, f"{live.RELEASE}-trino", statement], timeout_s=120)
    return json.loads(out.strip().splitlines()[-1])


def delete_one(kube, what: str, selector: str) -> str:
    found = live.running_pods(kube, selector)
    assert found, f"no running pod of the {what} ({selector})"
    kube.CoreV1Api().delete_namespaced_pod(found[0].metadata.name, live.NAMESPACE, grace_period_seconds=0)
    return found[0].metadata.name


@pytest.mark.timeout(1800)
def test_deleting_a_pod_of_each_kind_loses_and_duplicates_nothing(release, api_key):
    headers = {"X-API-Key": api_key}
    coins = fresh_coins(release, 3)
    today = int(time.time() * 1000) // DAY * DAY
    start = today - random.randint(90, 300) * DAY
    body = {
        "vs_currency": "usd",
        "from": to_iso(start),
        "to": to_iso(start + (DAYS - 1) * DAY),
        "interval": "daily",
        "holdings": [{"coin": c, "amount": round(random.uniform(0.5, 50), 3)} for c in coins],
    }

    deadline = time.monotonic() + COIN_LIST_MISS_RELOAD_S + 30
    while True:  # the api learns of coins listed moments ago at its next coin-list reload
        created = requests.post(f"{live.BASE_URL}/v1/portfolios", json=body, headers=headers, timeout=30)
        if created.status_code != 400 or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert created.status_code == 202, created.text
    location = created.headers["Location"]

    deleted = []
    for what, selector in VICTIMS:
        deleted.append((what, delete_one(release, what, selector)))
        time.sleep(10)

    def complete():
        try:
            resp = requests.get(f"{live.BASE_URL}{location}", headers=headers, timeout=30)
        except requests.RequestException as exc:  # the api itself is coming back
            return False, repr(exc)
        doc = resp.json() if resp.status_code == 200 else {}
        return doc.get("status") == "complete", (resp.status_code, doc.get("status"), doc.get("completeness"))

    live.wait(f"complete after deleting {deleted}", complete, every_s=10)
    final = requests.get(f"{live.BASE_URL}{location}", headers=headers, timeout=30).json()
    grid = [start + i * DAY for i in range(DAYS)]
    want = [sum(h["amount"] * price_at(h["coin"], "usd", t) for h in body["holdings"]) for t in grid]
    points = final["valuation"]["points"]
    assert [p["ts"] for p in points] == [to_iso(t) for t in grid]
    assert [p["value"] for p in points] == pytest.approx(want, rel=1e-9)

    ids = ", ".join(f"'{c}'" for c in coins)
    first, last = to_iso(start)[:10], to_iso(grid[-1])[:10]
    rows = sql(
        release,
        "SELECT coin_id, ts, count(*) FROM hive.coinstream.coin_prices "
        f"WHERE vs_currency = 'usd' AND coin_id IN ({ids}) "
        f"AND day BETWEEN DATE '{first}' AND DATE '{last}' GROUP BY coin_id, ts",
    )
    assert len(rows) == len(coins) * DAYS, f"{len(rows)} distinct (coin, ts) landed, want {len(coins) * DAYS}"
    assert all(count == 1 for _coin, _ts, count in rows), [r for r in rows if r[2] != 1][:5]
