"""The synchronous direct-send path (Session.execute writes from the calling thread) against the
real Cassandra node: large frames that the kernel only partly accepts (backlog drained by the
loop, frames kept in order), many threads at once, and a connection killed under threads blocked
in execute (each fails promptly, none hangs, the pool recovers).  Lanes are turned off here
(``sync_lanes_per_host=0``): with them, a blocked caller uses its own connection instead
(tests/integration/test_session_lanes.py).

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast, with
cassandra-driver reading back what cassfast wrote.
"""
import hashlib
import os
import threading
import time

import pytest

from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.connection import ConnectionException
from cassfast.policies import ConstantReconnectionPolicy

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=[5, 4])
def setup(request, cassandra_single):
    points, port = contact_of(cassandra_single)
    cluster = Cluster(points, port=port, protocol_version=request.param, sync_lanes_per_host=0,
                      reconnection_policy=ConstantReconnectionPolicy(0.2, None))
    session = cluster.connect()
    ks = new_keyspace(session)
    session.set_keyspace(ks)
    session.execute("CREATE TABLE blobs (k int PRIMARY KEY, b blob)")
    yield points, port, cluster, session
    session.execute("DROP KEYSPACE %s" % ks)
    cluster.shutdown()


def test_large_frames_from_many_threads_arrive_whole_and_in_order(setup):
    points, port, cluster, session = setup
    connection = session.get_pools()[0].connections[0]
    assert connection._wsock is not None  # plain TCP: the direct path is in use
    insert = session.prepare("INSERT INTO blobs (k, b) VALUES (?, ?)")
    payloads = {k: os.urandom(700_000 + k) for k in range(12)}  # > one v5 segment, > socket buffers
    errors = []
    backlogged = []
    real_watch = connection._watch_writable

    def watch():
        backlogged.append(1)
        real_watch()
    connection._watch_writable = watch
    import socket
    # A small send buffer makes the kernel refuse most of each frame (deterministic backlog).
    connection._wsock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32 * 1024)

    def writer(keys):
        try:
            for k in keys:
                session.execute(insert, (k, payloads[k]), timeout=60)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=writer, args=(list(range(i, 12, 4)),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert backlogged, "the kernel took every frame at once: the backlog path was not exercised"
    from cassandra.cluster import Cluster as RefCluster
    ref = RefCluster(points, port=port)
    try:
        rs = ref.connect(session.keyspace)
        for k, payload in payloads.items():
            got = rs.execute("SELECT b FROM blobs WHERE k = %s", (k,)).one().b
            assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    finally:
        ref.shutdown()
    assert not connection._wbacklog


def test_killed_connection_fails_blocked_callers_promptly_and_the_pool_recovers(setup):
    points, port, cluster, session = setup
    session.execute("INSERT INTO blobs (k, b) VALUES (1, 0x00)")
    select = session.prepare("SELECT k FROM blobs WHERE k = ?")
    pool = session.get_pools()[0]
    victim = pool.connections[0]
    stop = threading.Event()
    outcomes = {"ok": 0, "failed": 0, "other": []}
    lock = threading.Lock()

    def caller():
        while not stop.is_set():
            try:
                session.execute(select, (1,), timeout=10)
                with lock:
                    outcomes["ok"] += 1
            except (ConnectionException, NoHostAvailable):
                with lock:
                    outcomes["failed"] += 1
            except Exception as exc:  # pragma: no cover - reported below
                with lock:
                    outcomes["other"].append(exc)
    threads = [threading.Thread(target=caller) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    cluster._loop_thread.submit(lambda: victim.transport.abort())
    time.sleep(1.5)
    stop.set()
    start = time.monotonic()
    for t in threads:
        t.join(15)
    assert not any(t.is_alive() for t in threads), "a caller is stuck"
    assert time.monotonic() - start < 12
    assert outcomes["other"] == []
    assert outcomes["ok"] > 0
    assert victim.is_defunct and victim._wsock is None  # the duplicate descriptor was closed
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not pool.connections:
        time.sleep(0.05)
    assert pool.connections and pool.connections[0] is not victim
    assert session.execute(select, (1,)).one().k == 1


@pytest.mark.parametrize("request_path", ["caller", "loop"])
def test_a_write_error_defuncts_the_connection_without_deadlock(setup, request_path):
    points, port, cluster, session = setup
    pool = session.get_pools()[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not pool.connections:
        time.sleep(0.05)
    victim = pool.connections[0]
    real = victim._wsock

    class Broken:
        """The duplicate descriptor, except that every send fails as on a reset connection."""

        def send(self, data):
            raise BrokenPipeError(32, "Broken pipe")

        def fileno(self):
            return real.fileno()

        def close(self):
            real.close()
    victim._wsock = Broken()
    if request_path == "loop":
        # execute_async: the loop thread flushes, so the error is met on the loop thread.
        future = session.execute_async("SELECT * FROM system.local", timeout=5)
        with pytest.raises((ConnectionException, NoHostAvailable)):
            future.result()
        assert victim.is_defunct
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (pool.connections and pool.host.is_up):
            time.sleep(0.05)
        assert session.execute("SELECT release_version FROM system.local").one()
        return
    result = {}

    def caller():
        try:
            session.execute("SELECT * FROM system.local", timeout=5)
            result["outcome"] = "ok"
        except (ConnectionException, NoHostAvailable) as exc:
            result["outcome"] = exc
    t = threading.Thread(target=caller)
    t.start()
    t.join(10)
    assert not t.is_alive(), "the caller deadlocked on a write error"
    assert isinstance(result["outcome"], (ConnectionException, NoHostAvailable))
    assert victim.is_defunct
    deadline = time.monotonic() + 10
    # The pool drops the victim on the loop thread: wait for a replacement, not the victim.
    while time.monotonic() < deadline and not (
            pool.connections and victim not in pool.connections and pool.host.is_up):
        time.sleep(0.05)
    assert session.execute("SELECT release_version FROM system.local").one()
