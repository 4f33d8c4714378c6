"""Prometheus multiprocess directory set-up, importable before the metrics module.

Unlabelled gauges create their files when ``metrics`` is imported, so the
directory must exist (and hold no dead workers' files) before that import.
"""

from __future__ import annotations

from pathlib import Path


def prepare_multiprocess_dir(path: str) -> None:
    """Create or empty the directory; it may be a mount point, so it is never removed itself."""
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        if entry.is_file():
            entry.unlink()
