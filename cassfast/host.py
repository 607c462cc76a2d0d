"""Cluster members as the driver sees them: endpoints (where to connect) and hosts (what a node is).

``Host`` is the object that load-balancing policies, host state listeners and pools share; the
reference driver exposes it as ``cassandra.pool.Host`` and ``cassfast.pool`` re-exports it.  A host
is identified by its endpoint.  Its mutable state (up/down, location, versions, tokens) is written
by the cluster's control logic only; policies read it.
"""
from __future__ import annotations

import socket
import threading


class EndPoint:
    """Where to open a connection to a node.  Subclass for SNI or unix sockets."""

    @property
    def address(self) -> str:
        raise NotImplementedError

    @property
    def port(self) -> int:
        raise NotImplementedError

    @property
    def socket_family(self):
        return socket.AF_UNSPEC

    @property
    def ssl_options(self):
        return None

    def resolve(self):
        """(address, port) to pass to ``connect``."""
        raise NotImplementedError


class DefaultEndPoint(EndPoint):
    """An address (IP or host name) and a port."""

    __slots__ = ("_address", "_port", "_hash")

    def __init__(self, address, port=9042):
        self._address = address
        self._port = port
        # Hosts hash through their endpoint on every request (the session's pools are keyed by
        # host): computed once, since an endpoint never changes.
        self._hash = hash((address, port))

    @property
    def address(self):
        return self._address

    @property
    def port(self):
        return self._port

    def resolve(self):
        return self._address, self._port

    def __eq__(self, other):
        return isinstance(other, DefaultEndPoint) and self._address == other._address and self._port == other._port

    def __hash__(self):
        return self._hash

    def __reduce__(self):
        # Rebuilt through __init__, so the cached hash is the unpickling process's own.
        return self.__class__, (self._address, self._port)

    def __lt__(self, other):
        return (self._address, self._port) < (other._address, other._port)

    def __str__(self):
        return "%s:%d" % (self._address, self._port)

    def __repr__(self):
        return "<%s: %s:%d>" % (self.__class__.__name__, self._address, self._port)


class EndPointFactory:
    """Builds the endpoint of a peer from its ``system.peers(_v2)`` row."""

    cluster = None

    def configure(self, cluster):
        self.cluster = cluster
        return self

    def create(self, row):
        raise NotImplementedError


class DefaultEndPointFactory(EndPointFactory):
    def __init__(self, port=None):
        self.port = port

    def create(self, row):
        addr = row.get("native_address") or row.get("rpc_address") or row.get("peer")
        if addr in (None, "0.0.0.0", "::"):
            addr = row.get("peer")
        port = row.get("native_port") or self.port or (self.cluster.port if self.cluster else 9042)
        return DefaultEndPoint(str(addr), int(port))


class SniEndPoint(EndPoint):
    """A node behind an SNI proxy: connect to the proxy, name the node in the TLS handshake.

    ``server_name`` is the node's host id (from ``SniEndPointFactory``).  Each ``resolve()`` takes
    the next of the proxy's addresses (sorted, round robin from ``init_index``), so connections
    spread over a proxy that resolves to several addresses.
    """

    def __init__(self, proxy_address: str, server_name: str, port: int = 9042, init_index: int = 0):
        self._proxy_address = proxy_address
        self._server_name = server_name
        self._port = port
        self._index = init_index
        self._ssl_options = {"server_hostname": server_name}

    @property
    def address(self) -> str:
        return self._proxy_address

    @property
    def port(self) -> int:
        return self._port

    @property
    def ssl_options(self) -> dict:
        return self._ssl_options

    def resolve(self) -> tuple[str, int]:
        infos = socket.getaddrinfo(self._proxy_address, self._port, socket.AF_UNSPEC, socket.SOCK_STREAM)
        addresses = sorted(info[4][0] for info in infos)
        address = addresses[self._index % len(addresses)]
        self._index += 1
        return address, self._port

    def _key(self):
        return (self._proxy_address, self._port, self._server_name)

    def __eq__(self, other):
        return isinstance(other, SniEndPoint) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __lt__(self, other):
        return self._key() < other._key()

    def __str__(self):
        return "%s:%d:%s" % self._key()

    def __repr__(self):
        return "<%s: %s:%d:%s>" % ((self.__class__.__name__,) + self._key())


