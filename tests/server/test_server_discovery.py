"""Discovery and queries against servers without ``system.peers_v2`` (Cassandra 3.x, ScyllaDB).

Fake servers (tests/fakeserver, real TCP, protocol v4 at most) on 127.0.0.21-23; cassandra-driver
3.30 runs against the same servers as the oracle for hosts and replicas.
"""
from __future__ import annotations

import bisect
import warnings

import pytest
from cassandra.cluster import Cluster as RefCluster
from cassandra.murmur3 import murmur3 as ref_murmur3

from cassfast import InvalidRequest, ProtocolVersion
from cassfast.cluster import Cluster, NoHostAvailable
from fakeserver import SCHEMA_VERSION, wait_until

PROFILES = ["cassandra-3.11", "scylladb"]
KEYS = ["key-%d" % i for i in range(40)]


def _expected_owner(fake, key: str) -> str:
    # SimpleStrategy RF=1: the first node whose token is >= the key's Murmur3 token, wrapping.
    tokens = [int(t) for t in fake.tokens]
    i = bisect.bisect_left(tokens, ref_murmur3(key.encode()))
    return fake.addresses[i % len(tokens)]


@pytest.mark.parametrize("profile", PROFILES)
def test_connect_and_prepared_insert_select_without_peers_v2(fake_cluster, profile):
    fake = fake_cluster(profile, nodes=3)
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        session = cluster.connect()
        insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        select = session.prepare("SELECT k, v FROM ks.t WHERE k = ?")
        for i, key in enumerate(KEYS[:10]):
            session.execute(insert, (key, i))
        assert [tuple(r) for r in session.execute(select, ("key-3",))] == [("key-3", 3)]
        assert list(session.execute(select, ("absent",))) == []

        # The peers came from system.peers after system.peers_v2 was refused.
        control_queries = fake.queries()
        assert "SELECT * FROM system.peers_v2" in control_queries
        assert "SELECT * FROM system.peers" in control_queries
        hosts = {h.address: h for h in cluster.metadata.all_hosts()}
        assert sorted(hosts) == fake.addresses
        for i, address in enumerate(fake.addresses):
            assert hosts[address].host_id == fake.host_ids[i]
            assert hosts[address].datacenter == "datacenter1"
            assert hosts[address].release_version == fake.profile.release_version
        # The token map was built from system.local + system.peers tokens.
        for key in KEYS:
            replicas = cluster.metadata.get_replicas("ks", key.encode())
            assert [h.address for h in replicas] == [_expected_owner(fake, key)], key


