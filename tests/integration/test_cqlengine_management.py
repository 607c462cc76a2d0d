"""cqlengine schema management on the real node: the tables, indexes and types that cassfast's
sync_table/sync_type create are compared, through system_schema, with the ones cassandra-driver
3.30's own cqlengine creates for the same model; sync_table adds columns to an existing table;
keyspace helpers and named connections."""
import os
import time
import uuid

import pytest

from cassfast.cqlengine import CQLEngineException, columns, connection, management, usertype
from cassfast.cqlengine.models import Model

pytestmark = pytest.mark.integration

os.environ.setdefault("CQLENG_ALLOW_SCHEMA_MANAGEMENT", "1")
MINE = "h7_mgmt_%s" % uuid.uuid4().hex[:8]
REF = MINE + "_ref"


def _schema_models(cols, udt_base, model_base, keyspace):
    """The same schema declared with either mapper's classes."""
    class Point(udt_base):
        __type_name__ = "point"
        x = cols.Double()
        y = cols.Double()

    attrs = {
        "__keyspace__": keyspace,
        "__table_name__": "wide_table",
        "__options__": {"comment": "synced", "default_time_to_live": 86400, "gc_grace_seconds": 3600},
        "tenant": cols.Text(partition_key=True),
        "bucket": cols.Integer(partition_key=True),
        "at": cols.DateTime(primary_key=True, clustering_order="DESC"),
        "seq": cols.BigInt(primary_key=True),
        "kind": cols.Text(index=True),
        "shard_note": cols.Text(static=True),
        "points": cols.List(cols.UserDefinedType(Point)),
        "attrs": cols.Map(cols.Text, cols.Set(cols.Integer)),
        "pair": cols.Tuple(cols.Integer, cols.Text),
        "renamed": cols.Float(db_field="Float Col"),
    }
    return type("WideTable", (model_base,), attrs), Point


@pytest.fixture(scope="module")
def node(cassandra_single):
    return list(cassandra_single.contact_points), cassandra_single.port


@pytest.fixture(scope="module")
def both(node):
    points, port = node
    connection.setup(points, MINE, port=port)
    from cassandra.cqlengine import columns as rc, connection as rconn, management as rmgmt, \
        models as rmodels, usertype as rusertype
    rconn.setup(points, REF, port=port, protocol_version=4)
    for ks, mgmt in ((MINE, management), (REF, rmgmt)):
        mgmt.create_keyspace_simple(ks, 1)
    mine_model, _ = _schema_models(columns, usertype.UserType, Model, MINE)
    ref_model, _ = _schema_models(rc, rusertype.UserType, rmodels.Model, REF)
    management.sync_table(mine_model)
    rmgmt.sync_table(ref_model)
    yield mine_model
    management.drop_keyspace(MINE)
    rmgmt.drop_keyspace(REF)
    rconn.unregister_connection("default")
    connection.unregister_connection("default")


def _rows(cql, *params):
    return [dict(r) for r in connection.execute(cql, params)]


def _strip(rows, *drop):
    return sorted((tuple(sorted((k, str(v)) for k, v in r.items() if k not in drop)) for r in rows))


def test_sync_table_creates_the_same_columns_as_the_reference(both):
    q = ("SELECT column_name, kind, position, clustering_order, type FROM system_schema.columns "
         "WHERE keyspace_name = %s AND table_name = 'wide_table'")
    mine, ref = _rows(q, MINE), _rows(q, REF)
    assert len(mine) == 10
    assert _strip(mine) == _strip(ref)


def test_sync_table_creates_the_same_indexes_types_and_options(both):
    q = "SELECT index_name, kind, options FROM system_schema.indexes WHERE keyspace_name = %s"
    assert _strip(_rows(q, MINE), "index_name") == _strip(_rows(q, REF), "index_name")
    assert len(_rows(q, MINE)) == 1
    q = "SELECT type_name, field_names, field_types FROM system_schema.types WHERE keyspace_name = %s"
    assert _strip(_rows(q, MINE)) == _strip(_rows(q, REF))
    q = ("SELECT comment, default_time_to_live, gc_grace_seconds FROM system_schema.tables "
         "WHERE keyspace_name = %s AND table_name = 'wide_table'")
    assert _rows(q, MINE) == _rows(q, REF) == [{"comment": "synced", "default_time_to_live": 86400,
                                                "gc_grace_seconds": 3600}]


