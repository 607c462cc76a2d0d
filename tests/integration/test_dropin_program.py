"""A service written for cassandra-driver's core API runs unmodified on cassfast (single node).

The program below uses what a typical service does on a Monday morning: execution profiles,
prepared and simple statements, named and positional parameters, batches, paging, the row
factories, async execution with callbacks (including one that raises), ``execute_concurrent_with_args``, lightweight
transactions, user types registered to a class, collections and the common value types, and the
exceptions of a bad query.  It is run in two subprocesses, on cassandra-driver 3.30 and on
cassfast after ``cassfast.install_as_cassandra()``; every line it prints must be the same.
"""
import subprocess
import sys
import textwrap
import uuid

import pytest

pytestmark = pytest.mark.integration

PROGRAM = textwrap.dedent('''
    import datetime, decimal, sys, threading
    from cassandra import ConsistencyLevel, InvalidRequest
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra.concurrent import execute_concurrent_with_args
    from cassandra.policies import RoundRobinPolicy, RetryPolicy
    from cassandra.query import BatchStatement, BatchType, SimpleStatement, ValueSequence, dict_factory

    host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), retry_policy=RetryPolicy(),
                               consistency_level=ConsistencyLevel.ONE, request_timeout=30)
    dicts = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(), row_factory=dict_factory)
    cluster = Cluster([host], port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile, "dicts": dicts})
    session = cluster.connect()
    session.execute("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks)
    session.set_keyspace(ks)
    session.execute("CREATE TYPE address (street text, zip int)")
    session.execute("""CREATE TABLE users (org text, id int, name text, balance decimal, tags set<text>,
                       scores list<int>, prefs map<text, int>, addr frozen<address>, born date,
                       seen timestamp, pair tuple<int, text>, PRIMARY KEY (org, id))""")

    class Address(object):
        def __init__(self, street, zip):
            self.street, self.zip = street, zip
        def __repr__(self):
            return "Address(%r, %r)" % (self.street, self.zip)
    cluster.register_user_type(ks, "address", Address)

    insert = session.prepare("INSERT INTO users (org, id, name, balance, tags, scores, prefs, addr, born, seen, pair) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    print("prepared", [c.name for c in insert.column_metadata], insert.routing_key_indexes)
    seen = datetime.datetime(2024, 2, 29, 12, 30, 45, 123000)
    for i in range(25):
        session.execute(insert, ("acme", i, "user%d" % i, decimal.Decimal("%d.50" % i), {"t%d" % (i % 3), "all"},
                                 [i, i * 2], {"k": i}, Address("street %d" % i, 1000 + i),
                                 datetime.date(2000, 1, 1) + datetime.timedelta(days=i), seen, (i, "p%d" % i)))
    row = session.execute("SELECT * FROM users WHERE org = %s AND id = %s", ("acme", 7)).one()
    print("row", row.name, row.balance, sorted(row.tags), row.scores, dict(row.prefs), row.addr, row.born,
          row.seen, row.pair, type(row.tags).__name__)
    named = session.execute("SELECT id, name FROM users WHERE org = %(org)s AND id IN %(ids)s",
                            {"org": "acme", "ids": ValueSequence([1, 2, 3])})
    print("named", [(r.id, r.name) for r in named], named.column_names)
    print("dicts", session.execute("SELECT id, name FROM users WHERE org='acme' AND id=3",
                                   execution_profile="dicts").one())

    pager = SimpleStatement("SELECT id FROM users WHERE org='acme'", fetch_size=10)
    result = session.execute(pager)
    first_page = list(result.current_rows)
    print("paging", len(first_page), result.has_more_pages, len(list(result)))
    resumed = session.execute(pager, paging_state=result.paging_state)
    print("resumed", len(resumed.current_rows), sorted(r.id for r in first_page + list(resumed)) == list(range(25)))

    batch = BatchStatement(batch_type=BatchType.LOGGED, consistency_level=ConsistencyLevel.ONE)
    batch.add(SimpleStatement("UPDATE users SET name = %s WHERE org = %s AND id = %s"), ("renamed", "acme", 1))
    batch.add(insert, ("beta", 1, "b1", None, None, None, None, None, None, None, None))
    session.execute(batch)
    print("batch", session.execute("SELECT name FROM users WHERE org='acme' AND id=1").one().name,
          session.execute("SELECT name, balance FROM users WHERE org='beta' AND id=1").one())

    # A success callback gets the first page's rows; one that raises hands its exception to the
    # errbacks (and result() still gives the rows).
    done, got = threading.Event(), []
    future = session.execute_async("SELECT count(*) FROM users WHERE org='acme'")
    future.add_callbacks(lambda rows: (got.append((type(rows).__name__, rows[0][0])), done.set()),
                         lambda exc: (got.append(repr(exc)), done.set()))
    failed, errors = threading.Event(), []
    failing = session.execute_async("SELECT count(*) FROM users WHERE org='acme'")
    failing.add_callbacks(lambda rows: rows.no_such_method(),
                          lambda exc: (errors.append(type(exc).__name__), failed.set()))
    print("async", done.wait(30), got, failed.wait(30), errors, failing.result().one()[0])

    results = execute_concurrent_with_args(session, session.prepare("SELECT name FROM users WHERE org=? AND id=?"),
                                           [("acme", i) for i in range(5)], concurrency=3)
    print("concurrent", [(ok, rs.one().name) for ok, rs in results])

    lwt = session.execute("INSERT INTO users (org, id, name) VALUES ('acme', 1, 'x') IF NOT EXISTS")
    print("lwt", lwt.was_applied, lwt.one().name)
    lwt2 = session.execute("UPDATE users SET name='y' WHERE org='acme' AND id=2 IF name='user2'")
    print("lwt2", lwt2.was_applied)

    try:
        session.execute("SELECT nope FROM users")
    except InvalidRequest as exc:
        print("invalid", type(exc).__name__, "nope" in str(exc))
    try:
        session.execute("SELECT * FROM users WHERE org = %s", ("acme", "extra"))
    except Exception as exc:
        print("bad params", type(exc).__name__)

    meta = cluster.metadata.keyspaces[ks].tables["users"]
    print("metadata", [c.name for c in meta.partition_key], [c.name for c in meta.clustering_key],
          meta.columns["prefs"].cql_type, sorted(cluster.metadata.keyspaces[ks].user_types))
    print("hosts", len(cluster.metadata.all_hosts()), cluster.metadata.get_host(host) is not None)
    session.execute("DROP KEYSPACE %s" % ks)
    cluster.shutdown()
    print("shutdown", cluster.is_shutdown)
''')