@pytest.mark.parametrize("profile", PROFILES)
def test_hosts_and_replicas_match_cassandra_driver_on_the_same_server(fake_cluster, profile):
    fake = fake_cluster(profile, nodes=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = RefCluster([fake.addresses[0]], port=fake.port)
    try:
        ref.connect()
        with Cluster([fake.addresses[0]], port=fake.port) as cluster:
            cluster.connect()
            assert (sorted(h.address for h in cluster.metadata.all_hosts())
                    == sorted(h.address for h in ref.metadata.all_hosts()))
            assert cluster.protocol_version == ref.protocol_version == 4
            for key in KEYS:
                ours = [h.address for h in cluster.metadata.get_replicas("ks", key.encode())]
                theirs = [h.address for h in ref.metadata.get_replicas("ks", key.encode())]
                assert ours == theirs, key
    finally:
        ref.shutdown()


@pytest.mark.parametrize("protocol_version", [3, 4])
def test_explicit_protocol_versions_route_prepared_statements(fake_cluster, protocol_version):
    # v3 PREPARED results carry no partition-key indexes (spec v4 4.2.5.4 added them): the
    # routing key then comes from the table metadata read from 3.x system_schema.
    fake = fake_cluster("cassandra-3.11", nodes=3)
    with Cluster([fake.addresses[0]], port=fake.port, protocol_version=protocol_version) as cluster:
        session = cluster.connect()
        insert = session.prepare("INSERT INTO ks.t (k, v) VALUES (?, ?)")
        bound = insert.bind(("key-7", 7))
        assert bound.routing_key == b"key-7"
        session.execute(bound)
        future = session.execute_async(insert, ("key-8", 8))
        future.result()
        assert future.coordinator_host.address == _expected_owner(fake, "key-8")
        rows = session.execute(session.prepare("SELECT v FROM ks.t WHERE k = ?"), ("key-7",))
        assert [r.v for r in rows] == [7]
    versions = {version for node in fake.nodes for (_, version, _) in node.log}
    assert versions == {protocol_version}


@pytest.mark.parametrize("profile", PROFILES)
def test_protocol_negotiation_steps_down_to_v4(fake_cluster, profile):
    fake = fake_cluster(profile)
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        cluster.connect()
        assert cluster.protocol_version == ProtocolVersion.V4
    first = fake.nodes[0].log[0]
    assert first[1] == ProtocolVersion.V5           # tried v5 first, was refused ...
    assert all(v == 4 for (_, v, _) in fake.nodes[0].log[1:])  # ... and spoke v4 from then on


def test_an_explicit_version_above_the_servers_maximum_fails_typed(fake_cluster):
    fake = fake_cluster("cassandra-3.11")
    with Cluster([fake.addresses[0]], port=fake.port, protocol_version=5, connect_timeout=5) as cluster:
        with pytest.raises(NoHostAvailable) as info:
            cluster.connect()
    assert "5" in str(info.value)


@pytest.mark.parametrize("profile", PROFILES)
def test_unknown_tables_and_keyspaces_raise_invalid_request(fake_cluster, profile):
    fake = fake_cluster(profile)
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        session = cluster.connect()
        with pytest.raises(InvalidRequest, match="unconfigured table nope"):
            session.execute("SELECT * FROM ks.nope")
        with pytest.raises(InvalidRequest, match="unconfigured table nope"):
            session.prepare("SELECT * FROM ks.nope WHERE k = ?")
        with pytest.raises(InvalidRequest, match="Keyspace missing does not exist"):
            session.execute("SELECT * FROM missing.t")
        with pytest.raises(InvalidRequest, match="Keyspace missing does not exist"):
            session.set_keyspace("missing")
        # No virtual tables on these servers.
        with pytest.raises(InvalidRequest, match="system_views"):
            session.execute("SELECT * FROM system_views.clients")


def test_a_lane_whose_use_is_refused_raises_invalid_request(fake_cluster):
    # A synchronous execute on a lane first sends USE on the lane's own connection; a refused
    # USE is the server's InvalidRequest, not the raw protocol message object.
    fake = fake_cluster("cassandra-3.11")
    with Cluster([fake.addresses[0]], port=fake.port, sync_lanes_per_host=1) as cluster:
        session = cluster.connect("ks")
        fake.script(r'^USE "?ks"?$', error=(0x2200, "Keyspace ks does not exist"))
        with pytest.raises(InvalidRequest, match="Keyspace ks does not exist") as info:
            session.execute("SELECT k, v FROM t WHERE k = 'a'")
        assert type(info.value) is InvalidRequest
        assert fake.queries().count('USE "ks"') >= 2  # the pool's, then the lane's


def test_v4_warnings_reach_the_response_future(fake_cluster):
    fake = fake_cluster("cassandra-3.11")
    fake.script(r"^SELECT v FROM ks\.t", warnings=["Aggregation query used without partition key"])
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        session = cluster.connect()
        future = session.execute_async("SELECT v FROM ks.t")
        future.result()
        assert future.warnings == ["Aggregation query used without partition key"]


def test_scylla_supported_options_and_extra_columns_are_tolerated(fake_cluster):
    fake = fake_cluster("scylladb", nodes=2)
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        session = cluster.connect()
        control = cluster.control_connection.get_connections()[0]
        assert control.supported_options["SCYLLA_NR_SHARDS"] == ["1"]
        assert cluster.metadata.get_host(fake.addresses[1]) is not None
        assert "scylla_tables" not in cluster.metadata.keyspaces["ks"].tables
        rows = list(session.execute("SELECT supported_features FROM system.local WHERE key='local'"))
        assert rows[0].supported_features.startswith("CDC")


def test_schema_version_of_every_node_is_the_fake_servers(fake_cluster):
    fake = fake_cluster("cassandra-3.11", nodes=3)
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        cluster.connect()
        assert wait_until(lambda: all(h.schema_version == SCHEMA_VERSION
                                      for h in cluster.metadata.all_hosts()))


@pytest.mark.parametrize("protocol_version", [3, 4])
def test_batches_and_paged_queries_use_the_versions_own_fields(fake_cluster, protocol_version):
    # The fake server reads every request body to its last byte with the v3/v4 layout ([byte]
    # flags, no keyspace in PREPARE, no result metadata id in EXECUTE), so a field of another
    # version is a PROTOCOL_ERROR here.
    from cassfast.query import BatchStatement, SimpleStatement
    fake = fake_cluster("cassandra-3.11")
    with Cluster([fake.addresses[0]], port=fake.port, protocol_version=protocol_version) as cluster:
        session = cluster.connect("ks")
        insert = session.prepare("INSERT INTO t (k, v) VALUES (?, ?)")
        batch = BatchStatement()
        batch.add(insert, ("b1", 1))
        batch.add("INSERT INTO ks.t (k, v) VALUES (%s, %s)", ("b2", 2))
        batch.add(SimpleStatement("INSERT INTO ks.t (k, v) VALUES ('b3', 3)"))
        session.execute(batch, timeout=5)
        select = SimpleStatement("SELECT k, v FROM ks.t WHERE k = %s", fetch_size=10)
        assert [tuple(r) for r in session.execute(select, ("b2",), timeout=5)] == [("b2", 2)]
        assert [r.v for r in session.execute(session.prepare("SELECT v FROM t WHERE k = ?"), ("b3",))] == [3]
    assert not [q for q in fake.queries() if q.startswith("malformed")]
