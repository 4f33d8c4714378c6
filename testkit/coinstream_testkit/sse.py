"""Server-Sent Events as a client reads them, through ``sseclient-py``.

An event is a dict of the fields it carried: ``event`` (``message`` when the server
named none), ``data`` (its data lines joined by newlines) and ``id`` when it had one.
Comment lines (``: heartbeat``) and events without data are not events (WHATWG
EventSource rules). The api's own framing is ``coinstream_api.sse``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sseclient import SSEClient


def _as_dict(event) -> dict[str, str]:
    fields = {"event": event.event, "data": event.data}
    if event.id is not None:
        fields["id"] = event.id
    return fields


def stream(chunks: Iterable[bytes]) -> Iterator[dict[str, str]]:
    """Events as they arrive from the chunks of a response body (e.g. ``resp.iter_content(None)``).

    An event split over chunks is put together; iteration ends with the body.
    """
    for event in SSEClient(iter(chunks)).events():
        yield _as_dict(event)


def parse(text: str | bytes) -> list[dict[str, str]]:
    """The events of a body read so far; an event not yet ended by a blank line is left out."""
    body = text.encode() if isinstance(text, str) else text
    body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    end = body.rfind(b"\n\n")
    return list(stream([body[: end + 2]])) if end >= 0 else []
