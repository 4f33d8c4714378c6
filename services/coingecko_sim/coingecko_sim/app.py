"""coingecko-sim: ``create_app()`` is what gunicorn runs, with ONE worker.

The rate-limit windows, the faults in force and the call statistics live in
the process, so a second worker would halve every limit and see other faults.
Call counts by endpoint and status are also on /metrics, as the shared
request histogram (``coinstream_http_request_duration_seconds_count`` by
route and status).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from coinstream_common import logs, web
from coinstream_common.settings import ServiceSettings, load
from flask import Flask

from . import admin, api, openapi
from .config import SimConfig, from_env
from .state import EXTENSION, SimState, wall_clock_ms

SERVICE = "coingecko-sim"


def create_app(
    config: SimConfig | None = None,
    clock_ms: Callable[[], int] = wall_clock_ms,
    sleep: Callable[[float], None] = time.sleep,
) -> Flask:
    """The Flask app; ``config`` defaults to the ``COINGECKO_SIM_*`` environment, ``clock_ms`` to the wall clock."""
    service = load(ServiceSettings)
    logs.configure(SERVICE, service.log_level)
    config = config or from_env()
    app = web.create_app(SERVICE, openapi.DOCUMENT, settings=service)
    app.extensions[EXTENSION] = SimState(config, clock_ms, sleep)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)
    return app
