"""Lanes (``cassfast._lanes``): a thread blocked in ``Session.execute`` drives its own connection.

What is proven here, against the harness's single Apache Cassandra 5.0 node, with the server as the
witness: Cassandra's ``system_views.clients`` counts the requests of every client connection by its
address and port, so a test can tell whether a request travelled on a lane's socket or on the
pool's multiplexed connection.  Also: the lane limit and the fall-back to the pool, keyspace
changes, paging and re-preparing on a lane, a timed-out request's late answer never delivered to
the next request, a thread blocked on a lane woken by ``Cluster.shutdown``, and a lane the server
closed while idle (for longer than the lane's idle-check threshold) replaced before a
non-idempotent write is sent on it.  Pausing the node's JVM
(SIGSTOP/SIGCONT, always resumed in a ``finally``) is how a slow server is made deterministic.
"""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import pytest

from cassfast import OperationTimedOut
from cassfast._lanes import _IDLE_CHECK_AFTER
from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.connection import ConnectionException
from cassfast.query import SimpleStatement

from _h5_support import contact_of, new_keyspace, paused

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(cassandra_single):
    return cassandra_single


@pytest.fixture(scope="module")
def keyspace(node):
    points, port = contact_of(node)
    cluster = Cluster(points, port=port)
    session = cluster.connect()
    ks = new_keyspace(session, "lanes")
    session.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v text)" % ks)
    for k in range(30):
        session.execute("INSERT INTO %s.kv (k, v) VALUES (%%s, %%s)" % ks, (k, "v%d" % k))
    yield ks
    session.execute("DROP KEYSPACE %s" % ks)
    cluster.shutdown()


@contextmanager
def connected(node, keyspace=None, **kwargs):
    points, port = contact_of(node)
    cluster = Cluster(points, port=port, **kwargs)
    try:
        yield cluster, cluster.connect(keyspace)
    finally:
        cluster.shutdown()


def request_counts(node) -> dict:
    """{client port: requests the server counted on that connection} for every client."""
    points, port = contact_of(node)
    with connected(node, sync_lanes_per_host=0) as (_, observer):
        return {r.port: r.request_count for r in observer.execute(
            "SELECT port, request_count FROM system_views.clients")}


def lane_ports(session) -> set:
    return {lane.sock.getsockname()[1] for pool in session.get_pools() for lane in pool.lanes._all}


def pool_ports(session) -> set:
    return {c.transport.get_extra_info("sockname")[1] for pool in session.get_pools()
            for c in pool.connections}


def test_sync_requests_travel_on_a_lane_not_on_the_pool_connection(node, keyspace):
    with connected(node, keyspace) as (cluster, session):
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        session.execute(select, (1,))
        before = request_counts(node)
        for k in range(50):
            assert session.execute(select, (k % 30,)).one().v == "v%d" % (k % 30)
        after = request_counts(node)
        lanes, pooled = lane_ports(session), pool_ports(session)
        assert len(lanes) == 1  # one thread, one lane, reused
        assert sum(after[p] - before.get(p, 0) for p in lanes) >= 50
        assert sum(after[p] - before.get(p, 0) for p in pooled) < 5  # heartbeats at most


def test_with_lanes_off_sync_requests_use_the_pool_connection(node, keyspace):
    with connected(node, keyspace, sync_lanes_per_host=0) as (cluster, session):
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        before = request_counts(node)
        for k in range(50):
            assert session.execute(select, (k % 30,)).one().v == "v%d" % (k % 30)
        after = request_counts(node)
        assert all(pool.lanes is None for pool in session.get_pools())
        assert sum(after[p] - before.get(p, 0) for p in pool_ports(session)) >= 50


def test_threads_beyond_the_lane_limit_fall_back_to_the_pool_and_nothing_is_lost(node, keyspace):
    with connected(node, keyspace, sync_lanes_per_host=2) as (cluster, session):
        session.execute("CREATE TABLE IF NOT EXISTS fanout (t int, i int, PRIMARY KEY (t, i))")
        insert = session.prepare("INSERT INTO fanout (t, i) VALUES (?, ?)")
        before = request_counts(node)
        errors, start = [], threading.Barrier(8)

        def work(t):
            try:
                start.wait()
                for i in range(150):
                    session.execute(insert, (t, i))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        after = request_counts(node)
        assert len(lane_ports(session)) <= 2
        assert sum(after[p] - before.get(p, 0) for p in lane_ports(session)) > 0
        assert sum(after[p] - before.get(p, 0) for p in pool_ports(session)) > 0
        for t in range(8):
            assert session.execute("SELECT count(*) FROM fanout WHERE t = %s", (t,)).one()[0] == 150


