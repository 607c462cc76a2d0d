"""Pluggable policies: load balancing, retry, reconnection, conviction, speculative execution.

The classes and hooks are those of ``cassandra.policies`` and of the project's seed
specification; where the two differ the seed wins and the reference's form is kept beside it
when both can live together:

* ``RetryDecision`` has the seed's values (RETHROW=0, RETRY=1, IGNORE=2).  ``RetryPolicy.RETRY``,
  ``RETHROW`` and ``IGNORE`` are aliases of those values (the reference numbered RETRY=0 and
  RETHROW=1; code that compares against the names keeps working), and ``RETRY_NEXT_HOST`` (3)
  is kept as an extension.  Retry hooks take the seed's parameter names (``consistency_level``)
  and are called positionally.
* The default retry policy is :class:`FallthroughRetryPolicy` (never retry), as the seed states;
  the reference driver defaulted to :class:`RetryPolicy`, which stays available with its exact
  rules when configured explicitly.
* ``ConstantReconnectionPolicy`` and ``ExponentialReconnectionPolicy`` default to
  ``max_attempts=None`` (unbounded) as the seed states; the reference stopped after 64.
* ``ConvictionPolicy`` works both ways: one instance passed as ``Cluster(conviction_policy=...)``
  with ``add_failure(host, connection_exc)`` / ``reset(host)`` (seed), or a class/factory called
  with a host returning an object with ``add_failure(connection_exc)`` / ``reset()``
  (reference's ``conviction_policy_factory``).  See :class:`ConvictionPolicy`.
* ``TokenAwarePolicy`` shuffles replicas by default (``shuffle_replicas=True``, seed).
* ``LoadBalancingPolicy`` keeps ``self.hosts`` (the live hosts, a tuple) current through
  ``populate``/``on_add``/``on_up``/``on_down``/``on_remove``, so a subclass that only defines
  ``distance`` and ``make_query_plan`` over ``self.hosts`` works as the seed's example does.

* ``DowngradingConsistencyRetryPolicy`` follows the reference's rules (table in its docstring)
  but emits no deprecation warning: the seed lists it as a regular policy.
* The conviction, reconnection, retry and speculative-execution classes live in
  ``cassfast._failure_policies`` and are re-exported here.

Built-in load-balancing policies of exactly their built-in type (RoundRobin, WhiteList,
DCAware, and TokenAware over RoundRobin or DCAware) install a compiled planner from
``cassfast._routing`` as their instance's ``make_query_plan``; each keeps a pure-Python
``_py_make_query_plan`` that defines the behaviour (the tests check the two agree), and a user's
subclass always gets the Python definition or its own override.  How the cluster calls these
hooks is written down in ``docs/architecture.md`` ("Policy wiring").
"""
from __future__ import annotations

import socket
import threading
import warnings
from collections import namedtuple
from random import randint, shuffle
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Sequence

from cassfast import WriteType as WriteType  # re-exported, as the reference does
from cassfast import ConsistencyLevel, OperationTimedOut  # noqa: F401  (reference re-exports)
from cassfast import WriteType as WT  # noqa: F401  (the reference's alias)
from cassfast._failure_policies import (  # noqa: F401  (the reference's module layout)
    ConstantReconnectionPolicy, ConstantSpeculativeExecutionPolicy, ConvictionPolicy,
    DowngradingConsistencyRetryPolicy, ExponentialReconnectionPolicy, FallthroughRetryPolicy,
    NeverRetryPolicy, NoSpeculativeExecutionPlan, NoSpeculativeExecutionPolicy,
    ReconnectionPolicy, RetryDecision, RetryPolicy, SimpleConvictionPolicy,
    SpeculativeExecutionPlan, SpeculativeExecutionPolicy,
)
from cassfast._routing import DCAwarePlanner, RoundRobinPlanner, TokenAwarePlanner
from cassfast import _logger_for

