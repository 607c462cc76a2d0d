# cython: language_level=3, boundscheck=True, wraparound=True
# (bounds checks on: the engine indexes what user policies return, which may be anything)
"""The request engine: every decision of one request, and no I/O (compiled: a ``cdef class``).

A ``RequestEngine`` is given the statement, its message, the retry policy and the query plan;
the request's driver (``cassfast._request.ResponseFuture``, over the pool's multiplexed
connections or a synchronous lane) hands it each thing that happens (an answer, a failed send, a
timeout) and gets back what to do next, as one of the action codes below, with the action's
value in ``engine.payload``.  The engine never sends, sleeps, or touches a connection, a pool or
a thread: it is tested without a server (``tests/unit/test_request_engine.py``), and it is THE
one place where a retry is decided:

========================  =======================================================================
``on_answer`` gets        the action
========================  =======================================================================
RESULT ROWS               ``COMPLETE_ROWS`` (``payload``: the message; a v5 result metadata id
                          updates the prepared statement, spec 4.2.5.2)
RESULT VOID / other       ``COMPLETE`` (``payload``: ``None``, or the message for PREPARED)
RESULT SET_KEYSPACE       ``SET_KEYSPACE`` (``payload``: the keyspace: USE it on every pool)
RESULT SCHEMA_CHANGE      ``SCHEMA_CHANGE`` (``payload``: the message: wait for agreement)
ERROR read/write timeout, the retry policy's ``on_read_timeout`` / ``on_write_timeout`` /
unavailable               ``on_unavailable``; then its decision (below)
ERROR overloaded,         ``on_request_error``; then its decision
bootstrapping, truncate,
server error
ERROR unprepared          ``REPREPARE`` (``payload``: the PREPARE message; send it on the same
                          connection and give its answer to ``on_reprepared``), or ``FAIL``
                          when the statement is unknown to the driver
ERROR, any other code     ``FAIL`` (``payload``: the exception, e.g. ``InvalidRequest``)
a connection error        ``FAIL`` for a statement that is not idempotent (it may have been
                          applied); otherwise ``on_request_error`` and its decision.  A
                          ``ConnectionException`` other than a shutdown also sets ``defunct``:
                          the connection that failed is unusable
a body that did not       ``FAIL`` with the decoding error (the request's own problem)
decode
anything else             ``FAIL`` with a ``ConnectionException``, and ``defunct`` is set
========================  =======================================================================

Retry decisions (``cassfast.policies.RetryDecision``): ``RETHROW`` -> ``FAIL`` with the server's
exception; ``IGNORE`` -> ``COMPLETE`` with ``None``; ``RETRY`` -> ``RESEND`` (the same host, at the
consistency the policy returned, if any); ``RETRY_NEXT_HOST`` -> ``NEXT_HOST``.  A decision that is
none of these fails the request with a ``DriverException`` naming the policy.  Retries are counted
(``retries``, the ``retry_num`` the policy sees next), and each host's last error is kept in
``errors`` for ``NoHostAvailable`` and ``OperationTimedOut``.

The driver walks the plan with ``next_host()``; ``no_host_available()`` and ``timed_out()`` build
the final exceptions; ``host_failed()`` records a host that could not be used (no pool, no
connection, a send that failed) before it moves on.
"""
from cassfast import DriverException, OperationTimedOut, ProtocolVersion, _logger_for
from cassfast import _wire
from cassfast._errors import NoHostAvailable
from cassfast.connection import ConnectionException, ConnectionShutdown
from cassfast.protocol import ErrorMessage, PrepareMessage, ResultMessage

# ---- actions (what the driver does next) ---------------------------------------------------------
NOTHING = 0        # nothing to do (a speculative attempt's error: recorded only)
COMPLETE_ROWS = 1  # complete with the rows of the ROWS message in ``payload``
COMPLETE = 2       # complete with ``payload`` as the result
FAIL = 3           # fail with the exception in ``payload``
RESEND = 4         # send the message again to the same host
NEXT_HOST = 5      # send to the next host of the plan
REPREPARE = 6      # send the PREPARE in ``payload`` on the same connection, then ``on_reprepared``
SET_KEYSPACE = 7   # USE the keyspace in ``payload`` on every pool, then complete
SCHEMA_CHANGE = 8  # wait for schema agreement (``payload``: the message), then complete

ACTION_NAMES = {NOTHING: "NOTHING", COMPLETE_ROWS: "COMPLETE_ROWS", COMPLETE: "COMPLETE",
                FAIL: "FAIL", RESEND: "RESEND", NEXT_HOST: "NEXT_HOST", REPREPARE: "REPREPARE",
                SET_KEYSPACE: "SET_KEYSPACE", SCHEMA_CHANGE: "SCHEMA_CHANGE"}

# RetryDecision values (cassfast.policies.RetryDecision; the numbers are the seed's API).
_RETHROW, _RETRY, _IGNORE, _RETRY_NEXT_HOST = 0, 1, 2, 3

