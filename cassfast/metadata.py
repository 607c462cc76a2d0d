"""Cluster metadata: hosts, the token ring, replica placement and the schema.

``Metadata`` is what ``Cluster.metadata`` exposes (the reference's ``cassandra.metadata`` API);
the schema classes live in ``cassfast._schema`` and are re-exported here.  Topology and schema
are immutable snapshots: a refresh builds a new ``TokenMap`` (ring plus precomputed replica
tables, one per distinct replication) and swaps it in whole, so ``get_replicas`` on the request
path reads one attribute and never takes a lock.

The control connection (cassfast._control) keeps it current by calling exactly these methods,
with rows as lists of dicts keyed by column name:

* hosts: ``add_or_return_host(host) -> (host, is_new)``, ``remove_host(host) -> bool`` (which
  also takes the host's tokens out of the ring),
  ``update_host(host, old_endpoint)`` when a node's address changes;
* ``cluster_name`` and ``partitioner`` are plain attributes set from ``system.local``;
* ring: ``rebuild_token_map(partitioner, token_map)`` with ``token_map`` a dict
  ``{Host: [token strings from system.local/system.peers(_v2).tokens]}``, after discovery and on
  every topology event (NEW_NODE, REMOVED_NODE, MOVED_NODE); hosts need ``datacenter``/``rack``
  set first (NetworkTopologyStrategy places replicas by them);
* schema, at connect and after any schema agreement: ``refresh_schema(keyspaces=rows,
  tables=rows, columns=rows, types=rows, functions=rows, aggregates=rows, indexes=rows,
  views=rows, triggers=rows, virtual_keyspaces=rows, virtual_tables=rows,
  virtual_columns=rows)`` with the rows of ``SELECT * FROM system_schema.<table>`` (and
  ``system_virtual_schema.<table>``); missing tables may be omitted; ``release_version=`` (of
  the node the rows came from) decides which table options are read: the 3.x ones
  (``read_repair_chance``, ...) below 4.0, the 4.0+ ones otherwise (and when None);
* a SCHEMA_CHANGE event for one keyspace (any target: KEYSPACE, TABLE, TYPE, FUNCTION,
  AGGREGATE): re-select that keyspace's rows (``WHERE keyspace_name = ?``) and call
  ``refresh_keyspace(name, keyspaces=rows, tables=rows, ..., release_version=...)``; the keyspace is dropped when its
  keyspace row is absent, or call ``remove_keyspace(name)`` on a DROPPED KEYSPACE event.

Both schema methods rebuild the replica tables of the keyspaces they touch.
"""
from __future__ import annotations

import random
import struct
import threading
from binascii import unhexlify
from bisect import bisect_left
from collections import defaultdict
from hashlib import md5
from typing import Mapping, Optional

from cassfast._profiles import EXEC_PROFILE_DEFAULT
from cassfast._replication import (  # noqa: F401  (re-exported: the reference's module layout)
    REPLICATION_STRATEGY_CLASS_PREFIX, EverywhereStrategy, LocalStrategy, NetworkTopologyStrategy,
    ReplicationFactor, ReplicationStrategy, SimpleStrategy, _UnknownStrategy)
from cassfast._routing import HashToken, Murmur3Token, ReplicaTable, Token, TokenRing
from cassfast._schema import (  # noqa: F401  (re-exported: the reference's module layout)
    Aggregate, ColumnMetadata, Function, IndexMetadata, KeyspaceMetadata,
    MaterializedViewMetadata, TableMetadata, TableMetadataV3, TriggerMetadata, UserType,
    build_keyspaces, cql_keywords_reserved, escape_name, is_valid_name, maybe_escape_name,
    protect_name, protect_names, protect_value, strip_frozen,
)
from cassfast.cqltypes import parse_cql_type
from cassfast.host import EndPoint
from cassfast.policies import HostDistance
from cassfast import _logger_for

log = _logger_for(__name__)

MIN_LONG = -(2 ** 63)
MAX_LONG = (2 ** 63) - 1


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------

# Token, HashToken and Murmur3Token are compiled (cassfast._routing) because
# ``Murmur3Token.from_key`` is on the request path of token-aware routing; they keep the
# reference's API: ``value``, ``hash_fn``, ``from_key``, ``from_string``, ordering and hashing by
# value.  Murmur3Token.from_key maps the minimum long to the maximum, as Cassandra does.


class NoMurmur3(Exception):
    """Kept for API compatibility: cassfast's Murmur3 is always compiled in."""


class MD5Token(HashToken):
    """A ``RandomPartitioner`` token: ``abs`` of the MD5 digest read as a signed big integer."""

    __slots__ = ()

    @classmethod
    def hash_fn(cls, key) -> int:
        if isinstance(key, str):
            key = key.encode("utf-8")
        return abs(int.from_bytes(md5(key, usedforsecurity=False).digest(), "big", signed=True))


