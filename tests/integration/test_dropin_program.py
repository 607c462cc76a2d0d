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