if TYPE_CHECKING:
    from cassfast.host import Host

log = _logger_for(__name__)

__all__ = [
    "HostDistance", "HostStateListener", "LoadBalancingPolicy", "RoundRobinPolicy",
    "DCAwareRoundRobinPolicy", "TokenAwarePolicy", "WhiteListRoundRobinPolicy",
    "HostFilterPolicy", "WrapperPolicy", "DefaultLoadBalancingPolicy", "DSELoadBalancingPolicy",
    "ConvictionPolicy",
    "SimpleConvictionPolicy", "ReconnectionPolicy", "ConstantReconnectionPolicy",
    "ExponentialReconnectionPolicy", "RetryDecision", "RetryPolicy", "FallthroughRetryPolicy",
    "DowngradingConsistencyRetryPolicy", "NeverRetryPolicy", "AddressTranslator",
    "IdentityTranslator", "EC2MultiRegionTranslator", "SpeculativeExecutionPolicy",
    "SpeculativeExecutionPlan", "NoSpeculativeExecutionPlan", "NoSpeculativeExecutionPolicy",
    "ConstantSpeculativeExecutionPolicy", "ColDesc", "ColumnEncryptionPolicy", "WriteType",
]


class HostDistance:
    """How far a host is from the client; decides pool sizes and plan order.

    Values are the seed's (and the reference's): IGNORED hosts get no connections and never
    appear in a plan.
    """

    IGNORED = -1
    LOCAL = 0
    REMOTE = 1


class HostStateListener:
    """Receives host membership and status changes (register with ``Cluster.register_listener``).

    The hooks are no-ops here, so a listener overrides only what it needs.
    """

    def on_add(self, host: Host) -> None:
        """A node joined the cluster (it should be considered up)."""

    def on_up(self, host: Host) -> None:
        """A node was marked up."""

    def on_down(self, host: Host) -> None:
        """A node was marked down."""

    def on_remove(self, host: Host) -> None:
        """A node left the cluster."""


# Serialises the copy-on-write updates of ``LoadBalancingPolicy.hosts``; module-level because a
# subclass may never call ``LoadBalancingPolicy.__init__``.
_hosts_update_lock = threading.Lock()


class LoadBalancingPolicy(HostStateListener):
    """Decides which coordinators a request tries, in order, and how far each host is.

    Lifecycle: ``populate(cluster, hosts)`` once at connect, then ``on_add``/``on_up``/
    ``on_down``/``on_remove`` as the cluster changes, ``distance(host)`` to size pools, and
    ``make_query_plan(working_keyspace, query)`` per request (``query`` may be None, e.g. when
    preparing).  A plan is any iterable of hosts; it is consumed lazily.

    ``hosts`` is the tuple of live hosts this policy knows, kept current by the base hooks below
    (replaced, never mutated, so reading it needs no lock).
    """

    hosts: tuple[Host, ...] = ()
    _hosts_lock = _hosts_update_lock  # reference attribute name

    def __init__(self) -> None:
        self.hosts = ()

    def distance(self, host: Host) -> int:
        raise NotImplementedError()

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        self.hosts = tuple(dict.fromkeys(hosts))  # de-duplicated, in the given order

    def make_query_plan(self, working_keyspace: Optional[str] = None, query: Any = None) -> Iterable[Host]:
        raise NotImplementedError()

    def check_supported(self) -> None:
        """Called once metadata is known; raise if this policy cannot work with the cluster."""

    def on_up(self, host: Host) -> None:
        LoadBalancingPolicy._add_live(self, host)

    def on_add(self, host: Host) -> None:
        LoadBalancingPolicy._add_live(self, host)

    def on_down(self, host: Host) -> None:
        LoadBalancingPolicy._remove_live(self, host)

    def on_remove(self, host: Host) -> None:
        LoadBalancingPolicy._remove_live(self, host)

    def _add_live(self, host: Host) -> None:
        with _hosts_update_lock:
            if host not in self.hosts:
                self.hosts = self.hosts + (host,)

    def _remove_live(self, host: Host) -> None:
        with _hosts_update_lock:
            if host in self.hosts:
                self.hosts = tuple(h for h in self.hosts if h != host)


