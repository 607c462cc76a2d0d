"""Pure logic of cassfast.tracker and cassfast.throttling (no server): the throttler's counting
and FIFO hand-over, the slow-query logger's threshold and message, argument checks.
The request-path wiring is tested against the real node in tests/integration/test_session_tracker.py
and test_session_throttling.py.
"""
from __future__ import annotations

import logging

import pytest

from cassfast.query import SimpleStatement
from cassfast.throttling import ConcurrencyLimitingRequestThrottler, RequestThrottlingException
from cassfast.tracker import MultiRequestTracker, RequestInfo, SlowQueryLogger


def info(latency, exception=None, query="SELECT * FROM t WHERE k = %s"):
    return RequestInfo(SimpleStatement(query), "ks", exception, latency, "127.0.0.1:9042",
                       ["127.0.0.1:9042"], 1, 0, 2, None)


def test_throttler_admits_up_to_the_limit_queues_up_to_the_size_then_refuses():
    t = ConcurrencyLimitingRequestThrottler(max_concurrent_requests=2, max_queue_size=2)
    assert [t.acquire(n) for n in "ab"] == [True, True]
    assert [t.acquire(n) for n in "cd"] == [False, False]
    with pytest.raises(RequestThrottlingException, match="2 requests in flight.*2 queued"):
        t.acquire("e")
    assert (t.in_flight, t.queue_size, t.rejected) == (2, 2, 1)
    # A completion hands its slot to the oldest queued request (FIFO); in_flight is unchanged.
    assert t.release() == "c" and t.in_flight == 2
    assert t.release() == "d" and t.in_flight == 2
    assert t.release() is None and t.in_flight == 1
    assert t.release() is None and t.in_flight == 0
    assert t.release() is None and t.in_flight == 0  # never negative


def test_throttler_does_not_let_a_newcomer_overtake_the_queue():
    t = ConcurrencyLimitingRequestThrottler(max_concurrent_requests=1, max_queue_size=5)
    assert t.acquire("a") is True
    assert t.acquire("b") is False
    assert t.release() == "b"            # b takes a's slot
    assert t.acquire("c") is False        # the slot is b's: c queues


def test_throttler_drain_removes_only_the_matching_queued_requests():
    t = ConcurrencyLimitingRequestThrottler(max_concurrent_requests=1, max_queue_size=5)
    t.acquire(("s1", 0))
    for item in [("s1", 1), ("s2", 2), ("s1", 3)]:
        t.acquire(item)
    assert t.drain(lambda r: r[0] == "s1") == [("s1", 1), ("s1", 3)]
    assert t.queue_size == 1 and t.release() == ("s2", 2)
    assert t.drain() == []


def test_slow_query_logger_logs_at_or_above_the_threshold_only(caplog):
    slow = SlowQueryLogger(threshold=0.5, max_query_length=12)
    with caplog.at_level(logging.WARNING, logger="cassfast.tracker.slow"):
        slow.on_success(info(0.499))
        slow.on_success(info(0.5))
        slow.on_error(info(0.1, ValueError("x")))
        slow.on_error(info(2.0, ValueError("boom")))
    messages = [r.getMessage() for r in caplog.records]
    assert slow.slow_count == 2 and slow.error_count == 1 and len(messages) == 2
    assert messages[0] == ("Slow query: 500.0 ms (threshold 500.0 ms) on 127.0.0.1:9042, keyspace "
                           "ks, retries 1, speculative executions 0, page 2: SELECT * FRO...")
    assert messages[1].startswith("Slow query failed after 2000.0 ms") and "ValueError: boom" in messages[1]


def test_slow_query_logger_checks_its_arguments():
    with pytest.raises(ValueError, match="threshold"):
        SlowQueryLogger(threshold=-1)
    with pytest.raises(ValueError, match="threshold"):
        SlowQueryLogger(threshold="1")
    with pytest.raises(ValueError, match="max_query_length"):
        SlowQueryLogger(max_query_length=0)


def test_multi_tracker_refuses_objects_without_the_hooks():
    with pytest.raises(TypeError, match="on_success"):
        MultiRequestTracker(SlowQueryLogger(), object())


def test_request_info_repr_names_the_outcome():
    assert "ok latency=0.250000s" in repr(info(0.25))
    assert "error=KeyError" in repr(info(0.25, KeyError("k")))


def test_install_as_cassandra_puts_cassandra_cluster_in_sys_modules_at_once():
    # Import hooks keyed by "cassandra.cluster" (ddtrace's patch(cassandra=True)) fire at once
    # only when that name is in sys.modules; through the alias the module's own name stays
    # "cassfast.cluster", which such a hook would never see at import.  A subprocess: this
    # process has the real cassandra-driver imported.
    import subprocess
    import sys
    code = ("import sys, cassfast; cassfast.install_as_cassandra(); "
            "print(sys.modules.get('cassandra.cluster') is sys.modules.get('cassfast.cluster') "
            "is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
