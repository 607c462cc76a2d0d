"""The synchronous ``Session.execute`` fast path: the caller registers its wake-up lock before
sending, and a plain Rows answer is finished directly in ``ResponseFuture._on_response``.

These tests pin what that shortcut must keep from the general path: the rows, column names,
paging state and coordinator of the result, listeners' callbacks on the same future, typed errors,
and the general path for answers that carry more than rows (tracing).  Server: the harness's
single Apache Cassandra 5.0 node; cassandra-driver 3.30 is the oracle for values.
"""
import threading

import pytest

from cassfast import InvalidRequest
from cassfast.cluster import Cluster
from cassfast.query import SimpleStatement

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(cassandra_single):
    return contact_of(cassandra_single)


@pytest.fixture(scope="module", params=[8, 0], ids=["lanes", "loop"])
def session(node, request):
    # Both synchronous paths: on a lane (the caller drives its own connection) and through
    # the I/O loop (sync_lanes_per_host=0).
    points, port = node
    cluster = Cluster(points, port=port, sync_lanes_per_host=request.param)
    s = cluster.connect()
    ks = new_keyspace(s, "h8")
    s.set_keyspace(ks)
    s.execute("CREATE TABLE kv (k int PRIMARY KEY, v text, n bigint)")
    for k in range(7):
        s.execute("INSERT INTO kv (k, v, n) VALUES (%s, %s, %s)", (k, "v%d" % k, k * 1000))
    yield s
    s.execute("DROP KEYSPACE %s" % ks)
    cluster.shutdown()


@pytest.fixture(scope="module")
def oracle(node, session):
    from cassandra.cluster import Cluster as RefCluster
    points, port = node
    cluster = RefCluster(points, port=port)
    yield cluster.connect(session.keyspace)
    cluster.shutdown()


def test_sync_prepared_select_returns_the_reference_drivers_row(session, oracle):
    query = "SELECT k, v, n FROM kv WHERE k = ?"
    ours = session.execute(session.prepare(query), (3,))
    theirs = oracle.execute(oracle.prepare(query), (3,))
    assert ours.column_names == list(theirs.column_names)
    assert tuple(ours.one()) == tuple(theirs.one())
    assert ours.paging_state is None and not ours.has_more_pages


def test_sync_execute_records_the_coordinator_of_the_answer(session):
    rs = session.execute("SELECT k FROM kv WHERE k = 1")
    host = rs.response_future.coordinator_host
    assert host is not None and host in session.cluster.metadata.all_hosts()


def test_sync_paged_select_keeps_the_paging_state_of_each_page(session, oracle):
    stmt = SimpleStatement("SELECT k, v FROM kv", fetch_size=2)
    rs = session.execute(stmt)
    assert len(rs.current_rows) == 2
    assert rs.has_more_pages and rs.paging_state is not None
    from cassandra.query import SimpleStatement as RefSimpleStatement
    theirs = sorted(tuple(r) for r in oracle.execute(RefSimpleStatement("SELECT k, v FROM kv", fetch_size=2)))
    assert sorted(tuple(r) for r in rs) == theirs


def test_request_init_listener_callbacks_run_on_sync_execute(session):
    seen = []
    done = threading.Event()

    def on_rows(rows):
        seen.append(rows)
        done.set()

    def listener(future):
        future.add_callbacks(on_rows, lambda exc: (seen.append(exc), done.set()))
    session.add_request_init_listener(listener)
    try:
        rs = session.execute("SELECT v FROM kv WHERE k = 2")
    finally:
        session.remove_request_init_listener(listener)
    assert rs.one().v == "v2"
    assert done.wait(5)
    assert len(seen) == 1 and [r.v for r in seen[0]] == ["v2"]


def test_sync_execute_raises_the_servers_typed_error(session):
    with pytest.raises(InvalidRequest):
        session.execute("SELECT nope FROM kv WHERE k = 1")
    # The session still serves the next request after the failure.
    assert session.execute("SELECT v FROM kv WHERE k = 4").one().v == "v4"


def test_traced_sync_execute_takes_the_general_path_and_keeps_its_trace(session):
    rs = session.execute("SELECT v FROM kv WHERE k = 5", trace=True)
    assert rs.one().v == "v5"
    trace_ids = rs.response_future.get_query_trace_ids()
    assert len(trace_ids) == 1 and trace_ids[0] is not None