_ROWS = _wire.RESULT_KIND_ROWS
_VOID = _wire.RESULT_KIND_VOID
_SET_KEYSPACE = _wire.RESULT_KIND_SET_KEYSPACE
_SCHEMA_CHANGE = _wire.RESULT_KIND_SCHEMA_CHANGE
_PREPARED = _wire.RESULT_KIND_PREPARED

_READ_TIMEOUT = _wire.ERR_READ_TIMEOUT
_WRITE_TIMEOUT = _wire.ERR_WRITE_TIMEOUT
_UNAVAILABLE = _wire.ERR_UNAVAILABLE
_UNPREPARED = _wire.ERR_UNPREPARED
# The errors the retry policy's on_request_error decides (the reference's set).
log = _logger_for(__name__)

_REQUEST_ERRORS = frozenset((_wire.ERR_OVERLOADED, _wire.ERR_IS_BOOTSTRAPPING,
                             _wire.ERR_TRUNCATE_ERROR, _wire.ERR_SERVER_ERROR))

TIMEOUT_MESSAGE = "Client request timeout. See Session.execute[_async](timeout)"


_NO_PLAN = iter(())  # an exhausted iterator: the plan before start()


cdef class RequestEngine:
    """The decisions of one request (see the module docstring); plain state, no I/O.

    ``query`` is the statement (what the retry policy is shown, ``is_idempotent``); ``message``
    the request message (its ``consistency_level`` is what a retry may change, its
    ``result_metadata_id`` what a v5 metadata change updates); ``prepared`` the
    ``PreparedStatement`` of a bound statement; ``prepared_lookup(query_id)`` finds any other
    statement the server forgot (the cluster's prepared-statement cache); ``metrics`` the
    cluster's ``Metrics`` or ``None``.
    """

    # The attributes are declared in _engine.pxd (the request driver, _future.pyx, cimports it).

    def __init__(self, query, message, retry_policy, prepared=None, metrics=None,
                 prepared_lookup=None, protocol_version=None):
        self.query = query
        self.message = message
        self.retry_policy = retry_policy
        self.prepared = prepared
        self.result_metadata = prepared.result_metadata if prepared is not None else None
        self.metrics = metrics
        self.prepared_lookup = prepared_lookup
        self.protocol_version = (ProtocolVersion.MAX_SUPPORTED if protocol_version is None
                                 else protocol_version)
        self.errors = {}
        self.plan = _NO_PLAN

    # ------------------------------------------------------------------ the plan

    def start(self, plan):
        """Take the query plan (any iterable of hosts), walked once by ``next_host``."""
        self.plan = iter(plan)

    def next_host(self):
        """The next host of the plan, or ``None`` when it is exhausted."""
        return next(self.plan, None)

    def host_failed(self, host, exc, keep_first=False):
        """Record why ``host`` could not take the request (the driver then moves on)."""
        if keep_first:
            self.errors.setdefault(host, exc)
        else:
            self.errors[host] = exc

    def no_host_available(self):
        return NoHostAvailable("Unable to complete the operation against any hosts", self.errors)

    def timed_out(self, host):
        errors = dict(self.errors)
        if host is not None:
            errors[host] = TIMEOUT_MESSAGE
        return OperationTimedOut(errors, host)

    def reset_for_page(self):
        """A new page is a new request as far as retries and errors go."""
        self.errors = {}
        self.retries = 0

    # ------------------------------------------------------------------ answers

    def on_answer(self, host, answer):
        """What to do with ``answer`` (a decoded message or an exception) from ``host``."""
        cls = answer.__class__
        if cls is ResultMessage:
            return self.on_result(answer)
        if isinstance(answer, ErrorMessage):
            return self._on_error(host, answer)
        if isinstance(answer, BaseException):
            return self._on_failure(host, answer)
        exc = ConnectionException("Unexpected response %r from %s" % (answer, host),
                                  getattr(host, "endpoint", None))
        self.defunct = exc
        self.payload = exc
        return FAIL

    def speculative_answer_wins(self, host, answer):
        """A speculative attempt's answer, which the driver then handles as any
        answer (it completes the request); an error is only recorded, and False returned (the
        main attempt's retry decisions decide the outcome)."""
        if answer.__class__ is ResultMessage:
            return True
        self.errors[host] = answer
        return False

    cpdef int on_result(self, response) except? -1:
        """What to do with a RESULT message (``on_answer`` for one known to be a RESULT)."""
        kind = response.kind
        if kind == _ROWS:
            new_id = response.result_metadata_id
            if new_id is not None and self.prepared is not None:
                # v5 spec 4.2.5.2 (Metadata_changed): the statement's result columns changed.
                prepared = self.prepared
                prepared.result_metadata = response.result_metadata
                prepared.result_metadata_id = new_id
                self.result_metadata = response.result_metadata
                self.message.result_metadata_id = new_id
            self.payload = response
            return COMPLETE_ROWS
        if kind == _VOID:
            self.payload = None
            return COMPLETE
        if kind == _SET_KEYSPACE:
            self.payload = response.new_keyspace
            return SET_KEYSPACE
        if kind == _SCHEMA_CHANGE:
            self.payload = response
            return SCHEMA_CHANGE
        self.payload = response
        return COMPLETE

    cdef int _on_error(self, host, response) except? -1:
        code = response.code
        exc = response.to_exception()
        policy = self.retry_policy
        metrics = self.metrics
        # Retry hooks are called positionally: the seed names the second parameter
        # ``consistency_level`` and the reference ``consistency``; user subclasses use either.
        if code == _READ_TIMEOUT:
            if metrics is not None:
                metrics.on_read_timeout()
            decision = policy.on_read_timeout(self.query, exc.consistency, exc.required_responses,
                                              exc.received_responses, exc.data_retrieved,
                                              self.retries)
        elif code == _WRITE_TIMEOUT:
            if metrics is not None:
                metrics.on_write_timeout()
            decision = policy.on_write_timeout(self.query, exc.consistency, exc.write_type,
                                               exc.required_responses, exc.received_responses,
                                               self.retries)
        elif code == _UNAVAILABLE:
            if metrics is not None:
                metrics.on_unavailable()
            decision = policy.on_unavailable(self.query, exc.consistency, exc.required_replicas,
                                             exc.alive_replicas, self.retries)
        elif code in _REQUEST_ERRORS:
            log.warning("Host %s error: %s.", host, getattr(response, "summary", exc))
            if metrics is not None:
                metrics.on_other_error()
            decision = policy.on_request_error(self.query, self._consistency(), exc, self.retries)
        elif code == _UNPREPARED:
            return self._reprepare(response, exc)
        else:
            self.payload = exc
            return FAIL
        return self._decide(decision, exc, host)

    cdef int _on_failure(self, host, exc) except? -1:
        if isinstance(exc, ConnectionException) and not isinstance(exc, ConnectionShutdown):
            self.defunct = exc
        if not isinstance(exc, (ConnectionException, OSError)):
            # A body the message layer could not decode: the request's own problem.
            self.payload = exc
            return FAIL
        self.errors[host] = exc
        if self.metrics is not None:
            self.metrics.on_connection_error()
        if not getattr(self.query, "is_idempotent", False):
            # The request may have reached the server before the connection failed: re-sending
            # a non-idempotent statement could apply it twice, so the error is final.
            self.payload = exc
            return FAIL
        decision = self.retry_policy.on_request_error(self.query, self._consistency(), exc,
                                                      self.retries)
        return self._decide(decision, exc, host)

    cdef object _consistency(self):
        return getattr(self.message, "consistency_level", None)

    cdef int _decide(self, decision, exc, host) except? -1:
        """Turn a retry policy's decision into the next action."""
        try:
            kind = decision[0]
            consistency = decision[1] if len(decision) > 1 else None
        except (TypeError, IndexError):
            kind = consistency = None
        if kind == _RETHROW:
            self.payload = exc
            return FAIL
        if kind == _IGNORE:
            if self.metrics is not None:
                self.metrics.on_ignore()
            self.payload = None
            return COMPLETE
        if kind != _RETRY and kind != _RETRY_NEXT_HOST:
            self.payload = DriverException(
                "Retry policy %r returned %r, which is not a (RetryDecision, consistency) pair; "
                "the request failed with: %r" % (self.retry_policy, decision, exc))
            return FAIL
        if self.metrics is not None:
            self.metrics.on_retry()
        self.retries += 1
        if consistency is not None and hasattr(self.message, "consistency_level"):
            self.message.consistency_level = consistency
        self.errors[host] = exc
        return RESEND if kind == _RETRY else NEXT_HOST

    # ------------------------------------------------------------------ re-preparing

    cdef int _reprepare(self, response, exc) except? -1:
        prepared = self.prepared
        if prepared is None:
            lookup = self.prepared_lookup
            prepared = lookup(response.info) if lookup is not None else None
            if prepared is None:
                self.payload = exc
                return FAIL
        keyspace = (prepared.keyspace if ProtocolVersion.uses_keyspace_flag(self.protocol_version)
                    else None)
        self.payload = PrepareMessage(query=prepared.query_string, keyspace=keyspace)
        return REPREPARE

    def on_reprepared(self, host, answer):
        """The answer to the PREPARE of ``REPREPARE``: resend the request, or move on, or fail."""
        if getattr(answer, "kind", None) == _PREPARED:
            prepared = self.prepared
            if prepared is not None:
                if prepared.query_id != answer.query_id:
                    self.payload = DriverException(
                        "ID mismatch while re-preparing (expected %s, got %s): this usually means "
                        "'USE' changed the keyspace after the statement was prepared"
                        % (prepared.query_id.hex(), answer.query_id.hex()))
                    return FAIL
                prepared.result_metadata = answer.result_metadata
                self.result_metadata = answer.result_metadata
                if getattr(answer, "result_metadata_id", None) is not None:
                    prepared.result_metadata_id = answer.result_metadata_id
                    self.message.result_metadata_id = answer.result_metadata_id
            return RESEND
        if isinstance(answer, ConnectionException):
            self.errors[host] = answer
            return NEXT_HOST
        if hasattr(answer, "to_exception"):
            self.payload = answer.to_exception()
        elif isinstance(answer, BaseException):
            self.payload = answer
        else:
            self.payload = DriverException("Unexpected answer to re-prepare: %r" % (answer,))
        return FAIL
