"""Named connections of the mapper: which Cluster/Session each model and query runs on.

A *connection* here is a name bound to one ``cassfast.cluster.Session`` (the reference's term,
kept for compatibility); it is not a socket.  ``setup()`` registers the default one, models and
querysets pick another with ``__connection__`` or ``.using(connection=...)``.  Each connection
also caches the prepared statements the mapper issued on it, keyed by CQL text, so a model
operation is prepared once and then only executed.  The module globals ``cluster`` and
``session`` mirror the default connection, as in the reference.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any, Dict, Iterable, Optional

from cassfast import ConsistencyLevel
from cassfast.cluster import Cluster, ResultSet, Session
from cassfast.query import SimpleStatement, Statement, dict_factory

from cassfast.cqlengine import CQLEngineException
from cassfast import _logger_for

log = _logger_for(__name__)

class _NotSet:
    """The "no timeout given" marker: the session's default timeout applies."""

    def __repr__(self) -> str:
        return "NOT_SET"


NOT_SET = _NotSet()


def session_execute(session, statement, params=None, timeout: Any = NOT_SET):
    """``session.execute`` passing ``timeout`` only when one was given (None = no timeout)."""
    if timeout is NOT_SET:
        return session.execute(statement, params)
    return session.execute(statement, params, timeout=timeout)

cluster: Optional[Cluster] = None
session = None

DEFAULT_CONNECTION = object()
_connections: Dict[Any, "Connection"] = {}

# {keyspace: {type_name: UserType class}} registered before the cluster connected; applied to
# every cluster that connects later (see _register_known_types).
udt_by_keyspace: Dict[str, Dict[str, type]] = defaultdict(dict)


class UndefinedKeyspaceException(CQLEngineException):
    """A model or query needs a keyspace and none is set."""


def format_log_context(msg: str, connection: Any = None, keyspace: Optional[str] = None) -> str:
    """Prefix a log message with the keyspace and connection it is about."""
    parts = []
    if keyspace:
        parts.append("Keyspace: %s" % keyspace)
    if connection and connection is not DEFAULT_CONNECTION:
        parts.append("Connection: %s" % connection)
    return "[%s] %s" % (", ".join(parts), msg) if parts else msg


class Connection:
    """One named connection: its cluster options, its Session and its prepared-statement cache."""

    def __init__(self, name: Any, hosts: Optional[Iterable[str]], consistency: Optional[int] = None,
                 lazy_connect: bool = False, retry_connect: bool = False,
                 cluster_options: Optional[dict] = None) -> None:
        self.name = name
        self.hosts = list(hosts) if hosts is not None else None
        self.consistency = consistency
        self.lazy_connect = lazy_connect
        self.retry_connect = retry_connect
        self.cluster_options = dict(cluster_options or {})
        self.cluster: Optional[Cluster] = None
        self.session = None
        self.lazy_connect_lock = threading.RLock()
        self._prepared: Dict[str, Any] = {}
        self._prepared_lock = threading.Lock()

    @classmethod
    def from_session(cls, name: Any, session) -> "Connection":
        conn = cls(name, None)
        conn.session = session
        conn.cluster = session.cluster
        return conn

    def setup(self) -> None:
        """Build the Cluster and connect, unless ``lazy_connect`` defers it to the first query."""
        if self.lazy_connect:
            return
        options = dict(self.cluster_options)
        if self.hosts:
            options["contact_points"] = self.hosts
        self.cluster = Cluster(**options)
        try:
            self.session = self.cluster.connect()
        except Exception:
            if not self.retry_connect:
                raise
            log.warning(format_log_context("connect failed, setting up for re-attempt on first use",
                                           connection=self.name))
            self.lazy_connect = True
            self.cluster = None
            self.session = None
            return
        self.setup_session()

    def setup_session(self) -> None:
        # The reference requires dict rows; the mapper reads rows of any shape, but keeping the
        # same default keeps user code that runs raw queries on this session unchanged.
        self.session.row_factory = dict_factory
        if self.consistency is not None:
            self.session.default_consistency_level = self.consistency
        _register_known_types(self.session.cluster)

    def handle_lazy_connect(self) -> None:
        if not self.lazy_connect:
            return
        with self.lazy_connect_lock:
            if self.lazy_connect:  # another thread may have connected meanwhile
                log.debug(format_log_context("Lazy connect enabled", connection=self.name))
                self.lazy_connect = False
                self.setup()

    def prepare(self, cql: str):
        """The prepared statement for ``cql`` on this connection's session, prepared once."""
        prepared = self._prepared.get(cql)
        if prepared is None:
            prepared = self.session.prepare(cql)
            with self._prepared_lock:
                prepared = self._prepared.setdefault(cql, prepared)
        return prepared

    def forget_prepared(self) -> None:
        """Drop cached statements (after schema changes that alter a table's columns)."""
        with self._prepared_lock:
            self._prepared.clear()


def register_connection(name: Any, hosts: Optional[Iterable[str]] = None, consistency: Optional[int] = None,
                        lazy_connect: bool = False, retry_connect: bool = False,
                        cluster_options: Optional[dict] = None, default: bool = False,
                        session=None) -> Connection:
    """Register a named connection, either from an existing ``session`` or from ``hosts``."""
    if name in _connections:
        log.warning("Registering connection '%s' when it already exists.", name)
    if session is not None:
        if hosts or consistency is not None or lazy_connect or retry_connect or cluster_options:
            raise CQLEngineException("Session configuration arguments and 'session' argument are mutually exclusive")
        conn = Connection.from_session(name, session)
        conn.setup_session()
    else:
        conn = Connection(name, hosts, consistency=consistency, lazy_connect=lazy_connect,
                          retry_connect=retry_connect, cluster_options=cluster_options)
        conn.setup()
    _connections[name] = conn
    if default:
        set_default_connection(name)
    return conn


