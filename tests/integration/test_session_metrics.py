"""Cluster(metrics_enabled=True) against the real node: what the request timer counts, which
server answer or retry decision moves which counter, and the connection gauges.

Consistency TWO on the one-node cluster makes the coordinator answer UNAVAILABLE (required 2,
alive 1) every time, so the error and retry paths are exercised deterministically.  Each test uses
a fresh metrics-enabled Cluster, so every counter starts at 0, and asserts the whole set of
counters: the one that must move, and all the others that must not.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast (the same
semantics are checked against cassandra-driver in test_crossdriver_metrics.py).
"""
from __future__ import annotations

import threading

import pytest

from cassfast import ConsistencyLevel, OperationTimedOut, Unavailable
from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.concurrent import execute_concurrent_with_args
from cassfast.connection import ConnectionException
from cassfast.policies import RetryDecision, RetryPolicy
from cassfast.query import SimpleStatement

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration

COUNTERS = ("connection_errors", "write_timeouts", "read_timeouts", "unavailables",
            "other_errors", "retries", "ignores")


def counters(metrics) -> dict:
    return {name: getattr(metrics, name) for name in COUNTERS}


def only(**moved) -> dict:
    return {name: moved.get(name, 0) for name in COUNTERS}


class Decide(RetryPolicy):
    """Answers the first UNAVAILABLE with ``decision``, rethrows any later one."""

    def __init__(self, decision):
        self.decision = decision

    def on_unavailable(self, query, consistency_level, required_replicas, alive_replicas, retry_num):
        return self.decision if retry_num == 0 else (RetryDecision.RETHROW, None)


@pytest.fixture(scope="module")
def keyspace(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as setup:
        s = setup.connect()
        ks = new_keyspace(s, "metrics")
        s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % ks)
        for k in range(10):
            s.execute("INSERT INTO %s.kv (k, v) VALUES (%d, %d)" % (ks, k, k * 11))
        yield ks
        s.execute("DROP KEYSPACE %s" % ks)


@pytest.fixture
def cluster(cassandra_single):
    points, port = contact_of(cassandra_single)
    c = Cluster(points, port=port, metrics_enabled=True)
    yield c
    c.shutdown()


@pytest.fixture
def session(cluster, keyspace):
    return cluster.connect(keyspace)


def two(policy=None):
    return SimpleStatement("SELECT v FROM kv WHERE k = 1", consistency_level=ConsistencyLevel.TWO,
                           retry_policy=policy)


def test_metrics_are_off_by_default_and_requests_then_carry_no_metrics(cassandra_single, keyspace):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as c:
        s = c.connect(keyspace)
        future = s.execute_async("SELECT v FROM kv WHERE k = 1")
        assert future.result().one().v == 11
        assert c.metrics is None and c.metrics_enabled is False and future._metrics is None


def test_connecting_and_preparing_are_not_counted_but_every_session_request_is(cluster, session):
    metrics = cluster.metrics
    select = session.prepare("SELECT v FROM kv WHERE k = ?")
    # Connect (control connection queries, pools opened in the keyspace) and PREPARE are the
    # driver's own traffic: the reference does not time them either.
    assert metrics.request_timer["count"] == 0
    for k in range(10):
        assert session.execute(select, (k,)).one().v == k * 11
    for future in [session.execute_async(select, (k,)) for k in range(10)]:
        future.result()
    results = execute_concurrent_with_args(session, select, [(k,) for k in range(10)])
    assert all(ok for ok, _ in results)
    stats = dict(metrics.request_timer)
    assert stats["count"] == 30
    assert counters(metrics) == only()
    # Order relations that hold for any latencies (no timing is asserted).
    assert 0 < stats["min"] <= stats["median"] <= stats["75percentile"] <= stats["95percentile"] \
        <= stats["98percentile"] <= stats["99percentile"] <= stats["999percentile"] <= stats["max"]
    assert stats["min"] <= stats["mean"] <= stats["max"] and stats["stddev"] >= 0


def test_each_page_of_a_paged_query_is_one_timed_request(cluster, session):
    rows = list(session.execute(SimpleStatement("SELECT k FROM kv", fetch_size=4)))
    assert sorted(r.k for r in rows) == list(range(10))
    assert cluster.metrics.request_timer["count"] == 3  # 4 + 4 + 2 rows


