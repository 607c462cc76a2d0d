"""A class registered for a UDT (``Cluster.register_user_type``) can be passed as a ``%s``
parameter of a simple statement: the session's encoder renders it as a UDT literal, as the
reference driver does.  Written by cassfast with a simple statement, read back by both drivers.

Server: the harness's single Apache Cassandra 5.0 node.
"""
import pytest

from cassfast.cluster import Cluster, UserTypeDoesNotExist

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


class Address:
    def __init__(self, street, zip_code, Note=None):
        self.street, self.zip_code, self.Note = street, zip_code, Note


def test_a_registered_udt_class_is_encoded_in_simple_statements(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as cluster:
        session = cluster.connect()
        ks = new_keyspace(session, "udtp")
        try:
            session.set_keyspace(ks)
            # A mixed-case field needs quoting in the literal.
            session.execute('CREATE TYPE address (street text, zip_code int, "Note" text)')
            session.execute("CREATE TABLE people (id int PRIMARY KEY, addr frozen<address>)")
            cluster.register_user_type(ks, "address", Address)
            session.execute("INSERT INTO people (id, addr) VALUES (%s, %s)",
                            (1, Address("1 Main St, it's here", 12345, "côté")))
            session.execute("INSERT INTO people (id, addr) VALUES (%s, %s)", (2, Address("x", None)))
            rows = {r.id: r.addr for r in session.execute("SELECT id, addr FROM people")}
            assert isinstance(rows[1], Address)
            assert (rows[1].street, rows[1].zip_code, rows[1].Note) == ("1 Main St, it's here", 12345, "côté")
            assert (rows[2].street, rows[2].zip_code, rows[2].Note) == ("x", None, None)

            from cassandra.cluster import Cluster as RefCluster
            ref = RefCluster(points, port=port)
            try:
                theirs = ref.connect(ks).execute("SELECT addr FROM people WHERE id = 1").one().addr
                assert (theirs.street, theirs.zip_code, theirs.Note) == ("1 Main St, it's here", 12345, "côté")
            finally:
                ref.shutdown()

            with pytest.raises(UserTypeDoesNotExist):
                cluster.register_user_type(ks, "no_such_type", Address)
        finally:
            session.execute("DROP KEYSPACE %s" % ks)