class BytesToken(Token):
    """A ``ByteOrderedPartitioner`` token: the key bytes themselves (hex in system tables)."""

    __slots__ = ()

    @classmethod
    def from_string(cls, token_string) -> "BytesToken":
        if isinstance(token_string, str):
            token_string = token_string.encode("ascii")
        return cls(unhexlify(token_string))


# ---------------------------------------------------------------------------------------------
# Token map
# ---------------------------------------------------------------------------------------------

class TokenMap:
    """An immutable view of the ring: ``ring`` (sorted Tokens), ``token_to_host_owner`` and the
    replica table of every keyspace, computed once per distinct replication strategy."""

    def __init__(self, token_class, token_to_host_owner: Mapping, all_tokens, metadata,
                 keyspaces: Optional[Mapping] = None, _shared: Optional["TokenMap"] = None) -> None:
        self.token_class = token_class
        self._metadata = metadata
        if _shared is not None:
            # Same ring, new schema: share the ring arrays and the replica tables already built.
            self.ring = _shared.ring
            self.token_to_host_owner = _shared.token_to_host_owner
            self._owners = _shared._owners
            self._values = _shared._values
            self._murmur_ring = _shared._murmur_ring
            previous = _shared._strategy_cache
        else:
            self.ring = list(all_tokens)
            self.token_to_host_owner = dict(token_to_host_owner)
            self._owners = tuple(self.token_to_host_owner[t] for t in self.ring)
            self._values = [t.value for t in self.ring]
            self._murmur_ring = (TokenRing(self._values, self._owners)
                                 if token_class is Murmur3Token else None)
            previous = {}
        # Only the replications in use are kept, so dropped keyspaces do not pin old tables.
        self._strategy_cache: dict = {}
        self._tables: dict = {}
        if keyspaces is None:
            keyspaces = metadata.keyspaces if metadata is not None else {}
        for name, ks in list(keyspaces.items()):
            self._tables[name] = self._table_for(ks.replication_strategy, previous)

    def _table_for(self, strategy, previous: Optional[Mapping] = None):
        if strategy is None:
            return None
        try:
            key = strategy._cache_key()
        except Exception:
            key = None
        if key is not None:
            if key in self._strategy_cache:
                return self._strategy_cache[key]
            if previous and key in previous:
                self._strategy_cache[key] = previous[key]
                return previous[key]
        try:
            replicas = strategy.replicas_by_ring_index(self._owners)
        except Exception:
            log.exception("Failed computing replicas with %s; routing without replicas", strategy)
            return None
        table = ReplicaTable(self._murmur_ring, replicas) if self._murmur_ring is not None else \
            tuple(tuple(r) for r in replicas)
        if key is not None:
            self._strategy_cache[key] = table
        return table

    def with_keyspaces(self, keyspaces: Mapping) -> "TokenMap":
        """A new TokenMap over the same ring for a new schema (replica tables shared when the
        replication did not change)."""
        return TokenMap(self.token_class, None, None, self._metadata, keyspaces, _shared=self)

    def _replicas_for_token_value(self, keyspace: str, value) -> tuple:
        table = self._tables.get(keyspace)
        if not table or not self._values:
            return ()
        if self._murmur_ring is not None:
            return table.for_token(value)
        i = bisect_left(self._values, value)
        return table[0 if i == len(self._values) else i]

    def get_replicas(self, keyspace: str, token: Token) -> list:
        """The replica hosts of ``token`` in ``keyspace`` (empty for an unknown keyspace)."""
        return list(self._replicas_for_token_value(keyspace, token.value))

    def replicas_for_key(self, keyspace: str, key) -> tuple:
        table = self._tables.get(keyspace)
        if not table or not self._values:
            return ()
        if self._murmur_ring is not None:
            return table.for_key(key)
        return self._replicas_for_token_value(keyspace, self.token_class.from_key(key).value)

    @property
    def tokens_to_hosts_by_ks(self) -> dict:
        """The reference's ``{keyspace: {Token: [hosts]}}`` (built on access; not a hot path)."""
        out = {}
        for ks, table in self._tables.items():
            if table is None:
                continue
            rows = table.replicas if self._murmur_ring is not None else table
            out[ks] = {t: list(r) for t, r in zip(self.ring, rows)}
        return out

    def rebuild_keyspace(self, keyspace: str, build_if_absent: bool = False) -> None:
        ks = self._metadata.keyspaces.get(keyspace) if self._metadata is not None else None
        if ks is not None and (build_if_absent or keyspace in self._tables):
            self._tables[keyspace] = self._table_for(ks.replication_strategy)

    def replica_map_for_keyspace(self, ks_metadata) -> Optional[dict]:
        strategy = ks_metadata.replication_strategy
        if strategy is None:
            return None
        return strategy.make_token_replica_map(self.token_to_host_owner, self.ring)

    def remove_keyspace(self, keyspace: str) -> None:
        self._tables.pop(keyspace, None)