def test_a_lane_follows_the_sessions_keyspace(node, keyspace):
    with connected(node) as (cluster, session):
        other = new_keyspace(session, "lanes")
        try:
            session.execute("CREATE TABLE %s.only_here (k int PRIMARY KEY)" % other)
            session.execute("INSERT INTO %s.only_here (k) VALUES (5)" % other)
            session.set_keyspace(keyspace)
            assert session.execute("SELECT v FROM kv WHERE k = 3").one().v == "v3"
            session.set_keyspace(other)
            assert session.execute("SELECT k FROM only_here").one().k == 5
            lanes = [lane for pool in session.get_pools() for lane in pool.lanes._all]
            assert lanes and all(lane.keyspace == other for lane in lanes)
        finally:
            session.execute("DROP KEYSPACE %s" % other)


def test_paging_and_reprepare_run_on_the_lane(node, keyspace):
    with connected(node, keyspace) as (cluster, session):
        session.execute("SELECT v FROM kv WHERE k = 0")
        before = request_counts(node)
        rows = list(session.execute(SimpleStatement("SELECT k FROM kv", fetch_size=7)))
        assert sorted(r.k for r in rows) == list(range(30))
        after = request_counts(node)
        assert sum(after[p] - before.get(p, 0) for p in lane_ports(session)) >= 5  # 30 rows / 7
        assert sum(after[p] - before.get(p, 0) for p in pool_ports(session)) < 5

        session.execute("CREATE TABLE reprep (k int PRIMARY KEY, v int)")
        select = session.prepare("SELECT v FROM reprep WHERE k = ?")
        session.execute("DROP TABLE reprep")  # the server forgets the prepared statement
        session.execute("CREATE TABLE reprep (k int PRIMARY KEY, v int)")
        session.execute("INSERT INTO reprep (k, v) VALUES (1, 7)")
        before = request_counts(node)
        assert session.execute(select, (1,)).one().v == 7
        after = request_counts(node)
        # EXECUTE (UNPREPARED), PREPARE, EXECUTE: all three on the lane.
        assert sum(after[p] - before.get(p, 0) for p in lane_ports(session)) >= 3


def test_a_timed_out_answer_is_never_given_to_the_next_request(node, keyspace):
    with connected(node, keyspace) as (cluster, session):
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        assert session.execute(select, (1,)).one().v == "v1"
        (lane,) = [lane for pool in session.get_pools() for lane in pool.lanes._all]
        with paused(node):
            with pytest.raises(OperationTimedOut):
                session.execute(select, (1,), timeout=0.5)
            assert 0 < len(lane._orphans)  # still owed an answer
        # The late answer (v1) arrives while the next request (k = 2) is waiting on this lane.
        assert session.execute(select, (2,), timeout=30).one().v == "v2"
        lanes = [lane2 for pool in session.get_pools() for lane2 in pool.lanes._all]
        assert lanes == [lane], (lanes, lane, lane.broken)
        for _ in range(20):
            assert session.execute(select, (3,)).one().v == "v3"
        assert not lane._orphans, (lane._orphans, lane._stream, lane.broken)


def test_shutdown_wakes_a_thread_blocked_on_a_lane(node, keyspace):
    with connected(node, keyspace) as (cluster, session):
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        session.execute(select, (1,))
        outcome = []
        with paused(node):
            def blocked():
                try:
                    session.execute(select, (1,), timeout=None)
                    outcome.append("answered")
                except Exception as exc:
                    outcome.append(exc)
            thread = threading.Thread(target=blocked)
            thread.start()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                    lane not in pool.lanes._idle for pool in session.get_pools() for lane in pool.lanes._all):
                time.sleep(0.01)
            time.sleep(0.2)
            cluster.shutdown()
            thread.join(10)
            assert not thread.is_alive(), "the thread blocked on the lane was not woken"
        assert len(outcome) == 1 and isinstance(outcome[0], (NoHostAvailable, ConnectionException))


