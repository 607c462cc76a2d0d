"""cqlengine connection registry without a server: clear errors when nothing is set up, argument
checks, lazy connections that do not connect until used, and statement execution paths that
never reach the network when misused."""
import pytest

from cassfast.cqlengine import CQLEngineException, columns, connection, management
from cassfast.cqlengine.models import Model
from cassfast.cqlengine.query import BatchQuery


@pytest.fixture(autouse=True)
def _isolated_registry(monkeypatch):
    monkeypatch.setattr(connection, "_connections", {})
    monkeypatch.setattr(connection, "cluster", None)
    monkeypatch.setattr(connection, "session", None)
    monkeypatch.setenv("CQLENG_ALLOW_SCHEMA_MANAGEMENT", "1")


class Thing(Model):
    __keyspace__ = "ks"
    k = columns.Integer(primary_key=True)


def test_queries_without_a_connection_raise_a_clear_error():
    with pytest.raises(CQLEngineException, match="no default connection"):
        Thing.objects.filter(k=1).first()
    with pytest.raises(CQLEngineException, match="no default connection"):
        connection.get_session()
    with pytest.raises(CQLEngineException, match="'nope' doesn't exist"):
        connection.get_connection("nope")
    with pytest.raises(CQLEngineException, match="doesn't exist"):
        connection.set_default_connection("nope")
    connection.unregister_connection("nope")  # unknown names are ignored, as in the reference


def test_session_and_cluster_options_are_mutually_exclusive():
    with pytest.raises(CQLEngineException, match="mutually exclusive"):
        connection.register_connection("x", hosts=["127.0.0.1"], session=object())


def test_lazy_connection_does_not_connect_until_used():
    conn = connection.register_connection("lazy", hosts=["203.0.113.1"], lazy_connect=True, default=True)
    assert conn.session is None and conn.cluster is None
    assert connection.session is None  # the module global mirrors the (not yet connected) default


def test_execute_rejects_what_is_not_cql(monkeypatch):
    class FakeSession:
        keyspace = None
        cluster = None
        row_factory = None
        default_consistency_level = None

        def execute(self, *a, **kw):  # pragma: no cover - must not be reached
            raise AssertionError("reached the session")
    monkeypatch.setattr(connection, "_register_known_types", lambda cluster: None)
    connection.register_connection("fake", session=FakeSession(), default=True)
    with pytest.raises(CQLEngineException, match="expected a CQL string"):
        connection.execute(42)


def test_batch_and_schema_argument_errors():
    with pytest.raises(CQLEngineException, match="timestamp"):
        BatchQuery(timestamp="yesterday")
    with pytest.raises(CQLEngineException):
        BatchQuery().add_query("INSERT INTO t (k) VALUES (1)")  # raw CQL is not a mapper statement
    with pytest.raises(ValueError):
        BatchQuery().add_callback("not callable")
    with pytest.raises(CQLEngineException, match="Model class"):
        management.sync_table(object)
    with pytest.raises(CQLEngineException, match="UserType"):
        management.sync_type("ks", Thing)
    with pytest.raises(CQLEngineException, match="batch mode"):
        Thing.objects.batch(BatchQuery()).filter(k=1).count()
