# cython: language_level=3, annotation_typing=False, binding=False
"""The request driver, compiled: ``ResponseFutureCore``, the state and the moves of one request.

``cassfast._request.ResponseFuture`` (the public class, with the reference's API) is this class
plus the completion hooks that tracing integrations wrap (``_set_final_result`` /
``_set_final_exception``), paging, traces, speculative executions and ``await``.  Compiled for
one reason: every request creates one and walks ``_start`` -> ``_send_next`` -> ``_send_to`` ->
(lane or connection) -> ``_on_response`` -> ``_finish``, and as a ``cdef class`` its state is C
struct members instead of instance-dict entries, and its methods run without interpreter frames.

A request walks its load-balancing query plan on the I/O loop thread, or on the caller's thread
over a synchronous lane (``cassfast._lanes``): it asks the next host's pool for a connection
(waiting for a free stream id when every connection is saturated), sends, arms the timeout, and
hands each answer to its ``RequestEngine`` (``cassfast._engine``: THE one place a retry is
decided, no I/O), then does what the engine decided.

Threads: application threads create futures and wait on them; everything else here runs on the
loop thread (or, for a lane, on the synchronous caller's).  A waiting thread sleeps on a plain
``threading.Lock`` that ``_finish`` releases (the cheapest blocking primitive CPython has);
callbacks run on the loop thread, as in the reference.
"""
import threading
import time

from cassfast import DriverException, OperationTimedOut, _logger_for
from cassfast import _engine
from cassfast._engine cimport RequestEngine
from cassfast._lane cimport LaneCore
from cassfast._lane import LaneSendFailed, LaneTimeout
from cassfast._resultset import ResultSet
from cassfast.connection import ConnectionBusy, ConnectionDraining, ConnectionException, ConnectionShutdown
from cassfast.protocol import ErrorMessage as _ErrorMessage
from cassfast.protocol import ResultMessage as _ResultMessage
from cassfast.query import QueryTrace
from cassfast.tracker import RequestInfo, _report

log = _logger_for(__name__)

_monotonic = time.monotonic
_get_ident = threading.get_ident
_allocate_lock = threading.Lock  # the C lock type: the cheapest one-shot wake-up

# A request not done yet has this as its _final_result (None is a valid result: a write).
NOT_DONE = object()
cdef object _NOT_DONE = NOT_DONE
_NO_KWARGS = {}  # shared by callbacks registered without keyword arguments; never mutated

# The engine's actions (cassfast._engine).
cdef int _COMPLETE_ROWS = _engine.COMPLETE_ROWS
cdef int _COMPLETE = _engine.COMPLETE
cdef int _FAIL = _engine.FAIL
cdef int _RESEND = _engine.RESEND
cdef int _NEXT_HOST = _engine.NEXT_HOST
cdef int _REPREPARE = _engine.REPREPARE
cdef int _SET_KEYSPACE = _engine.SET_KEYSPACE
cdef int _SCHEMA_CHANGE = _engine.SCHEMA_CHANGE

# One lock for every future's callback list: it is held for a few attribute writes only, and
# sharing it avoids allocating a lock per request.
callback_lock = threading.Lock()
cdef object _callback_lock = callback_lock
# Its methods, called directly on the per-request paths: ``with`` costs twice as much (it looks
# up and binds __enter__ and __exit__ on every entry).
cdef object _lock_callbacks = callback_lock.acquire
cdef object _unlock_callbacks = callback_lock.release

# What _lane_exchange returns when there is no answer to handle.
LANE_MOVE_ON = object()  # the lane failed before the request was sent: try the next host
LANE_HANDLED = object()  # the request is complete (timed out or failed)
cdef object _LANE_MOVE_ON = LANE_MOVE_ON
cdef object _LANE_HANDLED = LANE_HANDLED


