"""Statements: what a caller asks the cluster to run, and the per-request options that go with it.

This module keeps cassandra-driver's ``cassandra.query`` API: ``SimpleStatement`` (a CQL string,
with ``%s`` / ``%(name)s`` placeholders formatted client-side by ``bind_params``),
``PreparedStatement`` (what ``Session.prepare`` returns), ``BoundStatement`` (a prepared statement
plus its serialized values and routing key), ``BatchStatement`` / ``BatchType``, query tracing
(``QueryTrace``, ``TraceEvent``), ``UNSET_VALUE``, ``ValueSequence`` and the row factories.  It holds
no I/O: serialization is delegated to the compiled ``cassfast._types.encode_values`` (one call per
bind, with the codecs cached on the prepared statement's bind metadata), and executing anything is
the session's job (``cassfast.cluster``).  Binding is on every prepared request's path, so
``BoundStatement`` construction and ``bind`` avoid per-call allocations beyond the value list.
"""
from __future__ import annotations

import struct
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Union

from cassfast import ConsistencyLevel, OperationTimedOut
from cassfast._types import UNSET_VALUE, encode_values
from cassfast._wire import BATCH_TYPE_COUNTER, BATCH_TYPE_LOGGED, BATCH_TYPE_UNLOGGED
from cassfast.encoder import Encoder, ValueSequence
from cassfast.policies import ColDesc
from cassfast.util import unix_time_from_uuid1
from cassfast.rows import (  # noqa: F401  (re-exported: the reference exposes them here)
    dict_factory,
    named_tuple_factory,
    ordered_dict_factory,
    tuple_factory,
)
from cassfast import _logger_for

__all__ = [
    "UNSET_VALUE",
    "FETCH_SIZE_UNSET",
    "Statement",
    "SimpleStatement",
    "PreparedStatement",
    "BoundStatement",
    "BatchType",
    "BatchStatement",
    "HostTargetingStatement",
    "ValueSequence",
    "bind_params",
    "TraceUnavailable",
    "QueryTrace",
    "TraceEvent",
    "tuple_factory",
    "named_tuple_factory",
    "dict_factory",
    "ordered_dict_factory",
]

if TYPE_CHECKING:
    from cassfast.policies import RetryPolicy

log = _logger_for(__name__)

FETCH_SIZE_UNSET = object()
"""Sentinel for "no per-statement fetch size": the session's ``default_fetch_size`` applies.
Distinct from ``None``, which explicitly disables paging."""

# The BATCH body counts its statements with a [short] (protocol spec v5 section 4.1.7).
_MAX_BATCH_STATEMENTS = 0xFFFF
# A composite routing key component is framed by a 2-byte length (see _pack_routing_key).
_MAX_KEY_COMPONENT = 0xFFFF


def _pack_routing_key(components: Iterable[Optional[bytes]]) -> Optional[bytes]:
    """Pack the serialized partition-key components into Cassandra's CompositeType layout.

    Cassandra hashes a composite partition key as the concatenation of, per component,
    ``[unsigned short length][bytes][0x00 end-of-component]`` (the CompositeType encoding), so the
    driver must build exactly these bytes for the token to match the server's.  A null or unset
    component cannot be routed (the server rejects such a write anyway), so the key is ``None``.
    """
    parts = []
    for p in components:
        if p is None or p is UNSET_VALUE:
            return None
        n = len(p)
        if n > _MAX_KEY_COMPONENT:
            raise ValueError(
                "A partition key component is %d bytes; a composite key component is limited "
                "to %d bytes" % (n, _MAX_KEY_COMPONENT))
        parts.append(n.to_bytes(2, "big"))
        parts.append(p)
        parts.append(b"\x00")
    return b"".join(parts)


