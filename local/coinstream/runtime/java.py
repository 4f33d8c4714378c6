"""Find a JDK of the version a server needs, or say clearly that there is none."""

from __future__ import annotations

import re
from pathlib import Path

JVM_ROOTS = (Path("/usr/lib/jvm"), Path("/opt/java"), Path("/usr/local/lib/jvm"))


class JavaNotFound(RuntimeError):
    pass


def _major(home: Path) -> int | None:
    release = home / "release"
    try:
        m = re.search(r'JAVA_VERSION="(\d+)', release.read_text())
    except OSError:
        return None
    return int(m.group(1)) if m else None


def find_java_home(min_major: int, override: str = "", setting: str = "") -> Path:
    """The newest JDK under the usual roots with major >= ``min_major`` (or ``override``)."""
    if override:
        home = Path(override)
        major = _major(home)
        if not (home / "bin" / "java").exists() or major is None:
            raise JavaNotFound(f"{setting or 'JAVA_HOME'}={override} is not a JDK")
        if major < min_major:
            raise JavaNotFound(f"{setting or 'JAVA_HOME'}={override} is Java {major}; Java {min_major}+ is needed")
        return home
    found = []
    for root in JVM_ROOTS:
        if not root.is_dir():
            continue
        for home in root.iterdir():
            if home.is_symlink() or not (home / "bin" / "java").exists():
                continue
            major = _major(home)
            if major is not None and major >= min_major:
                found.append((major, home))
    if not found:
        hint = f" (set {setting})" if setting else ""
        raise JavaNotFound(f"no JDK {min_major}+ found under {', '.join(map(str, JVM_ROOTS))}{hint}")
    # Prefer the oldest that fits: servers are tested most on their minimum.
    found.sort()
    return found[0][1]
