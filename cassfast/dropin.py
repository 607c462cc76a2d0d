"""Opt-in, per environment, to cassfast answering ``import cassandra`` with no code change.

``python -m cassfast.dropin enable`` writes ``cassfast-as-cassandra.pth`` into the site-packages
directory of the interpreter that runs it (a virtualenv's, normally); Python's ``site`` module
then runs ``cassfast._dropin_startup.run()`` at every start of that environment's interpreters,
subprocesses and multiprocessing workers included, which calls ``install_as_cassandra()``.  From
then on cassfast wins over an installed cassandra-driver in that environment: ``import
cassandra`` is cassfast, while the reference stays installed (its distribution metadata still
satisfies libraries that declare a dependency on it).  Nothing is written on ``pip install``:
only this command does it, and ``disable`` removes the file.  ``CASSFAST_AS_CASSANDRA=0`` in the
environment of a process turns the hook off for that process and the children that inherit it.
``status`` says which driver ``import cassandra`` gives here, and why.

See docs/dropin_install.md for when to use it, and for installing libraries that require
cassandra-driver without pulling it in.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Optional, Sequence

PTH_NAME = "cassfast-as-cassandra.pth"
# site runs a .pth line that starts with "import" as one statement: import and call, in one line.
PTH_LINE = ("import cassfast._dropin_startup; cassfast._dropin_startup.run()  "
            "# written by 'python -m cassfast.dropin enable'; 'disable' removes this file\n")
DISABLE_VARIABLE = "CASSFAST_AS_CASSANDRA"


def site_packages() -> Path:
    """Where ``enable`` writes: the running interpreter's purelib (the venv's site-packages)."""
    return Path(sysconfig.get_paths()["purelib"])


def pth_path(directory: Optional[Path] = None) -> Path:
    return (directory or site_packages()) / PTH_NAME


def enable(directory: Optional[Path] = None) -> Path:
    """Write the startup hook; returns its path.  Idempotent."""
    path = pth_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PTH_LINE)
    return path


def disable(directory: Optional[Path] = None) -> Optional[Path]:
    """Remove the startup hook; returns the removed path, or None when there was none."""
    path = pth_path(directory)
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


def reference_distribution() -> Optional[str]:
    """The installed cassandra-driver version, or None."""
    try:
        return importlib.metadata.version("cassandra-driver")
    except importlib.metadata.PackageNotFoundError:
        return None


def status() -> str:
    path = pth_path()
    reference = reference_distribution()
    probe = subprocess.run(
        [sys.executable, "-c", "import cassandra, sys; sys.stdout.write(cassandra.__name__ + ' ' + cassandra.__file__)"],
        capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        answer = "import cassandra fails here"
    else:
        name, _, file = probe.stdout.partition(" ")
        answer = "import cassandra gives %s (%s)" % ("cassfast" if name == "cassfast" else "cassandra-driver", file)
    lines = [
        "startup hook: %s (%s)" % ("enabled" if path.exists() else "not enabled", path),
        "cassandra-driver distribution: %s" % (reference or "not installed"),
        answer,
    ]
    if os.environ.get(DISABLE_VARIABLE) == "0":
        lines.append("%s=0 is set: the hook does nothing in this environment's processes" % DISABLE_VARIABLE)
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cassfast.dropin", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("enable", "disable", "status"))
    parser.add_argument("--site-packages", type=Path, default=None,
                        help="directory to write to or remove from (default: %s)" % site_packages())
    args = parser.parse_args(argv)
    if args.command == "enable":
        path = enable(args.site_packages)
        print("enabled: %s; every interpreter of this environment now imports cassfast as "
              "'cassandra' (set %s=0 to skip it for one process)" % (path, DISABLE_VARIABLE))
        if reference_distribution():
            print("note: cassandra-driver %s is installed too; cassfast wins while the hook "
                  "is enabled" % reference_distribution())
    elif args.command == "disable":
        path = disable(args.site_packages)
        print("disabled: removed %s" % path if path else "was not enabled: no %s" % pth_path(args.site_packages))
    else:
        print(status())
    return 0


if __name__ == "__main__":
    sys.exit(main())
