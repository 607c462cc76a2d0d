"""Schema metadata: keyspaces, tables, columns, indexes, views, types, functions, aggregates.

The data classes keep the names and attributes of ``cassandra.metadata`` (re-exported from
``cassfast.metadata``) and render themselves back to CQL (``as_cql_query`` /
``export_as_string``).  ``build_keyspaces`` turns the rows of the ``system_schema`` tables of
Cassandra 3.0+ (the layout 5.0 still uses: ``keyspaces``, ``tables``, ``columns``, ``types``,
``indexes``, ``views``, ``functions``, ``aggregates``, ``triggers``, and the
``system_virtual_schema`` tables), given as lists of dicts keyed by column name, into
``KeyspaceMetadata`` objects.  No I/O: the control connection fetches the rows.
"""
from __future__ import annotations

import re
import sys
import traceback
from collections import OrderedDict, defaultdict
from typing import Any, Iterable, Mapping, Optional

from cassfast._replication import ReplicationStrategy
from cassfast import _logger_for

log = _logger_for(__name__)

# Reserved words of CQL (Cassandra's src/resources/.../cql3/reserved_keywords.txt, 5.0) plus
# REPLACE and UNSET: a name equal to one of them must be double-quoted to be read as a name.
cql_keywords_reserved = frozenset(w.lower() for w in """
    ADD ALLOW ALTER AND APPLY ASC AUTHORIZE BATCH BEGIN BY COLUMNFAMILY CREATE DELETE DESC
    DESCRIBE DROP ENTRIES EXECUTE FROM FULL GRANT IF IN INDEX INFINITY INSERT INTO IS KEYSPACE
    LIMIT MATERIALIZED MODIFY NAN NORECURSIVE NOT NULL OF ON OR ORDER PRIMARY RENAME REPLACE
    REVOKE SCHEMA SELECT SET TABLE TO TOKEN TRUNCATE UNLOGGED UNSET UPDATE USE USING VIEW WHERE
    WITH""".split())

# An unquoted CQL identifier is case-insensitive, so only an all-lower-case name that starts
# with a letter survives unquoted.
_unquoted_name_re = re.compile(r"^[a-z][0-9a-z_]*$")


def is_valid_name(name: Optional[str]) -> bool:
    if name is None:
        return False
    if name.lower() in cql_keywords_reserved:
        return False
    return _unquoted_name_re.match(name) is not None


def escape_name(name: str) -> str:
    return '"%s"' % (name.replace('"', '""'),)


def maybe_escape_name(name: str) -> str:
    return name if is_valid_name(name) else escape_name(name)


protect_name = maybe_escape_name


def protect_names(names: Iterable[str]) -> list:
    return [protect_name(n) for n in names]


def protect_value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (bool, int, float)):
        return str(value).lower()
    return "'%s'" % (str(value).replace("'", "''"),)


def strip_frozen(cql_type: str) -> str:
    """``frozen<list<frozen<t>>>`` -> ``list<t>`` (function signatures are written unfrozen)."""
    out = []
    depth_frozen = []  # for each open '<': True when it belongs to a removed 'frozen'
    i = 0
    n = len(cql_type)
    while i < n:
        if cql_type.startswith("frozen<", i) and (i == 0 or not (cql_type[i - 1].isalnum() or cql_type[i - 1] == "_")):
            depth_frozen.append(True)
            i += len("frozen<")
            continue
        c = cql_type[i]
        if c == "<":
            depth_frozen.append(False)
        elif c == ">":
            if depth_frozen and depth_frozen.pop():
                i += 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


_type_name_re = re.compile(r"[A-Za-z0-9_]+")


def _type_names_in(cql_type: str) -> list:
    return [t for t in _type_name_re.findall(cql_type) if t != "frozen"]


def _format_signature(name: str, argument_types) -> str:
    return "%s(%s)" % (name, ",".join(t for t in argument_types))


class ColumnMetadata:
    """One column: ``name``, ``cql_type`` (the CQL type as a string), ``is_static``,
    ``is_reversed`` (DESC clustering order) and ``table``."""

    def __init__(self, table_metadata, column_name: str, cql_type: str, is_static: bool = False,
                 is_reversed: bool = False) -> None:
        self.table = table_metadata
        self.name = column_name
        self.cql_type = cql_type
        self.is_static = is_static
        self.is_reversed = is_reversed

    def __str__(self) -> str:
        return "%s %s" % (self.name, self.cql_type)

    def __repr__(self) -> str:
        return "<ColumnMetadata %s %s>" % (self.name, self.cql_type)