class Statement:
    """Base of every executable statement: the per-request options shared by all kinds.

    Subclasses are ``SimpleStatement``, ``BoundStatement`` and ``BatchStatement``; any of them can
    be passed to ``Session.execute``.  Options left at ``None`` (or ``FETCH_SIZE_UNSET``) fall back
    to the execution profile's or session's defaults.
    """

    retry_policy: Optional[RetryPolicy] = None
    """A ``cassfast.policies.RetryPolicy`` used for this statement instead of the profile's."""

    consistency_level: Optional[int] = None
    """A ``ConsistencyLevel``; ``None`` means the execution profile's level."""

    fetch_size: Any = FETCH_SIZE_UNSET
    """Rows per page; overrides ``Session.default_fetch_size``.  ``None`` disables paging."""

    keyspace: Optional[str] = None
    """The keyspace this statement acts on, for token-aware routing.  Set implicitly on bound and
    batch statements; must be set explicitly on a ``SimpleStatement`` to route it."""

    table: Optional[str] = None
    """The table this statement acts on, when known (bound statements take it from the prepared
    metadata).  Informational: it is not sent to the server."""

    custom_payload: Optional[dict[str, bytes]] = None
    """A ``dict[str, bytes]`` sent to the server with the request (protocol v4+)."""

    is_idempotent = False
    """Whether running this statement more than once is harmless (allows speculative execution
    and retries after a write may have been applied)."""

    _serial_consistency_level = None
    _routing_key = None

    def __init__(self, retry_policy=None, consistency_level: Optional[int] = None,
                 routing_key=None, serial_consistency_level: Optional[int] = None,
                 fetch_size=FETCH_SIZE_UNSET, keyspace: Optional[str] = None,
                 custom_payload: Optional[dict] = None, is_idempotent: bool = False) -> None:
        if retry_policy is not None:
            # Checking one method catches positional-argument mix-ups (a consistency level passed
            # where the retry policy goes) with a clear message instead of a later AttributeError.
            if not hasattr(retry_policy, "on_read_timeout"):
                raise ValueError("retry_policy should implement cassfast.policies.RetryPolicy")
            self.retry_policy = retry_policy
        if consistency_level is not None:
            self.consistency_level = consistency_level
        if routing_key is not None:
            self.routing_key = routing_key
        if serial_consistency_level is not None:
            self.serial_consistency_level = serial_consistency_level
        if fetch_size is not FETCH_SIZE_UNSET:
            self.fetch_size = fetch_size
        if keyspace is not None:
            self.keyspace = keyspace
        if custom_payload is not None:
            self.custom_payload = custom_payload
        self.is_idempotent = is_idempotent

    @staticmethod
    def _key_parts_packed(parts: Iterable[bytes]):
        """The packed form of each routing-key component (kept for API parity)."""
        for p in parts:
            yield _pack_routing_key((p,))

    @property
    def routing_key(self) -> Optional[bytes]:
        """The serialized partition key, used to find the replicas that own the data.

        Set it to ``bytes`` for a single-column partition key, or to a list/tuple of the serialized
        components for a composite one (packed as Cassandra's CompositeType does).
        """
        return self._routing_key

    @routing_key.setter
    def routing_key(self, key) -> None:
        if isinstance(key, (list, tuple)):
            self._routing_key = key[0] if len(key) == 1 else _pack_routing_key(key)
        else:
            self._routing_key = key

    @routing_key.deleter
    def routing_key(self) -> None:
        self._routing_key = None

    @property
    def serial_consistency_level(self) -> Optional[int]:
        """The consistency of the Paxos phase of a conditional (``IF ...``) write: ``SERIAL`` or
        ``LOCAL_SERIAL``, or ``None`` for the profile's.  The regular ``consistency_level`` then
        governs the commit phase."""
        return self._serial_consistency_level

    @serial_consistency_level.setter
    def serial_consistency_level(self, level: Optional[int]) -> None:
        if level is not None and not ConsistencyLevel.is_serial(level):
            raise ValueError(
                "serial_consistency_level must be either ConsistencyLevel.SERIAL "
                "or ConsistencyLevel.LOCAL_SERIAL")
        self._serial_consistency_level = level

    @serial_consistency_level.deleter
    def serial_consistency_level(self) -> None:
        self._serial_consistency_level = None


def _consistency_name(level) -> str:
    return ConsistencyLevel.value_to_name.get(level, "Not Set")


class SimpleStatement(Statement):
    """An unprepared CQL statement.

    ``query_string`` is sent as is, except that ``%s`` / ``%(name)s`` placeholders are replaced
    client-side with CQL literals of the ``parameters`` given to ``Session.execute``
    (see ``bind_params``).
    """

    def __init__(self, query_string: str, retry_policy=None,
                 consistency_level: Optional[int] = None, routing_key=None,
                 serial_consistency_level: Optional[int] = None, fetch_size=FETCH_SIZE_UNSET,
                 keyspace: Optional[str] = None, custom_payload: Optional[dict] = None,
                 is_idempotent: bool = False) -> None:
        Statement.__init__(self, retry_policy, consistency_level, routing_key,
                           serial_consistency_level, fetch_size, keyspace, custom_payload,
                           is_idempotent)
        self._query_string = query_string

    @property
    def query_string(self) -> str:
        return self._query_string

    def __str__(self) -> str:
        return '<SimpleStatement query="%s", consistency=%s>' % (
            self.query_string, _consistency_name(self.consistency_level))

    __repr__ = __str__


