"""Smoke tests of the ``cluster3`` variant (3 nodes, 2 datacenters), via cassandra-driver.

Each node must know the two others with the right datacenters (dc1: first and second address,
dc2: third), own the balanced token the harness promised, and the ring must take writes that need
every replica in both datacenters.  The failover test stops and restarts a node through the
fixture, as failover tests of the driver will.
"""
from __future__ import annotations

import uuid

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassandra.policies import FallthroughRetryPolicy, WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]

# Independent source: the three balanced Murmur3 tokens listed in /work/shared/CASSANDRA.md
# (-2**63 + i * 2**64 / 3, truncated).
EXPECTED_TOKENS = [-9223372036854775808, -3074457345618258603, 3074457345618258602]


def _node_session(cassandra_cluster3, address):
    cluster = Cluster(
        **cassandra_cluster3.reference_cluster_kwargs(
            contact_points=[address],
            execution_profiles={
                EXEC_PROFILE_DEFAULT: ExecutionProfile(
                    load_balancing_policy=WhiteListRoundRobinPolicy([address]),
                    retry_policy=FallthroughRetryPolicy(),
                )
            },
        )
    )
    return cluster, cluster.connect()


def test_cluster3_has_three_nodes_in_two_datacenters(cassandra_cluster3):
    nodes = cassandra_cluster3.nodes
    assert [n.datacenter for n in nodes] == ["dc1", "dc1", "dc2"]
    assert cassandra_cluster3.datacenters == ["dc1", "dc2"]
    assert len(set(cassandra_cluster3.contact_points)) == 3


def test_cluster3_every_node_lists_the_two_others_with_their_datacenters(cassandra_cluster3):
    expected = {n.address: n.datacenter for n in cassandra_cluster3.nodes}
    for node in cassandra_cluster3.nodes:
        cluster, session = _node_session(cassandra_cluster3, node.address)
        try:
            local = session.execute("SELECT data_center, tokens FROM system.local").one()
            peers = {str(r.peer): r.data_center for r in session.execute("SELECT peer, data_center FROM system.peers")}
        finally:
            cluster.shutdown()
        assert local.data_center == node.datacenter
        assert [int(t) for t in local.tokens] == [EXPECTED_TOKENS[node.index - 1]]
        assert peers == {a: dc for a, dc in expected.items() if a != node.address}


@pytest.fixture(scope="module")
def ring_table(cassandra_cluster3):
    """harness_ring.kv, replicated to every node: dc1 twice (both nodes), dc2 once."""
    cluster = Cluster(**cassandra_cluster3.reference_cluster_kwargs())
    try:
        session = cluster.connect()
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS harness_ring WITH replication = "
            "{'class': 'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}"
        )
        session.execute("CREATE TABLE IF NOT EXISTS harness_ring.kv (k uuid PRIMARY KEY, v int)")
    finally:
        cluster.shutdown()
    return "harness_ring.kv"


def test_cluster3_takes_writes_needing_every_replica_in_both_datacenters(cassandra_cluster3, ring_table):
    cluster = Cluster(**cassandra_cluster3.reference_cluster_kwargs())
    try:
        session = cluster.connect()
        key = uuid.uuid4()
        session.execute(
            SimpleStatement("INSERT INTO harness_ring.kv (k, v) VALUES (%s, 7)", consistency_level=ConsistencyLevel.ALL),
            (key,),
        )
        row = session.execute(
            SimpleStatement("SELECT v FROM harness_ring.kv WHERE k = %s", consistency_level=ConsistencyLevel.ALL),
            (key,),
        ).one()
        assert row.v == 7
    finally:
        cluster.shutdown()


def test_cluster3_node_can_be_stopped_and_restarted(cassandra_cluster3, ring_table):
    from cassandra import Unavailable
    from cassandra.protocol import UnavailableErrorMessage

    third = cassandra_cluster3.nodes[2]
    first = cassandra_cluster3.nodes[0]
    cassandra_cluster3.stop_node(third.index)
    try:
        assert cassandra_cluster3.pid(third.index) is None
        cluster, session = _node_session(cassandra_cluster3, first.address)
        try:
            # dc2's only replica is down, so the coordinator refuses a write needing it
            # (the retry policy lets the error through instead of trying another host).
            stmt = SimpleStatement(
                "INSERT INTO harness_ring.kv (k, v) VALUES (%s, 1)", consistency_level=ConsistencyLevel.ALL
            )
            with pytest.raises((Unavailable, UnavailableErrorMessage)):
                session.execute(stmt, (uuid.uuid4(),))
        finally:
            cluster.shutdown()
    finally:
        cassandra_cluster3.start_node(third.index)
    assert cassandra_cluster3.is_healthy()
