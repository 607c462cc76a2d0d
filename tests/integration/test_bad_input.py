"""Bad input from users: a typed exception that names the column and its CQL type (or the
server's own error for what only the server can judge), nothing written, and the session still
usable afterwards; big values and unicode round-trip exactly.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast (what
cassandra-driver 3.30 does with the same input is recorded in docs/reliability.md).
"""
from __future__ import annotations

import decimal
import time
import uuid

import pytest

from cassfast import InvalidRequest, WriteTimeout
from cassfast.cluster import Cluster
from cassfast.protocol import SyntaxException
from cassfast.query import BatchStatement

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration

COLUMNS = ("i int, bi bigint, si smallint, ti tinyint, t text, b blob, l list<int>, st set<text>, "
           "m map<text, int>, d double, u uuid, tup tuple<int, text>, dec decimal, ts timestamp, "
           "bo boolean")


@pytest.fixture(scope="module")
def session(cassandra_single):
    points, port = contact_of(cassandra_single)
    cluster = Cluster(points, port=port)
    s = cluster.connect()
    keyspace = new_keyspace(s, "badinput")
    s.set_keyspace(keyspace)
    s.execute("CREATE TABLE t (k int PRIMARY KEY, %s)" % COLUMNS)
    s.execute('CREATE TABLE uni (k int PRIMARY KEY, "名前" text, "ключ" list<text>)')
    yield s
    s.execute("DROP KEYSPACE %s" % keyspace)
    cluster.shutdown()


def assert_usable(session, key: int) -> None:
    """Nothing was written for ``key`` by the refused request, and the session still works."""
    assert session.execute("SELECT k FROM t WHERE k = %s", (key,)).one() is None
    insert = session.prepare("INSERT INTO t (k, i) VALUES (?, ?)")
    session.execute(insert, (key + 1_000_000, 7))
    assert session.execute("SELECT i FROM t WHERE k = %s", (key + 1_000_000,)).one().i == 7


BAD_VALUES = [
    # column, value, exception, CQL type as the message names it, detail in the message
    ("i", "abc", TypeError, "int", "got str"),
    ("i", 2 ** 31, ValueError, "int", "out of range"),
    ("bi", 2 ** 63, ValueError, "bigint", "out of range"),
    ("si", 40000, ValueError, "smallint", "out of range"),
    ("ti", -129, ValueError, "tinyint", "out of range"),
    ("t", 12, TypeError, "varchar", "got int"),
    ("t", b"\xff\xfe", TypeError, "varchar", "got bytes"),
    ("b", "abc", TypeError, "blob", "got str"),
    ("l", [1, None, 3], ValueError, "list<int>", "None is not allowed"),
    ("l", [1, "x"], TypeError, "list<int>", "got str"),
    ("st", {None}, ValueError, "set<varchar>", "None is not allowed"),
    ("m", {None: 1}, ValueError, "map<varchar, int>", "None is not allowed"),
    ("m", {"a": None}, ValueError, "map<varchar, int>", "None is not allowed"),
    ("d", "x", TypeError, "double", "got str"),
    ("u", "not-a-uuid", TypeError, "uuid", "got str"),
    ("tup", (1, "a", 3), ValueError, "tuple<int, varchar>", "at most 2"),
    ("tup", ("x", "a"), TypeError, "tuple<int, varchar>", "got str"),
    ("dec", "1.5x", ValueError, "decimal", "1.5x"),
    ("ts", "yesterday", TypeError, "timestamp", "got str"),
    ("bo", "yes", TypeError, "boolean", "got str"),
]


@pytest.mark.parametrize("column, value, error, cql_type, detail", BAD_VALUES,
                         ids=["%s-%s" % (c, type(v).__name__) for c, v, *_ in BAD_VALUES])
def test_bad_bound_value_names_column_and_cql_type_and_session_stays_usable(
        session, column, value, error, cql_type, detail):
    key = abs(hash((column, repr(value)))) % 1_000_000
    insert = session.prepare("INSERT INTO t (k, %s) VALUES (?, ?)" % column)
    with pytest.raises(error) as exc:
        session.execute(insert, (key, value))
    message = str(exc.value)
    assert 'column "%s"' % column in message and cql_type in message and detail in message, message
    # The same refusal through execute_async and inside a batch (raised before anything is sent).
    with pytest.raises(error):
        session.execute_async(insert, (key, value)).result()
    batch = BatchStatement()
    batch.add(session.prepare("INSERT INTO t (k, i) VALUES (?, ?)"), (key, 1))
    with pytest.raises(error):
        batch.add(insert, (key, value))
        session.execute(batch)
    assert_usable(session, key)