class PreparedStatement:
    """A statement prepared on the cluster: its id, bind-variable and result metadata.

    Made by ``Session.prepare``, not directly.  ``column_metadata`` (the bind variables) and
    ``result_metadata`` (the result columns, or ``None`` when the statement returns no rows) are
    ``cassfast._types.ResultMetadata`` objects, which cache the column codecs so that binding and
    decoding do not look types up per request.  Options set here (consistency, retry policy,
    fetch size, idempotence, ...) become the defaults of every statement bound from it.
    """

    retry_policy: Optional[RetryPolicy] = None
    consistency_level: Optional[int] = None
    custom_payload: Optional[dict[str, bytes]] = None
    fetch_size: Any = FETCH_SIZE_UNSET
    keyspace: Optional[str] = None
    protocol_version: Optional[int] = None
    query_id: Optional[bytes] = None
    query_string: Optional[str] = None
    result_metadata: Any = None
    result_metadata_id: Optional[bytes] = None
    column_encryption_policy: Any = None
    routing_key_indexes: Optional[list[int]] = None
    serial_consistency_level: Optional[int] = None
    is_idempotent: bool

    def __init__(self, column_metadata, query_id: bytes, routing_key_indexes: Optional[list],
                 query: str, keyspace: Optional[str], protocol_version: int, result_metadata,
                 result_metadata_id: Optional[bytes], column_encryption_policy=None) -> None:
        self.column_metadata = column_metadata
        self.query_id = query_id
        self.routing_key_indexes = routing_key_indexes
        self.query_string = query
        self.keyspace = keyspace
        self.protocol_version = protocol_version
        self.result_metadata = result_metadata
        self.result_metadata_id = result_metadata_id
        self.column_encryption_policy = column_encryption_policy
        self.is_idempotent = False

    @property
    def column_metadata(self):
        """The bind variables' ``ResultMetadata`` (a sequence of ``ColumnMetadata``)."""
        return self._column_metadata

    @column_metadata.setter
    def column_metadata(self, metadata) -> None:
        # What bind() needs from the metadata is derived here, once per metadata, not per bind.
        self._column_metadata = metadata
        specs = metadata.col_specs if metadata is not None else ()
        self._bind_names = tuple(metadata.column_names) if metadata is not None else ()
        self._bound_keyspace = specs[0][0] if specs else None
        self._bound_table = specs[0][1] if specs else None

    @classmethod
    def from_message(cls, query_id: bytes, column_metadata, pk_indexes: Optional[list],
                     cluster_metadata, query: str, prepared_keyspace: Optional[str],
                     protocol_version: int, result_metadata, result_metadata_id: Optional[bytes],
                     column_encryption_policy=None) -> "PreparedStatement":
        """Build a prepared statement from a RESULT Prepared response.

        The routing-key indexes come from the response's ``<pk_index>`` list (protocol v4+,
        spec section 4.2.5.4).  When the server sent none (protocol v3), they are derived from the
        cluster's schema metadata by matching the table's partition-key columns to the bind
        variables' names; a statement that does not bind every partition-key column gets none.
        """
        if column_metadata is None or not column_metadata.column_names:
            return cls(column_metadata, query_id, None, query, prepared_keyspace,
                       protocol_version, result_metadata, result_metadata_id,
                       column_encryption_policy)

        routing_key_indexes = list(pk_indexes) if pk_indexes else None
        if routing_key_indexes is None and cluster_metadata is not None:
            routing_key_indexes = _routing_indexes_from_schema(column_metadata, cluster_metadata)

        return cls(column_metadata, query_id, routing_key_indexes, query, prepared_keyspace,
                   protocol_version, result_metadata, result_metadata_id,
                   column_encryption_policy)

    def bind(self, values: Union[Sequence[Any], Mapping[str, Any], None]) -> "BoundStatement":
        """A new ``BoundStatement`` with ``values`` bound; see ``BoundStatement.bind``."""
        return BoundStatement(self).bind(values)

    def is_routing_key_index(self, i: int) -> bool:
        return bool(self.routing_key_indexes) and i in self.routing_key_indexes

    def __str__(self) -> str:
        return '<PreparedStatement query="%s", consistency=%s>' % (
            self.query_string, _consistency_name(self.consistency_level))

    __repr__ = __str__


