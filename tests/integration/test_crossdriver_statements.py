"""Statements checked against the server and against cassandra-driver on a real Cassandra node:

- routing keys: the token Cassandra computes for a row (``token(pk...)``) must equal the Murmur3
  token of cassfast's ``BoundStatement.routing_key`` (single and composite partition keys, hashed
  with cassandra-driver's Murmur3), so token-aware routing reaches the right replicas;
- batches: what a cassfast ``BatchStatement`` (logged, unlogged, counter; prepared, simple and
  formatted statements mixed) writes, cassandra-driver reads back;
- tracing: ``QueryTrace.populate`` in cassfast reads the same trace as cassandra-driver's.

``CASSFAST_CROSSDRIVER_SELFTEST=1`` puts cassandra-driver in cassfast's place.
"""
import importlib
import uuid

import pytest
from _crossdriver import driver_package, node_address

from cassandra.metadata import Murmur3Token

pytestmark = pytest.mark.integration

# Unique per run: several runs (developers, CI) may share the node.
KEYSPACE = "crossdriver_statements_%s" % uuid.uuid4().hex[:10]




class Driver:
    def __init__(self, name, host, port):
        pkg = driver_package(name)
        self.query = importlib.import_module(pkg + ".query")
        self.root = importlib.import_module(pkg)
        self.cluster = importlib.import_module(pkg + ".cluster").Cluster([host], port=port)
        self.session = self.cluster.connect(KEYSPACE)


