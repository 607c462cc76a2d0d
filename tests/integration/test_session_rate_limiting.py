"""Cluster(request_throttler=RateLimitingRequestThrottler(...)) against the real node, and the
request tracker's view of requests a throttler refused or timed out while queued.

Server: the harness's single Apache Cassandra node.  Implementation: cassfast.
"""
from __future__ import annotations

import threading
import time

import pytest

from cassfast import DriverException, OperationTimedOut
from cassfast.cluster import Cluster
from cassfast.throttling import (ConcurrencyLimitingRequestThrottler, RateLimitingRequestThrottler,
                                 RequestThrottlingException)
from cassfast.tracker import RequestTracker

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyspace(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as setup:
        s = setup.connect()
        ks = new_keyspace(s, "ratelimit")
        s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % ks)
        for k in range(20):
            s.execute("INSERT INTO %s.kv (k, v) VALUES (%d, %d)" % (ks, k, k * 7))
        yield ks
        s.execute("DROP KEYSPACE %s" % ks)


class Recorder(RequestTracker):
    def __init__(self):
        self.errors = []
        self.successes = 0
        self.lock = threading.Lock()

    def on_success(self, info):
        with self.lock:
            self.successes += 1

    def on_error(self, info):
        with self.lock:
            self.errors.append(info.exception)


def connect(node, keyspace, throttler, tracker=None):
    points, port = contact_of(node)
    cluster = Cluster(points, port=port, request_throttler=throttler, request_tracker=tracker)
    return cluster, cluster.connect(keyspace)


def test_a_burst_over_the_rate_takes_the_time_the_rate_implies_and_all_succeed(cassandra_single, keyspace):
    throttler = RateLimitingRequestThrottler(20, max_queue_size=100, burst=5)
    cluster, session = connect(cassandra_single, keyspace, throttler)
    try:
        started = time.monotonic()
        futures = [session.execute_async("SELECT v FROM kv WHERE k = %d" % (i % 20)) for i in range(45)]
        values = [f.result().one().v for f in futures]
        elapsed = time.monotonic() - started
        assert values == [(i % 20) * 7 for i in range(45)]
        # 5 go at once, the other 40 at 20 per second: at least 2 s.
        assert elapsed >= 2.0 - 0.02, elapsed
        assert throttler.queue_size == 0 and throttler.rejected == 0
        # Synchronous execute waits in the same queue.
        started = time.monotonic()
        for k in range(10):
            assert session.execute("SELECT v FROM kv WHERE k = %d" % k).one().v == k * 7
        assert time.monotonic() - started >= 0.45 - 0.02
    finally:
        cluster.shutdown()


def test_beyond_the_queue_requests_are_refused_typed_counted_and_tracked_once(cassandra_single, keyspace):
    recorder = Recorder()
    throttler = RateLimitingRequestThrottler(5, max_queue_size=3, burst=1)
    cluster, session = connect(cassandra_single, keyspace, throttler, recorder)
    try:
        futures = [session.execute_async("SELECT v FROM kv WHERE k = %d" % k) for k in range(4)]
        assert throttler.queue_size == 3
        for k in (4, 5):
            with pytest.raises(RequestThrottlingException, match="5 requests per second.*3 queued"):
                session.execute_async("SELECT v FROM kv WHERE k = %d" % k)
        with pytest.raises(RequestThrottlingException):
            session.execute("SELECT v FROM kv WHERE k = 6")
        assert throttler.rejected == 3
        assert [f.result().one().v for f in futures] == [0, 7, 14, 21]
        assert recorder.successes == 4
        assert len(recorder.errors) == 3
        assert all(type(e) is RequestThrottlingException for e in recorder.errors)
    finally:
        cluster.shutdown()


