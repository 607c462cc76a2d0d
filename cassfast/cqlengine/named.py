"""Tables by name, without a model class: ``NamedKeyspace('ks').table('t').objects.filter(...)``.

A ``NamedTable`` reads its columns (and which of them form the primary key) from
``system_schema`` the first time it is queried, then offers the same queryset API as a model;
rows come back as ``ResultObject`` dicts whose keys are also attributes.  Values pass through
unconverted: the prepared statement's metadata tells the driver how to encode them.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from cassfast.cqlengine import CQLEngineException, columns
from cassfast.cqlengine import connection as conn_module
from cassfast.cqlengine.columns import quote_identifier
from cassfast.cqlengine.models import ColumnQueryEvaluator
from cassfast.cqlengine.query import (DoesNotExist as _DoesNotExist, ModelQuerySet,
                                      MultipleObjectsReturned as _MultipleObjectsReturned, ResultObject,
                                      SimpleQuerySet)


class NamedQuerySet(SimpleQuerySet, ModelQuerySet):
    pass


class NamedColumn(columns.Column):
    """A column known only by its CQL name (and, once loaded, its CQL type)."""

    def __init__(self, name: str, db_type: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_column_name(name)
        self.db_type = db_type

    @property
    def query_evaluator(self) -> ColumnQueryEvaluator:
        return ColumnQueryEvaluator(self)

    def __eq__(self, other):
        return self.query_evaluator == other

    def __ne__(self, other):
        return self.query_evaluator != other

    def __gt__(self, other):
        return self.query_evaluator > other

    def __ge__(self, other):
        return self.query_evaluator >= other

    def __lt__(self, other):
        return self.query_evaluator < other

    def __le__(self, other):
        return self.query_evaluator <= other

    def in_(self, items):
        return self.query_evaluator.in_(items)

    def contains_(self, item):
        return self.query_evaluator.contains_(item)

    __hash__ = object.__hash__


class _SchemaColumns:
    """The columns of a NamedTable, read from system_schema on first access."""

    def __get__(self, table, owner):
        if table is None:
            return self
        if table._loaded_columns is None:
            table._load_columns()
        return table._loaded_columns


class NamedTable:
    """A table addressed by keyspace and name, queried through ``objects``."""

    __abstract__ = False
    __connection__: Optional[str] = None
    __default_ttl__ = None
    _has_counter = False
    _is_polymorphic = False

    class DoesNotExist(_DoesNotExist):
        pass

    class MultipleObjectsReturned(_MultipleObjectsReturned):
        pass

    _columns = _SchemaColumns()

    def __init__(self, keyspace: str, name: str) -> None:
        self.keyspace = keyspace
        self.name = name
        self._loaded_columns: Optional[Dict[str, columns.Column]] = None
        self._connection: Optional[str] = None

    def __repr__(self) -> str:
        return "<NamedTable %s.%s>" % (self.keyspace, self.name)

    def _load_columns(self) -> None:
        session = conn_module.get_session(self._connection or self.__connection__)
        rows = list(session.execute(
            "SELECT column_name, kind, position, type FROM system_schema.columns "
            "WHERE keyspace_name = %s AND table_name = %s", (self.keyspace, self.name)))
        if not rows:
            raise CQLEngineException("Failed loading keyspace metadata: table %s.%s does not exist"
                                     % (self.keyspace, self.name))
        from cassfast.cqlengine.query import _row_as_dict
        rows = [_row_as_dict(r, ["column_name", "kind", "position", "type"]) for r in rows]
        order = {"partition_key": 0, "clustering": 1}
        rows.sort(key=lambda r: (order.get(r["kind"], 2), r["position"], r["column_name"]))
        loaded = {}
        for r in rows:
            loaded[r["column_name"]] = NamedColumn(r["column_name"], r["type"],
                                                   partition_key=r["kind"] == "partition_key",
                                                   primary_key=r["kind"] in order,
                                                   static=r["kind"] == "static")
        self._loaded_columns = loaded

    def _selectable_columns(self) -> Dict[str, columns.Column]:
        return self._columns

    @property
    def _db_map(self) -> Dict[str, str]:
        return {name: name for name in self._columns}

    @property
    def _primary_keys(self) -> Dict[str, columns.Column]:
        return {k: c for k, c in self._columns.items() if c.primary_key}

    @property
    def _partition_keys(self) -> Dict[str, columns.Column]:
        return {k: c for k, c in self._columns.items() if c.partition_key}

    @property
    def _clustering_keys(self) -> Dict[str, columns.Column]:
        return {k: c for k, c in self._columns.items() if c.primary_key and not c.partition_key}

    @property
    def _pk_name(self) -> str:
        return next(iter(self._partition_keys))

    @property
    def objects(self) -> NamedQuerySet:
        qs = NamedQuerySet(self)
        qs._connection = self._connection
        return qs

    def column(self, name: str) -> NamedColumn:
        """The column ``name``, for ``filter(table.column('x') > 1)`` expressions."""
        col = self._columns.get(name)
        if col is None:
            raise CQLEngineException("%s.%s has no column %r" % (self.keyspace, self.name, name))
        return col

    def column_family_name(self, include_keyspace: bool = True) -> str:
        table = quote_identifier(self.name)
        return "%s.%s" % (quote_identifier(self.keyspace), table) if include_keyspace else table

    def _table_cql(self, keyspace: Optional[str] = None) -> str:
        return "%s.%s" % (quote_identifier(keyspace or self.keyspace), quote_identifier(self.name))

    def _construct_instance(self, values: Dict[str, Any]) -> ResultObject:
        return ResultObject(values)

    def _get_column(self, name: str) -> NamedColumn:
        return self.column(name)

    def all(self):
        return self.objects.all()

    def filter(self, *args, **kwargs):
        return self.objects.filter(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self.objects.get(*args, **kwargs)


class NamedKeyspace:
    """A keyspace addressed by name: ``table(name)`` gives its NamedTables."""

    def __init__(self, name: str, connection: Optional[str] = None) -> None:
        self.name = name
        self.connection = connection

    def __repr__(self) -> str:
        return "<NamedKeyspace %s>" % self.name

    def table(self, name: str) -> NamedTable:
        table = NamedTable(self.name, name)
        table._connection = self.connection
        return table
