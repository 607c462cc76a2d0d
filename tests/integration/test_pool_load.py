"""Pools under load against the real Cassandra node: 10,000 concurrent requests with no lost
response, stream back-pressure, and a connection killed mid-load (only its requests fail, the
pool reconnects).

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
import threading
import time

import pytest

from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.connection import ConnectionException
from cassfast.policies import ConstantReconnectionPolicy

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(cassandra_single):
    points, port = contact_of(cassandra_single)
    c = Cluster(points, port=port, reconnection_policy=ConstantReconnectionPolicy(0.2, None))
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def session(cluster):
    s = cluster.connect()
    ks = new_keyspace(s)
    s.set_keyspace(ks)
    s.execute("CREATE TABLE kv (k int PRIMARY KEY, v int)")
    yield s
    s.execute("DROP KEYSPACE %s" % ks)


def test_10000_concurrent_requests_all_answered_with_their_own_result(session):
    insert = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    select = session.prepare("SELECT v FROM kv WHERE k = ?")
    futures = [session.execute_async(insert, (k, k * 3)) for k in range(10000)]
    for f in futures:
        f.result()
    futures = [(k, session.execute_async(select, (k,))) for k in range(10000)]
    for k, f in futures:
        assert f.result().one().v == k * 3
    # Every stream id came back.
    assert all(pool.in_flight == 0 for pool in session.get_pools())


def test_requests_beyond_the_stream_limit_wait_instead_of_failing(cluster, session):
    pool = session.get_pools()[0]
    connection = pool.connections[0]
    saved = connection._max_ids
    connection._max_ids = min(saved, 9)  # 8 usable ids: force the back-pressure path
    try:
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        futures = [session.execute_async(select, (k,)) for k in range(500)]
        results = [f.result().one().v for f in futures]
    finally:
        connection._max_ids = saved
    assert results == [k * 3 for k in range(500)]


def test_killed_connection_fails_only_its_requests_and_the_pool_recovers(cluster, session):
    select = session.prepare("SELECT v FROM kv WHERE k = ?")
    pool = session.get_pools()[0]
    victim = pool.connections[0]
    futures = [session.execute_async(select, (k % 1000,)) for k in range(3000)]
    # Close the socket under the in-flight requests, from outside the driver.
    sock = victim.transport.get_extra_info("socket")
    cluster._loop_thread.submit(lambda: victim.transport.abort())
    ok, failed = 0, 0
    for f in futures:
        try:
            f.result()
            ok += 1
        except (ConnectionException, NoHostAvailable) as exc:
            failed += 1
    assert ok + failed == 3000  # nothing was forgotten
    assert victim.is_defunct
    # The pool reconnects on the reconnection schedule (0.2 s) and serves requests again.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not pool.connections:
        time.sleep(0.05)
    assert pool.connections and pool.connections[0] is not victim
    assert session.execute(select, (5,)).one().v == 15
    assert sock is not None


def test_many_threads_calling_execute_get_their_own_answers(session):
    select = session.prepare("SELECT v FROM kv WHERE k = ?")
    errors = []

    def worker(offset):
        for k in range(offset, offset + 300):
            v = session.execute(select, (k,)).one().v
            if v != k * 3:
                errors.append((k, v))
    threads = [threading.Thread(target=worker, args=(i * 300,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