def test_a_request_queued_past_its_timeout_fails_at_its_timeout_and_is_tracked(cassandra_single, keyspace):
    recorder = Recorder()
    throttler = RateLimitingRequestThrottler(1, max_queue_size=10, burst=1)
    cluster, session = connect(cassandra_single, keyspace, throttler, recorder)
    try:
        first = session.execute_async("SELECT v FROM kv WHERE k = 1")
        started = time.monotonic()
        late = session.execute_async("SELECT v FROM kv WHERE k = 2", timeout=0.2)
        patient = session.execute_async("SELECT v FROM kv WHERE k = 3", timeout=30)
        with pytest.raises(OperationTimedOut, match="queued by the request throttler"):
            late.result()
        # Failed by the drain at its timeout, not when a token came (1 s later).
        assert 0.2 <= time.monotonic() - started < 0.8
        assert first.result().one().v == 7
        assert patient.result().one().v == 21  # the expired one took no token
        assert throttler.timed_out == 1 and throttler.queue_size == 0
        assert recorder.successes == 2
        assert [type(e) for e in recorder.errors] == [OperationTimedOut]
    finally:
        cluster.shutdown()


def test_session_shutdown_fails_the_queued_requests_and_nothing_hangs(cassandra_single, keyspace):
    recorder = Recorder()
    throttler = RateLimitingRequestThrottler(0.5, max_queue_size=10, burst=1)
    cluster, session = connect(cassandra_single, keyspace, throttler, recorder)
    try:
        admitted = session.execute_async("SELECT v FROM kv WHERE k = 1")
        assert admitted.result().one().v == 7
        queued = [session.execute_async("SELECT v FROM kv WHERE k = %d" % k) for k in (2, 3)]
        waiter_errors = []

        def wait_sync():
            try:
                session.execute("SELECT v FROM kv WHERE k = 4")
            except DriverException as exc:
                waiter_errors.append(exc)
        waiter = threading.Thread(target=wait_sync)
        waiter.start()
        deadline = time.monotonic() + 5
        while throttler.queue_size < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert throttler.queue_size == 3
        started = time.monotonic()
        session.shutdown()
        waiter.join(10)
        assert not waiter.is_alive() and time.monotonic() - started < 5
        for future in queued:
            with pytest.raises(DriverException, match="shut down while the request was queued"):
                future.result()
        assert len(waiter_errors) == 1 and "shut down" in str(waiter_errors[0])
        assert throttler.queue_size == 0
        assert len(recorder.errors) == 3
    finally:
        cluster.shutdown()


def test_the_concurrency_limiter_refusals_reach_the_tracker_too(cassandra_single, keyspace):
    recorder = Recorder()
    throttler = ConcurrencyLimitingRequestThrottler(max_concurrent_requests=1, max_queue_size=0)
    cluster, session = connect(cassandra_single, keyspace, throttler, recorder)
    try:
        held_in = threading.Event()
        go = threading.Event()
        cluster._loop_thread.submit(lambda: (held_in.set(), go.wait(30)))
        assert held_in.wait(10)
        try:
            first = session.execute_async("SELECT v FROM kv WHERE k = 1")
            with pytest.raises(RequestThrottlingException):
                session.execute_async("SELECT v FROM kv WHERE k = 2")
        finally:
            go.set()
        assert first.result().one().v == 7
        assert recorder.successes == 1
        assert [type(e) for e in recorder.errors] == [RequestThrottlingException]
    finally:
        cluster.shutdown()


def test_one_rate_limiter_serves_one_live_cluster(cassandra_single, keyspace):
    throttler = RateLimitingRequestThrottler(1000)
    one, s1 = connect(cassandra_single, keyspace, throttler)
    try:
        assert s1.execute("SELECT v FROM kv WHERE k = 1").one().v == 7
        two, s2 = connect(cassandra_single, keyspace, throttler)
        try:
            with pytest.raises(ValueError, match="one Cluster"):
                s2.execute_async("SELECT v FROM kv WHERE k = 1")
        finally:
            two.shutdown()
    finally:
        one.shutdown()