class RoundRobinPolicy(LoadBalancingPolicy):
    """Every live host, all LOCAL, each plan starting one further round the ring of hosts."""

    _planner = None

    def __init__(self) -> None:
        LoadBalancingPolicy.__init__(self)
        self._planner = RoundRobinPlanner()
        if type(self) in _COMPILED_ROUND_ROBIN:
            # The compiled planner reads the same state as _py_make_query_plan; installing it on
            # the instance skips a Python frame per request.
            self.make_query_plan = self._planner.plan

    def _state(self) -> RoundRobinPlanner:
        if self._planner is None:  # a subclass that skipped __init__
            self._planner = RoundRobinPlanner()
        return self._planner

    def _sync(self) -> None:
        self._state().set_hosts(self.hosts, ())

    @property
    def _position(self) -> int:
        return self._state().position

    @_position.setter
    def _position(self, value: int) -> None:
        self._state().position = value

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        LoadBalancingPolicy.populate(self, cluster, hosts)
        n = len(self.hosts)
        self._position = randint(0, n - 1) if n > 1 else 0
        self._sync()

    def distance(self, host: Host) -> int:
        return HostDistance.LOCAL

    @property
    def _live_hosts(self) -> frozenset:
        return frozenset(self.hosts)

    def make_query_plan(self, working_keyspace=None, query=None) -> Iterable:
        state = self._state()
        pos = state.position
        state.position = pos + 1
        return self._py_make_query_plan(pos)

    def _py_make_query_plan(self, pos: int) -> Iterator:
        hosts = self.hosts
        n = len(hosts)
        for i in range(n):
            yield hosts[(pos + i) % n]

    def on_up(self, host: Host) -> None:
        LoadBalancingPolicy._add_live(self, host)
        self._sync()

    def on_add(self, host: Host) -> None:
        LoadBalancingPolicy._add_live(self, host)
        self._sync()

    def on_down(self, host: Host) -> None:
        LoadBalancingPolicy._remove_live(self, host)
        self._sync()

    def on_remove(self, host: Host) -> None:
        LoadBalancingPolicy._remove_live(self, host)
        self._sync()