# Schema metadata as CQL, error types, every row factory, the value types, counters, tracing,
# execute_concurrent without raising, and routing through the token map.
PROGRAM_DETAILS = textwrap.dedent('''
    import datetime, sys, uuid
    from cassandra import AlreadyExists, ConsistencyLevel, Unavailable
    from cassandra.cluster import Cluster, NoHostAvailable
    from cassandra.concurrent import execute_concurrent
    from cassandra.policies import FallthroughRetryPolicy, RetryPolicy
    from cassandra.query import (SimpleStatement, dict_factory, named_tuple_factory,
                                 ordered_dict_factory, tuple_factory)
    from cassandra.util import Date, Duration, Time

    host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    cluster = Cluster([host], port=port)
    s = cluster.connect()
    create = "CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % ks
    s.execute(create)
    try:
        s.execute(create)
    except AlreadyExists as e:
        print("already", e.keyspace, e.table)
    s.set_keyspace(ks)
    s.execute("CREATE TABLE t (k int PRIMARY KEY, v text, u uuid, ts timestamp, vi varint, b blob, ip inet, "
              "f float, d double, tu timeuuid, sm smallint, ti tinyint, tm time, dt date, du duration)")
    s.execute("CREATE INDEX t_v ON t (v)")
    s.execute("CREATE TABLE c (k int PRIMARY KEY, n counter)")
    table = cluster.metadata.keyspaces[ks].tables["t"]
    print("cql", table.as_cql_query())
    print("ks", cluster.metadata.keyspaces[ks].as_cql_query())
    print("idx", sorted(table.indexes), cluster.metadata.keyspaces[ks].indexes["t_v"].as_cql_query())
    try:
        s.execute(SimpleStatement("INSERT INTO t (k, v) VALUES (1, 'a')", consistency_level=ConsistencyLevel.THREE,
                                  retry_policy=RetryPolicy()))
    except NoHostAvailable as e:
        print("unavailable", [(type(x).__name__, x.consistency, x.required_replicas, x.alive_replicas)
                              for x in e.errors.values()])
    try:
        s.execute(SimpleStatement("INSERT INTO t (k, v) VALUES (1, 'a')", consistency_level=ConsistencyLevel.THREE,
                                  retry_policy=FallthroughRetryPolicy()))
    except Unavailable as e:
        print("fallthrough", e.consistency, e.required_replicas, e.alive_replicas)
    p = s.prepare("INSERT INTO t (k, v, u, ts, vi, b, ip, f, d, tu, sm, ti, tm, dt, du) "
                  "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    s.execute(p, (2, "x", uuid.UUID(int=5), datetime.datetime(2020, 1, 2, 3, 4, 5, 6000), 10 ** 30, b"\\x00\\x01",
                  "::1", 1.5, 2.25, uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), 7, 8, Time(123456789),
                  Date(19000), Duration(1, 2, 3)))
    s.execute(p.bind({"k": 3, "v": "y"}))
    for factory in (tuple_factory, named_tuple_factory, dict_factory, ordered_dict_factory):
        s.row_factory = factory
        row = s.execute("SELECT * FROM t WHERE k = 2").one()
        print(factory.__name__, type(row).__name__, tuple(row) if factory is named_tuple_factory else row)
    s.row_factory = named_tuple_factory
    print("unset", s.execute("SELECT v, u FROM t WHERE k = 3").one())
    s.execute("UPDATE c SET n = n + 5 WHERE k = 1")
    print("counter", s.execute("SELECT n FROM c WHERE k = 1").one().n)
    results = execute_concurrent(s, [("SELECT v FROM t WHERE k=%s", (2,)), ("SELECT nope FROM t", ())],
                                 raise_on_first_error=False)
    print("concurrent", [(ok, type(r).__name__) for ok, r in results])
    traced = s.execute("SELECT v FROM t WHERE k = 2", trace=True)
    print("trace", type(traced.get_query_trace().duration).__name__)
    paged = s.execute(SimpleStatement("SELECT k FROM t", fetch_size=1))
    print("all", sorted(r.k for r in paged.all()))
    print("empty", bool(s.execute("SELECT k FROM t WHERE k = 99")),
          len(s.execute("SELECT k FROM t WHERE k = 2").current_rows))
    future = s.execute_async("SELECT k FROM t WHERE k = 2")
    print("future", future.result().one().k, future.has_more_pages, future.warnings, future.custom_payload)
    stmt = SimpleStatement("SELECT k FROM t WHERE k = %s", is_idempotent=True)
    print("stmt", s.execute(stmt, (2,), timeout=5).one().k, stmt.is_idempotent)
    print("prepared", p.is_idempotent, [c.name for c in p.column_metadata][:3])
    token_map = cluster.metadata.token_map
    print("replicas", len(token_map.get_replicas(ks, token_map.token_class.from_key(b"\\x00\\x00\\x00\\x02"))))
    s.execute("DROP KEYSPACE %s" % ks)
    cluster.shutdown()
    print("shutdown", cluster.is_shutdown)
''')


