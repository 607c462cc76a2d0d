"""Request throttling: at most N requests in flight per cluster, a bounded queue for the rest.

Modelled on java-driver 4's ``ConcurrencyLimitingRequestThrottler``.
``Cluster(request_throttler=ConcurrencyLimitingRequestThrottler(max_concurrent_requests=256,
max_queue_size=10000))`` lets at most ``max_concurrent_requests`` requests of the cluster's
sessions be in flight at once; a request started beyond that waits in a FIFO queue and is sent when
an earlier one completes; when the queue already holds ``max_queue_size`` requests, ``execute`` /
``execute_async`` / ``aexecute`` raise :class:`RequestThrottlingException` at once (nothing was
sent).  A queued request sits in the queue without its timeout running (its timeout starts when it
is sent); the queue always drains, because every request in flight completes within its own
timeout.  ``Session.shutdown`` / ``Cluster.shutdown`` fail the requests still queued with
``DriverException``, so none is forgotten.  Next-page fetches are not throttled: a request's slot
is released when its first page completes (so a paged read never waits behind itself).

This module holds the counting only: the request path calls :meth:`acquire` before starting a
request and :meth:`release` once when a request that was let through completes (in
``cassfast._request``).  No I/O, no imports above the value layer.
"""
from __future__ import annotations

import threading
from collections import deque
from typing import Any

from cassfast import DriverException

__all__ = ["RequestThrottlingException", "RequestThrottler", "ConcurrencyLimitingRequestThrottler"]


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
        for name, value, least in (("max_concurrent_requests", max_concurrent_requests, 1),
                                   ("max_queue_size", max_queue_size, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError("%s must be an int >= %d, got %r" % (name, least, value))
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