class IndexMetadata:
    """A secondary index; ``kind`` is COMPOSITES, KEYS or CUSTOM and ``index_options`` holds
    ``target`` (and ``class_name`` for a custom index)."""

    def __init__(self, keyspace_name: str, table_name: str, index_name: str, kind: str,
                 index_options: Mapping) -> None:
        self.keyspace_name = keyspace_name
        self.table_name = table_name
        self.name = index_name
        self.kind = kind
        self.index_options = dict(index_options or {})

    def as_cql_query(self) -> str:
        options = dict(self.index_options)
        target = options.pop("target", None)
        on = "%s.%s (%s)" % (protect_name(self.keyspace_name), protect_name(self.table_name), target)
        if self.kind != "CUSTOM":
            return "CREATE INDEX %s ON %s" % (protect_name(self.name), on)
        class_name = options.pop("class_name", None)
        ret = "CREATE CUSTOM INDEX %s ON %s USING '%s'" % (protect_name(self.name), on, class_name)
        if options:
            ret += " WITH OPTIONS = {%s}" % ", ".join(
                "%s: %s" % (protect_value(k), protect_value(v)) for k, v in options.items())
        return ret

    def export_as_string(self) -> str:
        return self.as_cql_query() + ";"


class TriggerMetadata:
    def __init__(self, table_metadata, trigger_name: str, options: Optional[Mapping] = None) -> None:
        self.table = table_metadata
        self.name = trigger_name
        self.options = options

    def as_cql_query(self) -> str:
        return "CREATE TRIGGER %s ON %s.%s USING %s" % (
            protect_name(self.name), protect_name(self.table.keyspace_name),
            protect_name(self.table.name), protect_value((self.options or {}).get("class")))

    def export_as_string(self) -> str:
        return self.as_cql_query() + ";"


# Table options that are maps and are written as CQL map literals.
_OPTION_MAPS = ("compaction", "compression", "caching")


def _option_strings(options: Mapping) -> list:
    out = []
    rest = dict(options)
    for name in _OPTION_MAPS:
        value = rest.get(name)
        if isinstance(value, Mapping):
            del rest[name]
            out.append("%s = {%s}" % (name, ", ".join("'%s': '%s'" % (k, v) for k, v in value.items())))
    for name, value in rest.items():
        if value is None:
            continue
        if name == "comment":
            value = value or ""
        out.append("%s = %s" % (name, protect_value(value)))
    return sorted(out)


def _property_string(formatted: bool, clustering_key, options: Mapping,
                     is_compact_storage: bool = False) -> str:
    props = []
    if is_compact_storage:
        props.append("COMPACT STORAGE")
    if clustering_key:
        props.append("CLUSTERING ORDER BY (%s)" % ", ".join(
            "%s %s" % (protect_name(c.name), "DESC" if c.is_reversed else "ASC")
            for c in clustering_key))
    props.extend(_option_strings(options))
    return ("\n    AND " if formatted else " AND ").join(props)


