"""The api's HTTP clients against a real (stub) server: the query service and ingest's coin list."""

import pytest
from coinstream_api.coins import KnownCoins
from coinstream_api.query_client import QueryClient, QueryRejected, QueryUnavailable
from coinstream_testkit.net import free_port

pytestmark = pytest.mark.integration

T0 = 1_735_689_600_000
DAY = 86_400_000


def test_query_client_valuation_and_failures(stub):
    stub.table.add("bitcoin", "usd", {T0: 10.0, T0 + DAY: 11.0})
    client = QueryClient(stub.base_url, timeout_s=5)
    answer = client.valuation({"bitcoin": 2.0}, "usd", T0, T0 + 2 * DAY, "daily")
    assert [p["holdings"]["bitcoin"]["status"] for p in answer["points"]] == ["observed", "observed", "carried"]
    assert answer["coverage"]["present"] == 2
    assert client.healthy()[0] is True

    stub.down = True
    with pytest.raises(QueryUnavailable, match="503.*trino_unavailable"):
        client.valuation({"bitcoin": 1.0}, "usd", T0, T0 + DAY, "daily")
    stub.down, stub.reject = False, "too_many_cells"
    with pytest.raises(QueryRejected, match="too_many_cells"):
        client.valuation({"bitcoin": 1.0}, "usd", T0, T0 + DAY, "daily")
    stub.reject = None
    with pytest.raises(QueryUnavailable, match="404"):  # not the query service at all: an HTML 404
        QueryClient(stub.base_url + "/nowhere", 5).valuation({"bitcoin": 1.0}, "usd", T0, T0 + DAY, "daily")

    gone = QueryClient(f"http://127.0.0.1:{free_port()}", timeout_s=2)
    with pytest.raises(QueryUnavailable, match="unreachable"):
        gone.valuation({"bitcoin": 1.0}, "usd", T0, T0 + DAY, "daily")
    ok, why = gone.healthy()
    assert ok is False and "unreachable" in why


def test_known_coins_from_the_coin_list_and_pattern_only_fallback(stub):
    coins = KnownCoins(stub.ingest_url)
    ids = coins.ids()
    assert "bitcoin" in ids and "not-a-listed-coin" not in ids
    unreachable = KnownCoins(f"http://127.0.0.1:{free_port()}", timeout_s=1)
    assert unreachable.ids() is None  # pattern-only until it can be fetched