cdef class ResponseFutureCore:
    """The state and the driving of one request (see the module docstring); the public class
    is ``cassfast._request.ResponseFuture``."""

    # The reference's public attributes.
    cdef public object query, session, row_factory, message, prepared_statement
    cdef public object coordinator_host, attempted_hosts, timeout, default_timeout
    cdef public bint is_schema_agreed
    # Completion: _final_result is NOT_DONE until _finish; the waiter lists are created by the
    # first add_callback / add_errback / result() / await.
    cdef public object _final_result, _final_exception
    cdef public object _callbacks, _errbacks, _waiters, _aio_waiters
    # The attempt in progress.
    cdef public RequestEngine _engine
    cdef public object _load_balancer, _host, _loop_thread, _timer
    cdef public object _current_host, _current_pool, _current_connection, _current_stream
    # What the answer carried.
    cdef public object _paging_state, _col_names, _col_types, _warnings, _custom_payload
    cdef public object _query_traces, _spec_plan
    # Set by Session.execute when the calling thread may run this request on a lane
    # (cassfast._lanes); _lane_deadline is then its monotonic deadline (None: no timeout).
    cdef public bint _sync_lanes
    cdef public object _lane_deadline
    # Metrics (cassfast.metrics), request tracker (cassfast.tracker) and throttler
    # (cassfast.throttling): None when off, so each hook costs one test.  _throttler is set
    # only while this request holds one of the throttler's slots.
    cdef public object _metrics, _tracker, _throttler
    cdef public double _metrics_start
    cdef public double _queued_at  # monotonic time the throttler queued this request
    cdef public int _speculative_executions
    cdef public int _page
    cdef public int _page_first_attempt  # index in attempted_hosts of this page's first attempt

    def __init__(self, session, message, query, timeout, metrics=None, prepared_statement=None,
                 retry_policy=None, row_factory=None, load_balancer=None, start_time=None,
                 speculative_execution_plan=None, continuous_paging_state=None, host=None):
        self.is_schema_agreed = True
        self._page = 1
        self.session = session
        self.message = message
        self.query = query
        self.timeout = timeout
        self.row_factory = row_factory
        self._load_balancer = load_balancer
        self._host = host
        self._loop_thread = session._loop_thread
        if metrics is not None:
            self._metrics = metrics
            self._metrics_start = _monotonic()
        if prepared_statement is not None:
            self.prepared_statement = prepared_statement
        if speculative_execution_plan is not None:
            self._spec_plan = speculative_execution_plan
        self._engine = RequestEngine(query, message, retry_policy, prepared_statement, metrics,
                                     session._prepared_lookup, session._protocol_version)
        self._final_result = _NOT_DONE
        self.attempted_hosts = []

    @property
    def _errors(self):
        """Each host's last error (the engine's), as NoHostAvailable reports them."""
        return self._engine.errors

    @property
    def _query_retries(self):
        return self._engine.retries

    # ------------------------------------------------------------------ sending (loop thread)

    cpdef _start(self):
        """First attempt: build the query plan, arm the timeout, send.

        Runs on the loop thread, or on the thread of a synchronous ``execute`` (direct send)."""
        if self._final_result is not _NOT_DONE:
            return
        if self._sync_lanes:
            # A synchronous caller driving lanes enforces its deadline itself; the loop's
            # timer is armed only if the request falls back to the pool (see _send_to).
            if self.timeout is not None:
                self._lane_deadline = _monotonic() + self.timeout
        elif self.timeout is not None:
            self._timer = self._loop_thread.deadlines.add(self.timeout, self._on_timeout)
        if self._host is not None:
            self._engine.start((self._host,))
        else:
            try:
                self._engine.start(self._load_balancer.make_query_plan(
                    self.session.keyspace, self.query))
            except Exception as exc:
                self._set_final_exception(exc)
                return
        self._send_next()
        if self._spec_plan is not None and self._final_result is _NOT_DONE:
            self._schedule_speculative(self._current_host)

    # ------------------------------------------------------------------ speculative executions

    cpdef _run_blocking(self, use_lanes):
        """Run the request for a synchronous ``Session.execute`` and wait for its result.

        With ``use_lanes`` (and no speculative executions) the calling thread may run the request
        on a lane (``cassfast._lanes``): it sends, reads and hands the answer to the engine
        itself, and no other thread is woken.  Usually the future is done when ``_start``
        returns; it is not when the request fell back to the pool or when a follow-up (keyspace,
        schema agreement) completes it on the loop.  Otherwise the blocked caller still sends its
        own request (Connection direct writes), so the loop thread is woken once, by the answer.
        """
        if use_lanes and self._spec_plan is None:
            self._sync_lanes = True
            self._start()
            if self._final_result is _NOT_DONE:
                return self.result()
        else:
            # No other thread knows this future yet: the wake-up lock is registered without the
            # callback lock that result() needs.
            lock = _allocate_lock()
            lock.acquire()
            if self._waiters is None:
                self._waiters = [lock]
            else:
                self._waiters.append(lock)
            self._start()
            self._wait_on(lock)
        if self._final_exception is not None:
            raise self._final_exception
        return ResultSet(self, self._final_result)

    def send_request(self, error_no_hosts=True):
        """Start (or restart) the request; returns immediately.  Safe from any thread."""
        self._submit(self._start)
        return True

    def _submit(self, fn):
        if self._loop_thread.in_loop_thread():
            fn()
        else:
            self._loop_thread.submit(fn)

    cpdef _send_next(self):
        """Send to the next usable host of the plan, or fail with NoHostAvailable."""
        cdef RequestEngine engine = self._engine
        pools = self.session._pools
        for host in engine.plan:
            pool = pools.get(host)
            if pool is None or pool.is_shutdown:
                engine.host_failed(host, ConnectionException(
                    "No pool for host", getattr(host, "endpoint", None)), keep_first=True)
                continue
            if self._send_to(host, pool):
                return
        self._set_final_exception(engine.no_host_available())

    cpdef _send_to(self, host, pool):
        """Try ``host``; False means move on to the next host.  May park on the pool (back-pressure)."""
        if self._sync_lanes and _get_ident() != self._loop_thread.ident:
            lanes = pool.lanes
            lane = lanes.borrow() if lanes is not None else None
            if lane is not None:
                self._current_host = host
                self._current_pool = pool
                self._current_connection = None
                self.attempted_hosts.append(host)
                answer = self._lane_exchange(host, lanes, lane, self.message,
                                             self._engine.result_metadata, self.row_factory,
                                             self.session.keyspace)
                if answer is _LANE_MOVE_ON:
                    return False
                if answer is not _LANE_HANDLED:
                    # Handled as any other answer, so that decisions stay in the engine; a retry
                    # that picks a host borrows a lane again (or falls back to the pool).
                    self._on_response(answer)
                return True
            # From here the request belongs to the loop: its answer, and any retry it decides,
            # are handled on the loop thread, which must never block on a lane.
            self._sync_lanes = False
            if self._timer is None and self.timeout is not None:
                # Falling back to the pool's connections: the loop enforces the timeout from
                # here (counted from now, so the request may get the time it already spent).
                self._timer = self._loop_thread.deadlines.add(self.timeout, self._on_timeout)
        try:
            connection = pool.borrow_connection()
        except ConnectionException as exc:
            self._engine.host_failed(host, exc)
            return False
        if connection is None:
            # Every stream of every connection is taken: wait for one, bounded by the timeout.
            pool.wait_for_stream(self._retry_same_host)
            self._current_host = host
            self._current_pool = pool
            return True
        # Set before sending: when the caller thread sends (direct writes), the answer may be
        # handled on the loop thread before send_request even returns.
        self._current_host = host
        self._current_pool = pool
        self._current_connection = connection
        self.attempted_hosts.append(host)
        try:
            stream_id = connection.send_request(self.message, self._on_response,
                                                self._engine.result_metadata, self.row_factory)
        except ConnectionDraining:
            # The pool retired the connection between the borrow and the send; nothing was
            # sent, and the pool no longer hands that connection out: borrow again.
            self.attempted_hosts.pop()
            return self._send_to(host, pool)
        except (ConnectionShutdown, ConnectionBusy) as exc:
            self._engine.host_failed(host, exc)
            if self._metrics is not None and exc.__class__ is not ConnectionBusy:
                self._metrics.on_connection_error()
            return False
        except Exception as exc:  # encoding failed: the request itself is bad
            self._set_final_exception(exc)
            return True
        if self._final_result is _NOT_DONE:
            self._current_stream = stream_id
        return True

    cpdef _lane_exchange(self, host, lanes, lane, message, result_metadata, row_factory,
                       keyspace=None):
        """Send ``message`` on a borrowed lane (``cassfast._lanes``) and wait for its answer, on
        this (the caller's) thread; the lane goes back to ``lanes`` or is discarded.

        Returns the answer (a message, or the ``ConnectionException`` the lane failed with after
        sending), ``_LANE_MOVE_ON`` when nothing was sent (the host's error is recorded), or
        ``_LANE_HANDLED`` when the request is complete (timed out, or a bad request)."""
        cdef LaneCore core = lane
        deadline = self._lane_deadline
        try:
            if keyspace and core.keyspace != keyspace:
                lane.use_keyspace(keyspace, deadline)
            answer = core.request(message, result_metadata, row_factory, deadline)
        except LaneSendFailed as exc:
            lanes.discard(lane)
            self._engine.host_failed(host, exc)
            if self._metrics is not None:
                self._metrics.on_connection_error()
            return _LANE_MOVE_ON
        except LaneTimeout:
            lanes.give_back(lane)
            self._on_timeout()
            return _LANE_HANDLED
        except ConnectionException as exc:
            lanes.discard(lane)
            return exc
        except Exception as exc:  # encoding failed (the request itself is bad) or USE failed
            lanes.give_back(lane)
            self._set_final_exception(exc)
            return _LANE_HANDLED
        except BaseException:
            # KeyboardInterrupt and the like, possibly mid-frame: the lane's state is unknown.
            lanes.discard(lane)
            raise
        lanes.give_back(lane)
        if deadline is not None and _monotonic() >= deadline:
            # As on the loop (see _on_response): an answer after the deadline is a timeout.
            self._on_timeout()
            return _LANE_HANDLED
        return answer

    def _retry_same_host(self):
        if self._final_result is not _NOT_DONE:
            return
        pool = self._current_pool
        if pool is None or pool.is_shutdown or not self._send_to(self._current_host, pool):
            self._send_next()

    cpdef _on_timeout(self):
        self._timer = None
        if self._final_result is not _NOT_DONE:
            return
        connection = self._current_connection
        if connection is not None and self._current_stream is not None:
            connection.orphan(self._current_stream, self._on_response)
        self._set_final_exception(self._engine.timed_out(self._current_host))

    # ------------------------------------------------------------------ answers (loop thread)

    cpdef _on_response(self, response):
        cdef RequestEngine engine
        cdef int action
        if self._final_result is not _NOT_DONE:
            return
        self._current_stream = None
        timer = self._timer
        if timer is not None and timer[0] <= _monotonic():
            # The answer came after the deadline but before the timer ran (a timer armed from
            # another thread can lose that race): a late answer is a timeout, deterministically.
            self._on_timeout()
            return
        if (response.__class__ is _ResultMessage and response.trace_id is None
                and not response.warnings):
            # The common answers (a RESULT, nothing else to look at): the engine's decision is
            # acted on here, without the general path's checks.
            self.coordinator_host = self._current_host
            self._custom_payload = response.custom_payload
            engine = self._engine
            action = engine.on_result(response)  # a C call: the engine is cimported
            if action == _COMPLETE_ROWS:
                self._complete_rows(response)
            elif action == _COMPLETE:
                self._set_final_result(engine.payload)
            else:
                self._act_safely(action, self._current_host, self._current_connection)
            return
        self._handle_response(self._current_host, self._current_connection, response)

    def _handle_response(self, host, connection, response):
        self.coordinator_host = host
        try:
            if isinstance(response, (_ResultMessage, _ErrorMessage)):
                if response.trace_id is not None:
                    self._add_trace(response.trace_id)
                if response.warnings:
                    self._on_warnings(response.warnings)
                self._custom_payload = response.custom_payload
            engine = self._engine
            action = engine.on_answer(host, response)
            defunct = engine.defunct
            if defunct is not None:
                engine.defunct = None
                if connection is not None:
                    connection.defunct(defunct)
            self._act(action, host, connection)
        except Exception as exc:
            log.exception("Unexpected error while handling a response")
            self._set_final_exception(exc)

    def _act_safely(self, action, host, connection):
        try:
            self._act(action, host, connection)
        except Exception as exc:
            log.exception("Unexpected error while handling a response")
            self._set_final_exception(exc)

    def _act(self, action, host, connection):
        """Carry out the engine's decision (``cassfast._engine``'s action codes)."""
        engine = self._engine
        if action == _COMPLETE_ROWS:
            self._complete_rows(engine.payload)
        elif action == _COMPLETE:
            self._set_final_result(engine.payload)
        elif action == _FAIL:
            self._set_final_exception(engine.payload)
        elif action == _NEXT_HOST:
            self._send_next()
        elif action == _RESEND:
            pool = self._current_pool
            if pool is None or pool.is_shutdown or not self._send_to(host, pool):
                self._send_next()
        elif action == _REPREPARE:
            self._reprepare(host, connection, engine.payload)
        elif action == _SET_KEYSPACE:
            keyspace = engine.payload
            # Both follow-ups run on the loop (on a lane, this is the caller's thread).
            self._submit(lambda: self.session._set_keyspace_for_all_pools(
                keyspace, self._keyspace_set))
        elif action == _SCHEMA_CHANGE:
            response = engine.payload
            self.is_schema_agreed = False
            self._submit(lambda: self.session.cluster._on_schema_change_result(
                self, response, connection))

    cdef _complete_rows(self, response):
        self._paging_state = response.paging_state
        self._col_names = response.column_names
        self._col_types = response.column_types
        # Through the reference's completion method, not _finish directly: wrappers of it
        # (ddtrace wraps it per future) see every request.  The message layer applied
        # row_factory.
        self._set_final_result(response.parsed_rows)

    def _on_warnings(self, warnings):
        self._warnings = warnings
        for warning in warnings:
            log.warning("Server warning: %s", warning)

    def _keyspace_set(self, errors):
        if errors:
            self._set_final_exception(ConnectionException(
                "Failed to set keyspace on all hosts: %s" % (errors,)))
        else:
            self._set_final_result(None)

    def _reprepare(self, host, connection, message):
        """Send the engine's PREPARE for a statement the server forgot (on the same host)."""
        log.debug("Re-preparing unrecognized prepared statement on %s: %s", host, message.query)
        if self._sync_lanes and connection is None:
            self._reprepare_on_lane(host, message)
            return
        if connection is None or connection.is_defunct or connection.is_closed:
            self._send_next()
            return
        try:
            connection.send_request(message, lambda r: self._after_reprepare(host, r))
        except (ConnectionShutdown, ConnectionBusy) as exc:
            self._engine.host_failed(host, exc)
            self._send_next()

    def _reprepare_on_lane(self, host, message):
        pool = self._current_pool
        lanes = pool.lanes if pool is not None and not pool.is_shutdown else None
        lane = lanes.borrow() if lanes is not None else None
        if lane is None:
            self._send_next()
            return
        answer = self._lane_exchange(host, lanes, lane, message, None, None)
        if answer is _LANE_MOVE_ON:
            self._send_next()
        elif answer is not _LANE_HANDLED:
            self._after_reprepare(host, answer)

    def _after_reprepare(self, host, response):
        if self._final_result is not _NOT_DONE:
            return
        self._act_safely(self._engine.on_reprepared(host, response), host, None)

    def _add_trace(self, trace_id):
        if self._query_traces is None:
            self._query_traces = []
        self._query_traces.append(QueryTrace(trace_id, self.session))

    # ------------------------------------------------------------------ completion

    cpdef _finish(self, result, exc):
        timer = self._timer
        if timer is not None:
            timer[1] = None
            self._timer = None
        _lock_callbacks()
        try:
            if self._final_result is not _NOT_DONE:
                return
            self._final_exception = exc
            self._final_result = result
            callbacks = self._errbacks if exc is not None else self._callbacks
            errbacks = self._errbacks
            self._callbacks = self._errbacks = None
            waiters, self._waiters = self._waiters, None
            aio_waiters, self._aio_waiters = self._aio_waiters, None
        finally:
            _unlock_callbacks()
        metrics = self._metrics
        if metrics is not None:
            # Recorded before anyone is woken: a caller that sees the result sees it counted.
            metrics.on_request(_monotonic() - self._metrics_start,
                               self.coordinator_host or self._current_host, exc)
        if self._tracker is not None:
            self._report_to_tracker(exc)
        if self._throttler is not None:
            self._release_throttle()
        if waiters:
            for lock in waiters:
                lock.release()
        if aio_waiters:
            for loop, afut in aio_waiters:
                _resolve_aio(loop, afut, self)
        if callbacks:
            value = exc if exc is not None else result
            for fn, args, kwargs in callbacks:
                try:
                    fn(value, *args, **kwargs)
                except Exception as callback_exc:
                    log.exception("Unhandled error in a ResponseFuture callback")
                    if exc is None:
                        # As in the reference: a failing callback ends the callbacks and its
                        # exception goes to the errbacks, so code waiting on an errback learns of
                        # it; result() still returns the rows.
                        self._run_errbacks(errbacks, callback_exc)
                        break

    def _report_to_tracker(self, exc):
        query = self.query
        info = RequestInfo(query, getattr(query, "keyspace", None) or self.session.keyspace, exc,
                           _monotonic() - self._metrics_start, self.coordinator_host,
                           self.attempted_hosts[self._page_first_attempt:], self._query_retries,
                           self._speculative_executions, self._page, self)
        _report(self._tracker, info)

    def _release_throttle(self):
        # The slot goes to the next queued request, which is sent now (through the loop).  One
        # that waited longer than its timeout fails instead and the slot passes on: it never
        # held the slot, so its completion releases nothing.
        throttler = self._throttler
        self._throttler = None
        while True:
            try:
                successor = throttler.release()
            except Exception:
                log.exception("Request throttler %r failed to release", throttler)
                return
            if successor is None:
                return
            timeout = successor.timeout
            if timeout is not None and _monotonic() - successor._queued_at >= timeout:
                successor._set_final_exception(OperationTimedOut(
                    {None: "Client request timeout while queued by the request throttler"}))
                continue
            # Always through the loop's queue, even on the loop thread: a successor that fails
            # at once releases the slot from there, never by recursing through here.
            successor._throttler = throttler
            try:
                successor._loop_thread.submit(successor._start)
            except RuntimeError as exc:  # the cluster's loop has stopped
                successor._throttler = None
                successor._set_final_exception(DriverException(
                    "Request queued by the request throttler could not be sent: %s" % (exc,)))
                continue
            return

    def _send_from_throttler(self):
        # Hook of cassfast.throttling (the rate limiter): send this request it had queued, from
        # any thread, through the loop's queue; it holds no slot, so its completion releases
        # nothing.  The loop having stopped fails it: a queued request is never forgotten.
        try:
            self._loop_thread.submit(self._start)
        except RuntimeError as exc:
            self._set_final_exception(DriverException(
                "Request queued by the request throttler could not be sent: %s" % (exc,)))

    @staticmethod
    def _run_errbacks(errbacks, exc):
        for fn, args, kwargs in errbacks or ():
            try:
                fn(exc, *args, **kwargs)
            except Exception:
                log.exception("Unhandled error in a ResponseFuture errback")

    def _reset_for_next_page(self):
        with _callback_lock:
            self._final_result = _NOT_DONE
            self._final_exception = None
            self._callbacks = self._errbacks = None
        self._engine.reset_for_page()
        self._current_connection = None
        self._current_stream = None
        self._speculative_executions = 0
        self._page += 1
        self._page_first_attempt = len(self.attempted_hosts)
        if self._metrics is not None or self._tracker is not None:
            self._metrics_start = _monotonic()  # each page is timed as its own request

    # ------------------------------------------------------------------ public API

    def done(self):
        return self._final_result is not _NOT_DONE

    def result(self):
        """Wait for and return the ResultSet, or raise the request's exception.

        The wait is bounded by the request timeout (see ``_wait_on``).
        """
        if self._final_result is _NOT_DONE:
            lock = _allocate_lock()
            lock.acquire()
            with _callback_lock:
                pending = self._final_result is _NOT_DONE
                if pending:
                    if self._waiters is None:
                        self._waiters = [lock]
                    else:
                        self._waiters.append(lock)
            if pending:
                self._wait_on(lock)
        if self._final_exception is not None:
            raise self._final_exception
        return ResultSet(self, self._final_result)

    def _wait_on(self, lock):
        """Block until ``_finish`` releases ``lock`` (a registered waiter acquired once already).

        Bounded by the request timeout (enforced on the I/O thread) plus a margin, so that a lost
        wake-up can never block the caller forever."""
        wait = -1 if self.timeout is None else self.timeout + 5.0
        if not lock.acquire(True, wait):
            raise OperationTimedOut({self._current_host: "result() wait exceeded the request timeout"},
                                    self._current_host)

    cdef object _register(self, bint errback, tuple entry):
        """Add ``entry`` to the callbacks (or errbacks) while the request runs, and return
        NOT_DONE; once it is done, add nothing and return its exception (None: it succeeded)."""
        _lock_callbacks()
        try:
            if self._final_result is not _NOT_DONE:
                return self._final_exception
            if errback:
                if self._errbacks is None:
                    self._errbacks = [entry]
                else:
                    self._errbacks.append(entry)
            elif self._callbacks is None:
                self._callbacks = [entry]
            else:
                self._callbacks.append(entry)
            return _NOT_DONE
        finally:
            _unlock_callbacks()

    def add_callback(self, fn, *args, **kwargs):
        if self._register(False, (fn, args, kwargs)) is None:  # done, and succeeded
            fn(self._final_result, *args, **kwargs)
        return self

    def add_errback(self, fn, *args, **kwargs):
        exc = self._register(True, (fn, args, kwargs))
        if exc is not None and exc is not _NOT_DONE:  # done, and failed
            fn(exc, *args, **kwargs)
        return self

    def add_callbacks(self, callback, errback, callback_args=(), callback_kwargs=None,
                      errback_args=(), errback_kwargs=None):
        # add_callback then add_errback, under one acquisition of the lock in the common case
        # (the request still running); the call that finds it done runs the one that applies.
        entry = (callback, callback_args, dict(callback_kwargs) if callback_kwargs else _NO_KWARGS)
        _lock_callbacks()
        try:
            if self._final_result is _NOT_DONE:
                if self._callbacks is None:
                    self._callbacks = [entry]
                else:
                    self._callbacks.append(entry)
                entry = (errback, errback_args, dict(errback_kwargs) if errback_kwargs else _NO_KWARGS)
                if self._errbacks is None:
                    self._errbacks = [entry]
                else:
                    self._errbacks.append(entry)
                return
        finally:
            _unlock_callbacks()
        self.add_callback(callback, *callback_args, **(callback_kwargs or {}))
        self.add_errback(errback, *errback_args, **(errback_kwargs or {}))

    def clear_callbacks(self):
        with _callback_lock:
            if self._final_result is _NOT_DONE:
                self._callbacks = self._errbacks = None

    @property
    def has_more_pages(self):
        return bool(self._paging_state)

    @property
    def _start_time(self):  # kept for API parity; cassfast does not time requests by default
        return None

    @property
    def warnings(self):
        return self._warnings

    @property
    def custom_payload(self):
        return self._custom_payload


