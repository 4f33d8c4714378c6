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
from coinstream_common.timeutil import to_iso
from coinstream_contract.vocabulary import INTERVAL_MS
from coinstream_testkit import portfolios
from coinstream_testkit.sim import list_fresh_coins, new_tag
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
SIM_LIST = (  # prints the HTTP status of POST /__sim/coins
    "import sys,urllib.error,urllib.request\n"
    "req=urllib.request.Request('http://127.0.0.1:8000/__sim/coins', data=sys.argv[1].encode(),"
    " headers={'Content-Type':'application/json'}, method='POST')\n"
    "try: print(urllib.request.urlopen(req, timeout=10).status)\n"
    "except urllib.error.HTTPError as e: print(e.code)\n"
)
TRINO_SQL = (
    "import json,sys,trino\n"
    "c=trino.dbapi.connect(host=sys.argv[1], port=8080, user='k8s-tests', catalog='hive').cursor()\n"
    "c.execute(sys.argv[2]); print(json.dumps(c.fetchall(), default=str))\n"
)


def fresh_coins(kube, count: int) -> list[str]:
    """Coins listed in the cluster's simulator (and in this process's catalog, for the seeded
    prices) now: nothing can have landed for them. The simulator is not behind the Ingress:
    the listing is posted from inside its pod."""
    sim = live.pods(kube, "coingecko-sim")[0].metadata.name

    def post_listing(listing: dict) -> int:
        out = live.exec_in(kube, sim, ["python3", "-c", SIM_LIST, json.dumps(listing)]).strip()
        assert out.splitlines() and out.splitlines()[-1].isdigit(), out
        return int(out.splitlines()[-1])

    tag = new_tag("k8s")
    return list_fresh_coins(post_listing, [f"{tag}-{n}" for n in range(count)])


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
    body = portfolios.body(coins, start, DAYS)

    # the api learns of coins listed moments ago at its next coin-list reload
    created = portfolios.post_portfolio(live.BASE_URL, body, headers, margin_s=30, every_s=3, answer_within_s=30)
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
    grid, want = portfolios.seeded_values(body)
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