@pytest.fixture(scope="module")
def drivers(cassandra_single):
    host, port = node_address(cassandra_single)
    from cassandra.cluster import Cluster
    setup = Cluster([host], port=port)
    s = setup.connect()
    s.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    s.execute("CREATE KEYSPACE %s WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
    s.set_keyspace(KEYSPACE)
    s.execute("CREATE TABLE single_pk (k text PRIMARY KEY, v int)")
    s.execute("CREATE TABLE composite_pk (a int, b text, c uuid, d int, v int, "
              "PRIMARY KEY ((a, b, c), d))")
    s.execute("CREATE TABLE batched (k int, c int, v text, PRIMARY KEY (k, c))")
    s.execute("CREATE TABLE counted (k int PRIMARY KEY, n counter)")
    setup.shutdown()
    ref, cf = Driver("cassandra", host, port), Driver("cassfast", host, port)
    yield ref, cf
    ref.session.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    cf.cluster.shutdown()
    ref.cluster.shutdown()


def _server_token(session, query, params):
    return session.execute(query, params).one()[0]


@pytest.mark.parametrize("key", ["a", "\u00e9t\u00e9 \U0001f642", "x" * 1000],
                         ids=["ascii", "non-ascii", "long"])
def test_single_column_routing_key_hashes_to_the_servers_token(drivers, key):
    ref, cf = drivers
    insert = cf.session.prepare("INSERT INTO single_pk (k, v) VALUES (?, ?)")
    bound = insert.bind((key, 1))
    cf.session.execute(bound)
    token = _server_token(ref.session, "SELECT token(k) FROM single_pk WHERE k = %s", (key,))
    assert Murmur3Token.from_key(bound.routing_key).value == token


@pytest.mark.parametrize("a,b", [(0, ""), (-1, "b"), (2 ** 31 - 1, "\u65e5\u672c" * 50)],
                         ids=["zero-empty", "negative", "max-long-text"])
def test_composite_routing_key_hashes_to_the_servers_token(drivers, a, b):
    ref, cf = drivers
    c = uuid.UUID(int=a % 1000 + 7)
    # Bind order (d, c, v, b, a) differs from the partition key order (a, b, c).
    insert = cf.session.prepare(
        "INSERT INTO composite_pk (d, c, v, b, a) VALUES (?, ?, ?, ?, ?)")
    bound = insert.bind((1, c, 2, b, a))
    cf.session.execute(bound)
    token = _server_token(ref.session, "SELECT token(a, b, c) FROM composite_pk "
                          "WHERE a = %s AND b = %s AND c = %s", (a, b, c))
    assert Murmur3Token.from_key(bound.routing_key).value == token
    ref_bound = ref.session.prepare(
        "INSERT INTO composite_pk (d, c, v, b, a) VALUES (?, ?, ?, ?, ?)").bind((1, c, 2, b, a))
    assert bound.routing_key == ref_bound.routing_key


def _rows(ref, k):
    return [(r.c, r.v) for r in ref.session.execute(
        "SELECT c, v FROM batched WHERE k = %s", (k,))]


@pytest.mark.parametrize("batch_type", ["LOGGED", "UNLOGGED"])
def test_batch_of_mixed_statements_is_applied_as_written(drivers, batch_type):
    ref, cf = drivers
    k = 1 if batch_type == "LOGGED" else 2
    q = cf.query
    insert = cf.session.prepare("INSERT INTO batched (k, c, v) VALUES (?, ?, ?)")
    batch = q.BatchStatement(getattr(q.BatchType, batch_type))
    batch.add(insert, (k, 0, "prepared"))
    batch.add(insert.bind({"k": k, "c": 1, "v": "bound by name"}))
    batch.add(q.SimpleStatement("INSERT INTO batched (k, c, v) VALUES (%s, %s, %s)"),
              (k, 2, "it's formatted"))
    batch.add("INSERT INTO batched (k, c, v) VALUES (%s, 3, 'plain')" % k)
    batch.add("UPDATE batched SET v = %(v)s WHERE k = %(k)s AND c = 0", {"v": "updated", "k": k})
    cf.session.execute(batch)
    assert _rows(ref, k) == [(0, "updated"), (1, "bound by name"), (2, "it's formatted"),
                             (3, "plain")]


def test_counter_batch_is_applied(drivers):
    ref, cf = drivers
    q = cf.query
    update = cf.session.prepare("UPDATE counted SET n = n + ? WHERE k = ?")
    batch = q.BatchStatement(q.BatchType.COUNTER)
    batch.add_all([update, update, update], [(5, 1), (-2, 1), (10, 2)])
    cf.session.execute(batch)
    got = {r.k: r.n for r in ref.session.execute("SELECT k, n FROM counted")}
    assert got == {1: 3, 2: 10}


def test_batch_with_unset_value_leaves_the_column_untouched(drivers):
    ref, cf = drivers
    q = cf.query
    ref.session.execute("INSERT INTO batched (k, c, v) VALUES (3, 0, 'kept')")
    insert = cf.session.prepare("INSERT INTO batched (k, c, v) VALUES (?, ?, ?)")
    batch = q.BatchStatement()
    batch.add(insert, (3, 0, q.UNSET_VALUE))
    batch.add(insert, (3, 1))  # trailing value left out: unset
    cf.session.execute(batch)
    assert _rows(ref, 3) == [(0, "kept"), (1, None)]


def test_trace_populated_by_cassfast_matches_cassandra_drivers_reading(drivers):
    ref, cf = drivers
    result = cf.session.execute("SELECT * FROM batched WHERE k = 1", trace=True)
    trace = result.get_query_trace(max_wait_sec=30)
    assert trace.duration is not None and trace.events
    ref_trace = importlib.import_module("cassandra.query").QueryTrace(trace.trace_id, ref.session)
    ref_trace.populate(max_wait=30)
    assert (trace.request_type, trace.coordinator, trace.duration, trace.started_at,
            trace.parameters) == (ref_trace.request_type, ref_trace.coordinator,
                                  ref_trace.duration, ref_trace.started_at, ref_trace.parameters)
    assert [(e.description, e.datetime, e.source, e.source_elapsed, e.thread_name)
            for e in trace.events] == [
        (e.description, e.datetime, e.source, e.source_elapsed, e.thread_name)
        for e in ref_trace.events]


def test_protocol_v3_derives_the_routing_key_from_schema_metadata(cassandra_single, drivers):
    # v3 RESULT Prepared carries no partition-key indexes (they came with v4, spec 4.2.5.4), so
    # the indexes must come from the cluster's table metadata.
    ref, _ = drivers
    host, port = node_address(cassandra_single)
    cluster = importlib.import_module(driver_package("cassfast") + ".cluster").Cluster(
        [host], port=port, protocol_version=3)
    try:
        session = cluster.connect(KEYSPACE)
        # Keyspace-qualified: Cassandra 4.0 answers an unqualified prepare after USE with a
        # warning, which a v3 frame cannot carry ("Must not send frame with WARNING flag"; see
        # docs/testing.md), so the server would refuse it.
        insert = session.prepare("INSERT INTO %s.composite_pk (v, d, c, b, a) VALUES (?, ?, ?, ?, ?)" % KEYSPACE)
        assert insert.routing_key_indexes == [4, 3, 2]
        c = uuid.UUID(int=99)
        bound = insert.bind((1, 2, c, "v3", 3))
        session.execute(bound)
    finally:
        cluster.shutdown()
    token = _server_token(ref.session, "SELECT token(a, b, c) FROM composite_pk "
                          "WHERE a = %s AND b = %s AND c = %s", (3, "v3", c))
    assert Murmur3Token.from_key(bound.routing_key).value == token
