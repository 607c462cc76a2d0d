"""Row factories checked against cassandra-driver on a real Cassandra node: the same query read
with each built-in factory (``named_tuple_factory``, ``tuple_factory``, ``dict_factory``,
``ordered_dict_factory``) by both drivers gives the same rows, including column names that are
not Python identifiers (quoted names, aliases, function calls), which the named-tuple factory
cleans the reference's way.  ``CASSFAST_CROSSDRIVER_SELFTEST=1`` puts cassandra-driver in
cassfast's place.
"""
import importlib
import uuid

import pytest
from _crossdriver import driver_package, node_address

pytestmark = pytest.mark.integration

# Unique per run: several runs (developers, CI) may share the node.
KEYSPACE = "crossdriver_rows_%s" % uuid.uuid4().hex[:10]
FACTORIES = ["named_tuple_factory", "tuple_factory", "dict_factory", "ordered_dict_factory"]
QUERIES = [
    "SELECT * FROM odd WHERE k = 1",
    'SELECT k AS "Key", "Weird Col", "select", "1st" FROM odd WHERE k = 1',
    "SELECT count(*), max(v), writetime(v), ttl(v), token(k) FROM odd WHERE k = 1",
    "SELECT k, v FROM odd WHERE k = 42",
    "SELECT k, v, v AS v FROM odd",
]




@pytest.fixture(scope="module")
def sessions(cassandra_single):
    host, port = node_address(cassandra_single)
    from cassandra.cluster import Cluster
    setup = Cluster([host], port=port)
    s = setup.connect()
    s.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    s.execute("CREATE KEYSPACE %s WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
    s.set_keyspace(KEYSPACE)
    s.execute('CREATE TABLE odd (k int PRIMARY KEY, v text, "Weird Col" int, "select" int, '
              '"1st" int)')
    s.execute('INSERT INTO odd (k, v, "Weird Col", "select", "1st") VALUES (1, %s, 2, 3, 4) '
              'USING TTL 100000 AND TIMESTAMP 1234567', ("\u00e9",))
    s.execute("INSERT INTO odd (k, v) VALUES (2, 'two')")
    setup.shutdown()
    made = {}
    for name in ("cassandra", "cassfast"):
        pkg = driver_package(name)
        cluster = importlib.import_module(pkg + ".cluster").Cluster([host], port=port)
        made[name] = (cluster, cluster.connect(KEYSPACE), importlib.import_module(pkg + ".query"))
    yield made
    made["cassandra"][1].execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    for cluster, _, _ in made.values():
        cluster.shutdown()


def _read(side, factory, query):
    _, session, query_module = side
    session.row_factory = getattr(query_module, factory)
    try:
        rows = list(session.execute(query))
    finally:
        session.row_factory = query_module.named_tuple_factory
    return rows


def _comparable(row, factory):
    if factory == "named_tuple_factory":
        return (type(row).__name__, row._fields, tuple(row))
    if factory == "tuple_factory":
        return (type(row).__name__, row)
    return (type(row).__name__, list(row.items()))


@pytest.mark.parametrize("query", QUERIES, ids=["star", "odd-names", "functions", "no-rows",
                                                "duplicate-names"])
@pytest.mark.parametrize("factory", FACTORIES)
def test_rows_match_the_reference_for_each_factory(sessions, factory, query):
    ours = _read(sessions["cassfast"], factory, query)
    theirs = _read(sessions["cassandra"], factory, query)
    # Remove the volatile column (ttl counts down between the two reads).
    if "ttl(v)" in query:
        ours = [_drop_ttl(r, factory) for r in ours]
        theirs = [_drop_ttl(r, factory) for r in theirs]
    assert [_comparable(r, factory) for r in ours] == [_comparable(r, factory) for r in theirs]


def _drop_ttl(row, factory):
    if factory == "named_tuple_factory":
        return row._replace(**{row._fields[3]: None})
    if factory == "tuple_factory":
        return row[:3] + (None,) + row[4:]
    row = type(row)(row)
    row["ttl(v)"] = None
    return row
