"""Retry policies against real UNAVAILABLE errors on the 3-node, 2-DC cluster (``cluster3``).

With node 3 (dc2) stopped, a write at ALL to a keyspace replicated on every node gets a genuine
UNAVAILABLE (required 3, alive 2) from the coordinator.  The policies decide what the client sees:
FallthroughRetryPolicy and RetryPolicy surface it, DowngradingConsistencyRetryPolicy retries at
TWO and succeeds, and a seed-style custom policy is called with the server's numbers.
Ran against: Apache Cassandra 5.0 started by the harness, through cassfast's Cluster.
"""
from __future__ import annotations

import uuid

import pytest
from cassandra.cluster import Cluster as RefCluster

from cassfast import ConsistencyLevel, Unavailable
from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassfast.policies import (
    DCAwareRoundRobinPolicy, DowngradingConsistencyRetryPolicy, FallthroughRetryPolicy,
    RetryDecision, RetryPolicy,
)
from cassfast.query import SimpleStatement

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]


@pytest.fixture(scope="module")
def node3_down(cassandra_cluster3):
    ks = "h4_retry_%s" % uuid.uuid4().hex[:8]
    ref = RefCluster(**cassandra_cluster3.reference_cluster_kwargs())
    try:
        s = ref.connect()
        s.execute("CREATE KEYSPACE %s WITH replication = {'class': 'NetworkTopologyStrategy', "
                  "'dc1': 2, 'dc2': 1}" % ks)
        s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % ks)
    finally:
        ref.shutdown()
    third = cassandra_cluster3.nodes[2]
    cassandra_cluster3.stop_node(third.index)
    try:
        yield ks
    finally:
        cassandra_cluster3.start_node(third.index)
        ref = RefCluster(**cassandra_cluster3.reference_cluster_kwargs())
        try:
            ref.connect().execute("DROP KEYSPACE IF EXISTS %s" % ks)
        finally:
            ref.shutdown()


def _session(cassandra_cluster3, retry_policy, keyspace):
    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy("dc1"),
                               retry_policy=retry_policy)
    cluster = Cluster(contact_points=[n.address for n in cassandra_cluster3.nodes[:2]],
                      port=cassandra_cluster3.port, connect_timeout=15,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    return cluster, cluster.connect(keyspace)


def _write_all(session, k):
    stmt = SimpleStatement("INSERT INTO kv (k, v) VALUES (%s, %s)",
                           consistency_level=ConsistencyLevel.ALL)
    return session.execute(stmt, (k, k))


def _unavailable_of(excinfo):
    exc = excinfo.value
    if isinstance(exc, NoHostAvailable):
        errors = list(exc.errors.values())
        assert errors and all(isinstance(e, Unavailable) for e in errors), errors
        return errors[0]
    assert isinstance(exc, Unavailable)
    return exc


def test_fallthrough_surfaces_unavailable(cassandra_cluster3, node3_down):
    cluster, s = _session(cassandra_cluster3, FallthroughRetryPolicy(), node3_down)
    try:
        with pytest.raises((Unavailable, NoHostAvailable)) as excinfo:
            _write_all(s, 1)
        exc = _unavailable_of(excinfo)
        assert (exc.required_replicas, exc.alive_replicas) == (3, 2)
    finally:
        cluster.shutdown()


def test_downgrading_retries_at_two_and_succeeds(cassandra_cluster3, node3_down):
    cluster, s = _session(cassandra_cluster3, DowngradingConsistencyRetryPolicy(), node3_down)
    try:
        _write_all(s, 2)
        row = s.execute(SimpleStatement("SELECT v FROM kv WHERE k = 2",
                                        consistency_level=ConsistencyLevel.TWO)).one()
        assert row.v == 2
    finally:
        cluster.shutdown()


def test_custom_policy_is_called_positionally_with_the_servers_numbers(cassandra_cluster3,
                                                                        node3_down):
    calls = []

    class Recording(RetryPolicy):
        def on_unavailable(self, query, consistency_level, required_replicas, alive_replicas,
                           retry_num):
            calls.append((consistency_level, required_replicas, alive_replicas, retry_num))
            if retry_num == 0:
                return RetryDecision.RETRY, ConsistencyLevel.QUORUM
            return RetryDecision.RETHROW, None

    cluster, s = _session(cassandra_cluster3, Recording(), node3_down)
    try:
        _write_all(s, 3)  # QUORUM of 3 needs 2: the retry succeeds
    finally:
        cluster.shutdown()
    assert calls == [(ConsistencyLevel.ALL, 3, 2, 0)]


def test_retry_policy_tries_next_host_once_then_raises(cassandra_cluster3, node3_down):
    calls = []

    class Counting(RetryPolicy):
        def on_unavailable(self, *args):
            calls.append(args[1:])
            return RetryPolicy.on_unavailable(self, *args)

    cluster, s = _session(cassandra_cluster3, Counting(), node3_down)
    try:
        with pytest.raises((Unavailable, NoHostAvailable)):
            _write_all(s, 4)
    finally:
        cluster.shutdown()
    assert [c[-1] for c in calls] == [0, 1]  # retried once (next host), then rethrown
