"""Session behaviour against the real Cassandra node: queries, prepared statements, paging,
batches, LWT, tracing, warnings, keyspaces, errors and the asyncio API.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast, with
cassandra-driver 3.30 as the independent oracle wherever values are compared.
"""
import asyncio
import uuid

import pytest

from cassfast import ConsistencyLevel, InvalidRequest, OperationTimedOut
from cassfast.cluster import Cluster, ResultSet
from cassfast.query import BatchStatement, BatchType, SimpleStatement, dict_factory, tuple_factory
from cassfast.testing import _fetch

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
def session(cluster):
    s = cluster.connect()
    ks = new_keyspace(s)
    s.set_keyspace(ks)
    s.execute("CREATE TABLE kv (k int PRIMARY KEY, v text)")
    s.execute("CREATE TABLE wide (p int, c int, v text, PRIMARY KEY (p, c))")
    s.execute("CREATE TABLE lwt (k int PRIMARY KEY, v int)")
    s.execute("CREATE TABLE counters (k int PRIMARY KEY, n counter)")
    # Rows several tests read, so that any single test can run alone (-k).
    s.execute("INSERT INTO kv (k, v) VALUES (1, 'héllo')")
    for k in range(10, 20):
        s.execute("INSERT INTO kv (k, v) VALUES (%s, %s)", (k, "v%d" % k))
    insert = s.prepare("INSERT INTO wide (p, c, v) VALUES (1, ?, ?)")
    for start in range(0, 10000, 250):  # bounded: the shared 2-core node times out otherwise
        futures = [s.execute_async(insert, (c, str(c))) for c in range(start, start + 250)]
        for f in futures:
            f.result()
    yield s
    s.execute("DROP KEYSPACE %s" % ks)


@pytest.fixture(scope="module")
def oracle(node, session):
    """The reference driver's session on the same keyspace."""
    from cassandra.cluster import Cluster as RefCluster
    points, port = node
    c = RefCluster(points, port=port)
    s = c.connect(session.keyspace)
    yield s
    c.shutdown()


def test_simple_query_reads_system_local(session, cassandra_single):
    row = session.execute("SELECT key, release_version FROM system.local").one()
    assert row.key == "local"
    assert row.release_version == cassandra_single.version


def test_cluster_negotiates_the_newest_protocol_of_the_server(cluster, session, cassandra_single):
    # v5 from Cassandra 4.0 on, v4 on 3.11.
    assert cluster.protocol_version == (4 if cassandra_single.version.startswith("3.") else 5)


def test_write_with_parameters_is_read_back_identically_by_the_reference(session, oracle):
    session.execute("INSERT INTO kv (k, v) VALUES (%s, %s)", (1, "héllo"))
    assert oracle.execute("SELECT v FROM kv WHERE k = 1").one().v == "héllo"
    oracle.execute("INSERT INTO kv (k, v) VALUES (2, 'from-ref')")
    assert session.execute("SELECT v FROM kv WHERE k = %s", (2,)).one().v == "from-ref"


def test_prepared_round_trip(session, oracle):
    insert = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    select = session.prepare("SELECT k, v FROM kv WHERE k = ?")
    for k in range(10, 20):
        session.execute(insert, (k, "v%d" % k))
    rows = [session.execute(select, (k,)).one() for k in range(10, 20)]
    assert [(r.k, r.v) for r in rows] == [(k, "v%d" % k) for k in range(10, 20)]
    assert oracle.execute("SELECT v FROM kv WHERE k = 15").one().v == "v15"


def test_prepare_is_cached_per_query_id(session, cluster):
    a = session.prepare("SELECT v FROM kv WHERE k = ?")
    b = session.prepare("SELECT v FROM kv WHERE k = ?")
    assert a.query_id == b.query_id
    assert cluster._prepared_statements[a.query_id] in (a, b)


def test_paging_over_10000_rows_returns_every_row_once(session, oracle):
    # The fixture wrote rows c = 0..9999 of partition 1 with 10,000 prepared INSERTs.
    stmt = SimpleStatement("SELECT c FROM wide WHERE p = 1", fetch_size=1000)
    rs = session.execute(stmt)
    assert rs.has_more_pages
    assert len(rs.current_rows) == 1000
    seen = [row.c for row in rs]
    assert seen == list(range(10000))
    assert oracle.execute("SELECT count(*) FROM wide WHERE p = 1").one()[0] == 10000


def test_paging_state_resumes_where_the_previous_page_stopped(session):
    stmt = SimpleStatement("SELECT c FROM wide WHERE p = 1", fetch_size=100)
    first = session.execute(stmt)
    page1 = [r.c for r in first.current_rows]
    second = session.execute(stmt, paging_state=first.paging_state)
    page2 = [r.c for r in second.current_rows]
    assert page1 == list(range(100))
    assert page2 == list(range(100, 200))