class DCAwareRoundRobinPolicy(LoadBalancingPolicy):
    """Round robin over the local datacenter, then up to ``used_hosts_per_remote_dc`` hosts of
    each remote datacenter (REMOTE; every other remote host is IGNORED).

    When ``local_dc`` is not given it is taken from the first contact point whose datacenter is
    known, at ``populate`` or when that host is added/comes up; give it explicitly when contact
    points span datacenters.
    """

    _planner = None
    _local_dc = None
    _used_hosts_per_remote_dc = 0
    # Class-level defaults (replaced, never mutated) for subclasses that skip __init__.
    _dc_live_hosts: dict = {}
    _endpoints: tuple = ()

    def __init__(self, local_dc: Optional[str] = None, used_hosts_per_remote_dc: int = 0) -> None:
        LoadBalancingPolicy.__init__(self)
        if used_hosts_per_remote_dc is None or used_hosts_per_remote_dc < 0:
            raise ValueError("used_hosts_per_remote_dc must be a non-negative integer")
        self._planner = DCAwarePlanner()
        self._dc_live_hosts = {}
        self._endpoints = []
        self._local_dc = local_dc
        self._used_hosts_per_remote_dc = used_hosts_per_remote_dc
        self._sync()
        if type(self) is DCAwareRoundRobinPolicy:
            self.make_query_plan = self._planner.plan

    @property
    def local_dc(self) -> Optional[str]:
        return self._local_dc

    @local_dc.setter
    def local_dc(self, value: Optional[str]) -> None:
        self._local_dc = value
        self._sync()

    @property
    def used_hosts_per_remote_dc(self) -> int:
        return self._used_hosts_per_remote_dc

    @used_hosts_per_remote_dc.setter
    def used_hosts_per_remote_dc(self, value: int) -> None:
        self._used_hosts_per_remote_dc = value
        self._sync()

    def _state(self) -> DCAwarePlanner:
        if self._planner is None:
            self._planner = DCAwarePlanner()
        return self._planner

    def _sync(self) -> None:
        """Recompute the compiled plan's local and remote tuples after any change of state."""
        state = self._state()
        dc_live = self._dc_live_hosts
        used = self._used_hosts_per_remote_dc
        remote = []
        if used:
            for dc, hosts in dc_live.items():
                if dc != self._local_dc:
                    remote.extend(hosts[:used])
        state.set_hosts(dc_live.get(self._local_dc, ()), tuple(remote))
        state.local_dc = self._local_dc

    @property
    def _position(self) -> int:
        return self._state().position

    @_position.setter
    def _position(self, value: int) -> None:
        self._state().position = value

    def _dc(self, host: Host):
        return host.datacenter or self._local_dc

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        LoadBalancingPolicy.populate(self, cluster, hosts)
        if not self._local_dc:
            self._endpoints = _contact_endpoints(cluster)
            for endpoint in self._endpoints:
                for h in self.hosts:
                    if h.datacenter and _is_endpoint_of(h, endpoint):
                        self._set_inferred_local_dc(h)
                        break
                if self._local_dc:
                    break
        by_dc: dict = {}
        for h in self.hosts:
            by_dc.setdefault(self._dc(h), []).append(h)
        self._dc_live_hosts = {dc: tuple(hs) for dc, hs in by_dc.items()}
        n = len(self.hosts)
        self._position = randint(0, n - 1) if n > 1 else 0
        self._sync()

    def _set_inferred_local_dc(self, host: Host) -> None:
        self.local_dc = host.datacenter
        self._endpoints = []
        log.info("Using datacenter '%s' for DCAwareRoundRobinPolicy (via host '%s'); if incorrect, "
                 "pass local_dc to the constructor or limit contact points to local nodes",
                 self._local_dc, host.endpoint)

    def distance(self, host: Host) -> int:
        dc = self._dc(host)
        if dc == self._local_dc:
            return HostDistance.LOCAL
        if not self._used_hosts_per_remote_dc:
            return HostDistance.IGNORED
        dc_hosts = self._dc_live_hosts.get(dc)
        if dc_hosts and host in dc_hosts[:self._used_hosts_per_remote_dc]:
            return HostDistance.REMOTE
        return HostDistance.IGNORED

    def make_query_plan(self, working_keyspace=None, query=None) -> Iterable:
        state = self._state()
        pos = state.position
        state.position = pos + 1
        return self._py_make_query_plan(pos)

    def _py_make_query_plan(self, pos: int) -> Iterator:
        local_live = self._dc_live_hosts.get(self._local_dc, ())
        n = len(local_live)
        for i in range(n):
            yield local_live[(pos + i) % n]
        for dc, remote_live in list(self._dc_live_hosts.items()):
            if dc != self._local_dc:
                yield from remote_live[:self._used_hosts_per_remote_dc]

    def on_up(self, host: Host) -> None:
        if (not self._local_dc and host.datacenter
                and any(_is_endpoint_of(host, e) for e in self._endpoints)):
            self._set_inferred_local_dc(host)
        LoadBalancingPolicy._add_live(self, host)
        dc = self._dc(host)
        with _hosts_update_lock:
            current = self._dc_live_hosts.get(dc, ())
            if host not in current:
                # A new dict each time: plans in flight keep iterating their own snapshot.
                updated = dict(self._dc_live_hosts)
                updated[dc] = current + (host,)
                self._dc_live_hosts = updated
            self._sync()

    def on_down(self, host: Host) -> None:
        LoadBalancingPolicy._remove_live(self, host)
        dc = self._dc(host)
        with _hosts_update_lock:
            current = self._dc_live_hosts.get(dc, ())
            if host in current:
                updated = dict(self._dc_live_hosts)
                remaining = tuple(h for h in current if h != host)
                if remaining:
                    updated[dc] = remaining
                else:
                    del updated[dc]
                self._dc_live_hosts = updated
            self._sync()

    def on_add(self, host: Host) -> None:
        self.on_up(host)

    def on_remove(self, host: Host) -> None:
        self.on_down(host)


