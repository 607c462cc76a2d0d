"""Metadata and routing against the real 3-node, 2-datacenter cluster (``cluster3`` variant).

Independent judges: the server's own ``token()`` function for Murmur3, cassandra-driver 3.30.1
connected to the same cluster for replicas and schema export, and the server accepting the CQL
that ``export_as_string`` produces.  Ran against: Apache Cassandra 5.0 started by the harness,
through cassfast's Cluster (``cassandra_cluster3``; set ``CASSFAST_CLUSTER3_FIRST_IP`` to move it).
"""
from __future__ import annotations

import struct
import uuid

import pytest
from cassandra.cluster import Cluster as RefCluster

from cassfast.cluster import Cluster
from cassfast.metadata import Murmur3Token, NetworkTopologyStrategy
from cassfast.policies import (
    DCAwareRoundRobinPolicy, HostDistance, RoundRobinPolicy, TokenAwarePolicy,
)

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]

# The balanced tokens the harness promises (/work/shared/CASSANDRA.md).
EXPECTED_TOKENS = [-9223372036854775808, -3074457345618258603, 3074457345618258602]


def _cluster(cassandra_cluster3, **kwargs):
    from cassfast.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
    policy = kwargs.pop("load_balancing_policy", None)
    if policy is not None:
        kwargs["execution_profiles"] = {EXEC_PROFILE_DEFAULT: ExecutionProfile(
            load_balancing_policy=policy)}
    return Cluster(contact_points=list(cassandra_cluster3.contact_points),
                   port=cassandra_cluster3.port, connect_timeout=15, **kwargs)


@pytest.fixture(scope="module")
def session(cassandra_cluster3):
    cluster = _cluster(cassandra_cluster3)
    session = cluster.connect()
    yield session
    cluster.shutdown()


@pytest.fixture(scope="module")
def ref_session(cassandra_cluster3):
    cluster = RefCluster(**cassandra_cluster3.reference_cluster_kwargs())
    session = cluster.connect()
    yield session
    cluster.shutdown()


@pytest.fixture(scope="module")
def ring_keyspace(session, ref_session):
    ks = "h4_ring_%s" % uuid.uuid4().hex[:8]
    ref_session.execute("CREATE KEYSPACE %s WITH replication = {'class': "
                        "'NetworkTopologyStrategy', 'dc1': 2, 'dc2': 1}" % ks)
    ref_session.execute("CREATE TABLE %s.by_text (k text PRIMARY KEY, v int)" % ks)
    ref_session.execute("CREATE TABLE %s.by_int (k int PRIMARY KEY, v int)" % ks)
    ref_session.execute("CREATE TYPE %s.point (x int, y int)" % ks)
    ref_session.execute("CREATE TABLE %s.events (src text, day date, ts timestamp, seq int, "
                        "p frozen<point>, tags set<text>, PRIMARY KEY ((src, day), ts, seq)) "
                        "WITH CLUSTERING ORDER BY (ts DESC, seq ASC) AND comment = 'it''s h4'"
                        % ks)
    ref_session.execute("CREATE INDEX events_tags ON %s.events (values(tags))" % ks)
    session.cluster.refresh_schema_metadata()
    ref_session.cluster.refresh_schema_metadata()
    yield ks
    ref_session.execute("DROP KEYSPACE IF EXISTS %s" % ks)


TEXT_KEYS = ["a", "key-1", "kéy", "日本", "x" * 17, "emoji 🎉"] + ["k%d" % i for i in range(60)]
INT_KEYS = [0, 1, -1, 2 ** 31 - 1, -2 ** 31] + list(range(100, 160))


def test_hosts_datacenters_and_ring_are_discovered(session, cassandra_cluster3):
    md = session.cluster.metadata
    by_address = {h.address: h for h in md.all_hosts()}
    expected_dcs = {n.address: n.datacenter for n in cassandra_cluster3.nodes}
    assert {a: h.datacenter for a, h in by_address.items()} == expected_dcs
    assert md.partitioner.endswith("Murmur3Partitioner")
    assert [t.value for t in md.token_map.ring] == EXPECTED_TOKENS


