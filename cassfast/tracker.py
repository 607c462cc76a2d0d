"""Request tracking: a hook told the outcome of every request, and a slow-query logger on it.

Modelled on java-driver 4's ``RequestTracker``.  ``Cluster(request_tracker=tracker)`` makes every
session of the cluster call ``tracker.on_success(info)`` or ``tracker.on_error(info)`` once per
request it completes, with a :class:`RequestInfo`: the statement, its keyspace, the outcome, the
latency, the coordinator, the hosts tried, the retries and the speculative executions started.
Every path reports: ``execute`` (on a lane or on the pool), ``execute_async``, ``aexecute`` and
other asyncio awaits, ``execute_concurrent``, and each page fetch (a page is its own request,
``info.page`` counts them from 1).  The driver's own traffic (control connection, PREPARE, USE,
heartbeats) is not reported; trace reads (``get_query_trace``) are, as the reference times them.

When it runs: at the one point where a request completes (``ResponseFuture._finish``), on the
thread that completed it (the I/O thread, or the caller of a synchronous ``execute`` running on a
lane), after the result is set and before any waiter or callback is woken, so a caller that sees
its result knows the tracker has seen it.  Keep the hook short: it delays that wake-up.  An
exception raised by the hook is logged and never reaches the request.  With no tracker the request
path pays one ``is None`` test.

This module holds values and policies only (no I/O); it imports nothing above the value layer.
"""
from __future__ import annotations

import logging
from typing import Any

from cassfast import _logger_for

log = _logger_for(__name__)

__all__ = ["RequestInfo", "RequestTracker", "MultiRequestTracker", "SlowQueryLogger"]


class RequestInfo:
    """What is known about one request when it completes (read-only by convention).

    - ``query``: the statement (a ``Statement``; a string was wrapped in ``SimpleStatement``).
    - ``keyspace``: the statement's keyspace, else the session's (may be None).
    - ``exception``: None on success, else the exception the caller gets.
    - ``latency``: seconds from the request's creation (or its page's request) to completion.
    - ``coordinator``: the ``Host`` that answered, None if no host answered.
    - ``attempted_hosts``: every host a message was sent to, in order (retries and speculative
      executions included).
    - ``retries``: how many times the retry policy asked for a retry (RETRY or RETRY_NEXT_HOST).
    - ``speculative_executions``: how many speculative executions were started.
    - ``page``: 1 for the first page, 2 for the next page fetched with the same future, ...
    - ``response_future``: the ``ResponseFuture`` (for anything else, e.g. ``warnings``).
    """

    __slots__ = ("query", "keyspace", "exception", "latency", "coordinator", "attempted_hosts",
                 "retries", "speculative_executions", "page", "response_future")

    def __init__(self, query, keyspace, exception, latency, coordinator, attempted_hosts,
                 retries, speculative_executions, page, response_future) -> None:
        self.query = query
        self.keyspace = keyspace
        self.exception = exception
        self.latency = latency
        self.coordinator = coordinator
        self.attempted_hosts = attempted_hosts
        self.retries = retries
        self.speculative_executions = speculative_executions
        self.page = page
        self.response_future = response_future

    @property
    def succeeded(self) -> bool:
        return self.exception is None

    @property
    def query_string(self) -> str | None:
        """The CQL text of the statement (a bound statement's is its prepared one's; a batch has
        none)."""
        text = getattr(self.query, "query_string", None)
        if text is None:
            text = getattr(getattr(self.query, "prepared_statement", None), "query_string", None)
        return text

    def __repr__(self) -> str:
        return ("<RequestInfo query=%r keyspace=%r %s latency=%.6fs coordinator=%s retries=%d "
                "speculative_executions=%d page=%d>" % (
                    self.query_string, self.keyspace,
                    "ok" if self.exception is None else "error=%s" % type(self.exception).__name__,
                    self.latency, self.coordinator, self.retries, self.speculative_executions,
                    self.page))


