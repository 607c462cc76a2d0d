"""Session (statements to requests, pools per host, prepare) and ResultSet (paging over results).

Public through ``cassfast.cluster``, as in the reference driver.  ``Session.execute_async`` does the
per-request work on the calling thread (resolve the execution profile, bind, build the protocol
message, pick a retry policy) and hands the ``ResponseFuture`` to the I/O loop in one batched
submission; the loop thread owns everything after that.  The pools of a session live on the loop.
"""
from __future__ import annotations

import asyncio
import copy
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, List, Mapping, Sequence, TypeVar, Union, overload

from cassfast import (ConsistencyLevel, DriverException, OperationTimedOut, ProtocolVersion,
                      UnsupportedOperation)
from cassfast._errors import NoHostAvailable, QueryExhausted, UserTypeDoesNotExist  # noqa: F401
from cassfast._profiles import _NOT_SET, EXEC_PROFILE_DEFAULT, ExecutionProfile
from cassfast._request import ResponseFuture
from cassfast._wire import RESULT_KIND_PREPARED
from cassfast._resultset import ResultSet  # noqa: F401  (public through cluster)
from cassfast import protocol as _protocol_module
from cassfast import query as _query
from cassfast._schema import maybe_escape_name
from cassfast.concurrent import execute_concurrent, execute_concurrent_async, execute_concurrent_with_args
from cassfast.encoder import Encoder
from cassfast.pool import HostConnectionPool
from cassfast.policies import NoSpeculativeExecutionPolicy as _NoSpeculativeExecutionPolicy
from cassfast.protocol import BatchMessage, ExecuteMessage, QueryMessage
from cassfast import _logger_for

if TYPE_CHECKING:
    # Typing only (allowlisted in tests/unit/test_layering.py): cluster is the layer above.
    from cassfast._profiles import _DefaultProfileKey
    from cassfast.cluster import Cluster
    from cassfast.host import Host
    from cassfast.query import PreparedStatement, Statement

log = _logger_for(__name__)

_RowT = TypeVar("_RowT")
_Query = Union[str, "Statement", "PreparedStatement"]
_Parameters = Union[Sequence[Any], Mapping[str, Any], None]
# A key of Cluster(execution_profiles=...): a name, or EXEC_PROFILE_DEFAULT.
_ProfileKey = Union[str, int, "_DefaultProfileKey"]

_BoundStatement = _query.BoundStatement
_PreparedStatement = _query.PreparedStatement
_SimpleStatement = _query.SimpleStatement
_BatchStatement = _query.BatchStatement
_FETCH_SIZE_UNSET = _query.FETCH_SIZE_UNSET

_REMOTE, _IGNORED = 1, -1  # HostDistance
_get_ident = threading.get_ident
_monotonic = time.monotonic


def _query_module():
    return _query


def _protocol():
    return _protocol_module


