"""Cluster(request_tracker=...) against the real node: one report per request on every path
(synchronous execute on a lane and on the pool, execute_async, aexecute, execute_concurrent,
each page of a paged read), with the outcome, latency, coordinator and retries the request had;
and the slow-query logger built on it.

Consistency TWO on the one-node cluster makes the coordinator answer UNAVAILABLE every time, so
a retry is exercised deterministically.  Server: the harness's single Apache Cassandra 5.0 node.
Implementation: cassfast.
"""
from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from cassfast import ConsistencyLevel, InvalidRequest, Unavailable
from cassfast.cluster import Cluster
from cassfast.concurrent import execute_concurrent_with_args
from cassfast.policies import RetryDecision, RetryPolicy
from cassfast.query import SimpleStatement
from cassfast.tracker import MultiRequestTracker, RequestTracker, SlowQueryLogger

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


class Recorder(RequestTracker):
    def __init__(self):
        self.infos = []
        self.lock = threading.Lock()
        self.closed = 0

    def on_success(self, info):
        with self.lock:
            self.infos.append(info)

    def on_error(self, info):
        with self.lock:
            self.infos.append(info)

    def close(self):
        self.closed += 1


class RetryOnceThenRethrow(RetryPolicy):
    def on_unavailable(self, query, consistency_level, required_replicas, alive_replicas, retry_num):
        return (RetryDecision.RETRY, None) if retry_num == 0 else (RetryDecision.RETHROW, None)


@pytest.fixture(scope="module")
def keyspace(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as setup:
        s = setup.connect()
        ks = new_keyspace(s, "tracker")
        s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v text)" % ks)
        for k in range(10):
            s.execute("INSERT INTO %s.kv (k, v) VALUES (%d, 'v%d')" % (ks, k, k))
        yield ks
        s.execute("DROP KEYSPACE %s" % ks)


@pytest.fixture(params=[8, 0], ids=["lanes", "no-lanes"])
def tracked(request, cassandra_single, keyspace):
    points, port = contact_of(cassandra_single)
    recorder = Recorder()
    cluster = Cluster(points, port=port, request_tracker=recorder, sync_lanes_per_host=request.param)
    session = cluster.connect(keyspace)
    del recorder.infos[:]  # connect()'s own requests, if any, are not what these tests count
    yield cluster, session, recorder
    cluster.shutdown()


def test_each_synchronous_execute_is_reported_once_before_execute_returns(tracked, keyspace):
    cluster, session, recorder = tracked
    host = cluster.metadata.all_hosts()[0]
    for k in range(3):
        rows = session.execute("SELECT v FROM kv WHERE k = %s", (k,))
        # Reported before the caller was woken: no wait needed.
        assert len(recorder.infos) == k + 1
        info = recorder.infos[-1]
        assert rows.one().v == "v%d" % k
        assert info.succeeded and info.exception is None
        assert info.query_string == "SELECT v FROM kv WHERE k = %s"
        assert info.keyspace == keyspace
        assert info.coordinator is host and info.attempted_hosts == [host]
        assert info.retries == 0 and info.speculative_executions == 0 and info.page == 1
        assert 0 < info.latency < 10
        assert info.response_future is rows.response_future


def test_execute_async_aexecute_and_execute_concurrent_are_each_reported(tracked):
    cluster, session, recorder = tracked
    session.execute_async("SELECT v FROM kv WHERE k = 1").result()
    assert len(recorder.infos) == 1

    async def main():
        rs = await session.aexecute("SELECT v FROM kv WHERE k = 2")
        return rs.one().v
    assert asyncio.run(main()) == "v2"
    assert len(recorder.infos) == 2

    prepared = session.prepare("SELECT v FROM kv WHERE k = ?")
    results = execute_concurrent_with_args(session, prepared, [(k,) for k in range(10)], concurrency=4)
    assert [r.result_or_exc.one().v for r in results] == ["v%d" % k for k in range(10)]
    assert len(recorder.infos) == 12
    assert [i.query_string for i in recorder.infos[2:]] == ["SELECT v FROM kv WHERE k = ?"] * 10
    assert all(i.succeeded for i in recorder.infos)


