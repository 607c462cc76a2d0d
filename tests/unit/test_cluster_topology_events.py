"""Nodes leaving the cluster: what the driver's metadata, policies and listeners see.

A REMOVED_NODE event must take the host out at once (the reference's ControlConnection does
the same: ``remove_host`` scheduled with no delay), mark it down, tell the load-balancing policy
before the listeners, and take its tokens out of the ring, whose ranges then belong to the
remaining nodes exactly as in a ring built without it (cassandra-driver's TokenMap is the
oracle).  No server: the cluster is never connected.
"""
from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest
from cassandra.metadata import KeyspaceMetadata as RefKs
from cassandra.metadata import Metadata as RefMetadata
from cassandra.policies import SimpleConvictionPolicy as RefConviction
from cassandra.pool import Host as RefHost

from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassfast.host import Host
from cassfast.metadata import Metadata
from cassfast.policies import DCAwareRoundRobinPolicy, HostStateListener, TokenAwarePolicy

MURMUR3 = "org.apache.cassandra.dht.Murmur3Partitioner"
# (address, dc, rack, tokens): two nodes per datacenter, two tokens each.
RING = [
    ("127.0.0.1", "dc1", "r1", ["-9000000000000000000", "1000000000000000000"]),
    ("127.0.0.2", "dc1", "r2", ["-5000000000000000000", "5000000000000000000"]),
    ("127.0.0.3", "dc2", "r1", ["-1000000000000000000", "7000000000000000000"]),
    ("127.0.0.4", "dc2", "r1", ["-3000000000000000000", "3000000000000000000"]),
]
REPLICATIONS = {
    "rf1": {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"},
    "rf2": {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "2"},
    "nts": {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "2", "dc2": "1"},
}
KEYS = [struct.pack(">i", k) for k in range(300)]


def _reference(topology):
    ref = RefMetadata()
    for name, repl in REPLICATIONS.items():
        opts = dict(repl)
        ref.keyspaces[name] = RefKs(name, True, opts.pop("class"), opts)
    ref.rebuild_token_map(MURMUR3, {RefHost(a, RefConviction, datacenter=dc, rack=rack): tokens
                                    for a, dc, rack, tokens in topology})
    return ref


def _ours():
    md = Metadata()
    hosts = {}
    for address, dc, rack, _ in RING:
        hosts[address] = md.add_or_return_host(Host(address, datacenter=dc, rack=rack))[0]
    md.refresh_schema(keyspaces=[{"keyspace_name": n, "durable_writes": True, "replication": r}
                                 for n, r in REPLICATIONS.items()])
    md.rebuild_token_map(MURMUR3, {hosts[a]: tokens for a, _, _, tokens in RING})
    return md, hosts


def _replica_addresses(md, keyspace, key):
    return sorted(h.address for h in md.get_replicas(keyspace, key))


def _ref_replica_addresses(ref, keyspace, key):
    token = ref.token_map.token_class.from_key(key)
    return sorted(h.address for h in ref.token_map.get_replicas(keyspace, token))


@pytest.mark.parametrize("removed", ["127.0.0.2", "127.0.0.4"])
def test_a_removed_hosts_ranges_go_where_a_ring_without_it_puts_them(removed):
    md, hosts = _ours()
    assert md.remove_host(hosts[removed]) is True
    ref = _reference([row for row in RING if row[0] != removed])
    for keyspace in REPLICATIONS:
        for key in KEYS:
            ours = _replica_addresses(md, keyspace, key)
            assert removed not in ours
            assert ours == _ref_replica_addresses(ref, keyspace, key), (keyspace, key)


def test_removing_an_unknown_host_changes_nothing():
    md, _ = _ours()
    ring_before = md.token_map
    assert md.remove_host(Host("127.0.0.99", datacenter="dc1", rack="r1")) is False
    assert md.token_map is ring_before


def test_removing_the_last_host_leaves_no_ring():
    md = Metadata()
    only = md.add_or_return_host(Host("127.0.0.1", datacenter="dc1", rack="r1"))[0]
    md.rebuild_token_map(MURMUR3, {only: ["0"]})
    assert md.remove_host(only) is True
    assert md.token_map is None
    assert md.get_replicas("any", b"k") == []


class _Recorder(HostStateListener):
    def __init__(self, name, log):
        self.name, self.log = name, log

    def on_add(self, host):
        self.log.append((self.name, "add", host.address))

    def on_up(self, host):
        self.log.append((self.name, "up", host.address))

    def on_down(self, host):
        self.log.append((self.name, "down", host.address))

    def on_remove(self, host):
        self.log.append((self.name, "remove", host.address, host.is_up))


class _RecordingDCAware(DCAwareRoundRobinPolicy):
    def __init__(self, log):
        DCAwareRoundRobinPolicy.__init__(self, "dc1")
        self.log = log

    def on_remove(self, host):
        self.log.append(("policy", "remove", host.address, host.is_up))
        DCAwareRoundRobinPolicy.on_remove(self, host)


@pytest.fixture
def known_cluster():
    """A Cluster that knows RING (as after discovery) with a populated policy, never connected."""
    log = []
    policy = TokenAwarePolicy(_RecordingDCAware(log))
    cluster = Cluster(contact_points=["127.0.0.1"], execution_profiles={
        EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=policy)})
    hosts = {}
    for address, dc, rack, _ in RING:
        host, _ = cluster._add_host(Host(address).endpoint, dc, rack, signal=False)
        host.set_up()
        hosts[address] = host
    cluster.metadata.refresh_schema(keyspaces=[{"keyspace_name": n, "durable_writes": True, "replication": r}
                                               for n, r in REPLICATIONS.items()])
    cluster.metadata.rebuild_token_map(MURMUR3, {hosts[a]: t for a, _, _, t in RING})
    policy.populate(cluster, cluster.metadata.all_hosts())
    cluster.register_listener(_Recorder("listener", log))
    yield cluster, policy, hosts, log
    cluster.shutdown()