def test_sync_table_adds_new_columns_and_updates_options(both):
    class Grow(Model):
        __keyspace__ = MINE
        k = columns.Integer(primary_key=True)
        a = columns.Text()
    management.sync_table(Grow)
    Grow.create(k=1, a="x")

    class Grow2(Model):  # the same table, one release later
        __keyspace__ = MINE
        __table_name__ = "grow"
        __options__ = {"comment": "v2"}
        k = columns.Integer(primary_key=True)
        a = columns.Text()
        b = columns.Map(columns.Text, columns.Integer, index=True)
    management.sync_table(Grow2)
    management.sync_table(Grow2)  # idempotent
    names = {r["column_name"] for r in _rows(
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = 'grow'", MINE)}
    assert names == {"k", "a", "b"}
    assert _rows("SELECT comment FROM system_schema.tables WHERE keyspace_name = %s AND table_name = 'grow'",
                 MINE) == [{"comment": "v2"}]
    Grow2.objects(k=1).update(b={"n": 1})
    got = Grow2.get(k=1)  # prepared statements cached before the ALTER must not hide the new column
    assert (got.a, got.b) == ("x", {"n": 1})
    # CREATE INDEX returns before the index over existing rows is built: poll, with a deadline.
    deadline = time.monotonic() + 30
    while True:
        try:
            if Grow2.objects(b__contains=1).count() == 1:
                break
        except Exception:  # the server may refuse queries on an index still being built
            pass
        assert time.monotonic() < deadline, "index on the added column never answered"
        time.sleep(0.2)

    class Grow3(Model):
        __keyspace__ = MINE
        __table_name__ = "grow"
        k = columns.Integer(primary_key=True)
        j = columns.Integer(primary_key=True)
    with pytest.raises(CQLEngineException, match="primary key"):
        management.sync_table(Grow3)


def test_drop_table_and_keyspace_helpers(both):
    class Doomed(Model):
        __keyspace__ = MINE
        k = columns.Integer(primary_key=True)
    management.sync_table(Doomed)
    management.drop_table(Doomed)
    management.drop_table(Doomed)  # IF EXISTS
    assert _rows("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s AND table_name = 'doomed'",
                 MINE) == []
    nts = MINE + "_nts"
    management.create_keyspace_network_topology(nts, {"dc1": 1}, durable_writes=False)
    row = _rows("SELECT replication, durable_writes FROM system_schema.keyspaces WHERE keyspace_name = %s", nts)[0]
    assert row["replication"]["class"].endswith("NetworkTopologyStrategy") and row["replication"]["dc1"] == "1"
    assert row["durable_writes"] is False
    management.drop_keyspace(nts)
    assert _rows("SELECT keyspace_name FROM system_schema.keyspaces WHERE keyspace_name = %s", nts) == []


def test_schema_management_warns_without_the_environment_flag(both, monkeypatch):
    monkeypatch.delenv("CQLENG_ALLOW_SCHEMA_MANAGEMENT")
    with pytest.warns(UserWarning, match="CQLENG_ALLOW_SCHEMA_MANAGEMENT"):
        management.create_keyspace_simple(MINE, 1)


def test_named_connections_and_sessions(both, node):
    from cassfast.cluster import Cluster
    points, port = node
    connection.register_connection("second", hosts=points, cluster_options={"port": port})
    try:
        class OnSecond(Model):
            __keyspace__ = MINE
            __connection__ = "second"
            k = columns.Integer(primary_key=True)
        management.sync_table(OnSecond, connections=["second"])
        OnSecond.create(k=7)
        assert [o.k for o in OnSecond.objects.all()] == [7]
        assert connection.get_session("second") is not connection.get_session()
        with pytest.raises(CQLEngineException, match="connection"):
            OnSecond.objects.using(connection="default")
    finally:
        connection.unregister_connection("second")
    with pytest.raises(CQLEngineException, match="second"):
        connection.get_session("second")

    cluster = Cluster(points, port=port)
    try:
        session = cluster.connect()
        connection.register_connection("from_session", session=session)
        assert connection.get_session("from_session") is session
        class ViaSession(Model):
            __keyspace__ = MINE
            k = columns.Integer(primary_key=True)
            a = columns.Text()
        management.sync_table(ViaSession, connections=["from_session"])
        ViaSession.using(connection="from_session").create(k=1, a="x")
        assert ViaSession.objects.filter(k=1).get().a == "x"  # visible through the default one
        connection.unregister_connection("from_session")
    finally:
        cluster.shutdown()


def test_lazy_connect_defers_the_connection(node):
    points, port = node
    connection.register_connection("lazy", hosts=points, lazy_connect=True, cluster_options={"port": port})
    try:
        assert connection._connections["lazy"].session is None
        assert connection.get_session("lazy") is not None
        rows = list(connection.execute("SELECT release_version FROM system.local", connection="lazy"))
        assert len(rows) == 1
    finally:
        connection.unregister_connection("lazy")
