"""Cluster(request_throttler=ConcurrencyLimitingRequestThrottler(...)) against the real node.

To make "in flight" deterministic, some tests hold the driver's I/O thread in a blocking call
while requests are submitted: nothing a submitted request needs from the loop (its start, its
answer) can happen until it is let go, so the throttler's counts at that moment are exact.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
from __future__ import annotations

import threading
import time

import pytest

from cassfast import DriverException, OperationTimedOut
from cassfast.cluster import Cluster
from cassfast.throttling import ConcurrencyLimitingRequestThrottler, RequestThrottlingException

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def keyspace(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as setup:
        s = setup.connect()
        ks = new_keyspace(s, "throttle")
        s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % ks)
        for k in range(20):
            s.execute("INSERT INTO %s.kv (k, v) VALUES (%d, %d)" % (ks, k, k * 7))
        yield ks
        s.execute("DROP KEYSPACE %s" % ks)


def throttled(node, keyspace, **limits):
    points, port = contact_of(node)
    throttler = ConcurrencyLimitingRequestThrottler(**limits)
    cluster = Cluster(points, port=port, request_throttler=throttler)
    return cluster, cluster.connect(keyspace), throttler


class HeldLoop:
    """The cluster's I/O thread blocked until ``release()``."""

    def __init__(self, cluster):
        self.entered = threading.Event()
        self.go = threading.Event()

        def hold():
            self.entered.set()
            self.go.wait(30)
        cluster._loop_thread.submit(hold)
        assert self.entered.wait(10)

    def release(self):
        self.go.set()


def test_beyond_the_limit_requests_queue_and_beyond_the_queue_they_are_refused(cassandra_single, keyspace):
    cluster, session, throttler = throttled(cassandra_single, keyspace, max_concurrent_requests=2,
                                            max_queue_size=3)
    try:
        held = HeldLoop(cluster)
        try:
            futures = [session.execute_async("SELECT v FROM kv WHERE k = %d" % k) for k in range(5)]
            assert (throttler.in_flight, throttler.queue_size) == (2, 3)
            with pytest.raises(RequestThrottlingException, match="queue is full"):
                session.execute_async("SELECT v FROM kv WHERE k = 5")
            assert throttler.rejected == 1
        finally:
            held.release()
        # Every queued request is sent as slots free, and answers correctly.
        assert [f.result().one().v for f in futures] == [k * 7 for k in range(5)]
        assert (throttler.in_flight, throttler.queue_size) == (0, 0)
    finally:
        cluster.shutdown()


def test_synchronous_execute_from_many_threads_never_exceeds_the_limit(cassandra_single, keyspace):
    class Peak(ConcurrencyLimitingRequestThrottler):
        peak = 0

        def acquire(self, request):
            admitted = super().acquire(request)
            self.peak = max(self.peak, self.in_flight)
            return admitted
    points, port = contact_of(cassandra_single)
    throttler = Peak(max_concurrent_requests=2, max_queue_size=100)
    cluster = Cluster(points, port=port, request_throttler=throttler)
    try:
        session = cluster.connect(keyspace)
        errors, values = [], []

        def work(t):
            try:
                for i in range(25):
                    k = (t * 25 + i) % 20
                    values.append(session.execute("SELECT v FROM kv WHERE k = %d" % k).one().v == k * 7)
            except Exception as exc:  # reported below
                errors.append(exc)
        threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors and len(values) == 150 and all(values)
        assert 1 <= throttler.peak <= 2
        assert (throttler.in_flight, throttler.queue_size) == (0, 0)  # every slot came back
    finally:
        cluster.shutdown()


def test_a_request_queued_longer_than_its_timeout_fails_with_operation_timed_out(cassandra_single, keyspace):
    cluster, session, throttler = throttled(cassandra_single, keyspace, max_concurrent_requests=1,
                                            max_queue_size=10)
    try:
        held = HeldLoop(cluster)
        try:
            first = session.execute_async("SELECT v FROM kv WHERE k = 1")
            late = session.execute_async("SELECT v FROM kv WHERE k = 2", timeout=0.2)
            patient = session.execute_async("SELECT v FROM kv WHERE k = 3", timeout=30)
            time.sleep(0.4)
        finally:
            held.release()
        assert first.result().one().v == 7
        with pytest.raises(OperationTimedOut, match="queued by the request throttler"):
            late.result()
        assert patient.result().one().v == 21  # the expired one passed its slot on
        assert (throttler.in_flight, throttler.queue_size) == (0, 0)
    finally:
        cluster.shutdown()


def test_session_shutdown_fails_its_queued_requests(cassandra_single, keyspace):
    cluster, session, throttler = throttled(cassandra_single, keyspace, max_concurrent_requests=1,
                                            max_queue_size=10)
    try:
        held = HeldLoop(cluster)
        try:
            admitted = session.execute_async("SELECT v FROM kv WHERE k = 1")
            queued = [session.execute_async("SELECT v FROM kv WHERE k = %d" % k) for k in (2, 3)]
            closer = threading.Thread(target=session.shutdown)
            closer.start()
        finally:
            held.release()
        closer.join(30)
        assert not closer.is_alive()
        for future in queued:
            with pytest.raises(DriverException, match="shut down while the request was queued"):
                future.result()
        # The admitted one was sent before the pools closed: it completes one way or the other.
        try:
            admitted.result()
        except Exception:
            pass
        assert admitted.done() and throttler.queue_size == 0
    finally:
        cluster.shutdown()


def test_a_throttler_without_the_interface_is_refused_and_limits_are_checked():
    with pytest.raises(TypeError, match="acquire"):
        Cluster(["127.0.0.1"], request_throttler=object())
    with pytest.raises(ValueError, match="max_concurrent_requests"):
        ConcurrencyLimitingRequestThrottler(max_concurrent_requests=0)
    with pytest.raises(ValueError, match="max_queue_size"):
        ConcurrencyLimitingRequestThrottler(max_queue_size=-1)


def test_thousands_of_queued_requests_that_fail_at_once_hand_the_slot_on_without_recursing(
        cassandra_single, keyspace):
    # Each queued request names a host the session has no pool for, so it fails (NoHostAvailable)
    # the moment it is started, and its completion hands the slot to the next one: the hand-over
    # must go through the loop's queue, not recurse once per request.
    from cassfast.cluster import NoHostAvailable
    from cassfast.host import DefaultEndPoint, Host
    cluster, session, throttler = throttled(cassandra_single, keyspace, max_concurrent_requests=1,
                                            max_queue_size=5000)
    try:
        nowhere = Host(DefaultEndPoint("127.0.0.254", 9042), None)
        held = HeldLoop(cluster)
        try:
            first = session.execute_async("SELECT v FROM kv WHERE k = 1")
            doomed = [session.execute_async("SELECT v FROM kv WHERE k = 1", host=nowhere)
                      for _ in range(3000)]
            last = session.execute_async("SELECT v FROM kv WHERE k = 4")
        finally:
            held.release()
        assert first.result().one().v == 7
        for future in doomed:
            with pytest.raises(NoHostAvailable):
                future.result()
        assert last.result().one().v == 28
        assert (throttler.in_flight, throttler.queue_size) == (0, 0)
    finally:
        cluster.shutdown()
