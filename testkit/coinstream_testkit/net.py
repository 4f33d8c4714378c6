"""Loopback ports for servers a test or benchmark starts."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now, chosen by the kernel (bind to port 0).

    The port is released before it is returned, so another process may take it before
    the caller's server binds; the kernel hands out ephemeral ports in turn, which makes
    that rare enough for tests.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
