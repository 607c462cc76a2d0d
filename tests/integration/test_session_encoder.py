"""``Session.encoder``: every session has its own ``Encoder`` from construction, and changing its
``mapping`` changes how ``%s`` parameters of simple statements are rendered.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast, with
cassandra-driver 3.30 beside it as the oracle (its documented example, ``session.encoder.mapping
[tuple] = session.encoder.cql_encode_tuple``, is what the tuple test replays on both drivers).
"""
import pytest

import cassandra
import cassandra.cluster as ref_cluster
from cassfast import InvalidRequest
from cassfast.cluster import Cluster
from cassfast.encoder import Encoder

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(cassandra_single):
    return contact_of(cassandra_single)


@pytest.fixture(scope="module")
def cluster(node):
    points, port = node
    c = Cluster(points, port=port)
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def keyspace(cluster):
    s = cluster.connect()
    ks = new_keyspace(s, "enc")
    s.execute("CREATE TABLE %s.t (k int PRIMARY KEY, tup tuple<int, text>, n int)" % ks)
    yield ks
    s.execute("DROP KEYSPACE %s" % ks)
    s.shutdown()


@pytest.fixture(scope="module")
def reference_session(node, keyspace):
    points, port = node
    c = ref_cluster.Cluster(points, port=port)
    s = c.connect(keyspace)
    yield s
    c.shutdown()


def test_every_session_has_its_own_encoder_before_any_statement(cluster, keyspace):
    first = cluster.connect(keyspace)
    second = cluster.connect(keyspace)
    try:
        assert isinstance(first.encoder, Encoder)
        assert isinstance(second.encoder, Encoder)
        assert first.encoder is not second.encoder
    finally:
        first.shutdown()
        second.shutdown()


def test_tuple_parameter_needs_the_tuple_mapping_as_in_the_reference(cluster, keyspace,
                                                                      reference_session):
    insert = "INSERT INTO t (k, tup) VALUES (%s, %s)"
    # The oracle: with the default mapping a Python tuple renders as a CQL list, which the
    # server rejects for a tuple column; with the documented mapping change it is accepted.
    with pytest.raises(cassandra.InvalidRequest):
        reference_session.execute(insert, (1, (123, "abc")))
    session = cluster.connect(keyspace)
    try:
        with pytest.raises(InvalidRequest):
            session.execute(insert, (1, (123, "abc")))
        session.encoder.mapping[tuple] = session.encoder.cql_encode_tuple
        session.execute(insert, (1, (123, "abc")))
        assert session.execute("SELECT tup FROM t WHERE k = 1").one().tup == (123, "abc")
        # Read back by the other driver too: the literal stored what the mapping rendered.
        assert reference_session.execute("SELECT tup FROM t WHERE k = 1").one().tup == (123, "abc")
    finally:
        session.shutdown()


def test_custom_mapping_entry_renders_parameters_of_that_type(cluster, keyspace):
    class Doubled(int):
        """An int that the application wants written twice as large."""

    session = cluster.connect(keyspace)
    try:
        session.encoder.mapping[Doubled] = lambda value: str(int(value) * 2)
        session.execute("INSERT INTO t (k, n) VALUES (%s, %s)", (2, Doubled(21)))
        assert session.execute("SELECT n FROM t WHERE k = 2").one().n == 42
        # Another session keeps the default mapping: an unlisted int subclass renders as itself.
        other = cluster.connect(keyspace)
        try:
            other.execute("INSERT INTO t (k, n) VALUES (%s, %s)", (3, Doubled(21)))
            assert other.execute("SELECT n FROM t WHERE k = 3").one().n == 21
        finally:
            other.shutdown()
    finally:
        session.shutdown()
