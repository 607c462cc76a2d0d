"""Request throttling: a concurrency limit or a rate limit per cluster, a bounded queue for the rest.

Modelled on java-driver 4's ``ConcurrencyLimitingRequestThrottler`` and
``RateLimitingRequestThrottler``.

Concurrency limit: ``Cluster(request_throttler=ConcurrencyLimitingRequestThrottler(max_concurrent_requests=256,
max_queue_size=10000))`` lets at most ``max_concurrent_requests`` requests of the cluster's
sessions be in flight at once; a request started beyond that waits in a FIFO queue and is sent when
an earlier one completes; when the queue already holds ``max_queue_size`` requests, ``execute`` /
``execute_async`` / ``aexecute`` raise :class:`RequestThrottlingException` at once (nothing was
sent).  A queued request sits in the queue without its timeout running (its timeout starts when it
is sent); the queue always drains, because every request in flight completes within its own
timeout.  ``Session.shutdown`` / ``Cluster.shutdown`` fail the requests still queued with
``DriverException``, so none is forgotten.  Next-page fetches are not throttled: a request's slot
is released when its first page completes (so a paged read never waits behind itself).

Rate limit: ``Cluster(request_throttler=RateLimitingRequestThrottler(max_requests_per_second=500,
max_queue_size=10000))`` starts at most ``max_requests_per_second`` requests per second, on average,
over the cluster's sessions.  It is a token bucket (:class:`TokenBucket`): tokens accrue
continuously at the rate, up to ``burst`` of them (by default one second's worth, as java-driver's
stored permits), and each request started takes one; the bucket starts full, so after an idle
second up to ``burst`` requests go at once and any longer run is held to the rate.  A request
that finds no token, or finds requests already queued (no newcomer overtakes the queue), waits in
a FIFO queue; the cluster's I/O loop drains the queue every ``drain_interval`` seconds while it is
not empty, starting as many queued requests as there are tokens.  A full queue refuses with
:class:`RequestThrottlingException` as above.  A queued request whose timeout passes while it
waits fails with ``OperationTimedOut`` (within one drain interval; nothing was sent), and its
timeout starts again when it is sent.  Shutdown fails the queued requests with
``DriverException``.  Completions release nothing.  One rate limiter serves one ``Cluster``.

The request path calls :meth:`RequestThrottler.acquire` before starting a request and
:meth:`RequestThrottler.release` once when a request that was let through completes (in
``cassfast._request``).  The rate limiter also uses what a queued request (a ``ResponseFuture``)
offers a throttler: ``timeout``, ``_loop_thread`` (to run the drain on the I/O loop),
``_send_from_throttler()`` and ``_set_final_exception(exc)``.  The counting and the bucket
arithmetic do no I/O (the rate limiter's clock can be given), and nothing here imports above the
value layer.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

from cassfast import DriverException, OperationTimedOut

__all__ = ["RequestThrottlingException", "RequestThrottler", "ConcurrencyLimitingRequestThrottler",
           "RateLimitingRequestThrottler", "TokenBucket"]


def _check_int(name: str, value: Any, least: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError("%s must be an int >= %d, got %r" % (name, least, value))


def _check_seconds(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0 \
            or value == float("inf"):
        raise ValueError("%s must be a finite number > 0, got %r" % (name, value))


class RequestThrottlingException(DriverException):
    """The throttler's queue is full: the request was refused before anything was sent.

    Named after java-driver 4's exception of the same name; a ``BusyError``-style signal that the
    application is submitting faster than the cluster answers.  Safe to retry later."""


class RequestThrottler:
    """The interface the request path uses (subclass it for another policy).

    ``acquire(request)``: True means send now; False means ``request`` was queued and
    ``release`` will return it later; raises :class:`RequestThrottlingException` to refuse.
    ``release()``: a request let through completed; returns the queued request that takes its
    slot (the caller sends it), or None.  ``drain()``: empty the queue (shutdown) and return what
    it held.
    """

    def acquire(self, request: Any) -> bool:
        raise NotImplementedError

    def release(self) -> Any:
        raise NotImplementedError

    def drain(self, predicate=None) -> list:
        return []


class ConcurrencyLimitingRequestThrottler(RequestThrottler):
    """At most ``max_concurrent_requests`` in flight, at most ``max_queue_size`` waiting.

    Thread-safe (one lock held for a few operations).  ``in_flight`` and ``queue_size`` read
    the current figures; ``rejected`` counts the refusals."""

    def __init__(self, max_concurrent_requests: int = 10000, max_queue_size: int = 10000) -> None:
        _check_int("max_concurrent_requests", max_concurrent_requests, 1)
        _check_int("max_queue_size", max_queue_size, 0)
        self.max_concurrent_requests = max_concurrent_requests
        self.max_queue_size = max_queue_size
        self._lock = threading.Lock()
        self._queue: deque = deque()
        self.in_flight = 0
        self.rejected = 0

    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def acquire(self, request: Any) -> bool:
        with self._lock:
            if self.in_flight < self.max_concurrent_requests and not self._queue:
                self.in_flight += 1
                return True
            if len(self._queue) < self.max_queue_size:
                self._queue.append(request)
                return False
            self.rejected += 1
        raise RequestThrottlingException(
            "The request queue is full (%d requests in flight, the limit, and %d queued, the "
            "maximum): the request was not sent; slow down or raise the throttler's limits"
            % (self.max_concurrent_requests, self.max_queue_size))

    def release(self) -> Any:
        with self._lock:
            if self._queue:
                return self._queue.popleft()  # it takes over the slot: in_flight is unchanged
            if self.in_flight > 0:
                self.in_flight -= 1
            return None

    def drain(self, predicate=None) -> list:
        with self._lock:
            if predicate is None:
                queued = list(self._queue)
                self._queue.clear()
            else:
                queued = [r for r in self._queue if predicate(r)]
                self._queue = deque(r for r in self._queue if not predicate(r))
        return queued

    def __repr__(self) -> str:
        return "<ConcurrencyLimitingRequestThrottler in_flight=%d/%d queued=%d/%d>" % (
            self.in_flight, self.max_concurrent_requests, len(self._queue), self.max_queue_size)


class TokenBucket:
    """Token-bucket arithmetic, given the time: ``rate`` tokens per second, at most ``burst`` held.

    ``take(now)`` spends one token if a whole one has accrued by ``now`` and says whether it did;
    ``wait(now)`` is how long until the next whole token.  The bucket starts full at ``now``.
    Times are seconds on any monotonic clock; a clock that steps back adds nothing.  Not
    thread-safe (its owner holds a lock)."""

    __slots__ = ("rate", "burst", "tokens", "updated")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        _check_seconds("rate", rate)
        if not isinstance(burst, (int, float)) or isinstance(burst, bool) or not 1 <= burst < float("inf"):
            raise ValueError("burst must be a finite number >= 1, got %r" % (burst,))
        self.rate = float(rate)
        self.burst = float(burst)
        self.tokens = self.burst
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
            self.updated = now

    # A token that is whole but for float rounding of clock differences (100.1 - 100.0 is
    # 0.0999...) counts as whole.
    _WHOLE = 1.0 - 1e-9

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= self._WHOLE:
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= self._WHOLE else (1.0 - self.tokens) / self.rate

    def __repr__(self) -> str:
        return "<TokenBucket %.3g/s burst=%.3g tokens=%.3f>" % (self.rate, self.burst, self.tokens)


_INF = float("inf")


class RateLimitingRequestThrottler(RequestThrottler):
    """At most ``max_requests_per_second`` started per second, at most ``max_queue_size`` waiting.

    A token bucket holding up to ``burst`` tokens (default: ``max_requests_per_second``, one
    second's worth; at least 1) and a FIFO queue drained on the cluster's I/O loop every
    ``drain_interval`` seconds while it is not empty (see the module docstring).  Thread-safe.
    ``queue_size`` reads the queue's length; ``rejected`` counts the refusals and
    ``timed_out`` the queued requests failed by their timeout.  ``clock`` (seconds, monotonic) is
    for tests."""

    def __init__(self, max_requests_per_second: float, max_queue_size: int = 10000,
                 drain_interval: float = 0.01, *, burst: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        _check_seconds("max_requests_per_second", max_requests_per_second)
        _check_int("max_queue_size", max_queue_size, 0)
        _check_seconds("drain_interval", drain_interval)
        if burst is None:
            burst = max(1.0, float(max_requests_per_second))
        self.max_requests_per_second = max_requests_per_second
        self.max_queue_size = max_queue_size
        self.drain_interval = drain_interval
        self._clock = clock
        self._bucket = TokenBucket(max_requests_per_second, burst, clock())
        self._lock = threading.Lock()
        # (request, deadline) in arrival order; deadline is the clock time its timeout passes.
        self._queue: deque = deque()
        self._earliest_deadline = _INF  # a lower bound of the queued deadlines
        self._loop_thread: Any = None   # the I/O loop of the cluster served (bound on first use)
        self._drain_armed = False
        self.rejected = 0
        self.timed_out = 0

    @property
    def burst(self) -> float:
        return self._bucket.burst

    @property
    def queue_size(self) -> int:
        return len(self._queue)

    def acquire(self, request: Any) -> bool:
        loop_thread = request._loop_thread
        with self._lock:
            if loop_thread is not self._loop_thread:
                self._bind(loop_thread)
            now = self._clock()
            queue = self._queue
            if not queue and self._bucket.take(now):
                return True
            if loop_thread._stopped:
                raise DriverException("The request could not be queued by the request throttler: "
                                      "the cluster's I/O loop has shut down")
            if len(queue) < self.max_queue_size:
                timeout = request.timeout
                deadline = _INF if timeout is None else now + timeout
                queue.append((request, deadline))
                if deadline < self._earliest_deadline:
                    self._earliest_deadline = deadline
                arm = not self._drain_armed
                self._drain_armed = True
            else:
                self.rejected += 1
                arm = None
        if arm is None:
            raise RequestThrottlingException(
                "The request queue is full (rate limit %g requests per second reached, and %d "
                "queued, the maximum): the request was not sent; slow down or raise the "
                "throttler's limits" % (self.max_requests_per_second, self.max_queue_size))
        if arm:
            try:
                loop_thread.submit(self._arm_drain, loop_thread)
            except RuntimeError:  # the cluster's loop has stopped: nothing will drain the queue
                with self._lock:
                    self._drain_armed = False
                    self._queue = deque(e for e in self._queue if e[0] is not request)
                raise DriverException("The request could not be queued by the request throttler: "
                                      "the cluster's I/O loop has shut down")
        return False

    def _bind(self, loop_thread: Any) -> None:
        # Under the lock.  The drain runs on one loop; a second live cluster would have its
        # queued requests drained by a loop that may stop before them.
        current = self._loop_thread
        if current is not None and not current._stopped:
            raise ValueError("a RateLimitingRequestThrottler serves the sessions of one Cluster; "
                             "give each Cluster its own")
        self._loop_thread = loop_thread
        self._drain_armed = False  # a drain armed on a stopped loop will never run

    def release(self) -> Any:
        return None  # a rate limit holds no slots

    def drain(self, predicate=None) -> list:
        with self._lock:
            if predicate is None:
                queued = [request for request, _ in self._queue]
                self._queue.clear()
            else:
                queued = [request for request, _ in self._queue if predicate(request)]
                self._queue = deque(e for e in self._queue if not predicate(e[0]))
        return queued

    def poll(self, now: float) -> tuple:
        """Take out of the queue what is due at ``now``: ``(ready, expired)``, both in FIFO order.

        ``ready`` are the requests that got a token (to send), ``expired`` those whose timeout
        passed while queued (to fail); an expired request takes no token.  I/O-free: the drain
        calls it and acts on the result outside the lock."""
        ready: list = []
        expired: list = []
        with self._lock:
            queue = self._queue
            if now >= self._earliest_deadline:
                kept: deque = deque()
                earliest = _INF
                for entry in queue:
                    if entry[1] <= now:
                        expired.append(entry[0])
                    else:
                        kept.append(entry)
                        if entry[1] < earliest:
                            earliest = entry[1]
                self._queue = queue = kept
                self._earliest_deadline = earliest
            bucket = self._bucket
            while queue and bucket.take(now):
                ready.append(queue.popleft()[0])
            if not queue:
                self._earliest_deadline = _INF
            self.timed_out += len(expired)
        return ready, expired

    # ------------------------------------------------------------ on the cluster's I/O loop

    def _arm_drain(self, loop_thread: Any) -> None:
        loop_thread.loop.call_later(self.drain_interval, self._drain_tick, loop_thread)

    def _drain_tick(self, loop_thread: Any) -> None:
        ready, expired = self.poll(self._clock())
        with self._lock:
            again = bool(self._queue) and loop_thread is self._loop_thread
            self._drain_armed = again
        if again:
            self._arm_drain(loop_thread)
        for request in expired:
            request._set_final_exception(OperationTimedOut(
                {None: "Client request timeout while queued by the request throttler"}))
        for request in ready:
            request._send_from_throttler()

    def __repr__(self) -> str:
        return "<RateLimitingRequestThrottler %g/s burst=%g queued=%d/%d>" % (
            self.max_requests_per_second, self._bucket.burst, len(self._queue),
            self.max_queue_size)