def test_each_page_of_a_paged_read_is_reported_as_its_own_request(tracked):
    cluster, session, recorder = tracked
    rows = list(session.execute(SimpleStatement("SELECT k FROM kv", fetch_size=3)))
    assert len(rows) == 10
    # 10 rows by 3: pages of 3, 3, 3, 1 (the server may add an empty last page).
    pages = [i.page for i in recorder.infos]
    assert pages[:4] == [1, 2, 3, 4] and pages == list(range(1, len(pages) + 1))
    assert all(i.succeeded and i.attempted_hosts == [i.coordinator] for i in recorder.infos)


def test_errors_are_reported_with_the_exception_the_caller_gets_and_the_retries(tracked):
    cluster, session, recorder = tracked
    with pytest.raises(InvalidRequest) as bad:
        session.execute("SELECT nope FROM kv")
    info = recorder.infos[-1]
    assert info.exception is bad.value and not info.succeeded and info.retries == 0
    statement = SimpleStatement("SELECT v FROM kv WHERE k = 1", consistency_level=ConsistencyLevel.TWO,
                                retry_policy=RetryOnceThenRethrow())
    with pytest.raises(Unavailable) as unavailable:
        session.execute(statement)
    info = recorder.infos[-1]
    assert len(recorder.infos) == 2
    assert info.exception is unavailable.value and info.retries == 1
    host = cluster.metadata.all_hosts()[0]
    assert info.coordinator is host and info.attempted_hosts == [host, host]


def test_a_failing_tracker_never_reaches_the_request_and_close_runs_at_shutdown(cassandra_single, keyspace):
    class Broken(RequestTracker):
        def on_success(self, info):
            raise RuntimeError("tracker bug")
    recorder = Recorder()
    points, port = contact_of(cassandra_single)
    cluster = Cluster(points, port=port, request_tracker=MultiRequestTracker(Broken(), recorder))
    session = cluster.connect(keyspace)
    assert session.execute("SELECT v FROM kv WHERE k = 3").one().v == "v3"
    assert len(recorder.infos) == 1  # the second tracker still ran
    cluster.shutdown()
    assert recorder.closed == 1


def test_slow_query_logger_logs_slow_requests_without_their_values(cassandra_single, keyspace, caplog):
    points, port = contact_of(cassandra_single)
    slow = SlowQueryLogger(threshold=0.0)  # every request is "slow"
    quiet = SlowQueryLogger(threshold=3600.0, log_errors=True)
    cluster = Cluster(points, port=port, request_tracker=MultiRequestTracker(slow, quiet))
    try:
        session = cluster.connect(keyspace)
        prepared = session.prepare("SELECT v FROM kv WHERE k = ?")
        with caplog.at_level(logging.WARNING, logger="cassfast.tracker.slow"):
            caplog.clear()
            session.execute(prepared, (424242,))
            with pytest.raises(InvalidRequest):
                session.execute("SELECT nope FROM kv")
        messages = [r.getMessage() for r in caplog.records if r.name == "cassfast.tracker.slow"]
    finally:
        cluster.shutdown()
    assert slow.slow_count == 2 and slow.error_count == 1
    assert quiet.slow_count == 0 and quiet.error_count == 1
    assert len(messages) == 3
    assert messages[0].startswith("Slow query: ") and "SELECT v FROM kv WHERE k = ?" in messages[0]
    assert "424242" not in " ".join(messages)  # bound values are never logged
    assert "InvalidRequest" in messages[1] and "SELECT nope FROM kv" in messages[1]
    assert messages[2].startswith("A query failed after") and "InvalidRequest" in messages[2]


def test_without_a_tracker_futures_carry_none(cassandra_single, keyspace):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as cluster:
        session = cluster.connect(keyspace)
        future = session.execute_async("SELECT v FROM kv WHERE k = 1")
        future.result()
        assert cluster.request_tracker is None and future._tracker is None


def test_a_tracker_without_the_hooks_is_refused_at_construction():
    with pytest.raises(TypeError, match="on_success"):
        Cluster(["127.0.0.1"], request_tracker=object())