def test_wrong_arity_and_non_sequence_parameters_are_refused(session):
    insert = session.prepare("INSERT INTO t (k, i) VALUES (?, ?)")
    with pytest.raises(ValueError, match=r"Too many arguments provided to bind\(\) \(got 3, expected 2\)"):
        session.execute(insert, (1, 2, 3))
    with pytest.raises(TypeError, match="sequence of values or a dict"):
        session.execute(insert, 5)
    with pytest.raises(TypeError, match="not enough arguments for format string"):
        session.execute("INSERT INTO t (k, i) VALUES (%s, %s)", (1,))
    assert_usable(session, 1)


@pytest.mark.parametrize("query, error, fragment", [
    ("SELEC * FROM t", SyntaxException, "no viable alternative at input 'SELEC'"),
    ("SELECT * FROM no_such_table", InvalidRequest, "table no_such_table does not exist"),
    ("SELECT no_such_column FROM t", InvalidRequest, "Undefined column name no_such_column"),
    ("INSERT INTO t (k, i) VALUES (1, 'abc')", InvalidRequest, 'for "i" of type int'),
    ("INSERT INTO t (k, i) VALUES (null, 1)", InvalidRequest, "Invalid null value"),
])
def test_unknown_names_and_syntax_errors_raise_the_servers_typed_error(session, query, error, fragment):
    with pytest.raises(error) as exc:
        session.execute(query)
    assert fragment in str(exc.value)
    if "null" not in query:  # a null literal is only refused when executed
        with pytest.raises(error):
            session.prepare(query)
    assert_usable(session, 2)


def test_unknown_keyspace_is_refused_and_the_session_keeps_its_keyspace(session):
    for attempt in (lambda: session.execute("USE no_such_keyspace"),
                    lambda: session.set_keyspace("no_such_keyspace")):
        with pytest.raises(InvalidRequest, match="Keyspace 'no_such_keyspace' does not exist"):
            attempt()
        assert session.keyspace.startswith("badinput")
    assert_usable(session, 2)


def test_20_mb_blob_is_refused_by_the_server_and_the_connection_survives(session):
    insert = session.prepare("INSERT INTO t (k, b) VALUES (?, ?)")
    with pytest.raises(InvalidRequest, match="exceeds allowed maximum of 16777216 bytes"):
        session.execute(insert, (3, b"\x00" * 20_000_000), timeout=60)
    assert_usable(session, 3)
    # Just under the limit goes through and comes back byte for byte.
    blob = bytes(range(256)) * (15_000_000 // 256)
    session.execute(insert, (4, blob), timeout=60)
    assert session.execute("SELECT b FROM t WHERE k = 4", timeout=60).one().b == blob


def test_100k_element_collections_round_trip(session):
    values = list(range(-50_000, 50_000))
    mapping = {"é%d" % i: i for i in range(100_000)}
    texts = {"s%d" % i for i in range(100_000)}
    for column, value in (("l", values), ("m", mapping), ("st", texts)):
        insert = session.prepare("INSERT INTO t (k, %s) VALUES (?, ?)" % column)
        # One collection per write: a 100k-element mutation can exceed the server's 2 s write
        # timeout on a loaded machine; the insert is idempotent, so a server timeout is retried.
        for attempt in range(6):
            try:
                session.execute(insert, (5, value), timeout=60)
                break
            except WriteTimeout:
                if attempt == 5:
                    raise
                time.sleep(2)
    row = session.execute("SELECT l, m, st FROM t WHERE k = 5", timeout=60).one()
    assert row.l == values and dict(row.m) == mapping and set(row.st) == texts


def test_unicode_in_text_and_quoted_identifiers_round_trips(session):
    insert = session.prepare('INSERT INTO uni (k, "名前", "ключ") VALUES (?, ?, ?)')
    texts = ["héllo 🌍", "名前", "\u0000nul", "e\u0301", "\U0010ffff"]
    session.execute(insert, (1, "значение ✓", texts))
    row = session.execute('SELECT "名前", "ключ" FROM uni WHERE k = 1').one()
    assert row[0] == "значение ✓" and row[1] == texts
    # Simple statements carry the same text through the CQL literal encoder.
    session.execute('INSERT INTO uni (k, "名前") VALUES (%s, %s)', (2, "it's 🌍"))
    assert session.execute('SELECT "名前" FROM uni WHERE k = 2').one()[0] == "it's 🌍"


def test_decimal_and_uuid_of_the_right_type_still_work_after_refusals(session):
    insert = session.prepare("INSERT INTO t (k, dec, u) VALUES (?, ?, ?)")
    value = uuid.uuid4()
    session.execute(insert, (6, decimal.Decimal("-1.5e-30"), value))
    row = session.execute("SELECT dec, u FROM t WHERE k = 6").one()
    assert row.dec == decimal.Decimal("-1.5e-30") and row.u == value
