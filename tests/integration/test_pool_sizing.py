"""Pool sizing by distance, live, against the real node: pools open the configured number of
connections, a change after connect resizes them, they grow under load up to max and shrink back
to core, distances decide the size (LOCAL, REMOTE, IGNORED, ``connect_to_remote_hosts``), and
10,000 requests all succeed while the pool is resized under them.

Connections are counted on both sides: the pool's own list, and the server's
``system_views.clients`` (one row per client connection, keyed by the client's address and port),
so the counts do not rest on the driver's word alone.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
import threading
import time

import pytest

from cassfast import pool as pool_module
from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.policies import HostDistance, RoundRobinPolicy

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration

ROWS = 1000


def wait_until(predicate, timeout=30.0):
    """Poll ``predicate`` until true or ``timeout`` (generous: the machine is shared); its value."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.05)
    return predicate()


class SettableDistancePolicy(RoundRobinPolicy):
    """Round robin whose distance for every host is whatever the test sets."""

    def __init__(self):
        super().__init__()
        self.current = HostDistance.LOCAL

    def distance(self, host):
        return self.current


@pytest.fixture(scope="module")
def node(cassandra_single):
    return contact_of(cassandra_single)


@pytest.fixture(scope="module")
def observer(node):
    """A separate cluster that asks the server which client connections it has."""
    points, port = node
    c = Cluster(points, port=port)
    s = c.connect()
    ks = new_keyspace(s, "pools")
    s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % ks)
    insert = s.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
    for k in range(ROWS):
        s.execute(insert, (k, k * 7))
    s.keyspace_for_tests = ks
    yield s
    s.execute("DROP KEYSPACE %s" % ks)
    c.shutdown()


def local_ports(pool):
    return {c.transport.get_extra_info("sockname")[1] for c in pool.connections}


def server_ports(observer):
    """Client ports of every connection the server has (its own view, system_views.clients)."""
    return {row.port for row in observer.execute("SELECT port FROM system_views.clients")}


def new_cluster(node, **kwargs):
    points, port = node
    return Cluster(points, port=port, **kwargs)


def test_pool_opens_the_configured_core_connections(node, observer):
    cluster = new_cluster(node)
    try:
        cluster.set_core_connections_per_host(HostDistance.LOCAL, 3)
        session = cluster.connect()
        (pool,) = session.get_pools()
        assert pool.open_count == 3
        assert len(local_ports(pool)) == 3
        assert local_ports(pool) <= server_ports(observer)
    finally:
        cluster.shutdown()


def test_default_is_one_connection_per_host_as_the_reference_with_protocol_v3_plus(node):
    # The reference's HostConnection (protocol v3+) opens exactly one connection per host.
    cluster = new_cluster(node)
    try:
        session = cluster.connect()
        assert [p.open_count for p in session.get_pools()] == [1]
    finally:
        cluster.shutdown()


def test_raising_core_after_connect_opens_connections_and_lowering_it_closes_them(node, observer):
    cluster = new_cluster(node)
    try:
        session = cluster.connect(observer.keyspace_for_tests)
        (pool,) = session.get_pools()
        first = local_ports(pool)
        cluster.set_max_connections_per_host(HostDistance.LOCAL, 4)
        cluster.set_core_connections_per_host(HostDistance.LOCAL, 4)
        assert wait_until(lambda: pool.open_count == 4)
        grown = local_ports(pool)
        assert first <= grown and len(grown) == 4
        assert grown <= server_ports(observer)
        # New connections are in the session's keyspace: an unqualified query works on each.
        assert all(c.keyspace == observer.keyspace_for_tests for c in pool.connections)

        cluster.set_core_connections_per_host(HostDistance.LOCAL, 1)
        cluster.set_max_connections_per_host(HostDistance.LOCAL, 1)
        assert wait_until(lambda: pool.open_count == 1)
        kept = local_ports(pool)
        retired = grown - kept
        assert len(retired) == 3
        # The server sees the retired connections go away (drained, then closed).
        assert wait_until(lambda: not (retired & server_ports(observer)))
        assert session.execute("SELECT v FROM kv WHERE k = 5").one().v == 35
    finally:
        cluster.shutdown()


