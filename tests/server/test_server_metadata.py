"""Schema metadata from 3.x-shaped ``system_schema`` and the control connection's blocking API.

Fake servers (tests/fakeserver) play Cassandra 3.11 and ScyllaDB; cassandra-driver 3.30 reads the
same server as the oracle for options and CQL export.
"""
from __future__ import annotations

import uuid
import warnings

import pytest
from cassandra.cluster import Cluster as RefCluster

from cassfast.cluster import Cluster
from fakeserver import Profile

PROFILES = ["cassandra-3.11", "scylladb"]
OPTIONS_3X = {"read_repair_chance": 0.25, "dclocal_read_repair_chance": 0.5, "comment": "3.x table"}


def _reference(fake):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return RefCluster([fake.addresses[0]], port=fake.port)


@pytest.mark.parametrize("profile", PROFILES)
def test_3x_table_options_are_read_and_exported(fake_cluster, profile):
    fake = fake_cluster(profile, **OPTIONS_3X)
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        cluster.connect()
        table = cluster.metadata.keyspaces["ks"].tables["t"]
        assert table.options["read_repair_chance"] == 0.25
        assert table.options["dclocal_read_repair_chance"] == 0.5
        assert "read_repair" not in table.options            # a 4.0+ column this server lacks
        exported = cluster.metadata.keyspaces["ks"].export_as_string()
        assert "AND read_repair_chance = 0.25" in exported
        assert "AND dclocal_read_repair_chance = 0.5" in exported


@pytest.mark.parametrize("profile", PROFILES)
def test_table_options_and_cql_match_cassandra_driver(fake_cluster, profile):
    fake = fake_cluster(profile, **OPTIONS_3X)
    ref = _reference(fake)
    try:
        ref.connect()
        with Cluster([fake.addresses[0]], port=fake.port) as cluster:
            cluster.connect()
            ours = cluster.metadata.keyspaces["ks"].tables["t"]
            theirs = ref.metadata.keyspaces["ks"].tables["t"]
            assert ours.options == theirs.options
            assert ours.export_as_string() == theirs.export_as_string()
    finally:
        ref.shutdown()


def test_schema_tables_a_server_lacks_are_read_as_empty(fake_cluster):
    # A server without some system_schema tables (older or other servers: no views, no
    # triggers) answers InvalidRequest; the refresh treats them as empty instead of failing.
    fake = fake_cluster("cassandra-3.11")
    fake.script(r"FROM system_schema\.views", error=(0x2200, "unconfigured table views"))
    fake.script(r"FROM system_schema\.triggers", error=(0x2200, "unconfigured table triggers"))
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        cluster.connect()
        assert list(cluster.metadata.keyspaces["ks"].tables) == ["t"]
        assert cluster.metadata.keyspaces["ks"].views == {}
        # The per-keyspace refresh (after a SCHEMA_CHANGE) has the same tolerance.
        fake.create_table("ks", "t2", [("id", "int", "partition_key")])
        assert cluster.control_connection.refresh_schema() is True
        assert sorted(cluster.metadata.keyspaces["ks"].tables) == ["t", "t2"]
        fake.create_table("ks", "t3", [("id", "int", "partition_key")])
        cluster._run(cluster.control_connection.refresh_keyspace_async("ks"), 10)
        assert sorted(cluster.metadata.keyspaces["ks"].tables) == ["t", "t2", "t3"]