def unregister_connection(name: Any) -> None:
    """Forget a named connection and shut its cluster down (if the mapper created it)."""
    global cluster, session
    if name not in _connections:
        return
    if _connections.get(DEFAULT_CONNECTION) is _connections[name]:
        del _connections[DEFAULT_CONNECTION]
        cluster = None
        session = None
    conn = _connections.pop(name)
    if conn.cluster is not None:
        conn.cluster.shutdown()
    log.debug("Connection '%s' has been removed from the registry.", name)


def set_default_connection(name: Any) -> None:
    """Make the named connection the one used when no connection is given."""
    global cluster, session
    if name not in _connections:
        raise CQLEngineException("Connection '%s' doesn't exist." % name)
    log.debug("Connection '%s' has been set as default.", name)
    _connections[DEFAULT_CONNECTION] = _connections[name]
    cluster = _connections[name].cluster
    session = _connections[name].session


def get_connection(name: Any = None) -> Connection:
    """The named connection (the default one when ``name`` is None), connected if lazy."""
    if not name:
        name = DEFAULT_CONNECTION
    conn = _connections.get(name)
    if conn is None:
        msg = ("Connection name '%s' doesn't exist in the registry." % name if name is not DEFAULT_CONNECTION
               else "Cannot run queries: no default connection (call connection.setup() or set_session())")
        raise CQLEngineException(msg)
    conn.handle_lazy_connect()
    if name is DEFAULT_CONNECTION:
        _refresh_globals(conn)
    return conn


def _refresh_globals(conn: Connection) -> None:
    global cluster, session
    cluster = conn.cluster
    session = conn.session


def default() -> None:
    """Set up a default connection to a local node (127.0.0.1) with default options."""
    if DEFAULT_CONNECTION in _connections:
        log.warning("configuring new default connection for cqlengine when one was already set")
    register_connection("default", hosts=None, default=True)


def set_session(s: Session) -> None:
    """Use an existing ``Session`` as the default connection."""
    try:
        conn = get_connection()
    except CQLEngineException:
        register_connection("default", session=s, default=True)
        conn = get_connection()
    else:
        if conn.session is not s:
            conn.session = s
            conn.cluster = s.cluster
            conn.forget_prepared()
            conn.setup_session()
    _refresh_globals(conn)
    if s.keyspace:
        from cassfast.cqlengine import models
        models.DEFAULT_KEYSPACE = s.keyspace
    log.debug("cqlengine default connection initialized with %s", s)


def setup(hosts: Iterable[str], default_keyspace: Optional[str], consistency: Optional[int] = None,
          lazy_connect: bool = False, retry_connect: bool = False, **kwargs: Any) -> None:
    """Connect the default connection to ``hosts``; extra keyword arguments go to ``Cluster``."""
    from cassfast.cqlengine import models
    models.DEFAULT_KEYSPACE = default_keyspace
    register_connection("default", hosts=hosts, consistency=consistency, lazy_connect=lazy_connect,
                        retry_connect=retry_connect, cluster_options=kwargs, default=True)


def execute(query: Any, params: Any = None, consistency_level: Optional[int] = None,
            timeout: Any = NOT_SET, connection: Any = None) -> ResultSet[Any]:
    """Run a CQL string or Statement on a connection; return the driver's ResultSet."""
    conn = get_connection(connection)
    if isinstance(query, str):
        query = SimpleStatement(query)
    elif not isinstance(query, Statement):
        raise CQLEngineException("Cannot execute %r: expected a CQL string or a Statement" % (query,))
    if consistency_level is not None:
        query.consistency_level = consistency_level
    log.debug(format_log_context("Query: %s, Params: %s" % (getattr(query, "query_string", query), params),
                                 connection=connection))
    return session_execute(conn.session, query, params, timeout)


def get_session(connection: Any = None) -> Optional[Session]:
    return get_connection(connection).session


def get_cluster(connection: Any = None) -> Cluster:
    conn = get_connection(connection)
    if conn.cluster is None:
        raise CQLEngineException("%s.cluster is not configured. Call one of the setup or default functions first."
                                 % __name__)
    return conn.cluster


def register_udt(keyspace: str, type_name: str, klass: type, connection: Any = None) -> None:
    """Have rows decode UDT ``keyspace.type_name`` into ``klass`` on every connected cluster."""
    udt_by_keyspace[keyspace][type_name] = klass
    try:
        clusters = [get_cluster(connection)]
    except CQLEngineException:
        clusters = []
    for c in clusters:
        try:
            c.register_user_type(keyspace, type_name, klass)
        except Exception:  # the type may not exist yet; sync_type registers it again
            log.debug("UDT %s.%s not registered yet", keyspace, type_name, exc_info=True)


def _register_known_types(c: Cluster) -> None:
    for ks_name, types in udt_by_keyspace.items():
        for name, klass in types.items():
            try:
                c.register_user_type(ks_name, name, klass)
            except Exception:
                log.debug("UDT %s.%s not registered yet", ks_name, name, exc_info=True)


__all__ = ["Connection", "DEFAULT_CONNECTION", "NOT_SET", "register_connection", "unregister_connection",
           "set_default_connection", "get_connection", "default", "set_session", "setup", "execute",
           "get_session", "get_cluster", "register_udt", "format_log_context", "ConsistencyLevel"]