@pytest.mark.parametrize("batch_type", [BatchType.LOGGED, BatchType.UNLOGGED])
def test_batches_of_regular_writes_apply_every_statement(session, oracle, batch_type):
    insert = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
    base = 1000 + 100 * batch_type.value
    batch = BatchStatement(batch_type=batch_type)
    for i in range(5):
        batch.add(insert, (base + i, "b%d" % i))
    batch.add("INSERT INTO kv (k, v) VALUES (%s, %s)", (base + 50, "simple"))
    session.execute(batch)
    got = {r.k: r.v for r in oracle.execute("SELECT k, v FROM kv WHERE k IN (%s)" % ",".join(
        str(base + i) for i in list(range(5)) + [50]))}
    assert got == {**{base + i: "b%d" % i for i in range(5)}, base + 50: "simple"}


def test_counter_batch_increments(session, oracle):
    batch = BatchStatement(batch_type=BatchType.COUNTER)
    for _ in range(3):
        batch.add("UPDATE counters SET n = n + 2 WHERE k = 7")
    session.execute(batch)
    assert oracle.execute("SELECT n FROM counters WHERE k = 7").one().n == 6


def test_lwt_reports_applied_then_not_applied(session):
    k = 42
    first = session.execute("INSERT INTO lwt (k, v) VALUES (%s, 1) IF NOT EXISTS", (k,))
    assert first.was_applied is True
    second = session.execute("INSERT INTO lwt (k, v) VALUES (%s, 2) IF NOT EXISTS", (k,))
    assert second.was_applied is False
    assert second.one().v == 1  # the existing row comes back with [applied] = false


def test_tracing_returns_a_trace_with_events(session):
    rs = session.execute("SELECT * FROM kv WHERE k = 1", trace=True)
    trace = rs.get_query_trace(max_wait_sec=10)
    assert trace is not None
    assert trace.trace_id is not None
    assert trace.events


def test_server_warning_is_exposed_on_the_future(session, caplog):
    # An unlogged batch across many partitions makes Cassandra warn (batch size / partitions).
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    for i in range(200):
        batch.add(SimpleStatement("INSERT INTO kv (k, v) VALUES (%d, '%s')" % (5000 + i, "x" * 100)))
    future = session.execute_async(batch)
    future.result()
    assert future.warnings, "Cassandra should warn about a large multi-partition batch"
    assert any("Server warning" in r.message for r in caplog.records)


def test_prepared_statement_keeps_working_after_alter_table(session):
    session.execute("CREATE TABLE alter_me (k int PRIMARY KEY, a int)")
    session.execute("INSERT INTO alter_me (k, a) VALUES (1, 10)")
    select = session.prepare("SELECT * FROM alter_me WHERE k = ?")
    assert tuple(session.execute(select, (1,)).one()) == (1, 10)
    session.execute("ALTER TABLE alter_me ADD b text")
    session.execute("UPDATE alter_me SET b = 'new' WHERE k = 1")
    row = session.execute(select, (1,)).one()
    # v5 (METADATA_CHANGED) brings the new column into the result of the old statement.
    assert row.k == 1 and row.a == 10 and row.b == "new"


def test_row_factories_shape_rows(cluster, session):
    from cassfast.cluster import ExecutionProfile
    name = "h5-dict-%s" % uuid.uuid4().hex[:6]
    cluster.add_execution_profile(name, ExecutionProfile(row_factory=dict_factory))
    row = session.execute("SELECT k, v FROM kv WHERE k = 1", execution_profile=name).one()
    assert row == {"k": 1, "v": "héllo"}
    tname = name + "t"
    cluster.add_execution_profile(tname, ExecutionProfile(row_factory=tuple_factory))
    assert session.execute("SELECT k, v FROM kv WHERE k = 1", execution_profile=tname).one() == (1, "héllo")


def test_invalid_query_raises_invalid_request(session):
    with pytest.raises(InvalidRequest):
        session.execute("SELECT * FROM no_such_table")


def test_syntax_error_raises_the_same_exception_class_as_the_reference(session, oracle):
    with pytest.raises(Exception) as ref:
        oracle.execute("SELEKT nonsense")
    with pytest.raises(Exception) as ours:
        session.execute("SELEKT nonsense")
    assert type(ref.value).__name__ == "SyntaxException"
    assert type(ours.value).__name__ == type(ref.value).__name__
    assert type(ours.value).__module__ == "cassfast.protocol"


def test_tiny_client_timeout_raises_operation_timed_out(session):
    with pytest.raises(OperationTimedOut):
        session.execute("SELECT * FROM wide WHERE p = 1", timeout=0.000001)
    # The session is still fine afterwards.
    assert session.execute("SELECT v FROM kv WHERE k = 1").one().v == "héllo"