def _contact_endpoints(cluster) -> list:
    """The contact points as EndPoints (``Cluster.endpoints_resolved``) or, failing that, as the
    addresses the user gave."""
    endpoints = getattr(cluster, "endpoints_resolved", None)
    if endpoints is None:
        endpoints = getattr(cluster, "contact_points", None) or []
    return list(endpoints)


def _is_endpoint_of(host, endpoint) -> bool:
    if isinstance(endpoint, str):
        return host.address == endpoint
    return host.endpoint == endpoint


class TokenAwarePolicy(LoadBalancingPolicy):
    """Wraps a child policy: the statement's replicas the child calls LOCAL come first (up ones
    only, shuffled unless ``shuffle_replicas`` is false), then the child's plan without them.

    The routing key is ``query.routing_key``; the keyspace is ``query.keyspace`` or else the
    session's working keyspace.  Without either (or without a query) the child's plan is used
    unchanged.  Unlike the reference, a replica is skipped in the child's part only when it was
    already tried, so a replica whose state is unknown (``is_up`` None) still gets a turn.
    """

    _child_policy = None
    _cluster_metadata = None
    _planner = None

    def __init__(self, child_policy: LoadBalancingPolicy, shuffle_replicas: bool = True) -> None:
        LoadBalancingPolicy.__init__(self)
        self._child_policy = child_policy
        child_planner = None
        if type(child_policy) in (RoundRobinPolicy, DCAwareRoundRobinPolicy):
            child_planner = child_policy._state()
        self._planner = TokenAwarePlanner(child_policy, child_planner, bool(shuffle_replicas))
        self._shuffle_replicas = bool(shuffle_replicas)
        if type(self) is TokenAwarePolicy and child_planner is not None:
            self.make_query_plan = self._planner.plan

    @property
    def shuffle_replicas(self) -> bool:
        return self._shuffle_replicas

    @shuffle_replicas.setter
    def shuffle_replicas(self, value: bool) -> None:
        self._shuffle_replicas = bool(value)
        if self._planner is not None:
            self._planner.shuffle = bool(value)

    @property
    def child_policy(self) -> LoadBalancingPolicy:
        return self._child_policy

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        hosts = list(hosts)
        LoadBalancingPolicy.populate(self, cluster, hosts)
        self._cluster_metadata = cluster.metadata
        if self._planner is not None:
            self._planner.metadata = cluster.metadata
        self._child_policy.populate(cluster, hosts)

    def check_supported(self) -> None:
        self._child_policy.check_supported()

    def distance(self, host: Host) -> int:
        return self._child_policy.distance(host)

    def make_query_plan(self, working_keyspace=None, query=None) -> Iterable:
        child = self._child_policy
        if query is None:
            return child.make_query_plan(working_keyspace, None)
        keyspace = query.keyspace or working_keyspace
        routing_key = query.routing_key
        if routing_key is None or keyspace is None:
            return child.make_query_plan(keyspace, query)
        replicas = self._cluster_metadata.get_replicas(keyspace, routing_key)
        return self._py_make_query_plan(keyspace, query, replicas)

    def _py_make_query_plan(self, keyspace, query, replicas) -> Iterator:
        child = self._child_policy
        first = [r for r in replicas if r.is_up and child.distance(r) == HostDistance.LOCAL]
        if self._shuffle_replicas:
            shuffle(first)
        yield from first
        for host in child.make_query_plan(keyspace, query):
            if host not in first:
                yield host

    def on_up(self, host: Host) -> None:
        LoadBalancingPolicy._add_live(self, host)
        self._child_policy.on_up(host)

    def on_down(self, host: Host) -> None:
        LoadBalancingPolicy._remove_live(self, host)
        self._child_policy.on_down(host)

    def on_add(self, host: Host) -> None:
        LoadBalancingPolicy._add_live(self, host)
        self._child_policy.on_add(host)

    def on_remove(self, host: Host) -> None:
        LoadBalancingPolicy._remove_live(self, host)
        self._child_policy.on_remove(host)