def _routing_indexes_from_schema(column_metadata, cluster_metadata) -> Optional[list]:
    keyspace, table = column_metadata.col_specs[0][0], column_metadata.col_specs[0][1]
    ks_meta = cluster_metadata.keyspaces.get(keyspace)
    table_meta = ks_meta.tables.get(table) if ks_meta is not None else None
    if table_meta is None:
        return None
    positions = {name: i for i, name in enumerate(column_metadata.column_names)}
    try:
        return [positions[c.name] for c in table_meta.partition_key]
    except KeyError:
        return None


class BoundStatement(Statement):
    """A prepared statement with its values bound, ready to execute.

    ``values`` holds the serialized values in bind-variable order: ``bytes``, ``None`` (CQL null)
    or ``UNSET_VALUE`` (leave the column untouched, protocol v4+); ``raw_values`` holds what the
    caller passed.  Keyspace, table and routing key come from the prepared statement's metadata,
    so token-aware routing works without setting anything.
    """

    prepared_statement = None
    """The ``PreparedStatement`` this was bound from."""

    values = None
    """The serialized values, in bind-variable order."""

    raw_values = None
    """The values as given to ``bind`` (a sequence or a dict)."""

    def __init__(self, prepared_statement: PreparedStatement, retry_policy=None,
                 consistency_level: Optional[int] = None, routing_key=None,
                 serial_consistency_level: Optional[int] = None, fetch_size=FETCH_SIZE_UNSET,
                 keyspace: Optional[str] = None, custom_payload: Optional[dict] = None) -> None:
        ps = prepared_statement
        self.prepared_statement = ps
        self.values = []
        # Inherit the prepared statement's options; only those that differ from the class
        # defaults are stored, which keeps construction cheap on the per-request path.
        if ps.retry_policy is not None:
            self.retry_policy = ps.retry_policy
        if ps.consistency_level is not None:
            self.consistency_level = ps.consistency_level
        if ps.serial_consistency_level is not None:
            self.serial_consistency_level = ps.serial_consistency_level
        if ps.fetch_size is not FETCH_SIZE_UNSET:
            self.fetch_size = ps.fetch_size
        if ps.custom_payload is not None:
            self.custom_payload = ps.custom_payload
        if ps._bound_keyspace is not None:
            self.keyspace = ps._bound_keyspace
            self.table = ps._bound_table
        if ps.is_idempotent:
            self.is_idempotent = True
        if (retry_policy is not None or consistency_level is not None or routing_key is not None
                or serial_consistency_level is not None or fetch_size is not FETCH_SIZE_UNSET
                or keyspace is not None or custom_payload is not None):
            Statement.__init__(self, retry_policy, consistency_level, routing_key,
                               serial_consistency_level, fetch_size, keyspace, custom_payload,
                               ps.is_idempotent)

    def bind(self, values: Union[Sequence[Any], Mapping[str, Any], None]) -> "BoundStatement":
        """Serialize ``values`` for the prepared statement's bind variables; returns ``self``.

        ``values`` is a sequence in bind-variable order (even for a single value) or a dict keyed
        by bind-variable name (extra keys are ignored).  With protocol v4+, a short sequence is
        completed with ``UNSET_VALUE`` and missing names are unset; earlier protocols require every
        value.  ``UNSET_VALUE`` is refused for a partition-key column, since the request could not
        be routed.  A value of the wrong Python type or out of range raises ``TypeError`` /
        ``ValueError`` naming the column and its CQL type.
        """
        ps = self.prepared_statement
        cls = type(values)
        if cls is not tuple and cls is not list:
            values = self._as_value_sequence(values, ps)
        names = ps._bind_names
        count = len(values)
        if count > len(names):
            raise ValueError("Too many arguments provided to bind() (got %d, expected %d)"
                             % (count, len(names)))
        self.raw_values = values
        proto = ps.protocol_version
        if proto < 4:
            self._check_complete_v3(values, ps)
        key_indexes = ps.routing_key_indexes
        if key_indexes:
            # Trailing values left out are unset (v4+), so they count as unset here too.
            for i in key_indexes:
                if i >= count or values[i] is UNSET_VALUE:
                    raise ValueError("Cannot bind UNSET_VALUE as a part of the routing key '%s'"
                                     % names[i])

        metadata = ps._column_metadata
        if ps.column_encryption_policy is None and metadata is not None:
            # Pads missing trailing values with UNSET_VALUE (v4+).
            self.values = encode_values(metadata, values, proto)
        elif metadata is None:
            self.values = []
        else:
            self.values = _encode_with_encryption(ps, values, proto)
        self._routing_key = None
        return self

    @classmethod
    def _as_value_sequence(cls, values, ps):
        if values is None:
            return ()
        if isinstance(values, Mapping):
            return cls._values_from_mapping(values, ps._bind_names, ps.protocol_version)
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
            raise TypeError(
                "bind() takes a sequence of values or a dict of values by name, not %s"
                % type(values).__name__)
        return values

    @staticmethod
    def _values_from_mapping(mapping, names, proto) -> list:
        ordered = []
        for name in names:
            try:
                ordered.append(mapping[name])
            except KeyError:
                if proto < 4:
                    raise KeyError("Column name `%s` not found in bound dict." % name) from None
                ordered.append(UNSET_VALUE)
        return ordered

    @staticmethod
    def _check_complete_v3(values, ps) -> None:
        # Protocol v3 has no "unset" marker (spec v4 section 3 introduced it), so every bind
        # variable needs a value.
        expected = len(ps._bind_names)
        if ps.routing_key_indexes and len(values) < len(ps.routing_key_indexes):
            raise ValueError(
                "Too few arguments provided to bind() (got %d, required %d for routing key)"
                % (len(values), len(ps.routing_key_indexes)))
        if len(values) < expected:
            raise ValueError("Too few arguments provided to bind() (got %d, expected %d); "
                             "protocol v%d cannot leave values unset"
                             % (len(values), expected, ps.protocol_version))
        for v in values:
            if v is UNSET_VALUE:
                raise ValueError(
                    "Attempt to bind UNSET_VALUE while using unsuitable protocol version (%d < 4)"
                    % ps.protocol_version)

    @property
    def routing_key(self) -> Optional[bytes]:
        """The serialized partition key from the bound values (composite keys packed as
        Cassandra's CompositeType), or ``None`` when the statement has no known partition key."""
        if self._routing_key is not None:
            return self._routing_key
        indexes = self.prepared_statement.routing_key_indexes
        if not indexes or not self.values:
            return None
        if len(indexes) == 1:
            key = self.values[indexes[0]]
            self._routing_key = None if key is UNSET_VALUE else key
        else:
            self._routing_key = _pack_routing_key([self.values[i] for i in indexes])
        return self._routing_key

    @routing_key.setter
    def routing_key(self, key) -> None:
        Statement.routing_key.fset(self, key)

    @routing_key.deleter
    def routing_key(self) -> None:
        self._routing_key = None

    def __str__(self) -> str:
        return '<BoundStatement query="%s", values=%s, consistency=%s>' % (
            self.prepared_statement.query_string, self.raw_values,
            _consistency_name(self.consistency_level))

    __repr__ = __str__


