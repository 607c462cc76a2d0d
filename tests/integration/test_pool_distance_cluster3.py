"""Pools follow distances as they move, on the 3-node, 2-DC cluster (``cluster3``).

``DCAwareRoundRobinPolicy(local_dc='dc2', used_hosts_per_remote_dc=1)`` makes the dc2 node LOCAL,
the first live dc1 node REMOTE and the other dc1 node IGNORED.  Pools are sized per distance
(LOCAL 1 connection, REMOTE 2 here).  When the REMOTE node stops, the policy brings the other dc1
node in, and the session opens a REMOTE-sized pool to it; when the stopped node is back, it is
IGNORED again and loses its pool.  Which pools exist is checked against the servers' own
``system_views.clients`` too.

Ran against: Apache Cassandra 5.0 started by the harness, through cassfast's Cluster.
"""
from __future__ import annotations

import time

import pytest
from cassandra.cluster import EXEC_PROFILE_DEFAULT as REF_DEFAULT
from cassandra.cluster import Cluster as RefCluster
from cassandra.cluster import ExecutionProfile as RefProfile
from cassandra.policies import WhiteListRoundRobinPolicy as RefWhiteList

from cassfast.cluster import Cluster
from cassfast.policies import DCAwareRoundRobinPolicy, HostDistance

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]


def wait_until(predicate, timeout=120.0):
    """Poll ``predicate`` until true or ``timeout`` (node restarts are slow here); its value."""
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.1)
    return predicate()


def pool_sizes(session):
    """{address: (distance, open connections)} of the session's live pools."""
    return {host.address: (pool.host_distance, pool.open_count)
            for host, pool in list(session._pools.items()) if not pool.is_shutdown}


def server_client_ports(node, port):
    """Client ports of the connections node ``node`` has, asked of that node alone
    (cassandra-driver, white-listed to it)."""
    profile = RefProfile(load_balancing_policy=RefWhiteList([node]))
    ref = RefCluster([node], port=port, execution_profiles={REF_DEFAULT: profile})
    try:
        return {row.port for row in ref.connect().execute("SELECT port FROM system_views.clients")}
    finally:
        ref.shutdown()


def local_ports(session, address):
    pool = next(p for h, p in session._pools.items() if h.address == address)
    return {c.transport.get_extra_info("sockname")[1] for c in pool.connections}


def test_pools_follow_used_hosts_per_remote_dc_as_nodes_stop_and_return(cassandra_cluster3):
    nodes = cassandra_cluster3.nodes
    dc1 = [n for n in nodes if n.datacenter == "dc1"]
    (dc2,) = [n for n in nodes if n.datacenter == "dc2"]
    policy = DCAwareRoundRobinPolicy(local_dc="dc2", used_hosts_per_remote_dc=1)
    cluster = Cluster(contact_points=[n.address for n in nodes], port=cassandra_cluster3.port,
                      load_balancing_policy=policy, connect_timeout=15)
    cluster.set_core_connections_per_host(HostDistance.REMOTE, 2)
    stopped = None
    try:
        session = cluster.connect()
        sizes = pool_sizes(session)
        remote = [a for a, (d, _) in sizes.items() if d == HostDistance.REMOTE]
        assert len(remote) == 1 and remote[0] in {n.address for n in dc1}
        (other,) = [n.address for n in dc1 if n.address != remote[0]]
        assert sizes == {dc2.address: (HostDistance.LOCAL, 1), remote[0]: (HostDistance.REMOTE, 2)}
        # The REMOTE node's own view: it has this session's two connections.
        assert local_ports(session, remote[0]) <= server_client_ports(remote[0], cassandra_cluster3.port)
        stopped = next(n for n in dc1 if n.address == remote[0])

        cassandra_cluster3.stop_node(stopped.index)
        assert wait_until(lambda: pool_sizes(session).get(other) == (HostDistance.REMOTE, 2))
        assert local_ports(session, other) <= server_client_ports(other, cassandra_cluster3.port)
        # Requests keep working through the LOCAL node meanwhile.
        assert session.execute("SELECT release_version FROM system.local").one() is not None

        cassandra_cluster3.start_node(stopped.index)
        stopped = None
        # Back up, the first node is IGNORED now (the other dc1 node holds the remote slot):
        # its pool goes away, and the REMOTE pool stays where it is.
        assert wait_until(lambda: remote[0] not in pool_sizes(session)
                          and pool_sizes(session).get(other) == (HostDistance.REMOTE, 2))
        assert policy.distance(cluster.metadata.get_host(remote[0])) == HostDistance.IGNORED
    finally:
        if stopped is not None:
            cassandra_cluster3.start_node(stopped.index)
        cluster.shutdown()