class WhiteListRoundRobinPolicy(RoundRobinPolicy):
    """Round robin over the allowed hosts only; every other host is IGNORED.

    ``hosts`` are addresses or names; names are resolved once, here, to every address they map to.
    """

    def __init__(self, hosts: Sequence[str]) -> None:
        RoundRobinPolicy.__init__(self)
        self._allowed_hosts = tuple(hosts)
        resolved = []
        for a in self._allowed_hosts:
            for info in socket.getaddrinfo(a, None, socket.AF_UNSPEC, socket.SOCK_STREAM):
                if info[4][0] not in resolved:
                    resolved.append(info[4][0])
        self._allowed_hosts_resolved = resolved

    def _allowed(self, host: Host) -> bool:
        return host.address in self._allowed_hosts_resolved

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        RoundRobinPolicy.populate(self, cluster, [h for h in hosts if self._allowed(h)])

    # on_down / on_remove are RoundRobinPolicy's: removing a host that was never added is a no-op.

    def distance(self, host: Host) -> int:
        return HostDistance.LOCAL if self._allowed(host) else HostDistance.IGNORED

    def on_up(self, host: Host) -> None:
        if self._allowed(host):
            RoundRobinPolicy.on_up(self, host)

    def on_add(self, host: Host) -> None:
        if self._allowed(host):
            RoundRobinPolicy.on_add(self, host)


# The exact types whose plan is RoundRobinPolicy's rotation over ``self.hosts``.
_COMPILED_ROUND_ROBIN = frozenset((RoundRobinPolicy, WhiteListRoundRobinPolicy))


class WrapperPolicy(LoadBalancingPolicy):
    """Base for policies that delegate everything but the plan to a child policy."""

    def __init__(self, child_policy: LoadBalancingPolicy) -> None:
        LoadBalancingPolicy.__init__(self)
        self._child_policy = child_policy

    def distance(self, *args, **kwargs):
        return self._child_policy.distance(*args, **kwargs)

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        hosts = list(hosts)
        LoadBalancingPolicy.populate(self, cluster, hosts)
        self._child_policy.populate(cluster, hosts)

    def check_supported(self) -> None:
        self._child_policy.check_supported()

    def on_up(self, host, *args, **kwargs):
        LoadBalancingPolicy._add_live(self, host)
        return self._child_policy.on_up(host, *args, **kwargs)

    def on_down(self, host, *args, **kwargs):
        LoadBalancingPolicy._remove_live(self, host)
        return self._child_policy.on_down(host, *args, **kwargs)

    def on_add(self, host, *args, **kwargs):
        LoadBalancingPolicy._add_live(self, host)
        return self._child_policy.on_add(host, *args, **kwargs)

    def on_remove(self, host, *args, **kwargs):
        LoadBalancingPolicy._remove_live(self, host)
        return self._child_policy.on_remove(host, *args, **kwargs)