class TableMetadata:
    """A table: ``partition_key`` and ``clustering_key`` (lists of ColumnMetadata), ``columns``
    (ordered: partition key, clustering key, then the rest by name), ``indexes``, ``views``,
    ``triggers``, ``options`` (the recognised ``system_schema.tables`` options)."""

    is_compact_storage = False
    virtual = False
    extensions = None
    _exc_info = None

    def __init__(self, keyspace_name: str, name: str, partition_key=None, clustering_key=None,
                 columns=None, triggers=None, options=None, virtual: bool = False) -> None:
        self.keyspace_name = keyspace_name
        self.name = name
        self.partition_key = [] if partition_key is None else partition_key
        self.clustering_key = [] if clustering_key is None else clustering_key
        self.columns = OrderedDict() if columns is None else columns
        self.indexes: dict = {}
        self.options = {} if options is None else options
        self.comparator = None
        self.triggers = OrderedDict() if triggers is None else triggers
        self.views: dict = {}
        self.virtual = virtual

    @property
    def primary_key(self) -> list:
        return self.partition_key + self.clustering_key

    @property
    def is_cql_compatible(self) -> bool:
        return not self.virtual

    def as_cql_query(self, formatted: bool = False) -> str:
        nl, pad, join = ("\n", "    ", ",\n") if formatted else ("", "", ", ")
        cols = ["%s %s%s" % (protect_name(c.name), c.cql_type, " static" if c.is_static else "")
                for c in self.columns.values()]
        single_pk = len(self.partition_key) == 1 and not self.clustering_key
        if single_pk and cols:
            cols[0] += " PRIMARY KEY"
        body = join.join(pad + c for c in cols)
        if not single_pk and self.partition_key:
            if len(self.partition_key) > 1:
                pk = "(%s)" % ", ".join(protect_name(c.name) for c in self.partition_key)
            else:
                pk = protect_name(self.partition_key[0].name)
            if self.clustering_key:
                pk += ", " + ", ".join(protect_name(c.name) for c in self.clustering_key)
            body += "%s%sPRIMARY KEY (%s)" % (join, pad, pk)
        return "%s TABLE %s.%s (%s%s%s) WITH %s" % (
            "VIRTUAL" if self.virtual else "CREATE", protect_name(self.keyspace_name),
            protect_name(self.name), nl, body, nl,
            _property_string(formatted, self.clustering_key, self.options, self.is_compact_storage))

    def _all_as_cql(self) -> str:
        ret = self.as_cql_query(formatted=True) + ";"
        for index in self.indexes.values():
            ret += "\n%s;" % index.as_cql_query()
        for trigger in self.triggers.values():
            ret += "\n%s;" % trigger.as_cql_query()
        for view in self.views.values():
            ret += "\n\n%s;" % view.as_cql_query(formatted=True)
        return ret

    def export_as_string(self) -> str:
        """CQL recreating the table with its indexes, triggers and views, formatted to read."""
        if self._exc_info:
            return ("/*\nWarning: Table %s.%s is incomplete because of an error processing "
                    "metadata.\n%s\nApproximate structure, for reference:\n(this should not be "
                    "used to reproduce this schema)\n\n%s\n*/" % (
                        self.keyspace_name, self.name,
                        "".join(traceback.format_exception(*self._exc_info)), self._all_as_cql()))
        if self.virtual:
            return ("/*\nWarning: Table %s.%s is a virtual table and cannot be recreated with "
                    "CQL.\nStructure, for reference:\n%s\n*/" % (
                        self.keyspace_name, self.name, self._all_as_cql()))
        return self._all_as_cql()

    def __repr__(self) -> str:
        return "<TableMetadata %s.%s>" % (self.keyspace_name, self.name)


TableMetadataV3 = TableMetadata


class MaterializedViewMetadata:
    """A materialized view of ``base_table_name``."""

    extensions = None

    def __init__(self, keyspace_name: str, view_name: str, base_table_name: str,
                 include_all_columns: bool, where_clause: str, options: Mapping) -> None:
        self.keyspace_name = keyspace_name
        self.name = view_name
        self.base_table_name = base_table_name
        self.partition_key: list = []
        self.clustering_key: list = []
        self.columns: OrderedDict = OrderedDict()
        self.include_all_columns = include_all_columns
        self.where_clause = where_clause
        self.options = dict(options or {})

    def as_cql_query(self, formatted: bool = False) -> str:
        sep = "\n    " if formatted else " "
        ks = protect_name(self.keyspace_name)
        selected = "*" if self.include_all_columns else ", ".join(
            protect_name(c.name) for c in self.columns.values())
        part = ", ".join(protect_name(c.name) for c in self.partition_key)
        pk = ("((%s)" if len(self.partition_key) > 1 else "(%s") % part
        if self.clustering_key:
            pk += ", " + ", ".join(protect_name(c.name) for c in self.clustering_key)
        pk += ")"
        return ("CREATE MATERIALIZED VIEW %s.%s AS%sSELECT %s%sFROM %s.%s%sWHERE %s%s"
                "PRIMARY KEY %s%sWITH %s" % (
                    ks, protect_name(self.name), sep, selected, sep, ks,
                    protect_name(self.base_table_name), sep, self.where_clause, sep, pk, sep,
                    _property_string(formatted, self.clustering_key, self.options)))

    def export_as_string(self) -> str:
        return self.as_cql_query(formatted=True) + ";"


