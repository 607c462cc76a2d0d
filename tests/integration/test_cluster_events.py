"""Server events, heartbeats and metadata refresh against the real Cassandra node.

A second client (cassandra-driver) changes the schema; cassfast must learn it through its
REGISTERed SCHEMA_CHANGE event.  Idle connections must be kept alive by OPTIONS heartbeats.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast, with
cassandra-driver as the independent second client.
"""
import time
import uuid

import pytest

from cassfast.cluster import Cluster

from _h5_support import contact_of

pytestmark = pytest.mark.integration


def _wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_schema_change_by_another_client_reaches_metadata_through_events(cassandra_single):
    from cassandra.cluster import Cluster as RefCluster
    points, port = contact_of(cassandra_single)
    name = "h5ev_%s" % uuid.uuid4().hex[:8]
    with Cluster(points, port=port, schema_event_refresh_window=0.2) as cluster:
        cluster.connect()
        assert name not in cluster.metadata.keyspaces
        ref = RefCluster(points, port=port)
        try:
            rs = ref.connect()
            rs.execute("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', "
                       "'replication_factor': 1}" % name)
            assert _wait_for(lambda: name in cluster.metadata.keyspaces, 15)
            # A table change refreshes that keyspace only, and the new table shows up.
            rs.execute("CREATE TABLE %s.t (k int PRIMARY KEY, v text)" % name)
            assert _wait_for(lambda: "t" in cluster.metadata.keyspaces[name].tables, 15)
            assert list(cluster.metadata.keyspaces[name].tables["t"].columns) == ["k", "v"]
            rs.execute("DROP KEYSPACE %s" % name)
            assert _wait_for(lambda: name not in cluster.metadata.keyspaces, 15)
        finally:
            ref.shutdown()


def test_schema_change_through_the_session_is_visible_when_execute_returns(cassandra_single):
    points, port = contact_of(cassandra_single)
    name = "h5sc_%s" % uuid.uuid4().hex[:8]
    with Cluster(points, port=port) as cluster:
        session = cluster.connect()
        future = session.execute_async("CREATE KEYSPACE %s WITH replication = {'class': "
                                       "'SimpleStrategy', 'replication_factor': 1}" % name)
        future.result()
        # The reference completes a schema-changing request only after the refresh.
        assert name in cluster.metadata.keyspaces
        assert future.is_schema_agreed is True
        session.execute("CREATE TABLE %s.t2 (k int PRIMARY KEY)" % name)
        assert "t2" in cluster.metadata.keyspaces[name].tables
        session.execute("DROP KEYSPACE %s" % name)
        assert name not in cluster.metadata.keyspaces


def test_idle_connections_are_kept_alive_by_heartbeats(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port, idle_heartbeat_interval=0.3) as cluster:
        session = cluster.connect()
        connection = session.get_pools()[0].connections[0]
        start = connection.last_activity
        time.sleep(1.2)
        # Nothing was executed: only a heartbeat answer can have moved last_activity.
        assert connection.last_activity > start
        assert not connection.is_defunct
        assert session.execute("SELECT release_version FROM system.local").one()


def test_refresh_nodes_and_schema_on_demand(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port, schema_metadata_enabled=True) as cluster:
        cluster.connect()
        cluster.refresh_nodes()
        cluster.refresh_schema_metadata()
        assert len(cluster.metadata.all_hosts()) == 1
        assert "system_schema" in cluster.metadata.keyspaces
        assert cluster.metadata.token_map is not None