class Session:
    """Executes statements against the cluster; made by ``Cluster.connect()``."""

    default_timeout = 10.0
    default_fetch_size = 5000
    use_client_timestamp = True
    timestamp_generator = None
    max_trace_wait = 2.0
    is_shutdown = False

    def __init__(self, cluster: Cluster, keyspace: str | None = None) -> None:
        self.cluster = cluster
        self.keyspace = keyspace
        self._pools: dict = {}
        self._loop_thread = cluster._loop_thread
        self._profile_manager = cluster.profile_manager
        self._default_profile = cluster.profile_manager[EXEC_PROFILE_DEFAULT]
        self._row_factory_override = _NOT_SET
        self._timeout_override = _NOT_SET
        self._cl_override = _NOT_SET
        self._serial_cl_override = _NOT_SET
        # As in the reference, every session has its own Encoder from the start, so applications
        # can customise ``session.encoder.mapping`` before the first statement.
        self.encoder: Encoder = Encoder()
        self._request_init_callbacks: list = []
        # Lanes (cassfast._lanes) are used by synchronous execute() unless turned off.
        self._sync_lanes = cluster.sync_lanes_per_host > 0
        # None when metrics are off: the request path then tests one attribute per request.
        self._metrics = cluster.metrics
        # cassfast.tracker / cassfast.throttling, or None (one test per request each).
        self._request_tracker = cluster.request_tracker
        self._throttler = cluster.request_throttler
        # What each request's engine (cassfast._engine) needs to re-prepare a statement the
        # server forgot: the cluster's prepared statements by id, and the protocol version
        # (negotiated before any session exists).
        self._prepared_lookup = cluster._prepared_statements.get
        self._protocol_version = cluster.protocol_version

    @property
    def client_protocol_handler(self) -> type:
        """The handler that encodes requests and decodes answers: ``protocol.ProtocolHandler``.

        The reference lets a session swap in another one (NumPy or lazy row parsing, custom
        deserializers); cassfast's connections and lanes decode every answer with its own
        compiled handler, so setting anything else raises ``UnsupportedOperation`` rather than
        being ignored.  Rows are shaped by a ``row_factory`` (``ExecutionProfile``) instead."""
        return _protocol_module.ProtocolHandler

    @client_protocol_handler.setter
    def client_protocol_handler(self, handler: type) -> None:
        if handler is not _protocol_module.ProtocolHandler:
            raise UnsupportedOperation(
                "Session.client_protocol_handler cannot be replaced in cassfast (got %r): every "
                "answer is decoded by cassfast.protocol.ProtocolHandler, so another handler would "
                "be ignored; shape rows with an ExecutionProfile row_factory instead" % (handler,))

    @property
    def hosts(self) -> List[Host]:
        return self.cluster.metadata.all_hosts()

    # ------------------------------------------------------------------ legacy defaults

    @property
    def row_factory(self) -> Callable[[List[str], List[Any]], List[Any]] | None:
        return self._default_profile.row_factory

    @row_factory.setter
    def row_factory(self, rf: Callable[[List[str], List[Any]], List[Any]] | None) -> None:
        self._default_profile.row_factory = rf

    @property
    def default_timeout(self) -> float | None:  # type: ignore[override]
        return self._default_profile.request_timeout

    @default_timeout.setter
    def default_timeout(self, timeout: float | None) -> None:
        self._default_profile.request_timeout = timeout

    @property
    def default_consistency_level(self) -> int | None:
        return self._default_profile.consistency_level

    @default_consistency_level.setter
    def default_consistency_level(self, cl: int | None) -> None:
        self._default_profile.consistency_level = cl

    @property
    def default_serial_consistency_level(self) -> int | None:
        return self._default_profile.serial_consistency_level

    @default_serial_consistency_level.setter
    def default_serial_consistency_level(self, cl: int | None) -> None:
        if cl is not None and not ConsistencyLevel.is_serial(cl):
            raise ValueError("default_serial_consistency_level must be either "
                             "ConsistencyLevel.SERIAL or ConsistencyLevel.LOCAL_SERIAL.")
        self._default_profile.serial_consistency_level = cl

    # ------------------------------------------------------------------ opening (loop thread)

    async def _open(self) -> None:
        hosts = list(self.cluster.metadata.all_hosts())
        results = await asyncio.gather(*[self._add_or_renew_pool(h) for h in hosts], return_exceptions=True)
        if not any(r is True for r in results):
            errors = {h: r for h, r in zip(hosts, results) if isinstance(r, BaseException)}
            raise NoHostAvailable("Unable to connect to any servers", errors)

    def _distance(self, host) -> int:
        """The closest distance any profile gives ``host``; IGNORED only when all ignore it.

        REMOTE counts as IGNORED when the cluster's ``connect_to_remote_hosts`` is False.
        """
        distances = [p.load_balancing_policy.distance(host) for p in self._profile_manager.values()]
        used = [d for d in distances if d != _IGNORED]
        distance = min(used) if used else _IGNORED
        if distance == _REMOTE and not self.cluster.connect_to_remote_hosts:
            return _IGNORED
        return distance

    def _add_or_renew_pool(self, host) -> "asyncio.Future":
        """Replace ``host``'s pool by a new one now (loop thread); the future says whether it opened.

        The pool is registered before this returns, so a caller that looks at ``_pools`` right
        after (``_update_created_pools``) does not open a second one.  The future resolves to
        False for an ignored host and raises when no connection could be opened.
        """
        distance = self._distance(host)
        if distance == _IGNORED or self.is_shutdown:
            done = asyncio.get_running_loop().create_future()
            done.set_result(False)
            return done
        previous = self._pools.get(host)
        cluster = self.cluster
        pool = HostConnectionPool(host, distance, self, cluster._connector, cluster._host_events, cluster)
        self._pools[host] = pool
        if previous is not None:
            previous.shutdown()
        return asyncio.ensure_future(self._open_pool(host, pool))

    async def _open_pool(self, host, pool) -> bool:
        try:
            await pool.open()
        except Exception as exc:
            log.warning("Failed to create connection pool for new host %s: %s", host, exc)
            pool._ensure_reconnecting()
            self.cluster._on_pool_lost_all(host, exc)
            raise
        if host.is_up is not True:
            self.cluster._on_up(host)
        return True

    async def _add_pools_for_profile(self, profile) -> None:
        for host in self.cluster.metadata.all_hosts():
            if host not in self._pools and profile.load_balancing_policy.distance(host) != _IGNORED:
                try:
                    await self._add_or_renew_pool(host)
                except Exception:
                    pass

    def _update_created_pools(self) -> list:
        """Make the pools follow the policies' current distances (loop thread).

        Distances move with topology and status (a DC-aware policy's ``used_hosts_per_remote_dc``
        brings another remote host in when one goes down), so the cluster calls this after each
        host event: a host that became IGNORED loses its pool (unless it is down), one that stopped
        being ignored gets one (unless it is known to be down), and a pool whose distance changed
        is resized for its new distance.  Returns the futures of the pools being opened.
        """
        opening = []
        if self.is_shutdown:
            return opening
        for host in self.cluster.metadata.all_hosts():
            distance = self._distance(host)
            pool = self._pools.get(host)
            if pool is None or pool.is_shutdown:
                if distance != _IGNORED and host.is_up is not False:
                    opening.append(self._add_or_renew_pool(host))
            elif distance == _IGNORED:
                # A down host's pool stays: its reconnection attempts are how the host is seen
                # coming back (its distance is asked again then).
                if host.is_up is not False:
                    self._remove_pool(host)
            elif distance != pool.host_distance:
                pool.resize(distance)
        return opening

    def update_created_pools(self) -> None:
        """Open, close or resize pools so they follow the current host distances (any thread).

        The reference's method of the same name; here it waits until new pools are open.
        """
        async def run():
            opening = self._update_created_pools()
            if opening:
                await asyncio.gather(*opening, return_exceptions=True)
        self.cluster._run(run(), self.cluster.connect_timeout * 2 + 30)

    def _resize_pools(self) -> None:
        """Apply the cluster's current pool sizing to every pool (loop thread)."""
        for pool in list(self._pools.values()):
            pool.resize()

    def _remove_pool(self, host) -> None:
        pool = self._pools.pop(host, None)
        if pool is not None:
            pool.shutdown()

    def get_pools(self) -> List[HostConnectionPool]:
        return list(self._pools.values())

    def get_pool_state(self) -> dict[Host, dict[str, Any]]:
        return {host: {"open_count": pool.open_count, "in_flights": pool.in_flight,
                       "orphan_requests": [c.orphaned_request_ids for c in pool.connections],
                       "shutdown": pool.is_shutdown} for host, pool in self._pools.items()}

    # ------------------------------------------------------------------ executing

    # For type checkers: an ExecutionProfile object decides the row type of the result (its
    # row_factory's); a profile name, or none, gives rows of type Any (the session's row_factory
    # can change at run time).
    @overload
    def execute(self, query: _Query, parameters: _Parameters = None, timeout: float | None = ...,
                trace: bool = False, custom_payload: Mapping[str, bytes] | None = None, *,
                execution_profile: ExecutionProfile[_RowT], paging_state: bytes | None = None,
                host: Host | None = None, execute_as: str | None = None) -> ResultSet[_RowT]: ...

    @overload
    def execute(self, query: _Query, parameters: _Parameters, timeout: float | None, trace: bool,
                custom_payload: Mapping[str, bytes] | None, execution_profile: ExecutionProfile[_RowT],
                paging_state: bytes | None = None, host: Host | None = None,
                execute_as: str | None = None) -> ResultSet[_RowT]: ...

    @overload
    def execute(self, query: _Query, parameters: _Parameters = None, timeout: float | None = ...,
                trace: bool = False, custom_payload: Mapping[str, bytes] | None = None,
                execution_profile: _ProfileKey = ..., paging_state: bytes | None = None,
                host: Host | None = None, execute_as: str | None = None) -> ResultSet[Any]: ...

    def execute(self, query: _Query, parameters: _Parameters = None, timeout: Any = _NOT_SET,
                trace: bool = False, custom_payload: Mapping[str, bytes] | None = None,
                execution_profile: Any = _NOT_SET, paging_state: bytes | None = None,
                host: Host | None = None, execute_as: str | None = None) -> ResultSet[Any]:
        """Run ``query`` and wait for its ``ResultSet`` (see the reference driver's docs)."""
        if _get_ident() == self._loop_thread.ident:
            # Blocking the I/O thread would stop the answer from ever being read.
            raise RuntimeError("Session.execute() cannot block on the driver's I/O thread (called "
                               "from a callback?); use execute_async() there")
        if type(self).execute_async is not _execute_async or "execute_async" in self.__dict__:
            # execute_async was wrapped (tracing instrumentations wrap the class's or this
            # session's) or overridden: the reference's execute goes through it, so this one
            # does too, and the wrapper sees synchronous requests (without lanes, then).
            return self.execute_async(query, parameters, trace, custom_payload, timeout,
                                      execution_profile, paging_state, host, execute_as).result()
        future = self._create_response_future(query, parameters, trace, custom_payload, timeout,
                                              execution_profile, paging_state, host, execute_as)
        if self._throttler is not None and not self._throttle(future):
            return future.result()  # queued: the throttler sends it through the loop
        return future._run_blocking(self._sync_lanes)

    @overload
    def execute_async(self, query: _Query, parameters: _Parameters = None, trace: bool = False,
                      custom_payload: Mapping[str, bytes] | None = None, timeout: float | None = ...,
                      *, execution_profile: ExecutionProfile[_RowT], paging_state: bytes | None = None,
                      host: Host | None = None,
                      execute_as: str | None = None) -> ResponseFuture[_RowT]: ...

    @overload
    def execute_async(self, query: _Query, parameters: _Parameters, trace: bool,
                      custom_payload: Mapping[str, bytes] | None, timeout: float | None,
                      execution_profile: ExecutionProfile[_RowT], paging_state: bytes | None = None,
                      host: Host | None = None,
                      execute_as: str | None = None) -> ResponseFuture[_RowT]: ...

    @overload
    def execute_async(self, query: _Query, parameters: _Parameters = None, trace: bool = False,
                      custom_payload: Mapping[str, bytes] | None = None, timeout: float | None = ...,
                      execution_profile: _ProfileKey = ..., paging_state: bytes | None = None,
                      host: Host | None = None,
                      execute_as: str | None = None) -> ResponseFuture[Any]: ...

    def execute_async(self, query: _Query, parameters: _Parameters = None, trace: bool = False,
                      custom_payload: Mapping[str, bytes] | None = None, timeout: Any = _NOT_SET,
                      execution_profile: Any = _NOT_SET, paging_state: bytes | None = None,
                      host: Host | None = None, execute_as: str | None = None) -> ResponseFuture[Any]:
        """Start ``query`` and return its ``ResponseFuture`` at once."""
        future = self._create_response_future(query, parameters, trace, custom_payload, timeout,
                                              execution_profile, paging_state, host, execute_as)
        if self._throttler is not None and not self._throttle(future):
            return future  # queued: the throttler sends it when a slot frees
        loop_thread = self._loop_thread
        if _get_ident() == loop_thread.ident:
            future._start()
        else:
            loop_thread.submit(future._start)
        return future

    def _throttle(self, future) -> bool:
        """Ask the throttler (cassfast.throttling): True means send now, False means queued.

        Raises RequestThrottlingException (nothing sent, nothing pending) when the queue is full,
        after failing ``future`` with it, so the request tracker, metrics and request-init
        listeners' errbacks see the refusal once, as any failed request."""
        throttler = self._throttler
        future._queued_at = _monotonic()
        try:
            admitted = throttler.acquire(future)
        except DriverException as exc:
            future._set_final_exception(exc)
            raise
        if admitted:
            future._throttler = throttler  # holds a slot: _finish releases it
            return True
        return False

    @overload
    async def aexecute(self, query: _Query, parameters: _Parameters = None, *, trace: bool = False,
                       custom_payload: Mapping[str, bytes] | None = None, timeout: float | None = ...,
                       execution_profile: ExecutionProfile[_RowT], paging_state: bytes | None = None,
                       host: Host | None = None, execute_as: str | None = None) -> ResultSet[_RowT]: ...

    @overload
    async def aexecute(self, query: _Query, parameters: _Parameters = None, *, trace: bool = False,
                       custom_payload: Mapping[str, bytes] | None = None, timeout: float | None = ...,
                       execution_profile: _ProfileKey = ..., paging_state: bytes | None = None,
                       host: Host | None = None, execute_as: str | None = None) -> ResultSet[Any]: ...

    async def aexecute(self, query: _Query, parameters: _Parameters = None, **kwargs: Any) -> ResultSet[Any]:
        """``await session.aexecute(...)``: the asyncio form of ``execute`` (see ``cassfast.aio``)."""
        return await self.execute_async(query, parameters, **kwargs)

    def _get_profile(self, execution_profile):
        if execution_profile is _NOT_SET or execution_profile is EXEC_PROFILE_DEFAULT:
            return self._default_profile
        if isinstance(execution_profile, ExecutionProfile):
            return execution_profile
        try:
            return self._profile_manager[execution_profile]
        except KeyError:
            raise ValueError("Invalid execution_profile: %r" % (execution_profile,)) from None

    def get_execution_profile(self, name: object) -> ExecutionProfile[Any]:
        try:
            return self._profile_manager[name]
        except KeyError:
            raise ValueError("Invalid execution_profile: '%s'; valid profiles are: %s." % (
                name, ", ".join(map(repr, self._profile_manager)))) from None

    def execution_profile_clone_update(self, ep: object, **kwargs: Any) -> ExecutionProfile[Any]:
        clone = copy.copy(self._get_profile(ep))
        for attr, value in kwargs.items():
            setattr(clone, attr, value)
        return clone

    def _create_response_future(self, query, parameters, trace, custom_payload, timeout,
                                execution_profile=_NOT_SET, paging_state=None, host=None,
                                execute_as=None) -> ResponseFuture:
        """Bind, build the protocol message and the future (calling thread; no I/O)."""
        if self.is_shutdown:
            raise DriverException("Session is shut down")
        if execution_profile is _NOT_SET:
            profile = self._default_profile
        else:
            profile = self._get_profile(execution_profile)
        if query.__class__ is _PreparedStatement:
            query = _BoundStatement(query).bind(parameters)  # PreparedStatement.bind, one call less
        elif isinstance(query, _PreparedStatement):
            query = query.bind(parameters)
        elif isinstance(query, str):
            query = _SimpleStatement(query)
        if timeout is _NOT_SET:
            timeout = profile.request_timeout
        cl = query.consistency_level
        if cl is None:
            cl = profile.consistency_level
        serial_cl = query.serial_consistency_level
        if serial_cl is None:
            serial_cl = profile.serial_consistency_level
        fetch_size = query.fetch_size
        if fetch_size is _FETCH_SIZE_UNSET:
            fetch_size = self.default_fetch_size
        elif fetch_size is not None and fetch_size <= 0:
            fetch_size = None
        protocol_version = self.cluster.protocol_version
        # As the reference: the client timestamp comes from the generator (spec 4.1.4 <timestamp>).
        timestamp = self.cluster.timestamp_generator() if self.use_client_timestamp else None

        prepared = None
        if type(query) is _BoundStatement or isinstance(query, _BoundStatement):
            prepared = query.prepared_statement
            message = ExecuteMessage(prepared.query_id, query.values, cl, serial_cl, fetch_size,
                                     paging_state, timestamp, bool(prepared.result_metadata), None,
                                     prepared.result_metadata_id)
        elif isinstance(query, _SimpleStatement):
            query_string = query.query_string
            if parameters:
                query_string = _query.bind_params(query_string, parameters, self.encoder)
            keyspace = query.keyspace if protocol_version >= 5 else None
            message = QueryMessage(query_string, cl, serial_cl, fetch_size, paging_state,
                                   timestamp, None, keyspace)
        elif isinstance(query, _BatchStatement):
            keyspace = query.keyspace if protocol_version >= 5 else None
            message = BatchMessage(query.batch_type, query._statements_and_parameters, cl,
                                   serial_cl, timestamp, keyspace)
        else:
            raise TypeError("query must be a str or a Statement, not %r" % (type(query).__name__,))

        if trace:
            message.tracing = True
        if query.custom_payload or custom_payload or execute_as:
            payload = dict(query.custom_payload or {})
            if custom_payload:
                payload.update(custom_payload)
            if execute_as:
                payload["ProxyExecute"] = execute_as.encode()
            if protocol_version < 4:
                raise DriverException("Custom payloads are only supported with protocol version 4 or higher")
            message.custom_payload = payload
        spec_plan = None
        spec_policy = profile.speculative_execution_policy
        if (query.is_idempotent and spec_policy is not None
                and type(spec_policy) is not _NoSpeculativeExecutionPolicy):
            spec_plan = spec_policy.new_plan(query.keyspace or self.keyspace, query)
        future = ResponseFuture(self, message, query, timeout, self._metrics, prepared,
                                query.retry_policy or profile.retry_policy, profile.row_factory,
                                profile.load_balancing_policy, None, spec_plan, None, host)
        tracker = self._request_tracker
        if tracker is not None:
            # Set here, not by ResponseFuture: PREPARE (also a ResponseFuture) is not reported.
            future._tracker = tracker
            if self._metrics is None:
                future._metrics_start = _monotonic()
        if self._request_init_callbacks:
            for fn, args, kwargs in self._request_init_callbacks:
                fn(future, *args, **kwargs)
        return future

    def add_request_init_listener(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        self._request_init_callbacks.append((fn, args, kwargs))

    def remove_request_init_listener(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        self._request_init_callbacks.remove((fn, args, kwargs))

    def execute_concurrent(self, statements_and_parameters, concurrency=100, raise_on_first_error=True,
                           results_generator=False, execution_profile=_NOT_SET):
        return execute_concurrent(self, statements_and_parameters, concurrency, raise_on_first_error,
                                  results_generator=results_generator,
                                  execution_profile=(EXEC_PROFILE_DEFAULT if execution_profile is _NOT_SET
                                                     else execution_profile))

    def execute_concurrent_with_args(self, statement, parameters, *args, **kwargs):
        return execute_concurrent_with_args(self, statement, parameters, *args, **kwargs)

    def execute_concurrent_async(self, statements_and_parameters, concurrency=100,
                                 raise_on_first_error=False, execution_profile=_NOT_SET):
        return execute_concurrent_async(self, statements_and_parameters, concurrency, raise_on_first_error,
                                        EXEC_PROFILE_DEFAULT if execution_profile is _NOT_SET else execution_profile)

    # ------------------------------------------------------------------ prepare

    def prepare(self, query: str, custom_payload: Mapping[str, bytes] | None = None,
                keyspace: str | None = None) -> PreparedStatement:
        """Prepare ``query`` on one host (then on all, when ``prepare_on_all_hosts``)."""
        if self.is_shutdown:
            raise DriverException("Session is shut down")
        protocol = _protocol()
        q = _query_module()
        protocol_version = self.cluster.protocol_version
        message = protocol.PrepareMessage(
            query=query, keyspace=keyspace if ProtocolVersion.uses_keyspace_flag(protocol_version) else None)
        if custom_payload:
            message.custom_payload = custom_payload
        future = ResponseFuture(self, message, None, self.default_timeout,
                                retry_policy=self._default_profile.retry_policy, row_factory=None,
                                load_balancer=self._default_profile.load_balancing_policy)
        self._loop_thread.submit(future._start)
        try:
            response = future.result()._raw
        except Exception:
            log.exception("Error preparing query:")
            raise
        if getattr(response, "kind", None) != RESULT_KIND_PREPARED:
            raise DriverException("Unexpected answer to PREPARE: %r" % (response,))
        prepared = q.PreparedStatement.from_message(
            response.query_id, response.bind_metadata, response.pk_indexes, self.cluster.metadata, query,
            keyspace or self.keyspace, protocol_version, response.result_metadata,
            response.result_metadata_id, self.cluster.column_encryption_policy)
        prepared.custom_payload = future.custom_payload
        self.cluster.add_prepared(response.query_id, prepared)
        if self.cluster.prepare_on_all_hosts:
            others = [h for h in self._pools if h != future.coordinator_host]
            if others:
                try:
                    self.cluster._run(self._prepare_on_hosts(query, keyspace, others), self.default_timeout or 10)
                except Exception as exc:
                    log.debug("Preparing on every host did not complete: %s", exc)
        return prepared

    async def _prepare_on_hosts(self, query, keyspace, hosts) -> None:
        protocol = _protocol()
        protocol_version = self.cluster.protocol_version
        kspace = keyspace if ProtocolVersion.uses_keyspace_flag(protocol_version) else None

        async def prepare_on(host):
            pool = self._pools.get(host)
            if pool is None or not pool.connections:
                return
            try:
                await pool.connections[0].request(protocol.PrepareMessage(query=query, keyspace=kspace),
                                                  self.default_timeout)
            except Exception as exc:
                log.debug("Error preparing on %s: %s", host, exc)
        await asyncio.gather(*[prepare_on(h) for h in hosts])

    async def _reprepare_all_on(self, host) -> None:
        statements = list(self.cluster._prepared_statements.values())
        if not statements:
            return
        pool = self._pools.get(host)
        for _ in range(50):  # the pool may still be connecting
            if pool is not None and pool.connections:
                break
            await asyncio.sleep(0.1)
            pool = self._pools.get(host)
        else:
            return
        protocol = _protocol()
        kflag = ProtocolVersion.uses_keyspace_flag(self.cluster.protocol_version)
        for ps in statements:
            try:
                await pool.connections[0].request(
                    protocol.PrepareMessage(query=ps.query_string, keyspace=ps.keyspace if kflag else None),
                    self.default_timeout)
            except Exception as exc:
                log.debug("Re-preparing on %s failed: %s", host, exc)

    # ------------------------------------------------------------------ keyspace

    def set_keyspace(self, keyspace: str) -> None:
        """Switch every connection of the session to ``keyspace`` (a ``USE``)."""
        self.execute('USE "%s"' % keyspace.replace('"', '""'))

    def _set_keyspace_for_all_pools(self, keyspace, callback) -> None:
        self.keyspace = keyspace

        async def run():
            errors = {}
            for host, pool in list(self._pools.items()):
                try:
                    await pool.set_keyspace(keyspace)
                except Exception as exc:
                    errors[host] = exc
            callback(errors)
        asyncio.ensure_future(run())

    def user_type_registered(self, keyspace: str, user_type: str, klass: type) -> None:
        """``Cluster.register_user_type`` calls this: check the type exists and teach this
        session's encoder to render ``klass`` instances as UDT literals for ``%s`` parameters of
        simple statements, as the reference does (prepared statements use the type's codec)."""
        metadata = self.cluster.metadata
        ks = getattr(metadata, "keyspaces", {}).get(keyspace)
        if ks is None or not hasattr(ks, "user_types"):
            return
        type_meta = ks.user_types.get(user_type)
        if type_meta is None:
            raise UserTypeDoesNotExist('User type %s does not exist in keyspace %s' % (user_type, keyspace))
        fields = [(name, maybe_escape_name(name)) for name in type_meta.field_names]

        def encode_udt(value) -> str:
            encode = self.encoder.cql_encode_all_types
            return "{ %s }" % " , ".join("%s : %s" % (cql_name, encode(getattr(value, name, None)))
                                         for name, cql_name in fields)
        self.encoder.mapping[klass] = encode_udt

    # ------------------------------------------------------------------ shutdown

    def shutdown(self) -> None:
        """Close this session's pools (the cluster and its other sessions stay up)."""
        if self.is_shutdown:
            return
        loop_thread = self._loop_thread
        if loop_thread is None or loop_thread._stopped:
            self.is_shutdown = True
            self._fail_throttled()
            return
        done = __import__("threading").Event()

        def run():
            self._shutdown_on_loop()
            done.set()
        if loop_thread.in_loop_thread():
            self._shutdown_on_loop()
        else:
            loop_thread.submit(run)
            done.wait(10)

    def _shutdown_on_loop(self) -> None:
        self.is_shutdown = True
        self._fail_throttled()
        for pool in list(self._pools.values()):
            pool.shutdown()
        self._pools.clear()

    def _fail_throttled(self) -> None:
        """Fail this session's requests still queued by the throttler: none is forgotten."""
        if self._throttler is not None:
            for future in self._throttler.drain(lambda f: f.session is self):
                future._set_final_exception(DriverException(
                    "Session shut down while the request was queued by the request throttler"))

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *args: object) -> None:
        self.shutdown()


# Session.execute checks that execute_async is still this one (see there).
_execute_async = Session.execute_async