class UserType:
    """A user-defined type: ``field_names`` and ``field_types`` (CQL type strings), in order."""

    def __init__(self, keyspace: str, name: str, field_names, field_types) -> None:
        self.keyspace = keyspace
        self.name = name
        self.field_names = list(field_names or [])
        self.field_types = list(field_types or [])

    def as_cql_query(self, formatted: bool = False) -> str:
        nl, pad, join = ("\n", "    ", ",\n") if formatted else ("", "", ", ")
        fields = join.join("%s%s %s" % (pad, protect_name(n), t)
                           for n, t in zip(self.field_names, self.field_types))
        return "CREATE TYPE %s.%s (%s%s%s)" % (protect_name(self.keyspace), protect_name(self.name),
                                              nl, fields, nl)

    def export_as_string(self) -> str:
        return self.as_cql_query(formatted=True) + ";"


class Function:
    """A user-defined function (data holder plus its CREATE FUNCTION statement)."""

    def __init__(self, keyspace: str, name: str, argument_types, argument_names, return_type: str,
                 language: str, body: str, called_on_null_input: bool, deterministic=False,
                 monotonic=False, monotonic_on=None) -> None:
        self.keyspace = keyspace
        self.name = name
        self.argument_types = list(argument_types or [])
        self.argument_names = list(argument_names or [])
        self.return_type = return_type
        self.language = language
        self.body = body
        self.called_on_null_input = called_on_null_input
        self.deterministic = deterministic
        self.monotonic = monotonic
        self.monotonic_on = monotonic_on

    @property
    def signature(self) -> str:
        return _format_signature(self.name, self.argument_types)

    def as_cql_query(self, formatted: bool = False) -> str:
        sep = "\n    " if formatted else " "
        args = ", ".join("%s %s" % (protect_name(n), strip_frozen(t))
                         for n, t in zip(self.argument_names, self.argument_types))
        extra = ""
        if self.deterministic:
            extra += "DETERMINISTIC" + sep
        if self.monotonic:
            extra += "MONOTONIC" + sep
        elif self.monotonic_on:
            extra += "MONOTONIC ON %s%s" % (self.monotonic_on[0], sep)
        return ("CREATE FUNCTION %s.%s(%s)%s%s ON NULL INPUT%sRETURNS %s%s%sLANGUAGE %s%sAS $$%s$$"
                % (protect_name(self.keyspace), protect_name(self.name), args, sep,
                   "CALLED" if self.called_on_null_input else "RETURNS NULL", sep,
                   self.return_type, sep, extra, self.language, sep, self.body))

    def export_as_string(self) -> str:
        return self.as_cql_query(formatted=True) + ";"


class Aggregate:
    """A user-defined aggregate (data holder plus its CREATE AGGREGATE statement)."""

    def __init__(self, keyspace: str, name: str, argument_types, state_func: str, state_type: str,
                 final_func: Optional[str], initial_condition: Optional[str], return_type: str,
                 deterministic=False) -> None:
        self.keyspace = keyspace
        self.name = name
        self.argument_types = list(argument_types or [])
        self.state_func = state_func
        self.state_type = state_type
        self.final_func = final_func
        self.initial_condition = initial_condition
        self.return_type = return_type
        self.deterministic = deterministic

    @property
    def signature(self) -> str:
        return _format_signature(self.name, self.argument_types)

    def as_cql_query(self, formatted: bool = False) -> str:
        sep = "\n    " if formatted else " "
        ret = "CREATE AGGREGATE %s.%s(%s)%sSFUNC %s%sSTYPE %s" % (
            protect_name(self.keyspace), protect_name(self.name),
            ", ".join(strip_frozen(t) for t in self.argument_types), sep,
            protect_name(self.state_func), sep, strip_frozen(self.state_type))
        if self.final_func:
            ret += "%sFINALFUNC %s" % (sep, protect_name(self.final_func))
        if self.initial_condition is not None:
            ret += "%sINITCOND %s" % (sep, self.initial_condition)
        if self.deterministic:
            ret += "%sDETERMINISTIC" % (sep,)
        return ret

    def export_as_string(self) -> str:
        return self.as_cql_query(formatted=True) + ";"