def _encode_with_encryption(ps: PreparedStatement, values: Sequence, proto: int) -> list:
    """Serialize like ``encode_values``, then encrypt the columns the policy covers.

    Column encryption is off the fast path by design: the policy decides per column and may
    substitute the type the plaintext is serialized as.
    """
    policy = ps.column_encryption_policy
    specs = ps.column_metadata.col_specs
    values = list(values) + [UNSET_VALUE] * (len(specs) - len(values))
    out = []
    for value, (keyspace, table, name, cqltype) in zip(values, specs):
        if value is None or value is UNSET_VALUE:
            out.append(value)
            continue
        desc = ColDesc(keyspace, table, name)
        if not policy.contains_column(desc):
            out.append(_serialize_one(name, cqltype, value, proto))
            continue
        plain = _serialize_one(name, policy.column_type(desc), value, proto)
        out.append(policy.encrypt(desc, plain))
    return out


def _serialize_one(name: str, cqltype, value, proto: int) -> bytes:
    try:
        return cqltype.serialize(value, proto)
    except (TypeError, ValueError, struct.error, OverflowError) as exc:
        type_name = (cqltype.cql_parameterized_type()
                     if hasattr(cqltype, "cql_parameterized_type") else cqltype)
        raise TypeError('Received an argument of invalid type for column "%s". Expected: %s, '
                        'Got: %s; (%s)' % (name, type_name, type(value), exc)) from exc


