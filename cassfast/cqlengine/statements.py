"""CQL text builders for the mapper's SELECT, INSERT, UPDATE and DELETE statements.

Every builder produces ``(cql, values)``: CQL text whose user values are all ``?`` bind markers
(CQL spec, "Prepared statements"), and the values in marker order.  The text depends only on the
*shape* of the operation (which columns, which operators, which options), so it doubles as the
key of the per-connection prepared-statement cache and each shape is prepared once.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from cassfast.cqlengine import CQLEngineException
from cassfast.cqlengine.columns import (Column, Counter, List as ListColumn, Map, Set, _PartitionKeysToken,
                                        quote_identifier)
from cassfast.cqlengine.functions import QueryValue, Token
from cassfast.cqlengine.operators import BaseWhereOperator, ContainsKeyOperator, ContainsOperator, InOperator


class StatementException(CQLEngineException):
    pass


class WhereClause:
    """``<column> <operator> <value>``; the value already converted for the driver."""

    __slots__ = ("column", "operator", "value")

    def __init__(self, column: Column, operator: BaseWhereOperator, value: Any) -> None:
        self.column = column
        self.operator = operator
        self.value = value

    @classmethod
    def build(cls, column: Column, operator: BaseWhereOperator, value: Any) -> "WhereClause":
        """Convert ``value`` with the column (element-wise for IN and CONTAINS)."""
        if isinstance(value, QueryValue):
            if isinstance(value, Token):
                if not isinstance(column, _PartitionKeysToken):
                    raise StatementException("Token() values can only be compared with pk__token")
                try:
                    value.set_columns(column.partition_columns)
                except CQLEngineException as exc:
                    raise StatementException(str(exc)) from None
            return cls(column, operator, value)
        if value is None:
            raise StatementException("None values on filter are not allowed (%s)" % column.column_name)
        if isinstance(operator, InOperator):
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise StatementException("IN needs a list, tuple or set of values for %s" % column.column_name)
            value = [column.to_database(column.validate(v)) for v in value]
        elif isinstance(operator, ContainsKeyOperator):
            if not isinstance(column, Map):
                raise StatementException("CONTAINS KEY needs a map column, not %s" % column.column_name)
            value = column.key_col.to_database(column.key_col.validate(value))
        elif isinstance(operator, ContainsOperator):
            if not isinstance(column, (ListColumn, Set, Map)):
                raise StatementException("CONTAINS needs a collection column, not %s" % column.column_name)
            value = column.value_col.to_database(column.value_col.validate(value))
        elif isinstance(column, _PartitionKeysToken):
            raise StatementException("pk__token filters take a Token(...) value")
        else:
            value = column.to_database(column.validate(value))
        return cls(column, operator, value)

    def cql(self, values: List[Any]) -> str:
        if isinstance(self.value, QueryValue):
            values.extend(self.value.bind_values())
            return "%s %s %s" % (self.column.cql, self.operator, self.value.cql())
        values.append(self.value)
        return "%s %s ?" % (self.column.cql, self.operator)

    def __repr__(self) -> str:
        return "<WhereClause %s %s %r>" % (self.column.db_field_name, self.operator, self.value)


class ConditionalClause(WhereClause):
    """One condition of an ``IF`` clause (lightweight transactions)."""


def _where(clauses: Sequence[WhereClause], values: List[Any]) -> str:
    return " WHERE " + " AND ".join(c.cql(values) for c in clauses) if clauses else ""


def _conditions(if_exists: bool, if_not_exists: bool, conditionals: Sequence[WhereClause],
                values: List[Any]) -> str:
    if if_not_exists:
        return " IF NOT EXISTS"
    if if_exists:
        return " IF EXISTS"
    if conditionals:
        return " IF " + " AND ".join(c.cql(values) for c in conditionals)
    return ""


def _using(ttl: Optional[int], timestamp: Optional[int], values: List[Any]) -> str:
    parts = []
    if ttl is not None:
        parts.append("TTL ?")
        values.append(ttl)
    if timestamp is not None:
        parts.append("TIMESTAMP ?")
        values.append(timestamp)
    return " USING " + " AND ".join(parts) if parts else ""


def select(table: str, fields: Optional[Sequence[str]], where: Sequence[WhereClause], *, count: bool = False,
           distinct: bool = False, order_by: Sequence[str] = (), limit: Optional[int] = None,
           allow_filtering: bool = False) -> Tuple[str, List[Any]]:
    values: List[Any] = []
    if count:
        what = "COUNT(*)"
    else:
        what = ", ".join(quote_identifier(f) for f in fields) if fields else "*"
        if distinct:
            what = "DISTINCT " + what
    cql = "SELECT %s FROM %s%s" % (what, table, _where(where, values))
    if order_by:
        cql += " ORDER BY " + ", ".join(order_by)
    if limit is not None:
        cql += " LIMIT ?"
        values.append(limit)
    if allow_filtering:
        cql += " ALLOW FILTERING"
    return cql, values


def insert(table: str, assignments: Sequence[Tuple[Column, Any]], *, ttl: Optional[int] = None,
           timestamp: Optional[int] = None, if_not_exists: bool = False) -> Tuple[str, List[Any]]:
    values = [v for _, v in assignments]
    cql = "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(c.cql for c, _ in assignments),
                                               ", ".join("?" * len(assignments)))
    if if_not_exists:
        cql += " IF NOT EXISTS"
    cql += _using(ttl, timestamp, values)
    return cql, values


# Kinds of SET assignment (CQL spec, "UPDATE"): replace, counter delta, collection operations.
ASSIGN, INCREMENT, APPEND, PREPEND, REMOVE, MAP_PUT = range(6)


def update(table: str, assignments: Sequence[Tuple[Column, int, Any]], where: Sequence[WhereClause], *,
           ttl: Optional[int] = None, timestamp: Optional[int] = None, if_exists: bool = False,
           conditionals: Sequence[WhereClause] = ()) -> Tuple[str, List[Any]]:
    if not assignments:
        raise StatementException("UPDATE without any column to set")
    values: List[Any] = []
    using = _using(ttl, timestamp, values)
    sets = []
    for col, kind, value in assignments:
        name = col.cql
        if kind == ASSIGN or kind == MAP_PUT:
            sets.append("%s = ?" % name if kind == ASSIGN else "%s = %s + ?" % (name, name))
        elif kind == INCREMENT:
            # A counter only moves by a (signed) delta (CQL spec, "Counters").
            sets.append("%s = %s + ?" % (name, name))
        elif kind == APPEND:
            sets.append("%s = %s + ?" % (name, name))
        elif kind == PREPEND:
            sets.append("%s = ? + %s" % (name, name))
        elif kind == REMOVE:
            sets.append("%s = %s - ?" % (name, name))
        values.append(value)
    cql = "UPDATE %s%s SET %s%s" % (table, using, ", ".join(sets), _where(where, values))
    cql += _conditions(if_exists, False, conditionals, values)
    return cql, values


def delete(table: str, fields: Sequence[Column], where: Sequence[WhereClause], *,
           timestamp: Optional[int] = None, if_exists: bool = False,
           conditionals: Sequence[WhereClause] = ()) -> Tuple[str, List[Any]]:
    values: List[Any] = []
    what = " " + ", ".join(c.cql for c in fields) if fields else ""
    using = _using(None, timestamp, values)
    cql = "DELETE%s FROM %s%s%s" % (what, table, using, _where(where, values))
    cql += _conditions(if_exists, False, conditionals, values)
    return cql, values


def is_counter_assignment(col: Column) -> bool:
    return isinstance(col, Counter)
