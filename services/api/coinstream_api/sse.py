"""Server-Sent Events framing (pure) per the WHATWG EventSource format.

An event is ``id:``/``event:``/``data:`` lines ended by a blank line; the data
is one line of JSON. A comment line (``: ...``) is what heartbeats send: every
client ignores it, and proxies see traffic so they keep the connection open.
"""

from __future__ import annotations

import json
from typing import Any


def event(name: str, data: Any, event_id: int | str | None = None) -> str:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {name}")
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    lines.extend(f"data: {line}" for line in payload.split("\n"))  # json.dumps never emits raw newlines
    return "\n".join(lines) + "\n\n"


def comment(text: str) -> str:
    return "".join(f": {line}\n" for line in text.split("\n")) + "\n"


def retry(ms: int) -> str:
    """Tell the client how long to wait before reconnecting."""
    return f"retry: {int(ms)}\n\n"


def parse_last_event_id(value: str | None) -> int | None:
    """The sequence a reconnecting client has seen, or None (absent or not ours)."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None