class BatchType:
    """How a ``BatchStatement`` is applied (protocol spec v5 section 4.1.7, ``<type>``)."""

    LOGGED: "BatchType"
    """Atomic: written to the batch log first."""
    UNLOGGED: "BatchType"
    """Not atomic across partitions; no batch log."""
    COUNTER: "BatchType"
    """Counter updates only."""

    def __init__(self, name: str, value: int) -> None:
        self.name = name
        self.value = value

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return "BatchType.%s" % (self.name,)


BatchType.LOGGED = BatchType("LOGGED", BATCH_TYPE_LOGGED)
BatchType.UNLOGGED = BatchType("UNLOGGED", BATCH_TYPE_UNLOGGED)
BatchType.COUNTER = BatchType("COUNTER", BATCH_TYPE_COUNTER)


class BatchStatement(Statement):
    """A protocol-level batch: several writes sent as one BATCH request.

    Statements are accumulated with ``add`` / ``add_all`` into ``_statements_and_parameters``, a
    list of ``(is_prepared, query_string_or_query_id, serialized_values)`` tuples in the order of
    the BATCH body's ``<query_i>`` entries (protocol spec v5 section 4.1.7): ``is_prepared`` False
    means kind 0 with a CQL string (parameters already formatted into it, so the values are
    ``()``); True means kind 1 with the prepared statement id and its serialized values (bytes,
    ``None`` or ``UNSET_VALUE``).  The session builds the BATCH message from that list.

    The first added statement that has a keyspace and a routing key gives the batch its routing
    attributes, and custom payloads of added statements are merged into the batch's.
    """

    batch_type = None
    """The ``BatchType``; ``BatchType.LOGGED`` unless given."""

    _statements_and_parameters = None
    _session = None

    def __init__(self, batch_type: BatchType = BatchType.LOGGED, retry_policy=None,
                 consistency_level: Optional[int] = None,
                 serial_consistency_level: Optional[int] = None, session=None,
                 custom_payload: Optional[dict] = None) -> None:
        self.batch_type = batch_type
        self._statements_and_parameters = []
        self._session = session
        Statement.__init__(self, retry_policy=retry_policy, consistency_level=consistency_level,
                           serial_consistency_level=serial_consistency_level,
                           custom_payload=custom_payload)

    def clear(self) -> None:
        """Empty the batch for reuse (not while an execution of it is still in flight)."""
        del self._statements_and_parameters[:]
        self.keyspace = None
        self.routing_key = None
        if self.custom_payload:
            self.custom_payload.clear()

    def add(self, statement: Union[str, Statement, PreparedStatement],
            parameters: Union[Sequence[Any], Mapping[str, Any], None] = None) -> "BatchStatement":
        """Add a statement: a CQL string or ``SimpleStatement`` (with ``parameters`` formatted
        client-side), a ``PreparedStatement`` (bound with ``parameters``), or a ``BoundStatement``
        (which must come without ``parameters``).  Returns ``self``."""
        if isinstance(statement, str):
            if parameters:
                statement = bind_params(statement, parameters, self._encoder())
            self._add_statement_and_params(False, statement, ())
        elif isinstance(statement, PreparedStatement):
            bound = statement.bind(() if parameters is None else parameters)
            self._update_state(bound)
            self._add_statement_and_params(True, statement.query_id, bound.values)
        elif isinstance(statement, BoundStatement):
            if parameters:
                raise ValueError("Parameters cannot be passed with a BoundStatement "
                                 "to BatchStatement.add()")
            self._update_state(statement)
            self._add_statement_and_params(True, statement.prepared_statement.query_id,
                                           statement.values)
        elif isinstance(statement, SimpleStatement):
            query_string = statement.query_string
            if parameters:
                query_string = bind_params(query_string, parameters, self._encoder())
            self._update_state(statement)
            self._add_statement_and_params(False, query_string, ())
        else:
            raise TypeError("BatchStatement.add() takes a str, SimpleStatement, "
                            "PreparedStatement or BoundStatement, not %s"
                            % type(statement).__name__)
        return self

    def add_all(self, statements: Iterable[Any], parameters: Iterable[Any]) -> None:
        """Add each statement with the matching parameters (``None`` for none); the shorter of
        the two iterables ends the pairing."""
        for statement, value in zip(statements, parameters):
            self.add(statement, value)

    def _encoder(self) -> Encoder:
        encoder = getattr(self._session, "encoder", None)
        return encoder if encoder is not None else Encoder()

    def _add_statement_and_params(self, is_prepared: bool, statement, parameters) -> None:
        if len(self._statements_and_parameters) >= _MAX_BATCH_STATEMENTS:
            raise ValueError("Batch statement cannot contain more than %d statements."
                             % _MAX_BATCH_STATEMENTS)
        self._statements_and_parameters.append((is_prepared, statement, parameters))

    def _update_state(self, statement: Statement) -> None:
        if self.routing_key is None and statement.keyspace and statement.routing_key:
            self.routing_key = statement.routing_key
            self.keyspace = statement.keyspace
        if statement.custom_payload:
            if self.custom_payload is None:
                self.custom_payload = {}
            self.custom_payload.update(statement.custom_payload)

    def __len__(self) -> int:
        return len(self._statements_and_parameters)

    def __str__(self) -> str:
        return "<BatchStatement type=%s, statements=%d, consistency=%s>" % (
            self.batch_type, len(self), _consistency_name(self.consistency_level))

    __repr__ = __str__