def test_consistency_level_is_sent(session):
    from cassfast import Unavailable
    # One node, RF=1: ALL works, TWO must be refused by the coordinator as Unavailable.
    session.execute(SimpleStatement("SELECT * FROM kv WHERE k = 1", consistency_level=ConsistencyLevel.ALL))
    with pytest.raises(Unavailable):
        session.execute(SimpleStatement("SELECT * FROM kv WHERE k = 1", consistency_level=ConsistencyLevel.TWO))


def test_set_keyspace_changes_every_connection(cluster, session):
    other = cluster.connect()
    try:
        ks = new_keyspace(other)
        other.set_keyspace(ks)
        other.execute("CREATE TABLE t (k int PRIMARY KEY)")
        other.execute("INSERT INTO t (k) VALUES (1)")
        assert other.keyspace == ks
        assert all(c.keyspace == ks for pool in other.get_pools() for c in pool.connections)
        assert other.execute("SELECT k FROM t").one().k == 1
        other.execute("DROP KEYSPACE %s" % ks)
    finally:
        other.shutdown()


def test_callbacks_receive_rows_and_errors(session):
    import threading
    got, errs = [], []
    done = threading.Event()
    f = session.execute_async("SELECT v FROM kv WHERE k = 1")
    f.add_callbacks(lambda rows: (got.append(rows), done.set()), lambda e: (errs.append(e), done.set()))
    assert done.wait(10)
    assert got and got[0][0].v == "héllo" and not errs
    done.clear()
    f = session.execute_async("SELECT * FROM no_such_table")
    f.add_callbacks(lambda rows: (got.append(rows), done.set()), lambda e: (errs.append(e), done.set()))
    assert done.wait(10)
    assert isinstance(errs[0], InvalidRequest)


def test_asyncio_await_execute_async_and_async_paging(session):
    async def main():
        rs = await session.execute_async("SELECT v FROM kv WHERE k = %s", (1,))
        assert isinstance(rs, ResultSet)
        assert rs.one().v == "héllo"
        rs2 = await session.aexecute(SimpleStatement("SELECT c FROM wide WHERE p = 1", fetch_size=500))
        seen = [row.c async for row in rs2]
        return seen
    seen = asyncio.run(main())
    assert seen == list(range(10000))


def test_asyncio_many_concurrent_awaits(session):
    from cassfast import aio
    select = session.prepare("SELECT k, v FROM kv WHERE k = ?")

    async def main():
        return await aio.execute_many(session, select, [(k,) for k in range(10, 20)] * 50, concurrency=64)
    results = asyncio.run(main())
    assert [rs.one().k for rs in results] == list(range(10, 20)) * 50


def test_unprepared_statement_is_reprepared_transparently(session, caplog):
    import logging
    session.execute("CREATE TABLE reprep (k int PRIMARY KEY, v int)")
    select = session.prepare("SELECT v FROM reprep WHERE k = ?")
    # Dropping the table evicts its prepared statements on the server; recreating it with the
    # same schema makes the old id valid again once re-prepared (ids hash the query string).
    session.execute("DROP TABLE reprep")
    session.execute("CREATE TABLE reprep (k int PRIMARY KEY, v int)")
    session.execute("INSERT INTO reprep (k, v) VALUES (1, 7)")
    with caplog.at_level(logging.DEBUG, logger="cassfast.cluster"):
        row = session.execute(select, (1,)).one()
    assert row.v == 7
    assert any("Re-preparing" in r.getMessage() for r in caplog.records)


def test_custom_payload_is_accepted_on_v4_plus(session):
    rs = session.execute("SELECT v FROM kv WHERE k = 1", custom_payload={"h5": b"\x01\x02"})
    assert rs.one().v == "héllo"


def test_asyncio_connect_helper_and_blocking_execute_on_the_io_thread_is_refused(node):
    import threading
    from cassfast import aio
    points, port = node

    async def main():
        cluster = Cluster(points, port=port)
        session = await aio.connect(cluster)
        rs = await aio.execute(session, "SELECT release_version FROM system.local")
        return cluster, session, rs.one().release_version
    cluster, session, version = asyncio.run(main())
    try:
        assert version == _fetch.default_version()
        errors, done = [], threading.Event()

        def callback(_rows):
            try:
                session.execute("SELECT * FROM system.local")
            except RuntimeError as exc:
                errors.append(exc)
            done.set()
        session.execute_async("SELECT * FROM system.local").add_callback(callback)
        assert done.wait(10)
        assert errors and "execute_async" in str(errors[0])
    finally:
        cluster.shutdown()
