"""Replication strategies: which hosts hold a partition, given the ring (``cassfast.metadata``).

``ReplicationStrategy.create(strategy_class, options)`` builds the strategy a keyspace's
``replication`` map names (Simple, NetworkTopology, Local, Everywhere; anything else routes
without replicas); ``make_token_replica_map`` places replicas as Cassandra does.  The classes are
public through ``cassfast.metadata``, as in the reference; they live here, below ``_schema`` and
``metadata``, because ``KeyspaceMetadata`` (``_schema``) builds its strategy and ``metadata``
imports ``_schema``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Optional

from cassfast import _logger_for

log = _logger_for(__name__)  # cassfast.metadata (cassandra.metadata after install_as_cassandra())

REPLICATION_STRATEGY_CLASS_PREFIX = "org.apache.cassandra.locator."


class ReplicationFactor:
    """A replication factor, ``"3"`` or, with transient replication, ``"3/1"``."""

    def __init__(self, all_replicas: int, transient_replicas: Optional[int] = None) -> None:
        self.all_replicas = all_replicas
        self.transient_replicas = transient_replicas
        self.full_replicas = all_replicas - transient_replicas if transient_replicas else all_replicas

    @staticmethod
    def create(rf) -> "ReplicationFactor":
        text = str(rf).strip()
        try:
            if "/" in text:
                full, transient = text.split("/", 1)
                return ReplicationFactor(int(full), int(transient))
            return ReplicationFactor(int(text))
        except ValueError:
            raise ValueError("Unable to determine replication factor from: %r" % (rf,)) from None

    def __str__(self) -> str:
        if self.transient_replicas:
            return "%d/%d" % (self.all_replicas, self.transient_replicas)
        return "%d" % (self.all_replicas,)

    def __eq__(self, other):
        return (isinstance(other, ReplicationFactor) and self.all_replicas == other.all_replicas
                and self.full_replicas == other.full_replicas)

    def __hash__(self):
        return hash((self.all_replicas, self.full_replicas))


def _index_owners(owners: tuple):
    """``(hosts, owner_index)``: the distinct hosts of the ring and, per ring position, the index
    of its host.  The placement walks below then compare small ints instead of calling
    ``Host.__eq__`` at every step (the difference is seconds on a 256-vnode ring)."""
    index: dict = {}
    hosts: list = []
    owner_index = []
    for h in owners:
        k = index.get(h)
        if k is None:
            k = index[h] = len(hosts)
            hosts.append(h)
        owner_index.append(k)
    return hosts, owner_index


_replication_strategies: dict = {}


class ReplicationStrategy:
    """How a keyspace places replicas.  ``create`` picks the class from the (possibly
    fully-qualified) strategy class name of ``system_schema.keyspaces.replication``."""

    name: str = "ReplicationStrategy"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            cls.name = cls.__name__
            _replication_strategies[cls.__name__] = cls

    @classmethod
    def create(cls, strategy_class: Optional[str], options_map: Mapping):
        if not strategy_class:
            return None
        name = strategy_class
        if name.startswith(REPLICATION_STRATEGY_CLASS_PREFIX):
            name = name[len(REPLICATION_STRATEGY_CLASS_PREFIX):]
        rs_class = _replication_strategies.get(name)
        try:
            if rs_class is None:
                return _UnknownStrategy(name, options_map)
            return rs_class(options_map)
        except Exception as exc:
            log.warning("Failed creating %s with options %s: %s", name, options_map, exc)
            return None

    def replicas_by_ring_index(self, owners: tuple) -> list:
        """``owners[i]`` owns ring token ``i``; return the replica tuple of each token range."""
        raise NotImplementedError()

    def make_token_replica_map(self, token_to_host_owner: Mapping, ring) -> dict:
        """The reference's form: ``{token: [replica hosts]}``."""
        owners = tuple(token_to_host_owner[t] for t in ring)
        return {t: list(r) for t, r in zip(ring, self.replicas_by_ring_index(owners))}

    def _cache_key(self):
        return (type(self).__name__, self.export_for_schema())

    def export_for_schema(self) -> str:
        raise NotImplementedError()


class _UnknownStrategy(ReplicationStrategy):
    def __init__(self, name: str, options_map: Mapping) -> None:
        self.name = name
        self.options_map = dict(options_map or {})
        self.options_map["class"] = name

    def __eq__(self, other):
        return (isinstance(other, _UnknownStrategy) and self.name == other.name
                and self.options_map == other.options_map)

    __hash__ = None

    def replicas_by_ring_index(self, owners: tuple) -> list:
        return [() for _ in owners]

    def export_for_schema(self) -> str:
        return "{%s}" % ", ".join("'%s': '%s'" % (k, v) for k, v in self.options_map.items())


