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
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

#: The newest 5.0.x Maven Central served when this was written (checked with ``mvn`` resolving
#: the range ``[5.0.0,5.1.0)``).  Pinned so that CI runs are reproducible; override with the
#: ``CASSFAST_CASSANDRA_VERSION`` environment variable or ``--version`` on the command line.
DEFAULT_VERSION = "5.0.9"

_COMPLETE_MARKER = ".complete"

_POM_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.cassfast.testing</groupId>
  <artifactId>cassandra-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


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
    return os.environ.get("CASSFAST_CASSANDRA_VERSION") or DEFAULT_VERSION


def lib_dir(version: str) -> Path:
    return cache_root() / f"cassandra-{version}" / "lib"


def is_fetched(version: str) -> bool:
    lib = lib_dir(version)
    return (lib / _COMPLETE_MARKER).is_file() and (lib / f"cassandra-all-{version}.jar").is_file()


def jamm_jar(lib: Path) -> Path:
    """The jamm agent the server's own launcher always passes with ``-javaagent``."""
    jars = sorted(lib.glob("jamm-*.jar"))
    if not jars:
        raise FetchError(f"no jamm-*.jar in {lib}; the cache is incomplete, delete it and fetch again")
    return jars[-1]


def fetch(version: Optional[str] = None, *, log: Callable[[str], None] = print) -> Path:
    """Make sure the jars of Cassandra ``version`` are cached; return the ``lib`` directory.

    Raises FetchError with Maven's output when resolution fails.
    """
    version = version or default_version()
    lib = lib_dir(version)
    if is_fetched(version):
        log(f"cassandra {version}: jars already cached in {lib}")
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError("'mvn' is not on PATH; Maven is needed to fetch the Cassandra jars")

    lib.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"cassandra {version}: fetching cassandra-all and its runtime dependencies with mvn ...")
    with tempfile.TemporaryDirectory(prefix="fetch-", dir=lib.parent) as work:
        pom = Path(work) / "pom.xml"
        pom.write_text(_POM_TEMPLATE.format(version=version))
        staging = Path(work) / "lib"
        cmd = [
            mvn, "-B", "-q", "-f", str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # The parent POM of cassandra-all refers to an unset ${jmc5.path}; Maven reports it as an
        # ERROR line but still succeeds, so the exit status and the jar itself decide, not the log.
        if proc.returncode != 0 or not (staging / f"cassandra-all-{version}.jar").is_file():
            raise FetchError(
                f"mvn could not fetch org.apache.cassandra:cassandra-all:{version} "
                f"(exit {proc.returncode}):\n{proc.stdout[-4000:]}"
            )
        jamm_jar(staging)
        (staging / _COMPLETE_MARKER).write_text(version + "\n")
        if lib.exists():
            shutil.rmtree(lib)
        staging.rename(lib)
    jars = len(list(lib.glob("*.jar")))
    log(f"cassandra {version}: fetched {jars} jars in {time.monotonic() - started:.1f}s into {lib}")
    return lib