class KeyspaceMetadata:
    """A keyspace: ``replication_strategy`` and the maps ``tables``, ``indexes``, ``views``,
    ``user_types``, ``functions`` and ``aggregates`` (the last two keyed by signature)."""

    virtual = False
    graph_engine = None
    _exc_info = None

    def __init__(self, name: str, durable_writes: bool, strategy_class: Optional[str],
                 strategy_options: Mapping, graph_engine=None) -> None:
        self.name = name
        self.durable_writes = durable_writes
        self.replication_strategy = ReplicationStrategy.create(strategy_class, strategy_options)
        self.tables: dict = {}
        self.indexes: dict = {}
        self.user_types: dict = {}
        self.functions: dict = {}
        self.aggregates: dict = {}
        self.views: dict = {}
        self.graph_engine = graph_engine

    @property
    def is_graph_enabled(self) -> bool:
        return self.graph_engine is not None

    def as_cql_query(self) -> str:
        if self.virtual:
            return "// VIRTUAL KEYSPACE %s" % (protect_name(self.name),)
        strategy = self.replication_strategy
        replication = strategy.export_for_schema() if strategy is not None else "{}"
        return "CREATE KEYSPACE %s WITH replication = %s  AND durable_writes = %s" % (
            protect_name(self.name), replication, "true" if self.durable_writes else "false")

    def user_type_strings(self) -> list:
        """CREATE TYPE statements, each type after the types it uses."""
        out: list = []
        pending = dict(self.user_types)

        def emit(name):
            ut = pending.pop(name)
            for field_type in ut.field_types:
                for sub in _type_names_in(field_type):
                    if sub in pending:
                        emit(sub)
            out.append(ut.export_as_string())

        for name in sorted(self.user_types):
            if name in pending:
                emit(name)
        return out

    def export_as_string(self) -> str:
        """CQL recreating the keyspace with its types, functions, aggregates and tables."""
        cql = "\n\n".join(
            [self.as_cql_query() + ";"] + self.user_type_strings()
            + [f.export_as_string() for f in self.functions.values()]
            + [a.export_as_string() for a in self.aggregates.values()]
            + [t.export_as_string() for t in self.tables.values()])
        if self._exc_info:
            return ("/*\nWarning: Keyspace %s is incomplete because of an error processing "
                    "metadata.\n%s\nApproximate structure, for reference:\n(this should not be "
                    "used to reproduce this schema)\n\n%s\n*/" % (
                        self.name, "".join(traceback.format_exception(*self._exc_info)), cql))
        if self.virtual:
            return ("/*\nWarning: Keyspace %s is a virtual keyspace and cannot be recreated with "
                    "CQL.\nStructure, for reference:*/\n%s\n" % (self.name, cql))
        return cql

    def _add_table_metadata(self, table: TableMetadata) -> None:
        old = self.tables.get(table.name)
        if old is not None:
            table.views = old.views
            for index_name in old.indexes:
                if index_name not in table.indexes:
                    self.indexes.pop(index_name, None)
        self.indexes.update(table.indexes)
        self.tables[table.name] = table

    def _add_view_metadata(self, view: MaterializedViewMetadata) -> None:
        base = self.tables.get(view.base_table_name)
        if base is not None:
            base.views[view.name] = view
            self.views[view.name] = view

    def __repr__(self) -> str:
        return "<KeyspaceMetadata %s>" % (self.name,)


# ---------------------------------------------------------------------------------------------
# Building metadata from system_schema rows
# ---------------------------------------------------------------------------------------------