class HostTargetingStatement:
    """A statement aimed at one host: a copy of ``inner_statement`` that is still an instance of
    its class (so the session executes it the same way) and carries ``target_host``, the address
    that ``DefaultLoadBalancingPolicy`` puts first in the query plan.  Kept for API parity; new
    code passes ``host=`` to ``Session.execute``."""

    target_host = None

    def __new__(cls, inner_statement, target_host):
        return object.__new__(_host_targeting_class(type(inner_statement)))

    def __init__(self, inner_statement, target_host) -> None:
        self.__dict__.update(inner_statement.__dict__)
        self.target_host = target_host


_targeting_classes: dict = {}


def _host_targeting_class(inner_class: type) -> type:
    """The subclass of both HostTargetingStatement and ``inner_class``, made once per class."""
    cls = _targeting_classes.get(inner_class)
    if cls is None:
        cls = type(inner_class.__name__, (HostTargetingStatement, inner_class), {})
        _targeting_classes[inner_class] = cls
    return cls


def bind_params(query: str, params, encoder: Encoder) -> str:
    """Format ``params`` into ``query`` as CQL literals: ``%s`` placeholders take a sequence,
    ``%(name)s`` placeholders a dict.  Each value goes through ``encoder.cql_encode_all_types``,
    which quotes and escapes strings; wrap a sequence in ``ValueSequence`` for ``IN %s``."""
    if isinstance(params, dict):
        return query % {k: encoder.cql_encode_all_types(v) for k, v in params.items()}
    return query % tuple(encoder.cql_encode_all_types(v) for v in params)


class TraceUnavailable(Exception):
    """The trace of a request could not be read completely from ``system_traces`` in time."""