class SimpleStrategy(ReplicationStrategy):
    """The next ``replication_factor`` distinct hosts clockwise from the token."""

    def __init__(self, options_map: Mapping) -> None:
        self.replication_factor_info = ReplicationFactor.create(options_map["replication_factor"])

    @property
    def replication_factor(self) -> int:
        return self.replication_factor_info.full_replicas

    def replicas_by_ring_index(self, owners: tuple) -> list:
        hosts, owner_index = _index_owners(owners)
        n = len(owner_index)
        rf = min(self.replication_factor, len(hosts))
        out = []
        for i in range(n):
            picked: list = []
            j = 0
            while len(picked) < rf and j < n:
                k = owner_index[(i + j) % n]
                if k not in picked:
                    picked.append(k)
                j += 1
            out.append(tuple(hosts[k] for k in picked))
        return out

    def export_for_schema(self) -> str:
        return "{'class': 'SimpleStrategy', 'replication_factor': '%s'}" % (
            self.replication_factor_info,)

    def __eq__(self, other):
        return (isinstance(other, SimpleStrategy)
                and str(self.replication_factor_info) == str(other.replication_factor_info))

    __hash__ = None


class NetworkTopologyStrategy(ReplicationStrategy):
    """Per-datacenter replication factors, placed the way Cassandra's
    ``NetworkTopologyStrategy.calculateNaturalReplicas`` does: walk the ring clockwise from the
    token; in each datacenter take a host from a rack not used yet, and accept a host from an
    already used rack only while ``rf - racks_in_dc`` such repeats remain (so every rack gets
    a replica before any rack gets two).  Replicas are listed in the order the walk finds them.
    """

    def __init__(self, dc_replication_factors: Mapping) -> None:
        self.dc_replication_factors_info = {
            str(k): ReplicationFactor.create(v) for k, v in dc_replication_factors.items()}
        self.dc_replication_factors = {
            dc: rf.full_replicas for dc, rf in self.dc_replication_factors_info.items()}

    def replicas_by_ring_index(self, owners: tuple) -> list:
        hosts, owner_index = _index_owners(owners)
        n = len(owner_index)
        dc_of = [h.datacenter for h in hosts]
        rack_of = [h.rack for h in hosts]
        nodes_in_dc = defaultdict(int)
        racks_in_dc = defaultdict(set)
        for k, dc in enumerate(dc_of):
            nodes_in_dc[dc] += 1
            racks_in_dc[dc].add(rack_of[k])
        wanted = {dc: rf for dc, rf in self.dc_replication_factors.items()
                  if rf > 0 and dc in nodes_in_dc}
        out = []
        for i in range(n):
            # per DC: [replicas still to place, rack repeats still allowed, racks used]
            state = {dc: [min(rf, nodes_in_dc[dc]), rf - len(racks_in_dc[dc]), set()]
                     for dc, rf in wanted.items()}
            dcs_left = len(state)
            picked: list = []
            j = 0
            while dcs_left and j < n:
                k = owner_index[(i + j) % n]
                j += 1
                st = state.get(dc_of[k])
                if st is None or st[0] == 0 or k in picked:
                    continue
                rack = rack_of[k]
                if rack not in st[2]:
                    st[2].add(rack)
                elif st[1] > 0:
                    st[1] -= 1
                else:
                    continue
                picked.append(k)
                st[0] -= 1
                if st[0] == 0:
                    dcs_left -= 1
            out.append(tuple(hosts[k] for k in picked))
        return out

    def export_for_schema(self) -> str:
        parts = ["'class': 'NetworkTopologyStrategy'"]
        parts.extend("'%s': '%s'" % (dc, rf)
                     for dc, rf in sorted(self.dc_replication_factors_info.items()))
        return "{%s}" % ", ".join(parts)

    def __eq__(self, other):
        return (isinstance(other, NetworkTopologyStrategy)
                and self.dc_replication_factors_info == other.dc_replication_factors_info)

    __hash__ = None


class LocalStrategy(ReplicationStrategy):
    """System keyspaces kept on each node only: no replica to route to."""

    def __init__(self, options_map: Mapping = None) -> None:
        pass

    def replicas_by_ring_index(self, owners: tuple) -> list:
        return [() for _ in owners]

    def export_for_schema(self) -> str:
        return "{'class': 'LocalStrategy'}"

    def __eq__(self, other):
        return isinstance(other, LocalStrategy)

    __hash__ = None


class EverywhereStrategy(ReplicationStrategy):
    """Every node holds every range (DSE system keyspaces): all hosts, clockwise."""

    def __init__(self, options_map: Mapping = None) -> None:
        pass

    def replicas_by_ring_index(self, owners: tuple) -> list:
        hosts, owner_index = _index_owners(owners)
        n = len(owner_index)
        out = []
        for i in range(n):
            picked: dict = {}  # insertion-ordered set of host indexes
            for j in range(n):
                picked.setdefault(owner_index[(i + j) % n])
                if len(picked) == len(hosts):
                    break
            out.append(tuple(hosts[k] for k in picked))
        return out

    def export_for_schema(self) -> str:
        return "{'class': 'EverywhereStrategy'}"

    def __eq__(self, other):
        return isinstance(other, EverywhereStrategy)

    __hash__ = None