def _run(script_path, node, ks, use_cassfast):
    points, port = node
    prelude = "import cassfast; cassfast.install_as_cassandra(); " if use_cassfast else ""
    code = prelude + "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    proc = subprocess.run([sys.executable, "-c", code, str(script_path), points[0], str(port), ks],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.splitlines()


def test_reference_core_api_program_prints_the_same_on_cassfast(cassandra_single, tmp_path):
    script = tmp_path / "service.py"
    script.write_text(PROGRAM)
    node = (list(cassandra_single.contact_points), cassandra_single.port)
    tag = uuid.uuid4().hex[:8]
    expected = _run(script, node, "dropin_ref_" + tag, use_cassfast=False)
    got = _run(script, node, "dropin_cf_" + tag, use_cassfast=True)
    assert expected[-1] == "shutdown True"  # the reference ran the whole program
    assert got == expected


def test_reference_program_on_metadata_errors_and_types_prints_the_same_on_cassfast(cassandra_single, tmp_path):
    script = tmp_path / "details.py"
    script.write_text(PROGRAM_DETAILS)
    node = (list(cassandra_single.contact_points), cassandra_single.port)
    ks = "dropin_details_" + uuid.uuid4().hex[:8]
    # One keyspace name for both runs (each drops it at the end), so the CQL it prints matches.
    expected = _run(script, node, ks, use_cassfast=False)
    got = _run(script, node, ks, use_cassfast=True)
    assert expected[-1] == "shutdown True"
    assert got == expected
