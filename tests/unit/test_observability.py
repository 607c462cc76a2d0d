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


# ---------------------------------------------------------------- rate limiter (fake clock)

from cassfast import DriverException, OperationTimedOut  # noqa: E402
from cassfast.throttling import RateLimitingRequestThrottler, TokenBucket  # noqa: E402


class FakeClock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


class FakeLoopThread:
    """Records what the throttler submits to the I/O loop instead of running it."""

    def __init__(self):
        self._stopped = False
        self.submitted = []

    def submit(self, fn, *args):
        if self._stopped:
            raise RuntimeError("stopped")
        self.submitted.append((fn, args))


class FakeRequest:
    def __init__(self, name, loop_thread, timeout=None):
        self.name, self._loop_thread, self.timeout = name, loop_thread, timeout

    def __repr__(self):
        return self.name


def test_token_bucket_starts_full_refills_at_the_rate_and_caps_at_the_burst():
    b = TokenBucket(rate=10, burst=3, now=0.0)
    assert [b.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert b.wait(0.0) == pytest.approx(0.1)
    assert b.take(0.05) is False and b.wait(0.05) == pytest.approx(0.05)
    assert b.take(0.1) is True and b.take(0.1) is False
    assert [b.take(100.0) for _ in range(4)] == [True, True, True, False]  # capped at 3
    assert b.take(99.0) is False  # a clock stepping back adds nothing


def test_token_bucket_rejects_bad_rates_and_bursts():
    for rate, burst in ((0, 1), (-1, 1), (float("inf"), 1), (True, 1), (1, 0.5), (1, float("inf"))):
        with pytest.raises(ValueError):
            TokenBucket(rate, burst, 0.0)


def test_rate_limiter_admits_the_burst_then_queues_fifo_then_refuses():
    clock, loop = FakeClock(), FakeLoopThread()
    t = RateLimitingRequestThrottler(10, max_queue_size=2, burst=2, clock=clock)
    a, b, c, d, e = (FakeRequest(n, loop) for n in "abcde")
    assert [t.acquire(a), t.acquire(b)] == [True, True]
    assert [t.acquire(c), t.acquire(d)] == [False, False]
    assert len(loop.submitted) == 1  # one drain armed for the queue, not one per request
    with pytest.raises(RequestThrottlingException, match="10 requests per second.*2 queued"):
        t.acquire(e)
    assert (t.queue_size, t.rejected) == (2, 1)
    assert t.poll(clock.now) == ([], [])
    clock.now += 0.1
    assert t.poll(clock.now) == ([c], [])
    clock.now += 0.1
    assert t.acquire(e) is False  # a token is there, but d is queued: e does not overtake it
    assert t.poll(clock.now) == ([d], [])
    clock.now += 0.1
    assert t.poll(clock.now) == ([e], []) and t.queue_size == 0


def test_rate_limiter_holds_a_long_run_to_the_rate():
    clock, loop = FakeClock(), FakeLoopThread()
    t = RateLimitingRequestThrottler(100, max_queue_size=1000, burst=1, clock=clock)
    requests = [FakeRequest(str(i), loop) for i in range(201)]
    started = sum(t.acquire(r) for r in requests)
    assert started == 1
    for _ in range(100):  # 1 s of 10 ms drain ticks: the burst of 1 plus 100 per second
        clock.now += 0.01
        started += len(t.poll(clock.now)[0])
    assert 100 <= started <= 101
    for _ in range(150):
        clock.now += 0.01
        started += len(t.poll(clock.now)[0])
    assert started == 201 and t.queue_size == 0
    more = [FakeRequest("x", loop) for _ in range(5)]
    assert [t.acquire(r) for r in more] == [True, False, False, False, False]


def test_rate_limiter_fails_queued_requests_whose_timeout_passes_without_spending_tokens():
    clock, loop = FakeClock(), FakeLoopThread()
    t = RateLimitingRequestThrottler(1, max_queue_size=5, burst=1, clock=clock)
    assert t.acquire(FakeRequest("first", loop)) is True
    short, never, long_ = (FakeRequest("short", loop, 0.5), FakeRequest("never", loop, None),
                           FakeRequest("long", loop, 5.0))
    assert [t.acquire(r) for r in (short, never, long_)] == [False, False, False]
    clock.now += 0.6
    assert t.poll(clock.now) == ([], [short]) and t.timed_out == 1
    clock.now += 0.5  # a token accrued since the start: it goes to the head, not the expired
    assert t.poll(clock.now) == ([never], [])
    clock.now += 5.0
    assert t.poll(clock.now) == ([], [long_])


def test_rate_limiter_drain_tick_sends_fails_and_rearms_on_the_loop():
    clock, loop = FakeClock(), FakeLoopThread()
    t = RateLimitingRequestThrottler(1, max_queue_size=5, burst=1, clock=clock)
    log = []

    class Request(FakeRequest):
        def _send_from_throttler(self):
            log.append(("sent", self.name))

        def _set_final_exception(self, exc):
            log.append((type(exc).__name__, self.name))

    armed = []
    t._arm_drain = lambda lt: armed.append(lt)  # the loop's call_later, recorded
    assert t.acquire(Request("a", loop)) is True
    assert [t.acquire(Request(n, loop, 0.5 if n == "b" else None)) for n in "bc"] == [False, False]
    clock.now += 0.6
    t._drain_tick(loop)
    assert log == [("OperationTimedOut", "b")] and armed == [loop]  # c still queued
    clock.now += 0.5
    t._drain_tick(loop)
    assert log[1:] == [("sent", "c")] and armed == [loop] and not t._drain_armed


def test_rate_limiter_refuses_a_second_live_cluster_and_a_stopped_loop():
    clock = FakeClock()
    one, two = FakeLoopThread(), FakeLoopThread()
    t = RateLimitingRequestThrottler(1, burst=1, clock=clock)
    assert t.acquire(FakeRequest("a", one)) is True
    with pytest.raises(ValueError, match="one Cluster"):
        t.acquire(FakeRequest("b", two))
    one._stopped = True
    with pytest.raises(DriverException, match="shut down"):
        t.acquire(FakeRequest("c", one))
    d = FakeRequest("d", two)
    assert t.acquire(d) is False  # rebound to the live cluster's loop
    assert t.drain() == [d] and t.queue_size == 0


def test_rate_limiter_checks_its_arguments():
    for kwargs in ({"max_requests_per_second": 0}, {"max_requests_per_second": "5"},
                   {"max_requests_per_second": 5, "max_queue_size": -1},
                   {"max_requests_per_second": 5, "drain_interval": 0},
                   {"max_requests_per_second": 5, "burst": 0}):
        with pytest.raises(ValueError):
            RateLimitingRequestThrottler(**kwargs)
    assert RateLimitingRequestThrottler(0.5).burst == 1.0
    assert RateLimitingRequestThrottler(250).burst == 250.0