class _AioBridge:
    """Completes asyncio futures of one foreign event loop in batches.

    The I/O thread appends finished waiters; the first append after a run schedules one
    ``call_soon_threadsafe`` on the awaiting loop, and every waiter finished before that call runs
    rides along.  A pipeline of awaits then costs one cross-thread wake-up per burst of answers,
    not one per request.  The flag is cleared before the swap (as in ``LoopThread.submit``), so
    no waiter is ever left behind.
    """

    __slots__ = ("loop", "pending", "scheduled")

    def __init__(self, loop):
        self.loop = loop
        self.pending = []
        self.scheduled = False

    def add(self, afut):
        self.pending.append(afut)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon_threadsafe(self.run)

    def run(self):
        self.scheduled = False
        pending, self.pending = self.pending, []
        for afut in pending:
            if not afut.done():
                afut.set_result(None)


_bridges = {}
_bridges_lock = threading.Lock()


def _bridge_for(loop) -> _AioBridge:
    bridge = _bridges.get(loop)
    if bridge is None:
        with _bridges_lock:
            for old in [lp for lp in _bridges if lp.is_closed()]:
                del _bridges[old]
            bridge = _bridges.setdefault(loop, _AioBridge(loop))
    return bridge


def _set_aio(afut) -> None:
    if not afut.done():
        afut.set_result(None)


def _resolve_aio(loop, afut, future) -> None:
    """Wake an asyncio waiter: directly when it waits on the I/O loop itself, else batched."""
    io = future._loop_thread
    try:
        if loop is io.loop and io.in_loop_thread():
            _set_aio(afut)
        else:
            _bridge_for(loop).add(afut)
    except RuntimeError:  # the awaiting loop was closed
        pass
