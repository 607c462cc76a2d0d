"""Orphaned streams against the real node: a request that times out on the client keeps its
stream id until the server answers; late answers bring the count down; a connection whose orphans
reach ``Connection.orphaned_threshold`` is replaced by a fresh one while the requests still in
flight on it complete normally, and it closes once drained.

To make the server late deterministically, the node's JVM is paused (SIGSTOP) for about a second
and always resumed (SIGCONT) in a ``finally``.  That pauses the node for every client, so on a
shared development machine run this file against a node of your own, e.g.
``CASSFAST_SINGLE_FIRST_IP=127.0.0.31 python -m pytest tests/integration/test_pool_orphans.py``.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
import contextlib
import time

import pytest

from cassfast import OperationTimedOut
from cassfast.cluster import Cluster
from cassfast.connection import Connection

from _h5_support import contact_of, new_keyspace, paused

pytestmark = pytest.mark.integration


def wait_until(predicate, timeout=60.0):
    """Poll ``predicate`` until true or ``timeout`` (generous: the machine is shared); its value."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


@pytest.fixture(scope="module")
def cluster(cassandra_single):
    points, port = contact_of(cassandra_single)
    c = Cluster(points, port=port)
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def session(cluster):
    s = cluster.connect()
    ks = new_keyspace(s, "orphans")
    s.set_keyspace(ks)
    s.execute("CREATE TABLE kv (k int PRIMARY KEY, v int)")
    insert = s.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    for k in range(100):
        s.execute(insert, (k, k * 11))
    yield s
    s.execute("DROP KEYSPACE %s" % ks)


def time_out_requests(session, statement, count):
    """``count`` requests with a tiny client timeout; returns how many timed out."""
    futures = [session.execute_async(statement, (k % 100,), timeout=0.2) for k in range(count)]
    timed_out = 0
    for f in futures:
        with contextlib.suppress(OperationTimedOut):
            f.result()
            continue
        timed_out += 1
    return timed_out


def test_late_answers_bring_the_orphan_count_down(cassandra_single, session):
    select = session.prepare("SELECT v FROM kv WHERE k = ?")
    (pool,) = session.get_pools()
    (connection,) = pool.connections
    with paused(cassandra_single):
        assert time_out_requests(session, select, 200) == 200
        assert connection.orphaned == 200
        assert len(connection.orphaned_request_ids) == 200
        assert session.get_pool_state()[pool.host]["orphan_requests"] == [connection.orphaned_request_ids]
    # The server answers every request it received; each answer frees its stream id.
    assert wait_until(lambda: connection.orphaned == 0)
    assert connection.in_flight == 0 and not connection.orphaned_request_ids
    assert pool.connections == [connection]  # far below the threshold: kept
    assert not connection.orphaned_threshold_reached
    assert session.execute(select, (7,)).one().v == 77


def test_connection_mostly_orphans_is_replaced_and_its_live_requests_complete(
        cassandra_single, session, monkeypatch):
    monkeypatch.setattr(Connection, "orphaned_threshold", 100)
    select = session.prepare("SELECT v FROM kv WHERE k = ?")
    (pool,) = session.get_pools()
    (old,) = pool.connections
    with paused(cassandra_single):
        live = [(k, session.execute_async(select, (k,), timeout=60)) for k in range(5)]
        assert time_out_requests(session, select, 150) == 150
        assert old.orphaned_threshold_reached
        # The live requests are still waiting on the old connection: it cannot close yet.
        assert not old.is_closed
    # The server comes back: the replacement opens, the old connection is retired and its
    # live requests complete with their own results.
    assert [f.result().one().v for _, f in live] == [k * 11 for k, _ in live]
    assert wait_until(lambda: len(pool.connections) == 1 and pool.connections[0] is not old)
    assert wait_until(lambda: old.is_closed)
    assert not old.is_defunct  # closed on purpose once drained, not failed
    (new,) = pool.connections
    assert new.orphaned == 0 and not new.orphaned_threshold_reached
    assert [session.execute(select, (k,)).one().v for k in range(20)] == [k * 11 for k in range(20)]
    assert pool.in_flight == 0
