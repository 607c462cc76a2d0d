"""Cross-driver paging checks against a real Cassandra node: 10,000-row partitions written by one
driver and paged through by the other, a full-table scan compared row for row, and a paging
state handed from cassandra-driver to cassfast (the state is opaque server bytes, so a query can
resume on another driver).  ``CASSFAST_CROSSDRIVER_SELFTEST=1`` puts cassandra-driver in
cassfast's place to validate the tests themselves.
"""
import importlib
import uuid

import pytest
from _crossdriver import driver_package, node_address

pytestmark = pytest.mark.integration

# Unique per run: several runs (developers, CI) may share the node.
KEYSPACE = "crossdriver_paging_%s" % uuid.uuid4().hex[:10]
ROWS = 10000



def _connect(name, host, port):
    cluster = importlib.import_module(driver_package(name) + ".cluster").Cluster([host], port=port)
    return cluster, cluster.connect(KEYSPACE)



def _expected(p):
    return [(c, "p%d-row-%05d-\u00e9" % (p, c)) for c in range(ROWS)]


@pytest.fixture(scope="module")
def sessions(cassandra_single):
    host, port = node_address(cassandra_single)
    from cassandra.cluster import Cluster
    setup = Cluster([host], port=port)
    s = setup.connect()
    s.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    s.execute("CREATE KEYSPACE %s WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
    s.execute("CREATE TABLE %s.paged (p int, c int, v text, PRIMARY KEY (p, c))" % KEYSPACE)
    setup.shutdown()

    ref_cluster, ref = _connect("cassandra", host, port)
    cf_cluster, cf = _connect("cassfast", host, port)
    ref_concurrent = importlib.import_module("cassandra.concurrent")
    cf_concurrent = importlib.import_module(driver_package("cassfast") + ".concurrent")
    # Partition 1 by cassandra-driver, partition 2 by cassfast (through its execute_concurrent).
    for p, session, concurrent in ((1, ref, ref_concurrent), (2, cf, cf_concurrent)):
        insert = session.prepare("INSERT INTO paged (p, c, v) VALUES (?, ?, ?)")
        results = concurrent.execute_concurrent_with_args(
            session, insert, [(p, c, v) for c, v in _expected(p)], concurrency=64)
        assert all(r.success for r in results)
    yield ref, cf
    ref.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    cf_cluster.shutdown()
    ref_cluster.shutdown()


def _read_partition(session, module_pkg, p, fetch_size):
    query = importlib.import_module(module_pkg + ".query")
    stmt = query.SimpleStatement("SELECT c, v FROM paged WHERE p = %s", fetch_size=fetch_size)
    result = session.execute(stmt, (p,))
    first_page = len(result.current_rows)
    had_more = result.has_more_pages
    return [(row.c, row.v) for row in result], first_page, had_more


@pytest.mark.parametrize("fetch_size", [333, 5000])
def test_cassfast_pages_through_a_partition_written_by_cassandra_driver(sessions, fetch_size):
    ref, cf = sessions
    rows, first_page, had_more = _read_partition(cf, driver_package("cassfast"), 1, fetch_size)
    assert first_page == fetch_size and had_more
    assert rows == _expected(1)


def test_cassandra_driver_pages_through_a_partition_written_by_cassfast(sessions):
    ref, cf = sessions
    rows, first_page, had_more = _read_partition(ref, "cassandra", 2, 1000)
    assert first_page == 1000 and had_more
    assert rows == _expected(2)


def test_full_table_scan_returns_the_same_rows_in_the_same_order(sessions):
    ref, cf = sessions
    ref_q = importlib.import_module("cassandra.query")
    cf_q = importlib.import_module(driver_package("cassfast") + ".query")
    query = "SELECT p, c, v FROM paged"
    ref_rows = [tuple(r) for r in ref.execute(ref_q.SimpleStatement(query, fetch_size=777))]
    cf_rows = [tuple(r) for r in cf.execute(cf_q.SimpleStatement(query, fetch_size=777))]
    assert len(ref_rows) == 2 * ROWS
    assert cf_rows == ref_rows


def test_cassfast_resumes_from_a_paging_state_saved_by_cassandra_driver(sessions):
    ref, cf = sessions
    ref_q = importlib.import_module("cassandra.query")
    cf_q = importlib.import_module(driver_package("cassfast") + ".query")
    query = "SELECT c, v FROM paged WHERE p = 1"
    first = ref.execute(ref_q.SimpleStatement(query, fetch_size=1000))
    state = first.paging_state
    assert isinstance(state, bytes) and state
    resumed = cf.execute(cf_q.SimpleStatement(query, fetch_size=1000), paging_state=state)
    assert [(r.c, r.v) for r in resumed.current_rows] == _expected(1)[1000:2000]
    assert [(r.c, r.v) for r in resumed] == _expected(1)[1000:]
