"""Node processes: spawning a JVM in its own process group, identifying it, and stopping it.

A node's pid is kept in a pid file so that the CLI and pytest (separate processes) see the same
nodes.  A pid is only trusted after ``/proc/<pid>/cmdline`` shows it is the CassandraDaemon of
that very node (its cassandra.yaml path), so a recycled pid is never signalled.  Linux only, like
the rest of the harness (it relies on /proc and on 127.0.0.0/8 all being loopback).
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    # The kernel sends SIGKILL to the JVM when the process that spawned it exits, however it
    # exits (including SIGKILL of pytest), so fixture-started nodes never outlive the test run.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(cmd: List[str], stdout_path: Path, *, die_with_parent: bool) -> int:
    """Start ``cmd`` in a new session (own process group); return its pid."""
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    with open(stdout_path, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
            close_fds=True,
        )
    # Liveness is tracked through /proc so that the CLI and other processes can manage the node
    # too; the Popen object is kept only to reap the child (no zombie, no ResourceWarning).
    _children[proc.pid] = proc
    return proc.pid


_children: Dict[int, "subprocess.Popen[bytes]"] = {}


def reap(pid: int) -> None:
    """Collect ``pid``'s exit status if it is our child, so it does not linger as a zombie."""
    proc = _children.get(pid)
    if proc is not None and proc.poll() is not None:
        del _children[pid]


def is_alive(pid: int) -> bool:
    reap(pid)
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # Field 3 (after the parenthesised command name, which may contain spaces) is the state.
    state = stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3]
    return state not in (b"Z", b"X")


def cmdline(pid: int) -> List[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [part.decode(errors="replace") for part in f.read().split(b"\0") if part]
    except (FileNotFoundError, ProcessLookupError):
        return []


def rss_bytes(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def read_pid(pid_file: Path, marker: str) -> Optional[int]:
    """The live pid recorded in ``pid_file`` whose command line contains ``marker``, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    if not is_alive(pid):
        return None
    args = cmdline(pid)
    # /proc/<pid>/cmdline reads empty while a process is being exec'd or set up; a live process
    # must not be taken for a dead one because of that.
    for _ in range(40):
        if args or not is_alive(pid):
            break
        time.sleep(0.05)
        args = cmdline(pid)
    if not any(marker in arg for arg in args) or "org.apache.cassandra.service.CassandraDaemon" not in args:
        return None
    return pid


def terminate(pid: int, grace: float) -> bool:
    """SIGTERM the process group of ``pid``, SIGKILL it after ``grace`` seconds.

    Returns True when the process had to be killed.
    """
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return False
        time.sleep(0.1)
    kill(pid)
    return True


def kill(pid: int) -> None:
    signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the JVM leads its own group (start_new_session)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def port_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode(errors="replace")
    except FileNotFoundError:
        return f"(no {path})"
    return "\n".join(text.splitlines()[-lines:])