# system_schema.tables / views columns that are table options, per server version (as the
# reference's schema parsers choose them by the control host's release_version).  Cassandra 4.0
# replaced read_repair_chance and dclocal_read_repair_chance (CASSANDRA-13910) by read_repair and
# additional_write_policy; 5.0 still has the old columns (always 0.0) and adds allow_auto_snapshot,
# incremental_backups and memtable.  A row only has the columns of its server, and only those
# present are read.
TABLE_OPTIONS_V4 = (
    "additional_write_policy", "allow_auto_snapshot", "bloom_filter_fp_chance", "caching", "cdc",
    "comment", "compaction", "compression", "crc_check_chance", "default_time_to_live",
    "gc_grace_seconds", "incremental_backups", "max_index_interval",
    "memtable", "memtable_flush_period_in_ms", "min_index_interval", "read_repair",
    "speculative_retry",
)
# Cassandra 3.0-3.11 and ScyllaDB (which reports release_version 3.0.8); ScyllaDB-only options
# (scylla-driver's in_memory) are not in cassandra-driver's list, so not here either.
TABLE_OPTIONS_V3 = (
    "bloom_filter_fp_chance", "caching", "cdc", "comment", "compaction", "compression",
    "crc_check_chance", "dclocal_read_repair_chance", "default_time_to_live", "gc_grace_seconds",
    "max_index_interval", "memtable_flush_period_in_ms", "min_index_interval",
    "read_repair_chance", "speculative_retry",
)
RECOGNIZED_TABLE_OPTIONS = TABLE_OPTIONS_V4


def table_options_for(release_version: Optional[str]) -> tuple:
    """The table options of a server: the 3.x ones below 4.0, else (unknown too) the 4.0+ ones."""
    try:
        major = int(str(release_version).split(".", 1)[0])
    except ValueError:
        return TABLE_OPTIONS_V4
    return TABLE_OPTIONS_V3 if major < 4 else TABLE_OPTIONS_V4


def _table_options(row: Mapping, option_names: tuple) -> dict:
    return {o: row.get(o) for o in option_names if o in row}


def _column(table, row: Mapping) -> ColumnMetadata:
    return ColumnMetadata(table, row["column_name"], row["type"],
                          row.get("kind") == "static",
                          (row.get("clustering_order") or "none").upper() == "DESC")


def _add_columns(meta, col_rows, compact_static: bool = False, is_dense: bool = False) -> None:
    def by_position(kind):
        return sorted((r for r in col_rows if r.get("kind") == kind),
                      key=lambda r: r.get("position") or 0)

    for r in by_position("partition_key"):
        c = _column(meta, r)
        meta.columns[c.name] = c
        meta.partition_key.append(c)
    if not compact_static:
        for r in by_position("clustering"):
            c = _column(meta, r)
            meta.columns[c.name] = c
            meta.clustering_key.append(c)
    # Regular and static columns come after the key, in name order (system_schema.columns is
    # clustered by column_name, so the server already sends them that way).
    for r in col_rows:
        if r.get("kind") in ("partition_key", "clustering"):
            continue
        c = _column(meta, r)
        if is_dense and c.cql_type == "empty":
            continue
        if compact_static:
            if not c.is_static:
                continue
            c.is_static = False
        meta.columns[c.name] = c


def build_table(row: Mapping, col_rows, index_rows=(), trigger_rows=(),
                virtual: bool = False, option_names: tuple = TABLE_OPTIONS_V4) -> TableMetadata:
    """A TableMetadata from its ``system_schema.tables`` row and its columns/indexes/triggers."""
    meta = TableMetadata(row["keyspace_name"], row["table_name"], virtual=virtual)
    try:
        meta.options = _table_options(row, option_names)
        flags = row.get("flags") or ()
        if flags:
            is_dense = "dense" in flags
            compact_static = not is_dense and "super" not in flags and "compound" not in flags
            meta.is_compact_storage = is_dense or "super" in flags or "compound" not in flags
        elif virtual:
            is_dense = compact_static = False
        else:
            # Tables without flags predate 3.0 (thrift-era compact storage).
            is_dense, compact_static = False, True
            meta.is_compact_storage = True
        _add_columns(meta, col_rows, compact_static, is_dense)
        for r in trigger_rows:
            t = TriggerMetadata(meta, r["trigger_name"], r.get("options"))
            meta.triggers[t.name] = t
        for r in index_rows:
            if r.get("index_name") or r.get("kind"):
                idx = IndexMetadata(meta.keyspace_name, meta.name, r.get("index_name"),
                                    r.get("kind"), r.get("options"))
                meta.indexes[idx.name] = idx
        meta.extensions = row.get("extensions") or {}
    except Exception:
        meta._exc_info = sys.exc_info()
        log.exception("Error parsing metadata of table %s.%s", meta.keyspace_name, meta.name)
    return meta