class HostFilterPolicy(WrapperPolicy):
    """Defers to a child policy for hosts where ``predicate(host)`` is true; the others are
    IGNORED and filtered out of the child's plans (which can skew a rotating child's balance).
    """

    def __init__(self, child_policy: LoadBalancingPolicy, predicate: Callable[[Any], Any]) -> None:
        WrapperPolicy.__init__(self, child_policy)
        self._predicate = predicate

    @property
    def predicate(self) -> Callable[[Any], Any]:
        return self._predicate

    def distance(self, host: Host) -> int:
        if self._predicate(host):
            return self._child_policy.distance(host)
        return HostDistance.IGNORED

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        hosts = list(hosts)
        LoadBalancingPolicy.populate(self, cluster, hosts)
        self._child_policy.populate(cluster=cluster, hosts=hosts)

    def make_query_plan(self, working_keyspace=None, query=None) -> Iterator:
        predicate = self._predicate
        for host in self._child_policy.make_query_plan(working_keyspace=working_keyspace,
                                                       query=query):
            if predicate(host):
                yield host


class DefaultLoadBalancingPolicy(WrapperPolicy):
    """Tries ``query.target_host`` first when it is set and up, then the child's plan."""

    _cluster_metadata = None

    def populate(self, cluster: Any, hosts: Iterable[Host]) -> None:
        self._cluster_metadata = cluster.metadata
        WrapperPolicy.populate(self, cluster, hosts)

    def make_query_plan(self, working_keyspace=None, query=None) -> Iterator:
        keyspace = query.keyspace if query is not None and query.keyspace else working_keyspace
        addr = getattr(query, "target_host", None) if query is not None else None
        target = self._cluster_metadata.get_host(addr) if addr is not None else None
        child_plan = self._child_policy.make_query_plan(keyspace, query)
        if target is not None and target.is_up:
            yield target
            for h in child_plan:
                if h != target:
                    yield h
        else:
            yield from child_plan


class DSELoadBalancingPolicy(DefaultLoadBalancingPolicy):
    """Deprecated alias of :class:`DefaultLoadBalancingPolicy`, kept for the reference's API."""

    def __init__(self, *args, **kwargs) -> None:
        DefaultLoadBalancingPolicy.__init__(self, *args, **kwargs)
        warnings.warn("DSELoadBalancingPolicy is deprecated; use DefaultLoadBalancingPolicy",
                      DeprecationWarning, stacklevel=2)


# ---------------------------------------------------------------------------------------------
# Address translation and column encryption (interfaces)
# ---------------------------------------------------------------------------------------------

class AddressTranslator:
    """Maps an address the cluster reports (peers) to the one the client should connect to."""

    def translate(self, addr: str) -> str:
        raise NotImplementedError()


class IdentityTranslator(AddressTranslator):
    def translate(self, addr: str) -> str:
        return addr


class EC2MultiRegionTranslator(AddressTranslator):
    """Resolves a public address back to the private one when the client is in the same region."""

    def translate(self, addr: str) -> str:
        try:
            family = socket.getaddrinfo(addr, 0, socket.AF_UNSPEC, socket.SOCK_STREAM)[0][0]
            name = socket.getfqdn(addr)
            for info in socket.getaddrinfo(name, 0, family, socket.SOCK_STREAM):
                return info[4][0]
        except OSError:
            log.debug("EC2MultiRegionTranslator could not translate %s", addr, exc_info=True)
        return addr


ColDesc = namedtuple("ColDesc", ["ks", "table", "col"])


class ColumnEncryptionPolicy:
    """Interface for client-side column encryption (no implementation is bundled)."""

    def encrypt(self, coldesc, obj_bytes):
        raise NotImplementedError()

    def decrypt(self, coldesc, encrypted_bytes):
        raise NotImplementedError()

    def add_column(self, coldesc, key):
        raise NotImplementedError()

    def contains_column(self, coldesc):
        raise NotImplementedError()

    def encode_and_encrypt(self, coldesc, obj):
        raise NotImplementedError()
