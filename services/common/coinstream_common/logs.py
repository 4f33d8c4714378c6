"""Structured JSON logging: one object per line, secrets never printed."""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from . import settings


def _secret_values() -> tuple[str, ...]:
    """Values of the secret settings of every group this process defined (settings.secret())."""
    return tuple(v for v in (os.environ.get(name) for name in sorted(settings.SECRET_ENV_VARS)) if v)


_REDACT = _secret_values()


def redact(text: str) -> str:
    for secret in _REDACT:
        for part in secret.split(","):
            if part:
                text = text.replace(part, "***")
    return text


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key in ("route", "status", "duration_ms", "request_id", "topic", "count"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure(service: str, level: str = "INFO") -> None:
    # The service's own groups are defined by now: their secrets join the shared groups'.
    global _REDACT
    _REDACT = _secret_values()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel("WARNING")
