"""Smoke tests of the ``single`` variant, through the reference driver (cassandra-driver 3.30).

They prove the harness gives integration tests what they are promised: a real Apache Cassandra
node of the requested release (5.0.9 unless CASSFAST_CASSANDRA_VERSION says otherwise) on the
fixture's address and port, speaking the newest protocol of that release, that stores and
returns data.
"""
from __future__ import annotations

import uuid

import pytest
from cassandra.cluster import Cluster

from cassfast.testing import _fetch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def session(cassandra_single):
    cluster = Cluster(**cassandra_single.reference_cluster_kwargs())
    try:
        yield cluster.connect()
    finally:
        cluster.shutdown()


def test_single_node_reports_the_requested_release(cassandra_single, session):
    release = session.execute("SELECT release_version FROM system.local").one().release_version
    assert release == _fetch.default_version() == cassandra_single.version


def test_single_node_listens_on_the_fixture_address_and_port(cassandra_single, session):
    (address,) = cassandra_single.contact_points
    assert cassandra_single.port == 9042
    local = session.execute("SELECT rpc_address, data_center FROM system.local").one()
    assert str(local.rpc_address) == address
    assert local.data_center == "dc1"
    # The port the driver connected to is the fixture's (3.11's system.local has no rpc_port).
    assert session.cluster.metadata.get_host(address).endpoint.port == 9042


@pytest.mark.cassandra_min("4.0", reason="system.local.rpc_port is new in Cassandra 4.0")
def test_single_node_reports_the_native_port_in_system_local(session):
    assert session.execute("SELECT rpc_port FROM system.local").one().rpc_port == 9042


def test_single_node_negotiates_the_newest_protocol_of_its_release(cassandra_single, session):
    # 4.0-5.0 serve v3, v4 and v5 (5.0 has v6 only as beta), 3.11 v3 and v4 (v5 only as beta);
    # the driver picks the newest offered.
    expected = 4 if cassandra_single.version.startswith("3.") else 5
    assert cassandra_single.protocol_versions[-1] == expected
    assert session.cluster.protocol_version == expected


def test_single_node_stores_and_returns_rows(session):
    keyspace = "harness_smoke"
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} "
        "WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(f"CREATE TABLE IF NOT EXISTS {keyspace}.kv (k uuid PRIMARY KEY, v text)")
    key = uuid.uuid4()
    session.execute(f"INSERT INTO {keyspace}.kv (k, v) VALUES (%s, %s)", (key, "written"))
    row = session.execute(f"SELECT v FROM {keyspace}.kv WHERE k = %s", (key,)).one()
    assert row.v == "written"


@pytest.mark.cassandra_min(
    "4.0", reason="3.11 runs Java UDFs through the DataStax Java driver's classes (NoClassDefFoundError "
                  "com/datastax/driver/core/...), a jar the harness does not fetch")
def test_single_node_has_user_defined_functions_enabled(session):
    # The harness's yaml turns Java UDFs on for the metadata tests; without the flag the
    # server rejects CREATE FUNCTION with an InvalidRequest.
    session.execute(
        "CREATE KEYSPACE IF NOT EXISTS harness_smoke "
        "WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(
        "CREATE OR REPLACE FUNCTION harness_smoke.plus_one (x int) RETURNS NULL ON NULL INPUT "
        "RETURNS int LANGUAGE java AS 'return x + 1;'"
    )
    assert session.execute("SELECT harness_smoke.plus_one(41) AS v FROM system.local").one().v == 42
