"""Events of any of the pipeline's schemas, for tests that read a topic carrying several."""

from __future__ import annotations

import json

from coinstream_contract.events import EVENT_TYPES, Event, EventError


def parse_any(raw: bytes | str) -> Event:
    """The event ``raw`` holds, typed by its ``schema`` field; ``EventError`` if it is none of them."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EventError(f"not JSON: {exc}") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema not in EVENT_TYPES:
        raise EventError(f"unknown schema {schema!r}")
    return EVENT_TYPES[schema].from_json(data)
