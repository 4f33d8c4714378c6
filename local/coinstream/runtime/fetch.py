"""Download servers with Maven, verify them, and cache them.

Maven does the transfer (strict checksums, ``-C``: a corrupted download fails
instead of being used) into its local repository; we copy what a runtime needs
into ``<cache>/<name>`` through a temporary directory that is renamed into
place only when complete, and write a manifest of sizes. A cache entry whose
files no longer match its manifest is deleted and fetched again, so a broken
or half-finished download is never used.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import tenacity

MANIFEST = ".coinstream-manifest.json"


class FetchError(RuntimeError):
    pass


def progress(label: str, done: str, started: float, last: list[float]) -> None:
    """One line that updates in place on a terminal, a line every 10 s in a log."""
    now = time.monotonic()
    tty = sys.stderr.isatty()
    if now - last[0] < (0.2 if tty else 10.0):
        return
    last[0] = now
    line = f"  fetching {label}: {done}, {now - started:4.0f}s"
    sys.stderr.write(f"\r{line}" if tty else f"{line}\n")
    sys.stderr.flush()


def _run_maven(args: list[str], label: str, workdir: Path) -> None:
    """Run mvn, turning its transfer log into a one-line progress display."""
    if not shutil.which("mvn"):
        raise FetchError("mvn is not installed (apt-get install maven)")
    cmd = ["mvn", "-B", "-C", *args]
    started = time.monotonic()
    done = 0
    last = [0.0]
    tail: list[str] = []
    proc = subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        tail = (tail + [line.rstrip()])[-15:]
        if "Downloaded from" in line or "Copying" in line:
            done += 1
            progress(label, f"{done} file(s)", started, last)
    rc = proc.wait()
    if done:
        sys.stderr.write(
            f"{chr(13) if sys.stderr.isatty() else ''}  fetched {label}: {done} file(s) in {time.monotonic() - started:.0f}s\n"
        )
    if rc != 0:
        errors = [l for l in tail if "ERROR" in l] or tail
        raise FetchError(f"mvn failed fetching {label}: " + " | ".join(errors[:3]))


def _write_manifest(root: Path) -> None:
    files = {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}
    (root / MANIFEST).write_text(json.dumps(files))


def verify(root: Path) -> bool:
    """True when every file of the manifest is present with its recorded size."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return False
    try:
        files = json.loads(manifest.read_text())
    except ValueError:
        return False
    for rel, size in files.items():
        p = root / rel
        if not p.is_file() or p.stat().st_size != size:
            return False
    return True


def _pom(dependencies: list[str]) -> str:
    deps = []
    for coord in dependencies:
        parts = coord.split(":")
        g, a, v = parts[0], parts[1], parts[2]
        extra = f"<type>{parts[3]}</type>" if len(parts) > 3 else ""
        deps.append(
            f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>{extra}</dependency>"
        )
    return f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.coinstream.local</groupId><artifactId>fetch</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>{"".join(deps)}</dependencies>
</project>
"""


def _install(dest: Path, fill) -> Path:
    """Build ``dest`` in a temp dir with ``fill(tmpdir)``, then move it into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    try:
        fill(tmp)
        _write_manifest(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def cached(label: str, dest: Path, fill, attempts: int = 3, final: tuple[type[Exception], ...] = ()) -> Path:
    """``dest`` as ``fill(tmpdir)`` makes it, unless a verified copy is cached; ``final`` errors are not retried.
    One process at a time per ``dest`` (a lock file beside it): the others wait and find it cached."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest.parent / f".{dest.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _cached(label, dest, fill, attempts, final)


def _cached(label: str, dest: Path, fill, attempts: int, final: tuple[type[Exception], ...]) -> Path:
    if verify(dest):
        return dest
    if dest.exists():
        sys.stderr.write(f"  cached {label} is incomplete or corrupt; fetching again\n")
        shutil.rmtree(dest)

    def report(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        sys.stderr.write(f"  attempt {state.attempt_number}/{attempts} failed: {exc}\n")

    def give_up(state: tenacity.RetryCallState) -> Path:
        raise FetchError(str(state.outcome.exception() if state.outcome else "no attempt made"))

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, FetchError) and not isinstance(exc, final)),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=2, max=10),  # 2, 4, 8, 10 s
        after=report,
        retry_error_callback=give_up,
    )
    return retrying(_install, dest, fill)


def jars(label: str, dest: Path, coordinates: list[str], transitive: bool = True) -> Path:
    """Resolve ``coordinates`` (group:artifact:version) with runtime dependencies into ``dest``."""

    def fill(tmp: Path) -> None:
        work = tmp / ".pom"
        work.mkdir()
        (work / "pom.xml").write_text(_pom(coordinates))
        args = [
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
            f"-DexcludeTransitive={'false' if transitive else 'true'}",
        ]
        _run_maven(args, label, work)
        shutil.rmtree(work)
        if not any(tmp.glob("*.jar")):
            raise FetchError(f"no jars resolved for {label}")

    return cached(label, dest, fill)


def archive(label: str, dest: Path, coordinate: str, strip_top: bool = True) -> Path:
    """Fetch one tar.gz/zip artifact (group:artifact:version:type) and unpack it into ``dest``."""

    def fill(tmp: Path) -> None:
        work = tmp / ".dl"
        work.mkdir()
        (work / "pom.xml").write_text(_pom([]))
        _run_maven(["dependency:copy", f"-Dartifact={coordinate}", f"-DoutputDirectory={work}"], label, work)
        files = [p for p in work.iterdir() if p.name != "pom.xml"]
        if len(files) != 1:
            raise FetchError(f"expected one archive for {label}, got {len(files)}")
        _unpack(files[0], tmp, strip_top)
        shutil.rmtree(work)

    return cached(label, dest, fill)


def _unpack(path: Path, into: Path, strip_top: bool) -> None:
    try:
        if path.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path) as tf:
                members = tf.getmembers()
                top = _common_top([m.name for m in members]) if strip_top else ""
                for m in members:
                    if top:
                        m.name = m.name[len(top) :].lstrip("/")
                        if m.islnk() and m.linkname.startswith(top):  # hard links name their target by full path
                            m.linkname = m.linkname[len(top) :]
                    if m.name:
                        tf.extract(m, into, filter="tar")
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                top = _common_top(names) if strip_top else ""
                for info in zf.infolist():
                    name = info.filename[len(top) :].lstrip("/") if top else info.filename
                    if not name:
                        continue
                    target = into / name
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as out:
                        shutil.copyfileobj(src, out)
                    mode = (info.external_attr >> 16) & 0o777
                    if mode:
                        target.chmod(mode)
        else:
            raise FetchError(f"unknown archive type {path.name}")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise FetchError(f"broken archive {path.name}: {exc}") from None


def _common_top(names: list[str]) -> str:
    tops = {n.split("/", 1)[0] for n in names if n}
    if len(tops) == 1:
        top = tops.pop()
        if any("/" in n for n in names):
            return top + "/"
    return ""
