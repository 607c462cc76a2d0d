"""The public entry points: Cluster, Session, ExecutionProfile and ResultSet (reference API).

``Cluster`` holds configuration, the cluster-wide state (hosts via ``cassfast.metadata``, the
control connection in ``cassfast._control``, prepared statements, user types) and the one I/O
thread (``cassfast._loop``) on which every connection runs.  ``Session`` turns statements into
protocol messages and ``ResponseFuture`` objects (``cassfast._request``) and owns one
connection pool per host (``cassfast.pool``).  ``ResultSet`` pages through results.  Host
lifecycle (add, up, down, remove) is decided here and fanned out to the load-balancing policy,
the sessions' pools and the registered ``HostStateListener`` objects.

Blocking calls made from application threads (``connect``, ``prepare``, ``shutdown``) run their
work as coroutines on the I/O loop and wait with a timeout; they must not be called from a
callback running on the I/O thread.
"""
from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
import uuid
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from cassfast import (ConsistencyLevel, DriverException, InvalidRequest, OperationTimedOut,
                      ProtocolVersion, UnresolvableContactPoints, UnsupportedOperation)
from cassfast import policies
from cassfast._control import ControlConnection as _ControlConnection
from cassfast._loop import LoopThread
from cassfast._profiles import EXEC_PROFILE_DEFAULT, ExecutionProfile, default_lbp_factory  # noqa: F401
from cassfast._errors import NoHostAvailable, QueryExhausted, UserTypeDoesNotExist  # noqa: F401
from cassfast._profiles import _NOT_SET
from cassfast._request import ResponseFuture  # noqa: F401
from cassfast._wire import RESULT_KIND_PREPARED  # noqa: F401
from cassfast.connection import (Connection, ConnectionBusy, ConnectionException,  # noqa: F401
                                 ConnectionShutdown, ProtocolError, ProtocolVersionUnsupported)
from cassfast.host import DefaultEndPoint, DefaultEndPointFactory, EndPoint, EndPointFactory, Host
from cassfast.metadata import Metadata
from cassfast.metrics import Metrics
from cassfast.pool import HostConnectionPool
from cassfast.protocol import OptionsMessage
from cassfast.timestamps import MonotonicTimestampGenerator
from cassfast import _logger_for

if TYPE_CHECKING:
    from cassfast.auth import AuthProvider
    from cassfast.policies import HostStateListener
    from cassfast.throttling import RequestThrottler
    from cassfast.tracker import RequestTracker

log = _logger_for(__name__)

# Pool sizing (see cassfast.pool).  The request thresholds are the reference's values.  The
# connection counts are what the reference opens with protocol v3+ (one connection per host);
# its DEFAULT_*_CONNECTIONS_PER_*_HOST constants describe its v1/v2 pools, so they are not here.
DEFAULT_MIN_REQUESTS = 5
DEFAULT_MAX_REQUESTS = 100
_DEFAULT_CORE_CONNECTIONS = 1
_DEFAULT_MAX_CONNECTIONS = 1
_LOCAL, _REMOTE, _IGNORED = 0, 1, -1  # HostDistance


class _ConfigMode:
    UNCOMMITTED = 0
    LEGACY = 1
    PROFILES = 2


def _distance_key(host_distance, settable: bool = False) -> int:
    if host_distance in (_LOCAL, _REMOTE) and not isinstance(host_distance, bool):
        return int(host_distance)
    if host_distance == _IGNORED and not settable:
        return _IGNORED
    raise ValueError("host_distance must be HostDistance.LOCAL or HostDistance.REMOTE, not %r"
                     % (host_distance,))


def _checked_count(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (name, type(value).__name__))
    if value < low:
        raise ValueError("%s must be >= %d, not %d" % (name, low, value))
    return value


