"""Fetching the Apache Cassandra server jars from Maven Central with ``mvn``.

The server is run from the published ``org.apache.cassandra:cassandra-all`` artifact plus its
runtime dependencies, which is exactly what the binary tarball's ``lib/`` is built from.  A
throw-away POM naming that one dependency is resolved by ``mvn dependency:copy-dependencies`` into
a per-user cache keyed by version (``~/.cache/cassfast/cassandra-<version>/lib``).  The directory
is filled under a temporary name and renamed into place only when complete, so an interrupted
fetch never leaves a half-populated cache that a later run would trust; the second run is offline.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional

from cassfast.testing import _versions

#: The newest 5.0.x Maven Central served when this was written (checked with ``mvn`` resolving
#: the range ``[5.0.0,5.1.0)``).  Pinned so that CI runs are reproducible; override with the
#: ``CASSFAST_CASSANDRA_VERSION`` environment variable or ``--version`` on the command line
#: (a series such as ``4.0`` means its newest release listed in ``_versions``).
DEFAULT_VERSION = _versions.DEFAULT_VERSION
#: Seconds between two progress lines while Maven downloads.
PROGRESS_INTERVAL = 5.0

_COMPLETE_MARKER = ".complete"

_POM_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.cassfast.testing</groupId>
  <artifactId>cassandra-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""
_DEPENDENCY_TEMPLATE = """    <dependency>
      <groupId>{group}</groupId>
      <artifactId>{artifact}</artifactId>
      <version>{version}</version>
    </dependency>"""
#: Maven's batch-mode transfer log: ``Downloaded from central: https://.../x.jar (1.2 MB at 3.4 MB/s)``.
_DOWNLOADED_RE = re.compile(r"^(?:\[INFO\] )?Downloaded from [^:]+: (\S+) \(([\d.,]+) (B|kB|KB|MB|GB)")
_UNITS = {"B": 1, "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3}


class FetchError(RuntimeError):
    """The server jars could not be fetched (no ``mvn``, no network, unknown version...)."""


def cache_root() -> Path:
    """Root of everything the harness writes: ``$CASSFAST_CACHE`` or ``~/.cache/cassfast``."""
    env = os.environ.get("CASSFAST_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base).resolve() / "cassfast"


def default_version() -> str:
    """``$CASSFAST_CASSANDRA_VERSION`` (a series means its newest release) or DEFAULT_VERSION."""
    return _versions.resolve(os.environ.get("CASSFAST_CASSANDRA_VERSION") or DEFAULT_VERSION)


def artifacts(version: str) -> List[str]:
    """``groupId:artifactId`` of every artifact named in the POM for ``version``."""
    extra = _versions.series(version).extra_artifacts
    return ["org.apache.cassandra:cassandra-all"] + [f"{g}:{a}" for g, a in extra]


def render_pom(version: str) -> str:
    deps = [_DEPENDENCY_TEMPLATE.format(group=g, artifact=a, version=version)
            for g, a in (name.split(":") for name in artifacts(version))]
    return _POM_TEMPLATE.format(dependencies="\n".join(deps))


def parse_downloaded(line: str) -> Optional[int]:
    """Bytes of one ``Downloaded from`` line of Maven's transfer log, None for other lines."""
    match = _DOWNLOADED_RE.match(line.strip())
    if match is None:
        return None
    return int(float(match.group(2).replace(",", "")) * _UNITS[match.group(3)])


def _expected_jars(version: str) -> List[str]:
    return [f"{name.split(':')[1]}-{version}.jar" for name in artifacts(version)]


def lib_dir(version: str) -> Path:
    return cache_root() / f"cassandra-{version}" / "lib"


def is_fetched(version: str) -> bool:
    lib = lib_dir(version)
    return (lib / _COMPLETE_MARKER).is_file() and all((lib / jar).is_file() for jar in _expected_jars(version))


def jamm_jar(lib: Path) -> Path:
    """The jamm agent the server's own launcher always passes with ``-javaagent``."""
    jars = sorted(lib.glob("jamm-*.jar"))
    if not jars:
        raise FetchError(f"no jamm-*.jar in {lib}; the cache is incomplete, delete it and fetch again")
    return jars[-1]


def fetch(version: Optional[str] = None, *, log: Callable[[str], None] = print) -> Path:
    """Make sure the jars of Cassandra ``version`` are cached; return the ``lib`` directory.

    While Maven downloads, a progress line (files and megabytes so far) is logged every few
    seconds.  Raises FetchError with Maven's output when resolution fails.
    """
    version = _versions.resolve(version or default_version())
    lib = lib_dir(version)
    if is_fetched(version):
        log(f"cassandra {version}: jars already cached in {lib}")
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError("'mvn' is not on PATH; Maven is needed to fetch the Cassandra jars")

    lib.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"cassandra {version}: fetching {', '.join(artifacts(version))} and their runtime dependencies with mvn ...")
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=lib.parent) as work:
        pom = Path(work) / "pom.xml"
        pom.write_text(render_pom(version))
        staging = Path(work) / "lib"
        # Not -q: the transfer log is what the progress lines count (batch mode prints one
        # "Downloaded from" line per file, no per-kilobyte updates).
        cmd = [
            mvn, "-B", "-f", str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]
        returncode, output = _run_with_progress(cmd, version, started, log)
        # The parent POM of cassandra-all refers to an unset ${jmc5.path}; Maven reports it as an
        # ERROR line but still succeeds, so the exit status and the jars themselves decide, not the log.
        missing = [jar for jar in _expected_jars(version) if not (staging / jar).is_file()]
        if returncode != 0 or missing:
            raise FetchError(
                f"mvn could not fetch {', '.join(artifacts(version))}:{version} "
                f"(exit {returncode}{', missing ' + ', '.join(missing) if missing else ''}):\n{output[-4000:]}"
            )
        jamm_jar(staging)
        (staging / _COMPLETE_MARKER).write_text(version + "\n")
        if lib.exists():
            shutil.rmtree(lib)
        staging.rename(lib)
    jars = len(list(lib.glob("*.jar")))
    log(f"cassandra {version}: fetched {jars} jars in {time.monotonic() - started:.1f}s into {lib}")
    return lib


def _run_with_progress(cmd: List[str], version: str, started: float, log: Callable[[str], None]):
    """Run Maven, logging how much it downloaded every PROGRESS_INTERVAL seconds; (exit, output)."""
    lines: List[str] = []
    files = size = 0
    last = time.monotonic()
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            got = parse_downloaded(line)
            if got is not None:
                files += 1
                size += got
            now = time.monotonic()
            if got is not None and now - last >= PROGRESS_INTERVAL:
                last = now
                log(f"cassandra {version}: downloaded {files} files ({size / 1e6:.1f} MB) in {now - started:.0f}s ...")
        returncode = proc.wait()
    if files:
        log(f"cassandra {version}: Maven downloaded {files} files ({size / 1e6:.1f} MB)")
    return returncode, "".join(lines)
