"""Shared helpers of the session/pool/cluster integration tests (H5's): where the node is, and
fresh keyspaces.  Tests run against the project's real Cassandra node started by the harness
(``python -m cassfast.testing.cluster start single``, fixture ``cassandra_single``).
"""
from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid


def contact_of(node) -> tuple[list[str], int]:
    """(contact_points, port) from whatever the harness fixture yields."""
    if node is None:
        return ["127.0.0.1"], 9042
    if isinstance(node, str):
        return [node], 9042
    for attr in ("contact_points", "addresses", "hosts"):
        value = getattr(node, attr, None)
        if value:
            value = list(value)
            port = getattr(node, "port", None) or getattr(node, "native_port", None) or 9042
            return [str(v) for v in value], int(port)
    address = getattr(node, "address", None) or getattr(node, "host", None) or "127.0.0.1"
    port = getattr(node, "port", None) or getattr(node, "native_port", None) or 9042
    return [str(address)], int(port)


def new_keyspace(session, prefix: str = "h5") -> str:
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:10])
    session.execute("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', "
                    "'replication_factor': 1}" % name)
    return name


def io_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("cassfast-io")]


def _thread_states(pid: int) -> list[str]:
    """The scheduler state letter of each thread of ``pid`` (``T`` once stopped)."""
    states = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                # "tid (comm) S ...": the comm may hold spaces and parentheses.
                states.append(f.read().rpartition(")")[2].split()[0])
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return states


def _wait_all_threads_stopped(pid: int, timeout: float = 10.0) -> None:
    """SIGSTOP is delivered asynchronously: a JVM thread running on another core can still
    answer a request just after ``kill`` returns.  Wait until every thread reports stopped."""
    deadline = time.monotonic() + timeout
    while True:
        states = _thread_states(pid)
        if all(s in ("T", "t", "Z", "X") for s in states):
            return
        if time.monotonic() > deadline:
            raise AssertionError("node JVM %d not stopped %.0fs after SIGSTOP: thread states %s"
                                 % (pid, timeout, sorted(set(states))))
        time.sleep(0.005)


@contextlib.contextmanager
def paused(node, index: int = 1):
    """Node ``index``'s JVM stopped (SIGSTOP) for the duration of the block and resumed
    whatever happens: the way these tests make the server slow or silent deterministically."""
    pid = node.pid(index)
    assert pid is not None, "the harness reports no running JVM for node %d" % index
    os.kill(pid, signal.SIGSTOP)
    try:
        _wait_all_threads_stopped(pid)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