def _removed_node_event(address):
    return SimpleNamespace(event_type="TOPOLOGY_CHANGE",
                           event_args={"change_type": "REMOVED_NODE", "address": (address, 9042)})


def test_a_removed_node_event_removes_the_host_at_once_policy_first(known_cluster, monkeypatch):
    cluster, policy, hosts, log = known_cluster
    refreshes = []
    monkeypatch.setattr(cluster.control_connection, "_debounce", lambda key, *a: refreshes.append(key))
    cluster.control_connection._on_event(_removed_node_event("127.0.0.2"))

    # Down before anyone is told, the policy before the listener; a refresh still follows.
    assert log == [("policy", "remove", "127.0.0.2", False), ("listener", "remove", "127.0.0.2", False)]
    assert refreshes == ["topology"]
    assert hosts["127.0.0.2"] not in cluster.metadata.all_hosts()
    assert "127.0.0.2" not in [h.address for h in policy.make_query_plan()]
    assert "127.0.0.2" not in [h.address for h in policy.child_policy.hosts]
    ring_owners = {h.address for h in cluster.metadata.token_map.token_to_host_owner.values()}
    assert ring_owners == {"127.0.0.1", "127.0.0.3", "127.0.0.4"}


def test_a_removed_node_event_for_an_unknown_address_only_refreshes(known_cluster, monkeypatch):
    cluster, _, _, log = known_cluster
    refreshes = []
    monkeypatch.setattr(cluster.control_connection, "_debounce", lambda key, *a: refreshes.append(key))
    cluster.control_connection._on_event(_removed_node_event("127.0.0.77"))
    assert log == []
    assert refreshes == ["topology"]
    assert len(cluster.metadata.all_hosts()) == len(RING)


def test_new_node_events_wait_for_the_refresh_that_reads_the_peers_row(known_cluster, monkeypatch):
    cluster, _, _, log = known_cluster
    refreshes = []
    monkeypatch.setattr(cluster.control_connection, "_debounce", lambda key, *a: refreshes.append(key))
    event = SimpleNamespace(event_type="TOPOLOGY_CHANGE",
                            event_args={"change_type": "NEW_NODE", "address": ("127.0.0.5", 9042)})
    cluster.control_connection._on_event(event)
    # The location and tokens of the node come from system.peers_v2, so nothing happens yet.
    assert log == []
    assert refreshes == ["topology"]
