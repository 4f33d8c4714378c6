"""Server-Sent Events framing."""

import json

import pytest
from coinstream_api import sse
from coinstream_testkit.sse import parse

pytestmark = pytest.mark.unit


def test_event_framing_round_trips():
    data = {"id": "pf_x", "text": "line one\nline two", "n": 1.5}
    text = sse.event("update", data, 42)
    assert text.startswith("id: 42\nevent: update\ndata: ") and text.endswith("\n\n")
    assert text.count("\n\n") == 1  # one event: the newline inside the data is escaped in JSON
    (parsed,) = parse(text)
    assert parsed["id"] == "42" and parsed["event"] == "update" and json.loads(parsed["data"]) == data


def test_event_without_id_and_comments_and_retry():
    stream = sse.retry(3000) + sse.comment("heartbeat") + sse.event("timeout", {"a": 1}) + sse.comment("x\ny")
    assert stream.startswith("retry: 3000\n\n: heartbeat\n\n")
    events = parse(stream)
    assert events == [{"event": "timeout", "data": '{"a":1}'}]


def test_nan_is_refused_rather_than_sent_as_invalid_json():
    with pytest.raises(ValueError):
        sse.event("update", {"x": float("nan")})


@pytest.mark.parametrize(
    "header, expected", [(None, None), ("", None), ("17", 17), (" 5 ", 5), ("abc", None), ("-3", None)]
)
def test_last_event_id(header, expected):
    assert sse.parse_last_event_id(header) == expected