def test_pool_grows_by_load_up_to_max_and_shrinks_back_to_core(node, observer, monkeypatch):
    # No lanes: the one-at-a-time requests below must go through the pool's connections.
    cluster = new_cluster(node, sync_lanes_per_host=0)
    try:
        cluster.set_max_connections_per_host(HostDistance.LOCAL, 3)
        session = cluster.connect(observer.keyspace_for_tests)
        (pool,) = session.get_pools()
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        # Growth threshold: the reference's max_requests_per_connection (100 live requests).
        assert cluster.get_max_requests_per_connection(HostDistance.LOCAL) == 100
        # Light load (one request at a time) never reaches the threshold: no growth.
        for k in range(50):
            assert session.execute(select, (k,)).one().v == k * 7
        assert pool.open_count == 1
        seen = []
        for _ in range(20):  # bursts of 500 in flight until the pool has grown to max
            futures = [session.execute_async(select, (k % ROWS,)) for k in range(500)]
            assert [f.result().one().v for f in futures] == [(k % ROWS) * 7 for k in range(500)]
            seen.append(pool.open_count + pool._opening)
            if pool.open_count == 3:
                break
        assert pool.open_count == 3
        assert max(seen) <= 3
        assert local_ports(pool) <= server_ports(observer)
        # Without the hysteresis delay, light load retires the connections above core as the
        # pool drains (the first answers after the burst already find it idle).
        monkeypatch.setattr(pool_module, "_MIN_TRASH_INTERVAL", 0.0)
        grown = local_ports(pool)
        for k in range(20):
            assert session.execute(select, (k,)).one().v == k * 7
            if pool.open_count == 1:
                break
        assert pool.open_count == 1
        assert wait_until(lambda: not ((grown - local_ports(pool)) & server_ports(observer)))
    finally:
        cluster.shutdown()


def test_distance_decides_the_pool_size_and_a_change_resizes_or_removes_it(node, observer):
    policy = SettableDistancePolicy()
    cluster = new_cluster(node, load_balancing_policy=policy)
    try:
        cluster.set_core_connections_per_host(HostDistance.LOCAL, 2)
        cluster.set_core_connections_per_host(HostDistance.REMOTE, 1)
        session = cluster.connect()
        (pool,) = session.get_pools()
        assert pool.open_count == 2 and pool.host_distance == HostDistance.LOCAL

        policy.current = HostDistance.REMOTE
        session.update_created_pools()
        assert pool.host_distance == HostDistance.REMOTE
        assert wait_until(lambda: pool.open_count == 1)

        policy.current = HostDistance.IGNORED
        session.update_created_pools()
        assert session.get_pools() == [] and pool.is_shutdown
        assert not (local_ports(pool) & server_ports(observer))

        policy.current = HostDistance.LOCAL
        session.update_created_pools()
        (renewed,) = session.get_pools()
        assert renewed is not pool and renewed.open_count == 2
        assert session.execute("SELECT release_version FROM system.local").one() is not None
    finally:
        cluster.shutdown()


def test_remote_hosts_get_no_pool_when_connect_to_remote_hosts_is_false(node):
    policy = SettableDistancePolicy()
    policy.current = HostDistance.REMOTE
    cluster = new_cluster(node, load_balancing_policy=policy)
    cluster.connect_to_remote_hosts = False
    try:
        with pytest.raises(NoHostAvailable):  # every host is remote: nothing to connect to
            cluster.connect()
    finally:
        cluster.shutdown()
    cluster = new_cluster(node, load_balancing_policy=policy)
    try:
        session = cluster.connect()
        assert [p.host_distance for p in session.get_pools()] == [HostDistance.REMOTE]
    finally:
        cluster.shutdown()


def test_10000_requests_all_succeed_while_the_pool_resizes_under_them(node, observer):
    # Without lanes, synchronous callers send on the pool's connections from their own thread,
    # which races with the loop retiring them (the draining handshake in send_request).
    cluster = new_cluster(node, sync_lanes_per_host=0)
    try:
        session = cluster.connect(observer.keyspace_for_tests)
        (pool,) = session.get_pools()
        select = session.prepare("SELECT v FROM kv WHERE k = ?")
        stop = threading.Event()
        sizes = []

        def resize_repeatedly():
            # Between 1 and 4 connections, over and over, while requests are in flight.
            while not stop.is_set():
                for size in (4, 1, 3, 2, 1):
                    cluster.set_max_connections_per_host(HostDistance.LOCAL, size)
                    cluster.set_core_connections_per_host(HostDistance.LOCAL, size)
                    time.sleep(0.02)
                    sizes.append(pool.open_count + len(pool._trash))

        sync_results, sync_errors = [], []

        def synchronous_caller(offset):
            # Synchronous execute sends from this thread: the draining handshake with the pool.
            try:
                for k in range(500):
                    key = (offset + k) % ROWS
                    sync_results.append(session.execute(select, (key,)).one().v == key * 7)
            except Exception as exc:  # reported below, with the rest
                sync_errors.append(exc)

        resizer = threading.Thread(target=resize_repeatedly)
        callers = [threading.Thread(target=synchronous_caller, args=(i * 100,)) for i in range(2)]
        resizer.start()
        for t in callers:
            t.start()
        try:
            results = []
            for start in range(0, 9000, 300):  # 300 in flight at a time, 9,000 in all
                futures = [session.execute_async(select, (k % ROWS,)) for k in range(start, start + 300)]
                results.extend((k, f) for k, f in zip(range(start, start + 300), futures))
                for k, f in results[-300:]:
                    assert f.result().one().v == (k % ROWS) * 7
        finally:
            for t in callers:
                t.join()
            stop.set()
            resizer.join()
        assert len(results) == 9000
        assert sync_errors == []
        assert len(sync_results) == 1000 and all(sync_results)
        assert max(sizes) > 1  # the pool really was resized during the run
        assert pool.in_flight == 0
    finally:
        cluster.shutdown()
