"""Which nodes coordinate, judged by the server: each node answers ``system.local`` with its own
address, so a query on it names its coordinator.

Ran against: the harness's 3-node, 2-DC Cassandra 5.0 (``cluster3``: dc1 = nodes 1 and 2, dc2 =
node 3) through cassfast's Cluster.
"""
from __future__ import annotations

import time

import pytest

from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassfast.policies import ConstantReconnectionPolicy, DCAwareRoundRobinPolicy, WhiteListRoundRobinPolicy

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]

QUERIES = 40


def _cluster(node, policy, **kwargs):
    return Cluster(list(node.contact_points), port=node.port, connect_timeout=15,
                   execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=policy)},
                   **kwargs)


def _coordinators(session, n=QUERIES):
    return [str(session.execute("SELECT broadcast_address FROM system.local", timeout=15).one()[0])
            for _ in range(n)]


def test_whitelist_only_ever_coordinates_on_listed_nodes(cassandra_cluster3):
    listed = [cassandra_cluster3.nodes[0].address, cassandra_cluster3.nodes[2].address]
    with _cluster(cassandra_cluster3, WhiteListRoundRobinPolicy(listed)) as cluster:
        seen = _coordinators(cluster.connect())
    assert set(seen) == set(listed), seen


def test_dc_aware_without_remote_hosts_coordinates_only_in_the_local_dc(cassandra_cluster3):
    dc1 = {n.address for n in cassandra_cluster3.nodes[:2]}
    with _cluster(cassandra_cluster3, DCAwareRoundRobinPolicy("dc1", used_hosts_per_remote_dc=0)) as cluster:
        seen = _coordinators(cluster.connect())
    assert set(seen) == dc1, seen


def test_dc_aware_uses_a_remote_node_only_when_the_local_ones_are_down(cassandra_cluster3):
    nodes = cassandra_cluster3.nodes
    dc1 = {n.address for n in nodes[:2]}
    remote = nodes[2].address
    policy = DCAwareRoundRobinPolicy("dc1", used_hosts_per_remote_dc=1)
    with _cluster(cassandra_cluster3, policy, reconnection_policy=ConstantReconnectionPolicy(0.5, None)) as cluster:
        session = cluster.connect()
        assert set(_coordinators(session)) == dc1
        stopped = []
        try:
            for node in nodes[:2]:
                cassandra_cluster3.stop_node(node.index)
                stopped.append(node)
            deadline = time.monotonic() + 60
            while True:  # requests may fail until the driver has seen the local nodes go down
                try:
                    seen = _coordinators(session, 10)
                    break
                except Exception:
                    assert time.monotonic() < deadline, "no coordinator found with dc1 down"
                    time.sleep(0.5)
            assert set(seen) == {remote}, seen
        finally:
            for node in stopped:
                cassandra_cluster3.start_node(node.index)
        deadline = time.monotonic() + 120
        while not set(_coordinators(session, 10)) <= dc1:
            assert time.monotonic() < deadline, "the local nodes never took over again"
            time.sleep(0.5)