def _resolve_contact_points(contact_points, port) -> list[EndPoint]:
    endpoints: list[EndPoint] = []
    failed = []
    for cp in contact_points:
        if isinstance(cp, EndPoint):
            endpoints.append(cp)
            continue
        try:
            infos = socket.getaddrinfo(cp, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
        except socket.gaierror:
            failed.append(cp)
            continue
        seen = set()
        for family, _, _, _, sockaddr in infos:
            if sockaddr[0] not in seen:
                seen.add(sockaddr[0])
                endpoints.append(DefaultEndPoint(sockaddr[0], port))
    if not endpoints and contact_points:
        raise UnresolvableContactPoints("None of the contact points could be resolved: %s" % (failed,))
    return endpoints


class _ClusterConnector:
    """``_interfaces.Connector`` over a Cluster: how its pools, lanes and control connection
    open connections."""

    __slots__ = ("_cluster",)

    def __init__(self, cluster: "Cluster") -> None:
        self._cluster = cluster

    @property
    def loop_thread(self):
        return self._cluster._loop_thread

    def open_connection(self, endpoint, owner=None, keyspace=None, event_callback=None,
                        timeout=None, negotiate=False):
        return self._cluster._open_connection(endpoint, owner=owner, keyspace=keyspace,
                                              event_callback=event_callback, timeout=timeout,
                                              negotiate=negotiate)

    def connection_options(self, endpoint) -> dict:
        return self._cluster._connection_options(endpoint)


class _ClusterHostEvents:
    """``_interfaces.HostEvents`` over a Cluster: its host lifecycle hears what pools see."""

    __slots__ = ("_cluster",)

    def __init__(self, cluster: "Cluster") -> None:
        self._cluster = cluster

    def on_pool_lost_all(self, host, exc) -> None:
        self._cluster._on_pool_lost_all(host, exc)

    def on_pool_reconnected(self, host) -> None:
        self._cluster._on_pool_reconnected(host)


class _ClusterTopologyEvents:
    """``_interfaces.TopologyEvents`` over a Cluster: what its control connection discovers."""

    __slots__ = ("_cluster",)

    def __init__(self, cluster: "Cluster") -> None:
        self._cluster = cluster

    def add_host(self, endpoint, datacenter=None, rack=None) -> tuple:
        return self._cluster._add_host(endpoint, datacenter, rack)

    def remove_host(self, host) -> None:
        self._cluster._remove_host(host)

    def on_removed_node_event(self, address) -> None:
        self._cluster._on_removed_node_event(address)

    def on_status_event(self, change_type, address, window) -> None:
        self._cluster._on_status_event(change_type, address, window)

    def control_candidates(self) -> list:
        return self._cluster._control_candidates()


class Cluster:
    """The entry point: configuration plus the cluster-wide state; ``connect()`` makes sessions."""

    contact_points = ("127.0.0.1",)
    port = 9042
    cql_version = None
    protocol_version = ProtocolVersion.MAX_SUPPORTED
    compression = True
    auth_provider = None
    metrics_enabled = False
    """Whether ``metrics`` is collected (set by the constructor; see ``cassfast.metrics``)."""
    metrics = None
    """A ``cassfast.metrics.Metrics`` when ``metrics_enabled``, else None."""
    ssl_options = None
    ssl_context = None
    sockopts = None
    max_schema_agreement_wait = 10
    control_connection_timeout = 2.0
    idle_heartbeat_interval = 30
    idle_heartbeat_timeout = 30
    schema_event_refresh_window = 2
    topology_event_refresh_window = 10
    status_event_refresh_window = 2
    connect_timeout = 5
    prepare_on_all_hosts = True
    reprepare_on_up = True
    allow_beta_protocol_version = False
    no_compact = False
    is_shutdown = False
    sync_lanes_per_host = 8
    request_tracker = None
    """A ``cassfast.tracker.RequestTracker`` told every request's outcome (sessions read it when
    they are created), or None."""
    request_throttler = None
    """A ``cassfast.throttling.RequestThrottler`` shared by the sessions, or None."""
    connect_to_remote_hosts = True
    """When False, hosts at ``HostDistance.REMOTE`` get no pool (reference attribute)."""

    def __init__(self, contact_points: Iterable[str | EndPoint] = _NOT_SET, port: int = 9042,
                 compression: bool | str = True, auth_provider: AuthProvider | None = None,
                 load_balancing_policy: policies.LoadBalancingPolicy | None = None,
                 reconnection_policy: policies.ReconnectionPolicy | None = None,
                 default_retry_policy: policies.RetryPolicy | None = None,
                 conviction_policy_factory: Callable[[Host], policies.ConvictionPolicy] | None = None,
                 metrics_enabled: bool = False, connection_class: type[Connection] | None = None,
                 ssl_options: dict[str, Any] | None = None,
                 sockopts: Iterable[tuple[int, int, Any]] | None = None,
                 cql_version: str | None = None, protocol_version: int = _NOT_SET,
                 executor_threads: int = 2, max_schema_agreement_wait: float = 10,
                 control_connection_timeout: float | None = 2.0,
                 idle_heartbeat_interval: float = 30, schema_event_refresh_window: float = 2,
                 topology_event_refresh_window: float = 10, connect_timeout: float = 5,
                 schema_metadata_enabled: bool = True, token_metadata_enabled: bool = True,
                 address_translator: policies.AddressTranslator | None = None,
                 status_event_refresh_window: float = 2, prepare_on_all_hosts: bool = True,
                 reprepare_on_up: bool = True,
                 execution_profiles: Mapping[object, ExecutionProfile[Any]] | None = None,
                 allow_beta_protocol_version: bool = False,
                 timestamp_generator: Callable[[], int] | None = None,
                 idle_heartbeat_timeout: float = 30, no_compact: bool = False,
                 ssl_context: ssl.SSLContext | None = None,
                 endpoint_factory: EndPointFactory | None = None,
                 application_name: str | None = None, application_version: str | None = None,
                 monitor_reporting_enabled: bool = True, monitor_reporting_interval: float = 30,
                 client_id: uuid.UUID | None = None, cloud: dict[str, Any] | None = None,
                 column_encryption_policy: Any = None,
                 conviction_policy: policies.ConvictionPolicy | None = None,
                 sync_lanes_per_host: int = 8, request_tracker: RequestTracker | None = None,
                 request_throttler: RequestThrottler | None = None) -> None:
        # Accepting these and ignoring them would connect somewhere else (cloud) or write
        # plaintext where encryption was asked for (column_encryption_policy).
        if cloud is not None:
            raise UnsupportedOperation("Cluster(cloud=...) (DataStax Astra secure connect bundles) is "
                                       "not supported by cassfast; use cassandra-driver for Astra")
        if column_encryption_policy is not None:
            raise UnsupportedOperation("Cluster(column_encryption_policy=...) (client-side column "
                                       "encryption) is not implemented by cassfast; use cassandra-driver")
        if contact_points is _NOT_SET:
            contact_points = ("127.0.0.1",)
            self._contact_points_explicit = False
        else:
            if isinstance(contact_points, str):
                raise TypeError("contact_points should not be a string, it should be a sequence (e.g. list) of strings")
            self._contact_points_explicit = True
        self.contact_points = list(contact_points)
        self.port = port
        self.compression = compression
        self.auth_provider = auth_provider
        if auth_provider is not None and not hasattr(auth_provider, "new_authenticator"):
            raise TypeError("auth_provider must implement new_authenticator(host) (see cassfast.auth)")
        self.reconnection_policy = reconnection_policy or policies.ExponentialReconnectionPolicy(1.0, 600.0)
        self._default_retry_policy = default_retry_policy or policies.FallthroughRetryPolicy()
        if conviction_policy is not None:
            # Seed style: one instance for the cluster; calling it with a host gives the per-host
            # adapter that Host expects (cassfast.policies.ConvictionPolicy.__call__).
            self.conviction_policy_factory = conviction_policy
        else:
            self.conviction_policy_factory = conviction_policy_factory or policies.SimpleConvictionPolicy
        self.conviction_policy = conviction_policy
        self.metrics_enabled = metrics_enabled
        if metrics_enabled:
            self.metrics = Metrics(self)
        if connection_class is not None and not (isinstance(connection_class, type)
                                                 and issubclass(connection_class, Connection)):
            # cassfast has one I/O loop; the reactor names of cassfast.io all select it.
            raise TypeError("connection_class must be None or a cassfast.connection.Connection "
                            "subclass, such as the reactor names in cassfast.io; got %r"
                            % (connection_class,))
        # As in the reference, the attribute is always a class (DefaultConnection unless given).
        self.connection_class = connection_class or Connection
        self.ssl_options = ssl_options
        self.ssl_context = ssl_context
        self.sockopts = sockopts
        self.cql_version = cql_version
        self._protocol_version_explicit = protocol_version is not _NOT_SET
        self.protocol_version = protocol_version if self._protocol_version_explicit else ProtocolVersion.MAX_SUPPORTED
        self.executor_threads = executor_threads
        self.max_schema_agreement_wait = max_schema_agreement_wait
        self.control_connection_timeout = control_connection_timeout
        self.idle_heartbeat_interval = idle_heartbeat_interval
        self.idle_heartbeat_timeout = idle_heartbeat_timeout
        self.schema_event_refresh_window = schema_event_refresh_window
        self.topology_event_refresh_window = topology_event_refresh_window
        self.status_event_refresh_window = status_event_refresh_window
        self.connect_timeout = connect_timeout
        self.schema_metadata_enabled = schema_metadata_enabled
        self.token_metadata_enabled = token_metadata_enabled
        self.address_translator = address_translator
        self.prepare_on_all_hosts = prepare_on_all_hosts
        self.reprepare_on_up = reprepare_on_up
        self.allow_beta_protocol_version = allow_beta_protocol_version
        self.timestamp_generator = timestamp_generator or MonotonicTimestampGenerator()
        self.no_compact = no_compact
        self.endpoint_factory = (endpoint_factory or DefaultEndPointFactory(port=port)).configure(self)
        self.application_name = application_name
        self.application_version = application_version
        # Kept for code that reads them; they only feed DSE Insights reporting in the reference.
        self.client_id = client_id or uuid.uuid4()
        self.monitor_reporting_enabled = monitor_reporting_enabled
        self.monitor_reporting_interval = monitor_reporting_interval
        self.cloud = cloud
        self.column_encryption_policy = column_encryption_policy
        if sync_lanes_per_host is None or int(sync_lanes_per_host) < 0:
            raise ValueError("sync_lanes_per_host must be a number >= 0 (0 turns lanes off)")
        self.sync_lanes_per_host = int(sync_lanes_per_host)
        if request_tracker is not None and not (callable(getattr(request_tracker, "on_success", None))
                                                and callable(getattr(request_tracker, "on_error", None))):
            raise TypeError("request_tracker must have on_success(info) and on_error(info) (see "
                            "cassfast.tracker.RequestTracker); got %r" % (request_tracker,))
        self.request_tracker = request_tracker
        if request_throttler is not None and not all(
                callable(getattr(request_throttler, name, None)) for name in ("acquire", "release", "drain")):
            raise TypeError("request_throttler must have acquire(request), release() and drain() (see "
                            "cassfast.throttling.RequestThrottler); got %r" % (request_throttler,))
        self.request_throttler = request_throttler

        self.metadata = Metadata()
        self.sessions: weakref.WeakSet = weakref.WeakSet()
        self._listeners: set = set()
        self._listener_lock = threading.Lock()
        self._prepared_statements: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
        self._user_types: dict = {}
        self._core_connections_per_host = {_LOCAL: _DEFAULT_CORE_CONNECTIONS,
                                           _REMOTE: _DEFAULT_CORE_CONNECTIONS}
        self._max_connections_per_host = {_LOCAL: _DEFAULT_MAX_CONNECTIONS,
                                          _REMOTE: _DEFAULT_MAX_CONNECTIONS}
        self._lock = threading.RLock()
        self._loop_thread: LoopThread | None = None
        self._heartbeat_task = None
        self._is_setup = False

        self._config_mode = _ConfigMode.UNCOMMITTED
        self.profile_manager: dict = {}
        if load_balancing_policy is not None or default_retry_policy is not None:
            self._config_mode = _ConfigMode.LEGACY
        if execution_profiles:
            if self._config_mode == _ConfigMode.LEGACY:
                raise ValueError("Clusters constructed with execution_profiles should not specify legacy parameters "
                                 "load_balancing_policy or default_retry_policy. Configure this in a profile instead.")
            self._config_mode = _ConfigMode.PROFILES
            self.profile_manager.update(execution_profiles)
        if EXEC_PROFILE_DEFAULT not in self.profile_manager:
            lbp = load_balancing_policy if load_balancing_policy is not None else _NOT_SET
            self.profile_manager[EXEC_PROFILE_DEFAULT] = ExecutionProfile(
                load_balancing_policy=lbp, retry_policy=self._default_retry_policy)
        self._load_balancing_policy = self.profile_manager[EXEC_PROFILE_DEFAULT].load_balancing_policy

        # The narrow interfaces the layers below are given (cassfast._interfaces).
        self._connector = _ClusterConnector(self)
        self._host_events = _ClusterHostEvents(self)
        self.control_connection = _ControlConnection(
            self, self.control_connection_timeout, self.schema_event_refresh_window,
            self.topology_event_refresh_window, self.status_event_refresh_window,
            self.schema_metadata_enabled, self.token_metadata_enabled, run_blocking=self._run,
            connector=self._connector, topology=_ClusterTopologyEvents(self))

    # ------------------------------------------------------------------ configuration API

    @property
    def load_balancing_policy(self):
        return self._load_balancing_policy

    @property
    def default_retry_policy(self):
        return self._default_retry_policy

    @default_retry_policy.setter
    def default_retry_policy(self, policy) -> None:
        self._default_retry_policy = policy
        self.profile_manager[EXEC_PROFILE_DEFAULT].retry_policy = policy

    def add_execution_profile(self, name: object, profile: ExecutionProfile[Any],
                              pool_wait_timeout: float = 5) -> None:
        if not isinstance(profile, ExecutionProfile):
            raise TypeError("profile must be an instance of ExecutionProfile")
        if self._config_mode == _ConfigMode.LEGACY:
            raise ValueError("Cannot add execution profiles when legacy parameters are set explicitly.")
        if name in self.profile_manager:
            raise ValueError("Profile %s already exists" % name)
        self._config_mode = _ConfigMode.PROFILES
        self.profile_manager[name] = profile
        if self._is_setup:
            profile.load_balancing_policy.populate(self, self.metadata.all_hosts())
            for session in list(self.sessions):
                self._run(session._add_pools_for_profile(profile), pool_wait_timeout)

    # Pool sizing per HostDistance.  The reference raises UnsupportedOperation for the connection
    # counts with protocol v3+ (its pools are one connection per host); cassfast honours them, and
    # a change made after connect() resizes the open pools at once (see cassfast.pool for how
    # pools grow and shrink between core and max).  The request thresholds that drive growth
    # and shrinking keep the reference's values and, as there with v3+, cannot be set.

    def get_core_connections_per_host(self, host_distance) -> int:
        """Connections each session opens and keeps to a host at ``host_distance`` (default 1)."""
        if host_distance == _IGNORED:
            return 0
        return self._core_connections_per_host[_distance_key(host_distance)]

    def set_core_connections_per_host(self, host_distance, core_connections: int) -> None:
        """Set the core pool size for LOCAL or REMOTE hosts; open pools resize at once."""
        key = _distance_key(host_distance, settable=True)
        self._core_connections_per_host[key] = _checked_count("core_connections", core_connections, 1)
        self._resize_pools()

    def get_max_connections_per_host(self, host_distance) -> int:
        """The most connections a pool grows to under load (a value below core counts as core)."""
        if host_distance == _IGNORED:
            return 0
        return self._max_connections_per_host[_distance_key(host_distance)]

    def set_max_connections_per_host(self, host_distance, max_connections: int) -> None:
        """Set how far pools to LOCAL or REMOTE hosts may grow; open pools resize at once."""
        key = _distance_key(host_distance, settable=True)
        self._max_connections_per_host[key] = _checked_count("max_connections", max_connections, 1)
        self._resize_pools()

    def get_min_requests_per_connection(self, host_distance) -> int:
        """Live requests per connection at or below which a grown pool shrinks (5)."""
        return DEFAULT_MIN_REQUESTS

    def get_max_requests_per_connection(self, host_distance) -> int:
        """Live requests on the least-loaded connection at which a pool grows (100)."""
        return DEFAULT_MAX_REQUESTS

    def set_min_requests_per_connection(self, host_distance, min_requests) -> None:
        # As the reference does for protocol v3+, the only versions cassfast speaks.
        raise UnsupportedOperation("Cluster.set_min_requests_per_connection() only has an effect "
                                   "with protocol v1 or v2")

    def set_max_requests_per_connection(self, host_distance, max_requests) -> None:
        raise UnsupportedOperation("Cluster.set_max_requests_per_connection() only has an effect "
                                   "with protocol v1 or v2")

    def _resize_pools(self) -> None:
        """Apply the sizing settings to every open pool (on the loop; returns at once)."""
        if not self._is_setup or self.is_shutdown or self._loop_thread is None:
            return
        for session in list(self.sessions):
            self._loop_thread.submit(session._resize_pools)

    def register_listener(self, listener: HostStateListener) -> None:
        with self._listener_lock:
            self._listeners.add(listener)

    def unregister_listener(self, listener: HostStateListener) -> None:
        with self._listener_lock:
            self._listeners.discard(listener)

    @property
    def listeners(self) -> set[HostStateListener]:
        with self._listener_lock:
            return set(self._listeners)

    def register_user_type(self, keyspace: str, user_type: str, klass: type) -> None:
        """Map a CQL user-defined type to a Python class for results and bound values."""
        if self.protocol_version < 3:
            log.warning("User Type serialization is only supported in native protocol version 3+")
        self._user_types.setdefault(keyspace, {})[user_type] = klass
        for session in list(self.sessions):
            session.user_type_registered(keyspace, user_type, klass)

    # ------------------------------------------------------------------ lifecycle

    def _ensure_loop(self) -> LoopThread:
        if self._loop_thread is None:
            self._loop_thread = LoopThread("cassfast-io-%x" % id(self))
        return self._loop_thread

    def _run(self, coro, timeout):
        return self._ensure_loop().run_coroutine(coro, timeout)

    def connect(self, keyspace: str | None = None, wait_for_all_pools: bool = False) -> "Session":
        """Connect (the first call discovers the cluster) and return a new Session."""
        with self._lock:
            if self.is_shutdown:
                raise DriverException("Cluster is already shut down")
            if not self._is_setup:
                self._ensure_loop()
                try:
                    # Resolved here, not on the loop: getaddrinfo blocks, and an executor would
                    # leave a thread behind.
                    endpoints = _resolve_contact_points(self.contact_points, self.port)
                    self._run(self._setup(endpoints),
                              self.connect_timeout * 4 + self.control_connection_timeout * 12 + 30)
                except BaseException:
                    self.shutdown()
                    raise
                self._is_setup = True
            session = Session(self, keyspace)
            try:
                self._run(session._open(), self.connect_timeout * 2 + 30)
            except BaseException:
                self._ensure_loop().submit(session._shutdown_on_loop)
                raise
            self.sessions.add(session)
            return session

    async def _setup(self, endpoints) -> None:
        self.endpoints_resolved = endpoints  # read by DCAwareRoundRobinPolicy to infer local_dc
        for endpoint in endpoints:
            if self.metadata.get_host(endpoint) is None:
                self._add_host(endpoint, signal=False)
        await self.control_connection.connect_async(endpoints)
        hosts = list(self.metadata.all_hosts())
        for profile in self.profile_manager.values():
            profile.load_balancing_policy.populate(self, hosts)
            profile.load_balancing_policy.check_supported()
        if self.idle_heartbeat_interval:
            self._heartbeat_task = asyncio.ensure_future(self._heartbeat())

    def _control_candidates(self) -> list[EndPoint]:
        hosts = [h for h in self.metadata.all_hosts() if h.is_up is not False]
        hosts += [h for h in self.metadata.all_hosts() if h.is_up is False]
        return [h.endpoint for h in hosts]

    def shutdown(self) -> None:
        """Close every session and connection and stop the I/O thread; idempotent."""
        with self._lock:
            if self.is_shutdown:
                return
            self.is_shutdown = True
        loop_thread = self._loop_thread
        if loop_thread is None:
            return
        try:
            loop_thread.run_coroutine(self._shutdown_on_loop(), 10)
        except Exception as exc:  # pragma: no cover - best effort
            log.debug("Error during cluster shutdown: %s", exc)
        loop_thread.stop()
        close = getattr(self.request_tracker, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                log.exception("Request tracker %r failed to close", self.request_tracker)

    async def _shutdown_on_loop(self) -> None:
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
        self.control_connection.shutdown()
        for session in list(self.sessions):
            session._shutdown_on_loop()
        # Let transports finish closing (asyncio closes sockets on the next iterations).
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *args) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ connections (loop thread)

    async def _open_connection(self, endpoint: EndPoint, owner=None, keyspace=None, event_callback=None,
                               timeout=None, negotiate=False) -> Connection:
        """Open one connection; with ``negotiate`` step the protocol version down on rejection."""
        loop = self._loop_thread.loop
        while True:
            try:
                connection = await self.connection_class.open(
                    endpoint, loop, self.protocol_version,
                    connect_timeout=timeout or self.connect_timeout,
                    event_callback=event_callback, owner=owner,
                    write_batcher=self._loop_thread.writes, **self._connection_options(endpoint))
            except ProtocolVersionUnsupported as exc:
                if not negotiate or self._protocol_version_explicit or self._is_setup:
                    raise
                lower = ProtocolVersion.get_lower_supported(exc.startup_version)
                if not lower:
                    raise
                log.info("Downgrading protocol version from %d to %d for %s",
                         exc.startup_version, lower, endpoint)
                self.protocol_version = lower
                continue
            if keyspace:
                try:
                    await connection.set_keyspace(keyspace, timeout or self.connect_timeout)
                except BaseException:
                    connection.close()
                    raise
            return connection

    def _connection_options(self, endpoint) -> dict:
        """What every connection to ``endpoint`` is opened with (pool connections and lanes)."""
        return dict(compression=self.compression,
                    authenticator_factory=(self.auth_provider.new_authenticator
                                           if self.auth_provider is not None else None),
                    ssl_context=self._ssl_context_for(endpoint),
                    server_hostname=self._server_hostname(endpoint),
                    cql_version=self.cql_version, user_type_map=self._user_types,
                    allow_beta_protocol_version=self.allow_beta_protocol_version,
                    no_compact=self.no_compact, application_name=self.application_name,
                    application_version=self.application_version, sockopts=self.sockopts)

    def _ssl_context_for(self, endpoint):
        if self.ssl_context is not None:
            return self.ssl_context
        if self.ssl_options:
            opts = dict(self.ssl_options)
            ctx = ssl.SSLContext(opts.get("ssl_version", ssl.PROTOCOL_TLS_CLIENT))
            ca = opts.get("ca_certs")
            if ca:
                ctx.load_verify_locations(ca)
            ctx.check_hostname = bool(opts.get("check_hostname", False))
            ctx.verify_mode = opts.get("cert_reqs", ssl.CERT_REQUIRED if ca else ssl.CERT_NONE)
            if opts.get("certfile"):
                ctx.load_cert_chain(opts["certfile"], opts.get("keyfile"))
            self.ssl_context = ctx
            return ctx
        return None

    def _server_hostname(self, endpoint):
        if self.ssl_options and self.ssl_options.get("server_hostname"):
            return self.ssl_options["server_hostname"]
        return None

    async def _heartbeat(self) -> None:
        """One task for every connection: an OPTIONS on each connection idle for an interval."""
        interval = self.idle_heartbeat_interval
        while not self.is_shutdown:
            await asyncio.sleep(interval)
            connections = []
            if self.control_connection.connection is not None:
                connections.append(self.control_connection.connection)
            for session in list(self.sessions):
                for pool in list(session._pools.values()):
                    connections.extend(pool.connections)
            for session in list(self.sessions):
                for pool in list(session._pools.values()):
                    if pool.lanes is not None:
                        pool.lanes.close_idle(interval)
            now = time.monotonic()
            idle = [c for c in connections if now - c.last_activity >= interval and not c.in_flight]
            for connection in idle:
                asyncio.ensure_future(self._send_heartbeat(connection, OptionsMessage()))

    async def _send_heartbeat(self, connection, message) -> None:
        try:
            await connection.request(message, self.idle_heartbeat_timeout)
        except Exception as exc:
            log.warning("Heartbeat failed for connection to %s: %s", connection.endpoint, exc)
            connection.defunct(ConnectionException("Connection heartbeat failure: %s" % exc,
                                                   connection.endpoint))

    # ------------------------------------------------------------------ host lifecycle

    def _add_host(self, endpoint, datacenter=None, rack=None, signal=True):
        host = Host(endpoint, self.conviction_policy_factory, datacenter, rack)
        host, new = self.metadata.add_or_return_host(host)
        if new and signal and self._is_setup:
            log.info("New Cassandra host %r discovered", host)
            self._on_add(host)
        return host, new

    def _on_add(self, host) -> None:
        for profile in self.profile_manager.values():
            profile.load_balancing_policy.on_add(host)
        for session in list(self.sessions):
            session._add_or_renew_pool(host)
            session._update_created_pools()
        for listener in self.listeners:
            listener.on_add(host)

    def _remove_host(self, host) -> None:
        if not self.metadata.remove_host(host):
            return
        log.info("Cassandra host %s removed", host)
        # A removed node is no longer a candidate anywhere (TokenAware skips replicas not up).
        host.set_down()
        for profile in self.profile_manager.values():
            profile.load_balancing_policy.on_remove(host)
        for session in list(self.sessions):
            session._remove_pool(host)
            session._update_created_pools()
        for listener in self.listeners:
            listener.on_remove(host)

    def _on_pool_lost_all(self, host, exc) -> None:
        """Every connection of one session's pool to ``host`` failed: maybe mark the host down."""
        if host.is_up is False:
            return
        try:
            convict = host.signal_connection_failure(exc)
        except Exception:  # pragma: no cover - a broken user policy
            log.exception("Conviction policy failed")
            convict = True
        if convict:
            self._on_down(host)

    def _on_down(self, host) -> None:
        if host.is_up is False:
            return
        host.set_down()
        log.warning("Host %s has been marked down", host)
        for session in list(self.sessions):
            pool = session._pools.get(host)
            if pool is not None and pool.lanes is not None:
                pool.lanes.reset()  # threads blocked on its lanes fail now, not at their timeout
        for profile in self.profile_manager.values():
            profile.load_balancing_policy.on_down(host)
        for session in list(self.sessions):
            session._update_created_pools()
        for listener in self.listeners:
            listener.on_down(host)

    def _on_pool_reconnected(self, host) -> None:
        self._on_up(host)

    def _on_up(self, host) -> None:
        if host.is_up is True:
            return
        host.set_up()
        log.info("Host %s is now marked up", host)
        for profile in self.profile_manager.values():
            profile.load_balancing_policy.on_up(host)
        for session in list(self.sessions):
            pool = session._pools.get(host)
            if pool is None or pool.is_shutdown:
                session._add_or_renew_pool(host)
            else:
                pool.reconnect_now()
            session._update_created_pools()
            if self.reprepare_on_up:
                asyncio.ensure_future(session._reprepare_all_on(host))
        self.control_connection.on_host_up(host)
        for listener in self.listeners:
            listener.on_up(host)

    def _host_for_event_address(self, address):
        """The known host an event's ``address`` (inet, or (ip, port)) names, else None."""
        if address is None:
            return None
        addr = str(address[0] if isinstance(address, tuple) else address)
        for candidate in self.metadata.all_hosts():
            if candidate.address == addr or candidate.broadcast_rpc_address == addr:
                return candidate
        return None

    def _on_removed_node_event(self, address) -> None:
        """REMOVED_NODE: forget the host at once, as the reference does, rather than keep
        planning and reconnecting to a node that has left until the debounced refresh."""
        host = self._host_for_event_address(address)
        if host is not None:
            self._remove_host(host)

    def _on_status_event(self, change_type, address, window) -> None:
        host = self._host_for_event_address(address)
        if host is None:
            return
        if change_type == "UP":
            # Connect now rather than wait for the pools' reconnection schedule.
            for session in list(self.sessions):
                pool = session._pools.get(host)
                if pool is not None:
                    pool.reconnect_now()
                else:
                    session._add_or_renew_pool(host)
        elif change_type == "DOWN":
            # As the reference does, a DOWN event for a host we still hold connections to is
            # ignored: gossip lags and our own connections are the better witness.
            if not any(session._pools.get(host) and session._pools[host].connections
                       for session in list(self.sessions)):
                self._on_down(host)

    def _on_schema_change_result(self, future, response, connection) -> None:
        async def refresh_then_complete():
            try:
                future.is_schema_agreed = await self.control_connection.refresh_after_schema_change_async(
                    getattr(response, "schema_change_event", None),
                    self._schema_witness(future, connection))
            except Exception as exc:
                log.warning("Schema refresh after a schema change failed: %s", exc)
            future._set_final_result(None)
        asyncio.ensure_future(refresh_then_complete())

    @staticmethod
    def _schema_witness(future, connection):
        """A connection to the node that coordinated a schema change, to judge agreement from.

        As in the reference, agreement is read from the coordinator: it has applied the change
        before answering, so its own version is the new one and it disagrees until every peer
        has it.  Another node (the control host) may not have heard of the change yet, see
        every node still on the old version, and report agreement at once.  A request answered
        on a lane has no loop connection, so one of the coordinator's pool connections stands
        in; None (the control connection) only when the coordinator has none open.
        """
        if connection is not None and not (getattr(connection, "is_closed", False)
                                           or getattr(connection, "is_defunct", False)):
            return connection
        host = future.coordinator_host
        pool = future.session._pools.get(host) if host is not None else None
        if pool is None or pool.is_shutdown or not pool.connections:
            return None
        try:
            return pool.borrow_connection()
        except Exception:  # no open connection after all: fall back to the control connection
            return None

    # ------------------------------------------------------------------ metadata refresh API

    def refresh_schema_metadata(self, max_schema_agreement_wait=None) -> None:
        cc = self.control_connection

        async def run():
            await cc.wait_for_schema_agreement_async(wait_time=max_schema_agreement_wait)
            await cc.refresh_schema_async()
        self._run(run(), (max_schema_agreement_wait or self.max_schema_agreement_wait) + 30)

    def refresh_keyspace_metadata(self, keyspace, max_schema_agreement_wait=None) -> None:
        self.refresh_schema_metadata(max_schema_agreement_wait)

    def refresh_table_metadata(self, keyspace, table, max_schema_agreement_wait=None) -> None:
        self.refresh_schema_metadata(max_schema_agreement_wait)

    def refresh_user_type_metadata(self, keyspace, user_type, max_schema_agreement_wait=None) -> None:
        self.refresh_schema_metadata(max_schema_agreement_wait)

    def refresh_materialized_view_metadata(self, keyspace, view, max_schema_agreement_wait=None) -> None:
        self.refresh_schema_metadata(max_schema_agreement_wait)

    def refresh_user_function_metadata(self, keyspace, function, max_schema_agreement_wait=None) -> None:
        self.refresh_schema_metadata(max_schema_agreement_wait)

    def refresh_user_aggregate_metadata(self, keyspace, aggregate, max_schema_agreement_wait=None) -> None:
        self.refresh_schema_metadata(max_schema_agreement_wait)

    def set_meta_refresh_enabled(self, enabled) -> None:
        """Deprecated (as in the reference): set ``schema_metadata_enabled`` and
        ``token_metadata_enabled`` instead."""
        warnings.warn("Cluster.set_meta_refresh_enabled is deprecated; set Cluster.schema_metadata_enabled "
                      "and Cluster.token_metadata_enabled instead", DeprecationWarning, stacklevel=2)
        self.schema_metadata_enabled = enabled
        self.token_metadata_enabled = enabled

    def refresh_nodes(self, force_token_rebuild=False) -> None:
        self._run(self.control_connection.refresh_node_list_and_token_map_async(
            force_token_rebuild=force_token_rebuild), self.control_connection_timeout * 4 + 10)

    def get_control_connection_host(self):
        return self.control_connection.host

    def add_prepared(self, query_id, prepared_statement) -> None:
        self._prepared_statements[query_id] = prepared_statement


from cassfast._session import Session  # noqa: E402
from cassfast._resultset import ResultSet  # noqa: E402,F401

# Names the reference's cassandra.cluster exposes by importing them; code written for it imports
# them from here.  DefaultConnection is the connection class a Cluster uses unless told otherwise.
DefaultConnection = Connection
from cassfast import AuthenticationFailed, DependencyException, SchemaTargetType  # noqa: E402,F401
from cassfast.auth import PlainTextAuthProvider  # noqa: E402,F401
from cassfast.cqltypes import UserType  # noqa: E402,F401
from cassfast.encoder import Encoder  # noqa: E402,F401
from cassfast.host import SniEndPointFactory  # noqa: E402,F401
from cassfast.io.eventletreactor import EventletConnection  # noqa: E402,F401
from cassfast.io.twistedreactor import TwistedConnection  # noqa: E402,F401
from cassfast.murmur3 import murmur3  # noqa: E402,F401
from cassfast.policies import (  # noqa: E402,F401
    DCAwareRoundRobinPolicy, DefaultLoadBalancingPolicy, ExponentialReconnectionPolicy,
    HostDistance, IdentityTranslator, NeverRetryPolicy, NoSpeculativeExecutionPlan,
    NoSpeculativeExecutionPolicy, RetryPolicy, SimpleConvictionPolicy, TokenAwarePolicy)
from cassfast.protocol import (  # noqa: E402,F401
    RESULT_KIND_ROWS, RESULT_KIND_SCHEMA_CHANGE, RESULT_KIND_SET_KEYSPACE, RESULT_KIND_VOID,
    BatchMessage, ErrorMessage, ExecuteMessage, IsBootstrappingErrorMessage,
    OverloadedErrorMessage, PrepareMessage, PreparedQueryNotFound, ProtocolException,
    ProtocolHandler, QueryMessage, ReadTimeoutErrorMessage, ResultMessage, ServerError,
    TruncateError, UnavailableErrorMessage, WriteTimeoutErrorMessage)
from cassfast.query import (  # noqa: E402,F401
    FETCH_SIZE_UNSET, BatchStatement, BoundStatement, HostTargetingStatement, PreparedStatement,
    QueryTrace, SimpleStatement, TraceUnavailable)
from cassfast.metadata import protect_name  # noqa: E402,F401
from cassfast.query import bind_params  # noqa: E402,F401
from cassfast.rows import dict_factory, named_tuple_factory, tuple_factory  # noqa: E402,F401
from cassfast.util import Version  # noqa: E402,F401


__all__ = ["Cluster", "Session", "ResultSet", "ResponseFuture", "ExecutionProfile", "EXEC_PROFILE_DEFAULT",
           "NoHostAvailable", "UserTypeDoesNotExist", "QueryExhausted", "Host", "ConnectionException",
           "ConnectionShutdown", "ConnectionBusy", "ProtocolError", "OperationTimedOut", "InvalidRequest"]