class SniEndPointFactory(EndPointFactory):
    """Endpoints of the nodes behind one SNI proxy, named by their host ids."""

    def __init__(self, proxy_address: str, port: int):
        self._proxy_address = proxy_address
        self._port = port
        # Each new endpoint starts one address further, so that they do not all try the
        # proxy's first address first.
        self._next_index = 0

    def _endpoint(self, server_name: str) -> SniEndPoint:
        endpoint = SniEndPoint(self._proxy_address, server_name, self._port, self._next_index)
        self._next_index += 1
        return endpoint

    def create(self, row) -> SniEndPoint:
        host_id = row.get("host_id")
        if host_id is None:
            raise ValueError("a peer row without host_id cannot be reached through an SNI proxy")
        return self._endpoint(str(host_id))

    def create_from_sni(self, sni: str) -> SniEndPoint:
        return self._endpoint(sni)


class UnixSocketEndPoint(EndPoint):
    """A node listening on a unix domain socket (``port`` is None)."""

    def __init__(self, unix_socket_path: str):
        self._unix_socket_path = unix_socket_path

    @property
    def address(self) -> str:
        return self._unix_socket_path

    @property
    def port(self):
        return None

    @property
    def socket_family(self):
        return socket.AF_UNIX

    def resolve(self):
        return self._unix_socket_path, None

    def __eq__(self, other):
        return isinstance(other, UnixSocketEndPoint) and self._unix_socket_path == other._unix_socket_path

    def __hash__(self):
        return hash(self._unix_socket_path)

    def __lt__(self, other):
        return self._unix_socket_path < other._unix_socket_path

    def __str__(self):
        return self._unix_socket_path

    def __repr__(self):
        return "<%s: %s>" % (self.__class__.__name__, self._unix_socket_path)


class Host:
    """One Cassandra node.

    ``is_up`` is None until the driver has an opinion, then True or False.  ``datacenter`` and
    ``rack`` come from ``system.local``/``system.peers``.
    """

    endpoint = None
    broadcast_address = None
    broadcast_port = None
    broadcast_rpc_address = None
    broadcast_rpc_port = None
    listen_address = None
    listen_port = None
    conviction_policy = None
    is_up = None
    release_version = None
    host_id = None
    tokens = None
    schema_version = None
    _datacenter = None
    _rack = None

    def __init__(self, endpoint, conviction_policy_factory=None, datacenter=None, rack=None, host_id=None):
        if endpoint is None:
            raise ValueError("endpoint may not be None")
        if not isinstance(endpoint, EndPoint):
            endpoint = DefaultEndPoint(endpoint)
        self.endpoint = endpoint
        self.host_id = host_id
        self.lock = threading.RLock()
        self._reconnection_handler = None
        if conviction_policy_factory is not None:
            self.conviction_policy = conviction_policy_factory(self)
        self.set_location_info(datacenter, rack)

    @property
    def address(self) -> str:
        """The address the driver connects to (the endpoint's address)."""
        return self.endpoint.address

    @property
    def datacenter(self):
        return self._datacenter

    @property
    def rack(self):
        return self._rack

    def set_location_info(self, datacenter, rack):
        self._datacenter = datacenter
        self._rack = rack

    def set_up(self):
        if self.conviction_policy is not None:
            self.conviction_policy.reset()
        self.is_up = True

    def set_down(self):
        self.is_up = False

    def signal_connection_failure(self, connection_exc):
        """Tell this host's conviction policy about a failure; True means mark the host down.

        ``conviction_policy`` is whatever ``conviction_policy_factory(self)`` returned: a
        reference-style per-host policy, or, when the factory is a seed-style cluster-wide
        ``cassfast.policies.ConvictionPolicy`` instance, an adapter that calls
        ``policy.add_failure(host, connection_exc)`` / ``policy.reset(host)``.
        """
        if self.conviction_policy is None:
            return True
        return self.conviction_policy.add_failure(connection_exc)

    def is_currently_reconnecting(self):
        return self._reconnection_handler is not None

    def get_and_set_reconnection_handler(self, new_handler):
        with self.lock:
            old = self._reconnection_handler
            self._reconnection_handler = new_handler
            return old

    def __eq__(self, other):
        if isinstance(other, Host):
            return self.endpoint == other.endpoint
        return self.address == other

    def __hash__(self):
        return hash(self.endpoint)

    def __lt__(self, other):
        return self.endpoint < other.endpoint

    def __str__(self):
        return str(self.endpoint)

    def __repr__(self):
        dc = (" %s" % (self._datacenter,)) if self._datacenter else ""
        return "<%s: %s%s>" % (self.__class__.__name__, self.endpoint, dc)
