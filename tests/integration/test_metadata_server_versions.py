"""What only some server versions have, on a real 5.0 node: virtual tables (4.0+), the 4.0+
table options, the peers_v2 table, and the control connection's blocking API.

The same cases for servers without them (3.x, ScyllaDB) are in tests/server/ against fake
servers.  Server: the harness's single Apache Cassandra 5.0 node.  Implementations: cassfast,
with cassandra-driver 3.30 on the same node as the oracle.
"""
import warnings

import pytest
from cassandra.cluster import Cluster as RefCluster

from cassfast.cluster import Cluster

from _h5_support import contact_of

pytestmark = pytest.mark.integration

KEYSPACE = "cf_server_versions"


@pytest.fixture(scope="module")
def clusters(cassandra_single):
    points, port = contact_of(cassandra_single)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = RefCluster(points, port=port)
    ref_session = ref.connect()
    ref_session.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
    ref_session.execute("CREATE TABLE IF NOT EXISTS %s.t (k text PRIMARY KEY, v int) "
                        "WITH comment = 'five'" % KEYSPACE)
    ours = Cluster(points, port=port)
    ours.connect()
    ref.refresh_schema_metadata()
    yield ours, ref
    ref_session.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    ours.shutdown()
    ref.shutdown()


def test_virtual_keyspaces_and_tables_match_cassandra_driver(clusters):
    ours, ref = clusters
    ours_virtual = {k.name: sorted(k.tables) for k in ours.metadata.keyspaces.values() if k.virtual}
    ref_virtual = {k.name: sorted(k.tables) for k in ref.metadata.keyspaces.values() if k.virtual}
    assert "system_views" in ours_virtual and "clients" in ours_virtual["system_views"]
    assert ours_virtual == ref_virtual
    ours_clients = ours.metadata.keyspaces["system_views"].tables["clients"]
    ref_clients = ref.metadata.keyspaces["system_views"].tables["clients"]
    assert list(ours_clients.columns) == list(ref_clients.columns)
    assert ours_clients.export_as_string() == ref_clients.export_as_string()


def test_5x_table_options_match_and_lack_the_3x_ones(clusters):
    ours, ref = clusters
    options = ours.metadata.keyspaces[KEYSPACE].tables["t"].options
    ref_options = ref.metadata.keyspaces[KEYSPACE].tables["t"].options
    # cassfast also reads 5.0's allow_auto_snapshot, incremental_backups and memtable.
    assert {k: v for k, v in options.items() if k in ref_options} == ref_options
    assert set(options) - set(ref_options) <= {"allow_auto_snapshot", "incremental_backups", "memtable"}
    assert options["comment"] == "five" and "read_repair" in options
    assert "read_repair_chance" not in options and "dclocal_read_repair_chance" not in options


def test_control_connection_blocking_api_returns_bools(clusters):
    ours, _ = clusters
    control = ours.control_connection
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an un-awaited coroutine fails
        assert control.wait_for_schema_agreement() is True
        assert control.refresh_schema() is True
        assert control.refresh_node_list_and_token_map() is True
    assert control.get_connections() == [control.connection]
    assert control._uses_peers_v2 is True  # 5.0 has system.peers_v2: no fallback taken