# ---------------------------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------------------------

_TOKEN_CLASSES = (
    ("Murmur3Partitioner", Murmur3Token),
    ("RandomPartitioner", MD5Token),
    ("ByteOrderedPartitioner", BytesToken),
)


class Metadata:
    """The cluster's topology and schema: ``cluster_name``, ``partitioner``, ``keyspaces``
    (name -> KeyspaceMetadata), ``token_map`` (a TokenMap or None) and the hosts."""

    cluster_name: Optional[str] = None
    partitioner: Optional[str] = None
    token_map: Optional[TokenMap] = None
    dbaas = False

    def __init__(self) -> None:
        self.keyspaces: dict = {}
        self._hosts: dict = {}
        self._hosts_lock = threading.RLock()
        self._schema_lock = threading.RLock()

    # -- hosts ---------------------------------------------------------------------------------

    def add_or_return_host(self, host):
        """``(host, True)`` when added, ``(the known host, False)`` when its endpoint is known."""
        with self._hosts_lock:
            known = self._hosts.get(host.endpoint)
            if known is not None:
                return known, False
            self._hosts[host.endpoint] = host
            return host, True

    def remove_host(self, host) -> bool:
        """Forget ``host``, and drop its tokens from the ring: its ranges pass to the next
        tokens' owners, as they do on the server once a node has left.  Without this the ring
        would keep routing to a removed node until the next topology refresh."""
        with self._hosts_lock:
            removed = self._hosts.pop(host.endpoint, None) is not None
        tm = self.token_map
        if removed and tm is not None and host in tm._owners:
            owner = {t: h for t, h in tm.token_to_host_owner.items() if h != host}
            with self._schema_lock:
                self.token_map = (TokenMap(tm.token_class, owner, sorted(owner), self, self.keyspaces)
                                  if owner else None)
        return removed

    def update_host(self, host, old_endpoint) -> None:
        """Re-key ``host`` after its endpoint changed from ``old_endpoint``."""
        with self._hosts_lock:
            self._hosts.pop(old_endpoint, None)
            self._hosts[host.endpoint] = host

    def get_host(self, endpoint_or_address, port: Optional[int] = None):
        """The host with this EndPoint, or the host whose RPC address (and port, when given)
        matches the address string; None when unknown."""
        if isinstance(endpoint_or_address, EndPoint):
            return self._hosts.get(endpoint_or_address)
        address = endpoint_or_address
        for host in list(self._hosts.values()):
            rpc_address = host.broadcast_rpc_address or host.endpoint.address
            rpc_port = host.broadcast_rpc_port or getattr(host.endpoint, "port", None)
            if rpc_address == address and (port is None or rpc_port is None or rpc_port == port):
                return host
        return None

    def get_host_by_host_id(self, host_id):
        for host in list(self._hosts.values()):
            if host.host_id == host_id:
                return host
        return None

    def all_hosts(self) -> list:
        with self._hosts_lock:
            return list(self._hosts.values())

    # -- ring ----------------------------------------------------------------------------------

    def rebuild_token_map(self, partitioner: str, token_map: Mapping) -> None:
        """Replace the ring from ``{Host: [token strings]}`` (see the module docstring)."""
        self.partitioner = partitioner
        token_class = None
        for suffix, cls in _TOKEN_CLASSES:
            if partitioner and partitioner.endswith(suffix):
                token_class = cls
                break
        if token_class is None:
            self.token_map = None
            return
        owner = {}
        for host, token_strings in token_map.items():
            for s in token_strings or ():
                try:
                    token = token_class.from_string(s)
                    if token_class is Murmur3Token and not MIN_LONG <= token.value <= MAX_LONG:
                        raise ValueError("out of the signed 64-bit range")
                except (TypeError, ValueError) as exc:
                    # One bad row must not take token-aware routing down for the whole ring.
                    log.warning("Ignoring token %r of %s for %s: %s", s, host, partitioner, exc)
                    continue
                owner[token] = host
        with self._schema_lock:
            self.token_map = TokenMap(token_class, owner, sorted(owner), self, self.keyspaces)

    def get_replicas(self, keyspace: str, key) -> list:
        """Replica hosts of the serialized partition key ``key`` in ``keyspace`` (a new list;
        empty when the ring or the keyspace is unknown)."""
        tm = self.token_map
        if tm is None:
            return []
        return list(tm.replicas_for_key(keyspace, key))

    def can_support_partitioner(self) -> bool:
        return True

    # -- schema --------------------------------------------------------------------------------

    def refresh_schema(self, keyspaces=(), tables=(), columns=(), types=(), functions=(),
                       aggregates=(), indexes=(), views=(), triggers=(), virtual_keyspaces=(),
                       virtual_tables=(), virtual_columns=(), release_version=None) -> None:
        """Replace the whole schema from ``system_schema`` rows (see the module docstring)."""
        new = build_keyspaces(keyspaces, tables, columns, types, functions, aggregates, indexes,
                              views, triggers, virtual_keyspaces, virtual_tables, virtual_columns,
                              release_version=release_version)
        with self._schema_lock:
            self.keyspaces = dict(new)
            self._swap_token_map()

    def refresh_keyspace(self, keyspace: str, keyspaces=(), tables=(), columns=(), types=(),
                         functions=(), aggregates=(), indexes=(), views=(), triggers=(),
                         release_version=None) -> None:
        """Replace one keyspace from its rows; without a keyspace row it is removed."""
        new = build_keyspaces([r for r in keyspaces if r["keyspace_name"] == keyspace],
                              tables, columns, types, functions, aggregates, indexes, views,
                              triggers, release_version=release_version)
        with self._schema_lock:
            updated = dict(self.keyspaces)
            if keyspace in new:
                updated[keyspace] = new[keyspace]
            else:
                updated.pop(keyspace, None)
            self.keyspaces = updated
            self._swap_token_map()

    def remove_keyspace(self, keyspace: str) -> None:
        with self._schema_lock:
            if keyspace in self.keyspaces:
                updated = dict(self.keyspaces)
                del updated[keyspace]
                self.keyspaces = updated
                self._swap_token_map()

    def _swap_token_map(self) -> None:
        tm = self.token_map
        if tm is not None:
            self.token_map = tm.with_keyspaces(self.keyspaces)

    def export_schema_as_string(self) -> str:
        return "\n\n".join(ks.export_as_string() for ks in self.keyspaces.values())


