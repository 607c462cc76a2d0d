"""Schema management: keyspaces, tables and user-defined types from model classes.

``sync_table`` creates a model's table (and the UDTs it uses) when it does not exist, and
otherwise adds the columns and indexes the model declares that the table lacks, then applies the
model's ``__options__``; it never drops or retypes a column.  The current schema is read from
``system_schema`` (CQL spec, "system_schema keyspace"), which is exact right after a DDL
statement has been acknowledged, unlike a client-side metadata cache that an event refreshes
later.  Like the reference, every function warns unless ``CQLENG_ALLOW_SCHEMA_MANAGEMENT`` is
set in the environment, since schema changes from application code are easy to get wrong.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, List, Optional, Sequence

from cassfast.cqlengine import CQLEngineException, columns
from cassfast.cqlengine import connection as conn_module
from cassfast.cqlengine import models
from cassfast.cqlengine.columns import quote_identifier
from cassfast.cqlengine.usertype import UserType
from cassfast import _logger_for

log = _logger_for(__name__)

CQLENG_ALLOW_SCHEMA_MANAGEMENT = "CQLENG_ALLOW_SCHEMA_MANAGEMENT"


def _check_allowed() -> None:
    if not os.getenv(CQLENG_ALLOW_SCHEMA_MANAGEMENT):
        warnings.warn("Model schema management functions are deprecated unless %s is set in the environment"
                      % CQLENG_ALLOW_SCHEMA_MANAGEMENT)


def _connections(connections: Optional[Sequence[Any]]) -> List[Any]:
    return list(connections) if connections else [None]


def _execute(cql: str, connection: Any = None):
    log.debug(conn_module.format_log_context(cql, connection=connection))
    return conn_module.execute(cql, connection=connection)


def _literal(value: Any) -> str:
    """A CQL literal for DDL options (these come from code, never from end users)."""
    from cassfast.encoder import Encoder
    return Encoder().cql_encode_all_types(value)


# -- keyspaces ---------------------------------------------------------------------------------

def create_keyspace_simple(name: str, replication_factor: int, durable_writes: bool = True,
                           connections: Optional[Sequence[Any]] = None) -> None:
    """CREATE KEYSPACE IF NOT EXISTS with SimpleStrategy."""
    _create_keyspace(name, durable_writes, "SimpleStrategy", {"replication_factor": replication_factor},
                     connections)


def create_keyspace_network_topology(name: str, dc_replication_map: Dict[str, int], durable_writes: bool = True,
                                     connections: Optional[Sequence[Any]] = None) -> None:
    """CREATE KEYSPACE IF NOT EXISTS with NetworkTopologyStrategy (``{dc: replicas}``)."""
    _create_keyspace(name, durable_writes, "NetworkTopologyStrategy", dc_replication_map, connections)


def _create_keyspace(name: str, durable_writes: bool, strategy: str, options: Dict[str, Any],
                     connections) -> None:
    _check_allowed()
    if not isinstance(name, str) or not name:
        raise CQLEngineException("keyspace name must be a non-empty string, not %r" % (name,))
    replication = {"class": strategy}
    replication.update({k: int(v) if not isinstance(v, str) else v for k, v in options.items()})
    for connection in _connections(connections):
        cql = "CREATE KEYSPACE IF NOT EXISTS %s WITH replication = %s AND durable_writes = %s" % (
            quote_identifier(name), _literal({k: str(v) for k, v in replication.items()}),
            "true" if durable_writes else "false")
        _execute(cql, connection)


def drop_keyspace(name: str, connections: Optional[Sequence[Any]] = None) -> None:
    """DROP KEYSPACE IF EXISTS."""
    _check_allowed()
    for connection in _connections(connections):
        _execute("DROP KEYSPACE IF EXISTS %s" % quote_identifier(name), connection)


# -- reading the live schema -------------------------------------------------------------------

def _rows(cql: str, params: tuple, connection: Any) -> List[Dict[str, Any]]:
    session = conn_module.get_session(connection)
    result = session.execute(cql, params)
    names = getattr(result, "column_names", None)
    from cassfast.cqlengine.query import _row_as_dict
    return [_row_as_dict(r, names) for r in result]


def _table_columns(keyspace: str, table: str, connection: Any) -> Dict[str, Dict[str, Any]]:
    rows = _rows("SELECT column_name, kind, type FROM system_schema.columns "
                 "WHERE keyspace_name = %s AND table_name = %s", (keyspace, table), connection)
    return {r["column_name"]: r for r in rows}


def _table_indexes(keyspace: str, table: str, connection: Any) -> Dict[str, Dict[str, Any]]:
    rows = _rows("SELECT index_name, options FROM system_schema.indexes "
                 "WHERE keyspace_name = %s AND table_name = %s", (keyspace, table), connection)
    return {r["index_name"]: r for r in rows}


def _type_fields(keyspace: str, type_name: str, connection: Any) -> Optional[List[str]]:
    rows = _rows("SELECT field_names FROM system_schema.types WHERE keyspace_name = %s AND type_name = %s",
                 (keyspace, type_name), connection)
    return list(rows[0]["field_names"]) if rows else None


# -- tables ------------------------------------------------------------------------------------

def _options_cql(model) -> List[str]:
    opts = []
    for key, value in (model.__options__ or {}).items():
        if isinstance(value, str) and not (key in ("comment", "speculative_retry", "read_repair")):
            # map-valued options are given as CQL text by users of the reference (compaction...)
            stripped = value.strip()
            opts.append("%s = %s" % (key, stripped if stripped.startswith("{") else _literal(value)))
        else:
            opts.append("%s = %s" % (key, _literal(value)))
    return opts


def get_create_table(model: type) -> str:
    """The CREATE TABLE statement of ``model`` (IF NOT EXISTS, with clustering order and options)."""
    # Key columns first: only a readability choice, CQL does not care about the order.
    parts = [col.get_column_def() for col in model._primary_keys.values() if col.partition_key]
    parts += [col.get_column_def() for col in model._clustering_keys.values()]
    parts += [col.get_column_def() for col in model._columns.values() if not col.primary_key]
    partition = ", ".join(c.cql for c in model._partition_keys.values())
    clustering = [c for c in model._clustering_keys.values()]
    key = "(%s)" % partition if len(model._partition_keys) > 1 or clustering else partition
    if clustering:
        key = "%s, %s" % (key, ", ".join(c.cql for c in clustering))
    parts.append("PRIMARY KEY (%s)" % key)
    cql = "CREATE TABLE IF NOT EXISTS %s (%s)" % (model.column_family_name(), ", ".join(parts))
    withs = []
    ordered = [c for c in clustering if c.clustering_order]
    if ordered:
        withs.append("CLUSTERING ORDER BY (%s)" % ", ".join(
            "%s %s" % (c.cql, str(c.clustering_order or "ASC").upper()) for c in clustering))
    withs.extend(_options_cql(model))
    if withs:
        cql += " WITH " + " AND ".join(withs)
    return cql


def _index_cql(model, col: columns.Column) -> str:
    name = quote_identifier("%s_%s" % (model._raw_column_family_name(), col.db_index_name))
    target = col.cql  # for a map: its values, as the reference indexes it
    using = " USING 'org.apache.cassandra.index.sasi.SASIIndex'" if col.custom_index else ""
    return "CREATE INDEX IF NOT EXISTS %s ON %s (%s)%s" % (name, model.column_family_name(), target, using)


def sync_table(model: type, keyspaces: Optional[Sequence[str]] = None, connections: Optional[Sequence[Any]] = None) -> None:
    """Create ``model``'s table or add its missing columns and indexes; apply ``__options__``."""
    _check_allowed()
    if not (isinstance(model, type) and issubclass(model, models.BaseModel)):
        raise CQLEngineException("sync_table takes a Model class, not %r" % (model,))
    if model.__abstract__:
        raise CQLEngineException("cannot create table from abstract model")
    for connection in _connections(connections):
        for keyspace in (keyspaces or [None]):
            target = model if keyspace is None else _in_keyspace(model, keyspace)
            _sync_table(target, connection)