def test_a_lane_the_server_closed_while_idle_is_replaced_before_a_write(node, keyspace):
    with connected(node, keyspace) as (cluster, session):
        session.execute("CREATE TABLE IF NOT EXISTS once (k int PRIMARY KEY, n counter)")
        bump = session.prepare("UPDATE once SET n = n + 1 WHERE k = ?")  # not idempotent
        assert not bump.is_idempotent
        session.execute(bump, (1,))
        (lane,) = [lane for pool in session.get_pools() for lane in pool.lanes._all]
        old_port = lane.sock.getsockname()[1]
        # Bytes that break the protocol make the server drop the connection (it may first send
        # an error); wait until its end is closed, the lane idle in the pool all along.
        lane.sock.sendall(b"\xff" * 64)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if old_port not in request_counts(node):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the server did not close the connection it was sent garbage on")
        # Lanes idle for _IDLE_CHECK_AFTER are checked before use (more recent ones are not:
        # see cassfast._lanes); this one has sat idle since its last request.
        time.sleep(max(0.0, lane.last_used + _IDLE_CHECK_AFTER + 0.05 - time.monotonic()))
        session.execute(bump, (1,))
        assert session.execute("SELECT n FROM once WHERE k = 1").one().n == 2
        assert old_port not in lane_ports(session)


def test_lanes_work_with_protocol_v4_and_compression(node, keyspace):
    for kwargs in (dict(protocol_version=4, compression="lz4"), dict(protocol_version=4, compression=False),
                   dict(protocol_version=5, compression=False)):
        with connected(node, keyspace, **kwargs) as (cluster, session):
            select = session.prepare("SELECT v FROM kv WHERE k = ?")
            values = [session.execute(select, (k,)).one().v for k in range(30)]
            assert values == ["v%d" % k for k in range(30)], kwargs
            assert len(lane_ports(session)) == 1, kwargs


def test_sync_lanes_per_host_is_validated():
    with pytest.raises(ValueError):
        Cluster(["127.0.0.1"], sync_lanes_per_host=-1)
    assert Cluster(["127.0.0.1"]).sync_lanes_per_host == 8


def test_sockopts_are_set_on_pool_connections_and_lanes(node, keyspace):
    # As the reference: Cluster(sockopts=[(level, option, value)]) applies to every socket.
    with connected(node, keyspace, sockopts=[(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]) as (
            cluster, session):
        session.execute("SELECT v FROM kv WHERE k = 1")
        pooled = [c.transport.get_extra_info("socket") for p in session.get_pools() for c in p.connections]
        lanes = [lane.sock for p in session.get_pools() for lane in p.lanes._all]
        assert pooled and lanes
        for sock in pooled + lanes:
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    with connected(node, keyspace) as (cluster, session):
        session.execute("SELECT v FROM kv WHERE k = 1")
        (lane,) = [lane for p in session.get_pools() for lane in p.lanes._all]
        assert lane.sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


def test_an_interrupted_lane_request_discards_the_lane(node, keyspace):
    # A KeyboardInterrupt raised inside the blocking read (simulated by a recv that raises it)
    # leaves the lane mid-request: it must be closed, not returned, and the next request works.
    with connected(node, keyspace) as (cluster, session):
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        session.execute(select, (1,))
        (lane,) = [lane for p in session.get_pools() for lane in p.lanes._all]

        class Interrupting:
            def __init__(self, sock):
                self._sock = sock

            def __getattr__(self, name):
                return getattr(self._sock, name)

            def recv(self, *args):
                raise KeyboardInterrupt
        real = lane.sock
        lane.sock = Interrupting(real)
        with pytest.raises(KeyboardInterrupt):
            session.execute(select, (2,))
        assert lane.broken and lane not in [l for p in session.get_pools() for l in p.lanes._all]
        assert real.fileno() == -1  # closed
        assert session.execute(select, (3,)).one().v == "v3"


def test_a_host_marked_down_wakes_threads_blocked_on_its_lanes(node, keyspace):
    # No client timeout: only the host's connections dying can end the wait.  Heartbeats every
    # second find the paused node dead, the pool loses its connection, the host is marked down,
    # and the lane the thread sleeps on is shut down under it.  (Whether the host still reads
    # as down when the thread has woken depends on what the pool tried meanwhile, so only the
    # wake-up and its error are asserted.)
    with connected(node, keyspace, idle_heartbeat_interval=1, idle_heartbeat_timeout=1) as (
            cluster, session):
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        session.execute(select, (1,))
        outcome = []
        with paused(node):
            thread = threading.Thread(target=lambda: _record(outcome, session.execute, select, (1,),
                                                             timeout=None))
            thread.start()
            thread.join(30)
            assert not thread.is_alive(), "the blocked thread outlived its host being marked down"
        assert len(outcome) == 1 and isinstance(outcome[0], (ConnectionException, NoHostAvailable)), outcome


def _record(outcome, fn, *args, **kwargs):
    try:
        outcome.append(fn(*args, **kwargs))
    except Exception as exc:
        outcome.append(exc)