class QueryTrace:
    """The server-side trace of one request, read from ``system_traces.sessions`` and
    ``system_traces.events`` by ``populate``.

    Cassandra writes traces asynchronously after answering, so ``populate`` polls with
    exponential back-off until the session row is complete (or ``max_wait`` runs out).
    """

    trace_id = None
    """``uuid.UUID`` of the tracing session (``session_id`` in ``system_traces``)."""
    request_type = None
    """A short description of the traced operation."""
    duration = None
    """``datetime.timedelta`` the coordinator spent on the request."""
    client = None
    """Address of the client that sent the request."""
    coordinator = None
    """Address of the coordinator node."""
    parameters = None
    """``dict`` of request parameters (the query string among them)."""
    started_at = None
    """``datetime.datetime`` at which the coordinator started the request."""
    events = None
    """Tuple of ``TraceEvent`` in chronological order."""

    _session = None

    _SELECT_SESSIONS_FORMAT = "SELECT * FROM system_traces.sessions WHERE session_id = %s"
    _SELECT_EVENTS_FORMAT = "SELECT * FROM system_traces.events WHERE session_id = %s"
    _BASE_RETRY_SLEEP = 0.003
    # Back-off cap: with max_wait=None an uncapped doubling would soon sleep for hours.
    _MAX_RETRY_SLEEP = 1.0

    def __init__(self, trace_id, session) -> None:
        self.trace_id = trace_id
        self._session = session

    def populate(self, max_wait: Optional[float] = 2.0, wait_for_complete: bool = True,
                 query_cl: Optional[int] = None) -> None:
        """Read the trace and fill in this object's attributes.

        Retries until the session row is complete (its ``duration`` and ``started_at`` are both
        written: for fast requests ``duration`` can land first) or ``max_wait`` seconds have passed,
        then raises ``TraceUnavailable``; ``max_wait=None`` waits forever.  With
        ``wait_for_complete=False`` a partial session is accepted.  ``query_cl`` is the consistency
        level of the polling reads (the session's default when ``None``).
        """
        attempt = 0
        start = time.monotonic()
        while True:
            time_spent = time.monotonic() - start
            if max_wait is not None and time_spent >= max_wait:
                raise TraceUnavailable(
                    "Trace information was not available within %f seconds. "
                    "Consider raising Session.max_trace_wait." % (max_wait,))

            log.debug("Attempting to fetch trace info for trace ID: %s", self.trace_id)
            rows = self._execute(self._SELECT_SESSIONS_FORMAT, query_cl, time_spent, max_wait)
            row = rows[0] if rows else None
            is_complete = (row is not None and row.duration is not None
                           and row.started_at is not None)
            if row is None or (wait_for_complete and not is_complete):
                pause = min(self._BASE_RETRY_SLEEP * (2 ** attempt), self._MAX_RETRY_SLEEP)
                if max_wait is not None:
                    pause = min(pause, max(0.0, max_wait - (time.monotonic() - start)))
                time.sleep(pause)
                attempt += 1
                continue

            self.request_type = row.request
            self.duration = timedelta(microseconds=row.duration) if is_complete else None
            self.started_at = row.started_at
            self.coordinator = row.coordinator
            self.parameters = row.parameters
            self.client = getattr(row, "client", None)

            time_spent = time.monotonic() - start
            events = self._execute(self._SELECT_EVENTS_FORMAT, query_cl, time_spent, max_wait)
            self.events = tuple(
                TraceEvent(r.activity, r.event_id, r.source, r.source_elapsed, r.thread)
                for r in events)
            return

    def _execute(self, query_format: str, query_cl, time_spent: float, max_wait) -> list:
        timeout = (max_wait - time_spent) if max_wait is not None else None
        statement = SimpleStatement(query_format, consistency_level=query_cl)
        future = self._session._create_response_future(
            statement, (self.trace_id,), trace=False, custom_payload=None, timeout=timeout)
        # The rows are read by attribute below, whatever row factory the session uses.
        future.row_factory = named_tuple_factory
        future.send_request()
        try:
            return list(future.result())
        except OperationTimedOut:
            raise TraceUnavailable("Trace information was not available within %f seconds"
                                   % (max_wait,)) from None

    def __str__(self) -> str:
        return "%s [%s] coordinator: %s, started at: %s, duration: %s, parameters: %s" % (
            self.request_type, self.trace_id, self.coordinator, self.started_at, self.duration,
            self.parameters)


class TraceEvent:
    """One step of a traced request (a row of ``system_traces.events``)."""

    description = None
    """What happened."""
    datetime = None
    """UTC ``datetime.datetime`` of the event, from its time-based ``event_id``."""
    source = None
    """Address of the node where it happened."""
    source_elapsed = None
    """``datetime.timedelta`` since that node received the request, or ``None``."""
    thread_name = None
    """The server thread that logged the event."""

    def __init__(self, description: str, timeuuid, source, source_elapsed: Optional[int],
                 thread_name: str) -> None:
        self.description = description
        self.datetime = datetime.fromtimestamp(unix_time_from_uuid1(timeuuid), tz=timezone.utc)
        self.source = source
        self.source_elapsed = (timedelta(microseconds=source_elapsed)
                               if source_elapsed is not None else None)
        self.thread_name = thread_name

    def __str__(self) -> str:
        return "%s on %s[%s] at %s" % (self.description, self.source, self.thread_name,
                                       self.datetime)