NO_VALID_REPLICA = object()
"""The group of ``group_keys_by_replica`` for keys without an up replica."""


def _default_load_balancing_policy(cluster):
    profiles = getattr(cluster, "profile_manager", None)
    if profiles is not None:
        try:
            return profiles[EXEC_PROFILE_DEFAULT].load_balancing_policy
        except (KeyError, AttributeError):
            pass
    return getattr(cluster, "load_balancing_policy", None)


def group_keys_by_replica(session, keyspace: str, table: str, keys) -> dict:
    """Group partition keys (each a sequence of the partition key's column values) by a replica
    that can serve them: ``{Host: [keys]}``, keys without an up replica under
    ``NO_VALID_REPLICA``.  An up replica the default profile's policy calls LOCAL is preferred,
    chosen at random among them, as in the reference driver."""
    cluster = session.cluster
    metadata = cluster.metadata
    ks = metadata.keyspaces[keyspace]
    columns = ks.tables[table].partition_key
    # Partition keys of a user-defined type are not supported here (no UDT codec is resolved).
    codecs = [parse_cql_type(c.cql_type) for c in columns]
    policy = _default_load_balancing_policy(cluster)
    distance = policy.distance if policy is not None else (lambda host: HostDistance.LOCAL)
    protocol_version = cluster.protocol_version
    groups: dict = defaultdict(list)
    for key in keys:
        parts = [codec.serialize(value, protocol_version) for codec, value in zip(codecs, key)]
        if len(parts) == 1:
            routing_key = parts[0]
        else:
            # A composite partition key is routed on its CompositeType form: per component a
            # 2-byte length, the bytes, and an end-of-component byte 0.
            routing_key = b"".join(struct.pack(">H", len(p)) + p + b"\x00" for p in parts)
        replicas = metadata.get_replicas(keyspace, routing_key)
        candidates = [h for h in replicas if h.is_up and distance(h) == HostDistance.LOCAL]
        if not candidates:
            candidates = [h for h in replicas if h.is_up]
        groups[random.choice(candidates) if candidates else NO_VALID_REPLICA].append(key)
    return dict(groups)


# Names the reference's cassandra.metadata exposes by importing them.
from cassfast import ConsistencyLevel, InvalidRequest, SignatureDescriptor, Unauthorized  # noqa: E402,F401
from cassfast.encoder import Encoder  # noqa: E402,F401
from cassfast.marshal import varint_unpack  # noqa: E402,F401
from cassfast.murmur3 import murmur3  # noqa: E402,F401
from cassfast.protocol import QueryMessage  # noqa: E402,F401
from cassfast.util import Version  # noqa: E402,F401
from cassfast.query import bind_params  # noqa: E402,F401
from cassfast.rows import dict_factory  # noqa: E402,F401
