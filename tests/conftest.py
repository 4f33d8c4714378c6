"""Session fixtures: real servers, started through the same Stack the CLI uses.

A component already running (say, from `coinstream up`) is reused; whatever
the session started itself is stopped at the end, unless
COINSTREAM_KEEP_STACK=1 (handy while iterating).
"""

from __future__ import annotations

import os

import pytest
from coinstream.runtime.config import LocalSettings
from coinstream.runtime.stack import Stack


class SessionStack:
    def __init__(self) -> None:
        self.stack = Stack(LocalSettings())
        self.cfg = self.stack.cfg
        self.started: list[str] = []

    def need(self, *names: str) -> Stack:
        self.started += self.stack.up(list(names), say=lambda *_: None)
        return self.stack

    def close(self) -> None:
        if os.environ.get("COINSTREAM_KEEP_STACK") == "1":
            return
        for name in reversed(self.started):
            self.stack.by_name[name].stop()


@pytest.fixture(scope="session")
def session_stack():
    s = SessionStack()
    yield s
    s.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(session_stack) -> str:
    session_stack.need("kafka")
    return session_stack.cfg.kafka_bootstrap


@pytest.fixture(scope="session")
def hdfs_uri(session_stack) -> str:
    session_stack.need("hdfs-datanode")
    return session_stack.cfg.hdfs_uri


@pytest.fixture(scope="session")
def trino_port(session_stack) -> int:
    session_stack.need("trino")
    return session_stack.cfg.trino_port


@pytest.fixture(scope="session")
def whole_stack(session_stack):
    """Everything `coinstream up` starts, as it starts it."""
    session_stack.need("api", "ingest", "price-lander")
    return session_stack.cfg