class RequestTracker:
    """Base class of request trackers: override either method (both do nothing here)."""

    def on_success(self, info: RequestInfo) -> None:
        """A request completed with a result (IGNORE decisions included)."""

    def on_error(self, info: RequestInfo) -> None:
        """A request failed: ``info.exception`` is what the caller gets."""

    def close(self) -> None:
        """Called once by ``Cluster.shutdown()``."""


class MultiRequestTracker(RequestTracker):
    """Several trackers as one (java-driver's ``MultiplexingRequestTracker``), called in order.

    One tracker's exception is logged and does not keep the others from running."""

    def __init__(self, *trackers: RequestTracker) -> None:
        for tracker in trackers:
            if not callable(getattr(tracker, "on_success", None)) or not callable(
                    getattr(tracker, "on_error", None)):
                raise TypeError("a request tracker needs on_success(info) and on_error(info), "
                                "got %r" % (tracker,))
        self.trackers = tuple(trackers)

    def on_success(self, info: RequestInfo) -> None:
        for tracker in self.trackers:
            try:
                tracker.on_success(info)
            except Exception:
                log.exception("Request tracker %r failed", tracker)

    def on_error(self, info: RequestInfo) -> None:
        for tracker in self.trackers:
            try:
                tracker.on_error(info)
            except Exception:
                log.exception("Request tracker %r failed", tracker)

    def close(self) -> None:
        for tracker in self.trackers:
            close = getattr(tracker, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.exception("Request tracker %r failed to close", tracker)


class SlowQueryLogger(RequestTracker):
    """Logs every request slower than ``threshold`` seconds (java-driver's ``RequestLogger``).

    A WARNING on the ``cassfast.tracker.slow`` logger (or ``logger``) per slow request, naming the
    latency, coordinator, keyspace, retries, speculative executions and the statement, truncated to
    ``max_query_length`` characters.  Bound values are never logged (they may be secrets).
    ``log_errors=True`` also logs every failed request, slow or not, with its exception.
    ``slow_count`` and ``error_count`` count what was logged.
    """

    def __init__(self, threshold: float = 1.0, logger: logging.Logger | None = None,
                 max_query_length: int = 500, log_errors: bool = False) -> None:
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or threshold < 0:
            raise ValueError("threshold must be a number of seconds >= 0, got %r" % (threshold,))
        if not isinstance(max_query_length, int) or max_query_length < 1:
            raise ValueError("max_query_length must be an int >= 1, got %r" % (max_query_length,))
        self.threshold = float(threshold)
        self.logger = logger if logger is not None else _logger_for(__name__ + ".slow")
        self.max_query_length = max_query_length
        self.log_errors = log_errors
        self.slow_count = 0
        self.error_count = 0

    def _describe(self, info: RequestInfo) -> str:
        text = info.query_string
        if text is None:
            text = "<%s>" % type(info.query).__name__
        if len(text) > self.max_query_length:
            text = text[:self.max_query_length] + "..."
        return text

    def on_success(self, info: RequestInfo) -> None:
        if info.latency >= self.threshold:
            self.slow_count += 1
            self.logger.warning(
                "Slow query: %.1f ms (threshold %.1f ms) on %s, keyspace %s, retries %d, "
                "speculative executions %d, page %d: %s",
                info.latency * 1e3, self.threshold * 1e3, info.coordinator, info.keyspace,
                info.retries, info.speculative_executions, info.page, self._describe(info))

    def on_error(self, info: RequestInfo) -> None:
        slow = info.latency >= self.threshold
        if slow:
            self.slow_count += 1
        if slow or self.log_errors:
            self.error_count += 1
            self.logger.warning(
                "%s query failed after %.1f ms on %s, keyspace %s, retries %d, speculative "
                "executions %d, page %d: %s: %s: %s",
                "Slow" if slow else "A", info.latency * 1e3, info.coordinator, info.keyspace,
                info.retries, info.speculative_executions, info.page,
                type(info.exception).__name__, info.exception, self._describe(info))


def _report(tracker: Any, info: RequestInfo) -> None:
    """Call the tracker's hook for ``info``; its exceptions are logged, never raised."""
    try:
        if info.exception is None:
            tracker.on_success(info)
        else:
            tracker.on_error(info)
    except Exception:
        log.exception("Request tracker %r failed", tracker)
