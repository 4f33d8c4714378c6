import pytest

pytestmark = pytest.mark.unit


def test_error_series_exist_before_the_first_error():
    """Dashboards and alerts use rate() over error counters: their series must exist at zero."""
    from coinstream_common import metrics
    from prometheus_client import REGISTRY

    metrics.declare_topic("test.declared")
    assert REGISTRY.get_sample_value("coinstream_kafka_produce_errors_total", {"topic": "test.declared"}) == 0
    assert REGISTRY.get_sample_value("coinstream_kafka_consume_invalid_total", {"topic": "test.declared"}) == 0
