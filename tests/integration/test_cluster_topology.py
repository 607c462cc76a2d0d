"""Multi-node behaviour on the harness's 3-node, 2-datacenter cluster (dc1 holds the first two
nodes, dc2 the third): discovery, pools by distance, token-aware routing, and a node stopped
and restarted (host listeners hear down and up; requests keep working meanwhile).

Server: Apache Cassandra 5.0, variant ``cluster3``.  Implementation: cassfast.
"""
import time

import pytest

from cassfast import ConsistencyLevel
from cassfast.cluster import Cluster
from cassfast.policies import (ConstantReconnectionPolicy, DCAwareRoundRobinPolicy, HostStateListener,
                               TokenAwarePolicy)

from _h5_support import contact_of

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]


class Recorder(HostStateListener):
    def __init__(self):
        self.events = []

    def on_add(self, host):
        self.events.append(("add", host.address))

    def on_up(self, host):
        self.events.append(("up", host.address))

    def on_down(self, host):
        self.events.append(("down", host.address))

    def on_remove(self, host):
        self.events.append(("remove", host.address))


def _wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.fixture(scope="module")
def cluster3(cassandra_cluster3):
    return cassandra_cluster3


def _dcs(cluster3):
    """{address: datacenter} of the harness's nodes (addresses move with CASSFAST_CLUSTER3_FIRST_IP)."""
    return {n.address: n.datacenter for n in cluster3.nodes}


def _dc1(cluster3):
    return sorted(a for a, dc in _dcs(cluster3).items() if dc == "dc1")


def test_discovery_finds_all_nodes_with_their_datacenters(cluster3):
    points, port = contact_of(cluster3)
    with Cluster(points[:1], port=port) as cluster:
        cluster.connect()
        hosts = {h.address: h.datacenter for h in cluster.metadata.all_hosts()}
        assert hosts == _dcs(cluster3)
        assert sorted(set(hosts.values())) == ["dc1", "dc2"]


def test_dc_aware_policy_pools_only_the_local_datacenter(cluster3):
    points, port = contact_of(cluster3)
    lbp = DCAwareRoundRobinPolicy(local_dc="dc1")
    with Cluster(points[:1], port=port, load_balancing_policy=lbp) as cluster:
        session = cluster.connect()
        pooled = sorted(h.address for h in session._pools)
        assert pooled == _dc1(cluster3)
        coordinators = {session.execute("SELECT * FROM system.local").response_future.coordinator_host.address
                        for _ in range(20)}
        assert coordinators == set(_dc1(cluster3))


def test_token_aware_routing_sends_to_a_replica(cluster3):
    points, port = contact_of(cluster3)
    lbp = TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc="dc1", used_hosts_per_remote_dc=1))
    with Cluster(points[:1], port=port, load_balancing_policy=lbp) as cluster:
        session = cluster.connect()
        session.execute("CREATE KEYSPACE IF NOT EXISTS h5topo WITH replication = "
                        "{'class': 'NetworkTopologyStrategy', 'dc1': 1, 'dc2': 1}")
        session.execute("CREATE TABLE IF NOT EXISTS h5topo.kv (k int PRIMARY KEY, v int)")
        cluster.refresh_schema_metadata()
        insert = session.prepare("INSERT INTO h5topo.kv (k, v) VALUES (?, ?)")
        for k in range(30):
            bound = insert.bind((k, k))
            rs = session.execute(bound)
            replicas = {h.address for h in cluster.metadata.get_replicas("h5topo", bound.routing_key)}
            local_replicas = {a for a in replicas if a in _dc1(cluster3)}
            assert rs.response_future.coordinator_host.address in local_replicas


def test_stopped_node_is_marked_down_and_back_up_when_restarted(cluster3):
    points, port = contact_of(cluster3)
    victim = cluster3.nodes[1]  # the second dc1 node: the control connection stays on the first
    recorder = Recorder()
    lbp = DCAwareRoundRobinPolicy(local_dc="dc1", used_hosts_per_remote_dc=1)
    with Cluster(points[:1], port=port, load_balancing_policy=lbp,
                 reconnection_policy=ConstantReconnectionPolicy(0.5, None),
                 status_event_refresh_window=0.2) as cluster:
        session = cluster.connect()
        cluster.register_listener(recorder)
        cluster3.stop_node(victim.index)
        try:
            assert _wait_for(lambda: ("down", victim.address) in recorder.events, 60), recorder.events
            # Requests keep flowing to the remaining nodes meanwhile.
            for _ in range(20):
                session.execute("SELECT * FROM system.local", timeout=10)
        finally:
            cluster3.start_node(victim.index)
        assert _wait_for(lambda: ("up", victim.address) in recorder.events, 120), recorder.events
        host = [h for h in cluster.metadata.all_hosts() if h.address == victim.address][0]
        assert host.is_up is True
        assert _wait_for(lambda: session._pools.get(host) is not None and session._pools[host].connections, 30)
        session.execute("SELECT * FROM system.local", host=host)


def test_speculative_executions_of_idempotent_statements_use_more_hosts(cluster3):
    from cassfast.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
    from cassfast.policies import ConstantSpeculativeExecutionPolicy, RoundRobinPolicy
    from cassfast.query import SimpleStatement
    points, port = contact_of(cluster3)
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(),
                               speculative_execution_policy=ConstantSpeculativeExecutionPolicy(0.0, 2))
    with Cluster(points[:1], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile}) as cluster:
        session = cluster.connect()
        idempotent = SimpleStatement("SELECT cluster_name FROM system.local", is_idempotent=True)
        plain = SimpleStatement("SELECT cluster_name FROM system.local")
        spread = []
        for _ in range(10):
            rs = session.execute(idempotent)
            assert rs.one().cluster_name == "cassfast-cluster3"
            spread.append(len(rs.response_future.attempted_hosts))
        # Delay 0: the extra executions start before the first answer can arrive.
        assert max(spread) == 3
        rs = session.execute(plain)
        assert rs.response_future.attempted_hosts == [rs.response_future.coordinator_host]