def build_view(row: Mapping, col_rows, option_names: tuple = TABLE_OPTIONS_V4) -> MaterializedViewMetadata:
    view = MaterializedViewMetadata(row["keyspace_name"], row["view_name"],
                                    row["base_table_name"], row["include_all_columns"],
                                    row["where_clause"], _table_options(row, option_names))
    _add_columns(view, col_rows)
    view.extensions = row.get("extensions") or {}
    return view


def build_keyspace(row: Mapping) -> KeyspaceMetadata:
    replication = dict(row.get("replication") or {})
    strategy_class = replication.pop("class", None)
    return KeyspaceMetadata(row["keyspace_name"], row.get("durable_writes"), strategy_class,
                            replication)


def build_user_type(row: Mapping) -> UserType:
    return UserType(row["keyspace_name"], row["type_name"], row.get("field_names"),
                    row.get("field_types"))


def build_function(row: Mapping) -> Function:
    return Function(row["keyspace_name"], row["function_name"], row.get("argument_types"),
                    row.get("argument_names"), row["return_type"], row["language"], row["body"],
                    row["called_on_null_input"], row.get("deterministic", False),
                    row.get("monotonic", False), row.get("monotonic_on"))


def build_aggregate(row: Mapping) -> Aggregate:
    return Aggregate(row["keyspace_name"], row["aggregate_name"], row.get("argument_types"),
                     row["state_func"], row["state_type"], row.get("final_func"),
                     row.get("initcond"), row["return_type"], row.get("deterministic", False))


def build_keyspaces(keyspaces=(), tables=(), columns=(), types=(), functions=(), aggregates=(),
                    indexes=(), views=(), triggers=(), virtual_keyspaces=(), virtual_tables=(),
                    virtual_columns=(), release_version: Optional[str] = None,
                    ) -> "OrderedDict[str, KeyspaceMetadata]":
    """Keyspace name -> KeyspaceMetadata from ``system_schema`` (and virtual schema) rows of a
    server of ``release_version`` (which decides the table options read; None: 4.0+)."""
    option_names = table_options_for(release_version)
    by_table = defaultdict(lambda: defaultdict(list))
    for r in columns:
        by_table[r["keyspace_name"]][r["table_name"]].append(r)
    idx_by_table = defaultdict(lambda: defaultdict(list))
    for r in indexes:
        idx_by_table[r["keyspace_name"]][r["table_name"]].append(r)
    trg_by_table = defaultdict(lambda: defaultdict(list))
    for r in triggers:
        trg_by_table[r["keyspace_name"]][r["table_name"]].append(r)

    def group(rows):
        out = defaultdict(list)
        for r in rows:
            out[r["keyspace_name"]].append(r)
        return out

    tables_by_ks, types_by_ks = group(tables), group(types)
    funcs_by_ks, aggs_by_ks, views_by_ks = group(functions), group(aggregates), group(views)

    result: OrderedDict = OrderedDict()
    for row in keyspaces:
        ks = build_keyspace(row)
        name = ks.name
        try:
            for r in types_by_ks[name]:
                ut = build_user_type(r)
                ks.user_types[ut.name] = ut
            for r in funcs_by_ks[name]:
                fn = build_function(r)
                ks.functions[fn.signature] = fn
            for r in aggs_by_ks[name]:
                agg = build_aggregate(r)
                ks.aggregates[agg.signature] = agg
            for r in tables_by_ks[name]:
                t = r["table_name"]
                ks._add_table_metadata(build_table(r, by_table[name][t], idx_by_table[name][t],
                                                   trg_by_table[name][t], option_names=option_names))
            for r in views_by_ks[name]:
                ks._add_view_metadata(build_view(r, by_table[name][r["view_name"]], option_names))
        except Exception:
            ks._exc_info = sys.exc_info()
            log.exception("Error parsing metadata of keyspace %s", name)
        result[name] = ks

    vcols = defaultdict(lambda: defaultdict(list))
    for r in virtual_columns:
        vcols[r["keyspace_name"]][r["table_name"]].append(r)
    vtables = group(virtual_tables)
    for row in virtual_keyspaces:
        ks = KeyspaceMetadata(row["keyspace_name"], None, None, {})
        ks.virtual = True
        for r in vtables[ks.name]:
            ks._add_table_metadata(build_table(r, vcols[ks.name][r["table_name"]], virtual=True))
        result[ks.name] = ks
    return result