def test_wait_for_schema_agreement_returns_a_bool_like_the_reference(fake_cluster):
    fake = fake_cluster("cassandra-3.11", nodes=3)
    ref = _reference(fake)
    try:
        ref.connect()
        with Cluster([fake.addresses[0]], port=fake.port) as cluster:
            cluster.connect()
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)  # an un-awaited coroutine fails
                assert cluster.control_connection.wait_for_schema_agreement() is True
                assert ref.control_connection.wait_for_schema_agreement() is True
                # One peer on another schema version: no agreement within the wait.
                other = uuid.UUID("5a1e5a1e-0000-4000-8000-0000000000ff")
                fake.script(r"schema_version FROM system\.peers",
                            columns=[("peer", "inet"), ("rpc_address", "inet"), ("schema_version", "uuid")],
                            rows=[(fake.addresses[1], fake.addresses[1], other)])
                assert cluster.control_connection.wait_for_schema_agreement(wait_time=0.3) is False
                assert cluster.control_connection.wait_for_schema_agreement(wait_time=0) is False
    finally:
        ref.shutdown()


def test_control_connection_refreshes_return_bools(fake_cluster):
    fake = fake_cluster("cassandra-3.11", nodes=2)
    with Cluster([fake.addresses[0]], port=fake.port, schema_metadata_enabled=False) as cluster:
        cluster.connect()
        control = cluster.control_connection
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            assert control.refresh_node_list_and_token_map() is True
            assert control.refresh_schema() is False               # schema metadata disabled
            assert "ks" not in cluster.metadata.keyspaces
            assert control.refresh_schema(force=True) is True
            assert "t" in cluster.metadata.keyspaces["ks"].tables
            assert len(control.get_connections()) == 1


_VIRTUAL = {
    "keyspaces": ([("keyspace_name", "text")], [("system_views",)]),
    "tables": ([("keyspace_name", "text"), ("table_name", "text"), ("comment", "text")],
               [("system_views", "clients", "connected clients")]),
    "columns": ([("keyspace_name", "text"), ("table_name", "text"), ("column_name", "text"),
                 ("clustering_order", "text"), ("column_name_bytes", "blob"), ("kind", "text"),
                 ("position", "int"), ("type", "text")],
                [("system_views", "clients", "address", "none", b"address", "partition_key", 0, "inet"),
                 ("system_views", "clients", "port", "asc", b"port", "clustering", 0, "int"),
                 ("system_views", "clients", "username", "none", b"username", "regular", -1, "text")]),
}


def test_3x_servers_are_not_asked_for_virtual_tables(fake_cluster):
    fake = fake_cluster("cassandra-3.11")
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        cluster.connect()
        assert not [q for q in fake.queries() if "system_virtual_schema" in q]
        assert not [k for k in cluster.metadata.keyspaces.values() if k.virtual]


def _four_oh(fake_cluster):
    return fake_cluster(Profile(name="4.0-like", release_version="4.0.19", cql_version="3.4.5"))


def test_virtual_tables_of_a_4x_server_match_cassandra_driver(fake_cluster):
    fake = _four_oh(fake_cluster)
    for table, (columns, rows) in _VIRTUAL.items():
        fake.script(r"FROM system_virtual_schema\.%s$" % table, columns=columns, rows=rows)
    ref = _reference(fake)
    try:
        ref.connect()
        with Cluster([fake.addresses[0]], port=fake.port) as cluster:
            cluster.connect()
            ours = cluster.metadata.keyspaces["system_views"]
            theirs = ref.metadata.keyspaces["system_views"]
            assert ours.virtual and theirs.virtual
            assert list(ours.tables) == list(theirs.tables) == ["clients"]
            assert list(ours.tables["clients"].columns) == list(theirs.tables["clients"].columns)
            assert ours.tables["clients"].export_as_string() == theirs.tables["clients"].export_as_string()
    finally:
        ref.shutdown()


def test_a_4x_server_without_virtual_tables_reads_as_having_none(fake_cluster):
    fake = _four_oh(fake_cluster)  # the fake server has no system_virtual_schema keyspace
    with Cluster([fake.addresses[0]], port=fake.port) as cluster:
        cluster.connect()
        assert "SELECT * FROM system_virtual_schema.keyspaces" in fake.queries()
        assert "t" in cluster.metadata.keyspaces["ks"].tables
        assert not [k for k in cluster.metadata.keyspaces.values() if k.virtual]