def _in_keyspace(model, keyspace: str):
    return type(model.__name__, (model,), {"__keyspace__": keyspace, "__module__": model.__module__,
                                           "__table_name__": model._raw_column_family_name(),
                                           "__table_name_case_sensitive__": True})


def _sync_table(model, connection: Any) -> None:
    keyspace = model._keyspace_or_raise()
    table = model._raw_column_family_name()
    udts: list = []
    for col in model._columns.values():
        columns.resolve_udts(col, udts)
    for udt in udts:
        _sync_type(keyspace, udt, connection)

    existing = _table_columns(keyspace, table, connection)
    if not existing:
        _execute(get_create_table(model), connection)
    else:
        for col in model._columns.values():
            if col.db_field_name in existing:
                continue
            if col.primary_key:
                raise CQLEngineException("Cannot add primary key '%s' to the existing table %s.%s"
                                         % (col.db_field_name, keyspace, table))
            _execute("ALTER TABLE %s ADD %s" % (model.column_family_name(), col.get_column_def()), connection)
        options = _options_cql(model)
        if options:
            _execute("ALTER TABLE %s WITH %s" % (model.column_family_name(), " AND ".join(options)), connection)
    for col in model._columns.values():
        if col.index or col.custom_index:
            _execute(_index_cql(model, col), connection)
    conn = conn_module.get_connection(connection)
    conn.forget_prepared()  # SELECTs prepared before the change would keep the old columns


