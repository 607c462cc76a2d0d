"""Request execution: ``ResponseFuture``, the reference's public face of one request.

The state and the moves of a request (walking the query plan, sending on a pool connection or a
synchronous lane, timeouts, acting on the engine's decisions, completion, callbacks, waiting) are
compiled in ``cassfast._future.ResponseFutureCore``, which this class extends; the decisions
themselves (which host next, retry or not, re-prepare, how an answer completes) are the
``RequestEngine``'s (``cassfast._engine``: THE one place a retry is decided, no I/O).

Kept here, in Python: the completion hooks ``_set_final_result`` / ``_set_final_exception``
(tracing integrations wrap them on this class, and the core calls them through it), paging,
query traces, speculative executions, and ``await`` (``ResponseFuture`` is awaitable on any
asyncio loop, without a thread hop when that loop is the cluster's own; see ``cassfast.aio``).
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, Generic, List, TypeVar

from cassfast import ConsistencyLevel
from cassfast._errors import NoHostAvailable, QueryExhausted  # noqa: F401  (also public through cluster)
from cassfast._future import NOT_DONE as _NOT_DONE
from cassfast._future import ResponseFutureCore, _allocate_lock
from cassfast._future import callback_lock as _callback_lock
from cassfast._resultset import ResultSet
from cassfast.connection import ConnectionBusy, ConnectionException, ConnectionShutdown
from cassfast.query import QueryTrace, TraceUnavailable
from cassfast import _logger_for

if TYPE_CHECKING:
    from cassfast.host import Host

log = _logger_for(__name__)

_RowT = TypeVar("_RowT")

_get_running_loop = asyncio.get_running_loop
_lock_callbacks = _callback_lock.acquire
_unlock_callbacks = _callback_lock.release


class _SpeculativeAttempt:
    """One extra execution of a request on another host (see ResponseFuture._speculate)."""

    __slots__ = ("future", "host", "connection")

    def __init__(self, future, host, connection) -> None:
        self.future = future
        self.host = host
        self.connection = connection

    def on_response(self, response) -> None:
        future = self.future
        if future._final_result is not _NOT_DONE:
            return
        if future._engine.speculative_answer_wins(self.host, response):
            future._handle_response(self.host, self.connection, response)


class ResponseFuture(ResponseFutureCore, Generic[_RowT]):
    """The eventual result of a request; the reference driver's ``ResponseFuture`` API.

    ``result()`` blocks the calling thread; ``add_callback``/``add_errback`` register functions
    run on the I/O thread; ``await future`` works on any asyncio loop.  For type checkers a
    ``ResponseFuture[R]`` gives a ``ResultSet[R]`` (see ``Session.execute_async``).

    The request's state and its driving are compiled (``cassfast._future.ResponseFutureCore``);
    every decision is the ``RequestEngine``'s (``cassfast._engine``, no I/O).
    """

    if TYPE_CHECKING:
        # The compiled core's API, as type checkers see it on the public class.
        query: Any
        session: Any
        row_factory: Any
        message: Any
        prepared_statement: Any
        coordinator_host: Host | None
        attempted_hosts: List[Host]
        timeout: float | None
        default_timeout: float | None
        is_schema_agreed: bool

        def result(self) -> ResultSet[_RowT]: ...
        def done(self) -> bool: ...
        def send_request(self, error_no_hosts: bool = True) -> bool: ...
        def add_callback(self, fn: Callable[..., object], *args: Any,
                         **kwargs: Any) -> ResponseFuture[_RowT]: ...
        def add_errback(self, fn: Callable[..., object], *args: Any,
                        **kwargs: Any) -> ResponseFuture[_RowT]: ...
        def add_callbacks(self, callback: Callable[..., object], errback: Callable[..., object],
                          callback_args: tuple[Any, ...] = (),
                          callback_kwargs: Dict[str, Any] | None = None,
                          errback_args: tuple[Any, ...] = (),
                          errback_kwargs: Dict[str, Any] | None = None) -> None: ...
        def clear_callbacks(self) -> None: ...
        @property
        def has_more_pages(self) -> bool: ...
        @property
        def warnings(self) -> List[str] | None: ...
        @property
        def custom_payload(self) -> Dict[str, bytes] | None: ...

    def _schedule_speculative(self, host) -> None:
        """Ask the speculative plan when to start another execution (idempotent statements only)."""
        delay = self._spec_plan.next_execution(host)
        if delay is None or delay < 0:
            return
        loop = self._loop_thread.loop
        if self._loop_thread.in_loop_thread():
            loop.call_later(delay, self._speculate)
        else:
            loop.call_soon_threadsafe(loop.call_later, delay, self._speculate)

    def _speculate(self) -> None:
        """Send the same request to the next host of the plan; the first answer wins.

        A speculative attempt's RESULT completes the request; its errors are only recorded (the
        main attempt, with its retry decisions, still decides the outcome).
        """
        if self._final_result is not _NOT_DONE:
            return
        pools = self.session._pools
        engine = self._engine
        for host in engine.plan:
            pool = pools.get(host)
            if pool is None or pool.is_shutdown:
                continue
            try:
                connection = pool.borrow_connection()
            except ConnectionException as exc:
                engine.host_failed(host, exc)
                continue
            if connection is None:
                continue
            attempt = _SpeculativeAttempt(self, host, connection)
            try:
                connection.send_request(self.message, attempt.on_response, engine.result_metadata,
                                        self.row_factory)
            except (ConnectionShutdown, ConnectionBusy) as exc:
                engine.host_failed(host, exc)
                continue
            self.attempted_hosts.append(host)
            self._speculative_executions += 1
            self._schedule_speculative(host)
            return

    def _set_final_result(self, result) -> None:
        self._finish(result, None)

    def _set_final_exception(self, exc) -> None:
        self._finish(None, exc)

    def start_fetching_next_page(self) -> None:
        """Request the next page; the same future then completes with it."""
        if not self._paging_state:
            raise QueryExhausted()
        self.message.paging_state = self._paging_state
        self._paging_state = None
        self._reset_for_next_page()
        self._sync_lanes = False  # the loop thread sends it
        self.send_request()

    def _fetch_next_page_and_wait(self):
        """``ResultSet`` iteration: fetch the next page and wait for it.

        A future that started on a lane fetches its next page the same way, on this thread."""
        if not self._paging_state:
            raise QueryExhausted()
        if self._sync_lanes and not self._loop_thread.in_loop_thread():
            self.message.paging_state = self._paging_state
            self._paging_state = None
            self._reset_for_next_page()
            lock = _allocate_lock()
            lock.acquire()
            self._waiters = [lock]
            self._start()
            self._wait_on(lock)
            return self.result()
        self.start_fetching_next_page()
        return self.result()

    def get_query_trace_ids(self) -> List[Any]:
        return [trace.trace_id for trace in (self._query_traces or [])]

    def get_query_trace(self, max_wait: float | None = None,
                        query_cl: int = ConsistencyLevel.LOCAL_ONE) -> QueryTrace | None:
        if self._final_result is _NOT_DONE:
            raise TraceUnavailable("Trace information was not available. The ResponseFuture is not done.")
        if not self._query_traces:
            return None
        trace = self._query_traces[-1]
        trace.populate(max_wait, query_cl=query_cl)
        return trace

    def get_all_query_traces(self, max_wait_per: float | None = None,
                             query_cl: int = ConsistencyLevel.LOCAL_ONE) -> List[QueryTrace]:
        traces = self._query_traces or []
        for trace in traces:
            trace.populate(max_wait_per, query_cl=query_cl)
        return traces

    # ------------------------------------------------------------------ asyncio

    def __await__(self) -> Generator[Any, None, ResultSet[_RowT]]:
        # A generator, not a coroutine wrapped per await: one frame less per awaited request.
        if self._final_result is _NOT_DONE:
            loop = _get_running_loop()
            afut = loop.create_future()
            _lock_callbacks()
            try:
                pending = self._final_result is _NOT_DONE
                if pending:
                    if self._aio_waiters is None:
                        self._aio_waiters = [(loop, afut)]
                    else:
                        self._aio_waiters.append((loop, afut))
            finally:
                _unlock_callbacks()
            if pending:
                yield from afut.__await__()
        if self._final_exception is not None:
            raise self._final_exception
        return ResultSet(self, self._final_result)

    def __str__(self):
        result = "(no result yet)" if self._final_result is _NOT_DONE else self._final_result
        return "<ResponseFuture: query='%s' request_id=%s result=%s exception=%s coordinator_host=%s>" % (
            self.query, id(self), result, self._final_exception, self.coordinator_host)

    __repr__ = __str__