def test_unavailable_rethrown_moves_only_unavailables(cluster, session):
    with pytest.raises(Unavailable):
        session.execute(two())  # the default policy (FallthroughRetryPolicy) rethrows
    assert counters(cluster.metrics) == only(unavailables=1)
    assert cluster.metrics.request_timer["count"] == 1


def test_a_retry_decided_by_the_policy_moves_retries_once(cluster, session):
    rs = session.execute(two(Decide((RetryDecision.RETRY, ConsistencyLevel.ONE))))
    assert rs.one().v == 11
    assert counters(cluster.metrics) == only(unavailables=1, retries=1)
    assert cluster.metrics.request_timer["count"] == 1  # one request, however many attempts


def test_a_retry_on_the_next_host_counts_as_a_retry(cluster, session):
    with pytest.raises(NoHostAvailable):  # one node: the plan has no next host
        session.execute(two(Decide((RetryDecision.RETRY_NEXT_HOST, None))))
    assert counters(cluster.metrics) == only(unavailables=1, retries=1)


def test_an_ignore_decision_moves_ignores(cluster, session):
    assert session.execute(two(Decide((RetryDecision.IGNORE, None)))).one() is None
    assert counters(cluster.metrics) == only(unavailables=1, ignores=1)


def test_an_invalid_query_is_timed_but_moves_no_error_counter(cluster, session):
    with pytest.raises(Exception):
        session.execute("SELECT nope FROM kv")
    assert counters(cluster.metrics) == only()
    assert cluster.metrics.request_timer["count"] == 1


def test_a_client_timeout_is_timed_and_moves_no_error_counter(cluster, session):
    timeout = 1e-6
    with pytest.raises(OperationTimedOut):
        session.execute("SELECT v FROM kv WHERE k = 1", timeout=timeout)
    stats = dict(cluster.metrics.request_timer)
    assert stats["count"] == 1 and stats["max"] >= timeout  # it lasted at least its timeout
    assert counters(cluster.metrics) == only()


def test_a_connection_lost_under_a_request_moves_connection_errors(cluster, session):
    future_box, done = [], threading.Event()

    def send_then_break_the_connection():
        # On the I/O thread, nothing is read between these two steps: the request is in flight
        # when its connection fails, whatever the server's speed.
        future = session.execute_async("SELECT v FROM kv WHERE k = 1")
        connection = future._current_connection
        connection.defunct(ConnectionException("broken by the test", connection.endpoint))
        future_box.append(future)
        done.set()

    cluster._loop_thread.submit(send_then_break_the_connection)
    assert done.wait(10)
    with pytest.raises(ConnectionException):  # not idempotent: the error is final
        future_box[0].result()
    assert counters(cluster.metrics) == only(connection_errors=1)
    assert cluster.metrics.request_timer["count"] == 1


def open_sockets(pools) -> int:
    """Connections of the pools plus their lanes (cassfast._lanes), counted from the pools."""
    return sum(len(p.connections) + (len(p.lanes._all) if p.lanes is not None else 0)
               for p in pools)


def test_gauges_match_the_cluster_hosts_and_the_sessions_pools(cluster, keyspace):
    metrics = cluster.metrics
    first = cluster.connect(keyspace)
    hosts = cluster.metadata.all_hosts()
    assert metrics.known_hosts() == len(hosts) == 1
    assert metrics.connected_to() == 1
    pools = first.get_pools()
    assert metrics.open_connections() == open_sockets(pools) >= 1
    first.execute("SELECT v FROM kv WHERE k = 1")  # a synchronous caller opens a lane
    assert metrics.open_connections() == open_sockets(pools) >= 2
    second = cluster.connect(keyspace)
    both = pools + second.get_pools()
    assert metrics.connected_to() == 1  # two sessions, still one host
    assert metrics.open_connections() == open_sockets(both)
    second.shutdown()
    assert metrics.open_connections() == open_sockets(first.get_pools())
    stats = metrics.get_stats()
    assert (stats["known_hosts"], stats["connected_to"]) == (1, 1)
    cluster.shutdown()
    assert (metrics.connected_to(), metrics.open_connections()) == (0, 0)
    assert metrics.known_hosts() == len(cluster.metadata.all_hosts())