def drop_table(model: type, keyspaces: Optional[Sequence[str]] = None, connections: Optional[Sequence[Any]] = None) -> None:
    """DROP TABLE IF EXISTS for ``model``."""
    _check_allowed()
    if model.__abstract__:
        raise CQLEngineException("cannot drop table for abstract model")
    for connection in _connections(connections):
        for keyspace in (keyspaces or [None]):
            target = model if keyspace is None else _in_keyspace(model, keyspace)
            _execute("DROP TABLE IF EXISTS %s" % target.column_family_name(), connection)
        conn_module.get_connection(connection).forget_prepared()


# -- user-defined types ------------------------------------------------------------------------

def sync_type(ks_name: str, type_model: type, connection: Any = None) -> None:
    """Create the UDT ``type_model`` in ``ks_name`` (or add its missing fields); register it."""
    _check_allowed()
    if not (isinstance(type_model, type) and issubclass(type_model, UserType)):
        raise CQLEngineException("sync_type takes a UserType class, not %r" % (type_model,))
    _sync_type(ks_name, type_model, connection)


def get_create_type(type_model: type, keyspace: str) -> str:
    """The CREATE TYPE statement of a UserType class in ``keyspace``."""
    fields = ", ".join("%s %s" % (f.cql, columns._nested_cql(f)) for f in type_model._fields.values())
    return "CREATE TYPE IF NOT EXISTS %s.%s (%s)" % (quote_identifier(keyspace),
                                                     quote_identifier(type_model.type_name()), fields)


def _sync_type(ks_name: str, type_model: type, connection: Any) -> None:
    nested: list = []
    for field in type_model._fields.values():
        columns.resolve_udts(field, nested)
    for udt in nested:
        if udt is not type_model:
            _sync_type(ks_name, udt, connection)
    type_name = type_model.type_name()
    qualified = "%s.%s" % (quote_identifier(ks_name), quote_identifier(type_name))
    existing = _type_fields(ks_name, type_name, connection)
    if existing is None:
        _execute(get_create_type(type_model, ks_name), connection)
    else:
        for f in type_model._fields.values():
            if f.db_field_name not in existing:
                _execute("ALTER TYPE %s ADD %s %s" % (qualified, f.cql, columns._nested_cql(f)), connection)
    conn_module.register_udt(ks_name, type_name, type_model, connection)


def drop_type(ks_name: str, type_model: type, connection: Any = None) -> None:
    """DROP TYPE IF EXISTS (fails on the server while a table still uses it)."""
    _check_allowed()
    _execute("DROP TYPE IF EXISTS %s.%s" % (quote_identifier(ks_name), quote_identifier(type_model.type_name())),
             connection)