def test_murmur3_token_equals_server_token_function(session, ref_session, ring_keyspace):
    for k in TEXT_KEYS:
        ref_session.execute("INSERT INTO %s.by_text (k, v) VALUES (%%s, 1)" % ring_keyspace, (k,))
    for k in INT_KEYS:
        ref_session.execute("INSERT INTO %s.by_int (k, v) VALUES (%%s, 1)" % ring_keyspace, (k,))
    rows = list(ref_session.execute("SELECT k, token(k) AS t FROM %s.by_text" % ring_keyspace))
    assert len(rows) == len(TEXT_KEYS)
    for r in rows:
        assert Murmur3Token.from_key(r.k.encode("utf-8")).value == r.t, r.k
    rows = list(ref_session.execute("SELECT k, token(k) AS t FROM %s.by_int" % ring_keyspace))
    assert len(rows) == len(INT_KEYS)
    for r in rows:
        assert Murmur3Token.from_key(struct.pack(">i", r.k)).value == r.t, r.k


def test_replicas_equal_reference_driver_on_live_cluster(session, ref_session, ring_keyspace):
    ours = session.cluster.metadata
    ref = ref_session.cluster.metadata
    assert isinstance(ours.keyspaces[ring_keyspace].replication_strategy, NetworkTopologyStrategy)
    for k in TEXT_KEYS:
        key = k.encode("utf-8")
        mine = sorted(h.address for h in ours.get_replicas(ring_keyspace, key))
        theirs = sorted(h.address for h in ref.get_replicas(ring_keyspace, key))
        assert mine == theirs and len(mine) == 3, k


def _without_cassandra5_only_options(cql):
    # The reference (3.30) does not know the 5.0 table options memtable, allow_auto_snapshot and
    # incremental_backups; cassfast exports them when set (they are null by default).
    skip = ("AND memtable = ", "AND allow_auto_snapshot = ", "AND incremental_backups = ")
    return "\n".join(line for line in cql.split("\n") if not line.strip().startswith(skip))


def test_keyspace_export_equals_reference_driver(session, ref_session, ring_keyspace):
    ours = session.cluster.metadata.keyspaces[ring_keyspace].export_as_string()
    theirs = ref_session.cluster.metadata.keyspaces[ring_keyspace].export_as_string()
    assert _without_cassandra5_only_options(ours) == theirs


def test_exported_keyspace_recreates_the_same_schema(session, ref_session, ring_keyspace):
    md = session.cluster.metadata
    before = md.keyspaces[ring_keyspace].export_as_string()
    ref_session.execute("DROP KEYSPACE %s" % ring_keyspace)
    for statement in before.split(";\n"):
        statement = statement.strip().rstrip(";")
        if statement:
            ref_session.execute(statement)
    session.cluster.refresh_schema_metadata()
    assert md.keyspaces[ring_keyspace].export_as_string() == before


def test_token_aware_routes_to_a_local_replica(cassandra_cluster3, ring_keyspace):
    policy = TokenAwarePolicy(DCAwareRoundRobinPolicy("dc1"), shuffle_replicas=False)
    cluster = _cluster(cassandra_cluster3, load_balancing_policy=policy)
    try:
        s = cluster.connect(ring_keyspace)
        stmt = s.prepare("SELECT v FROM by_text WHERE k = ?")
        md = cluster.metadata
        for k in TEXT_KEYS[:30]:
            rs = s.execute(stmt, (k,))
            local = [h for h in md.get_replicas(ring_keyspace, k.encode("utf-8"))
                     if h.datacenter == "dc1"]
            # Without token awareness the coordinator would be either dc1 node at random.
            assert str(rs.response_future.coordinator_host) == str(local[0].endpoint), k
    finally:
        cluster.shutdown()


def test_dc_aware_distances_on_live_cluster(cassandra_cluster3):
    policy = DCAwareRoundRobinPolicy("dc2")
    cluster = _cluster(cassandra_cluster3, load_balancing_policy=policy)
    try:
        cluster.connect()
        by_dc = {h.datacenter: [] for h in cluster.metadata.all_hosts()}
        for h in cluster.metadata.all_hosts():
            by_dc[h.datacenter].append(policy.distance(h))
        assert by_dc == {"dc2": [HostDistance.LOCAL], "dc1": [HostDistance.IGNORED] * 2}
        assert {h.datacenter for h in policy.make_query_plan()} == {"dc2"}
    finally:
        cluster.shutdown()


def test_round_robin_spreads_coordinators_over_all_nodes(cassandra_cluster3):
    cluster = _cluster(cassandra_cluster3, load_balancing_policy=RoundRobinPolicy())
    try:
        s = cluster.connect()
        seen = set()
        for _ in range(9):
            rs = s.execute("SELECT release_version FROM system.local")
            seen.add(str(rs.response_future.coordinator_host))
        assert len(seen) == 3
    finally:
        cluster.shutdown()
