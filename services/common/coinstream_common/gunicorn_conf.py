"""gunicorn configuration shared by every service: ``gunicorn -c python:coinstream_common.gunicorn_conf``.

Sets up Prometheus multiprocess mode before any worker imports the metrics,
binds where the settings say, and uses threaded workers so long-lived streams
do not starve short requests.
"""

import os
import tempfile

from coinstream_common import multiproc as _multiproc
from coinstream_common import settings as _settings

_service = _settings.load(_settings.ServiceSettings)

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="coinstream-metrics-")

# The directory must exist and be empty *before* the metrics module is imported:
# unlabelled gauges create their files at import time.
_multiproc.prepare_multiprocess_dir(os.environ["PROMETHEUS_MULTIPROC_DIR"])

from coinstream_common import metrics as _metrics

bind = f"{_service.http_host}:{_service.http_port}"
workers = _service.http_workers
threads = _service.http_threads
worker_class = "gthread"
timeout = 120
graceful_timeout = 20
keepalive = 5
accesslog = None
errorlog = "-"
loglevel = _service.log_level.lower()
limit_request_line = 8190


def child_exit(server, worker):
    _metrics.mark_worker_dead(worker.pid)
