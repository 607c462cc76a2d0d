"""CQL functions usable as filter values: ``Token``, ``MinTimeUUID``, ``MaxTimeUUID``.

A function value renders as CQL around bind markers (``minTimeuuid(?)``) and contributes its
arguments as bind values, so ``filter(id__gt=MinTimeUUID(dt))`` stays a prepared statement.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, List

from cassfast.cqlengine import ValidationError


class QueryValue:
    """A filter value; subclasses render a CQL function of bind markers."""

    format_string = "?"

    def __init__(self, value: Any) -> None:
        self.value = value

    def cql(self) -> str:
        return self.format_string

    def bind_values(self) -> List[Any]:
        return [self.value]


class BaseQueryFunction(QueryValue):
    """Base of the CQL functions the mapper can put in a WHERE clause."""


def _epoch_ms(value: datetime) -> int:
    if not isinstance(value, datetime):
        raise ValidationError("%r is not a datetime" % (value,))
    if value.tzinfo is None:  # naive = UTC, as for the timestamp column
        value = value.replace(tzinfo=timezone.utc)
    # timestamp() is exact for whole milliseconds; round the float once, here.
    return int(round(value.timestamp() * 1000))


class TimeUUIDQueryFunction(BaseQueryFunction):
    """A timeuuid bound computed by the server from a datetime (given in epoch milliseconds)."""

    def __init__(self, value: datetime) -> None:
        super().__init__(_epoch_ms(value))


class MinTimeUUID(TimeUUIDQueryFunction):
    """``minTimeuuid(t)``: the smallest timeuuid of millisecond ``t`` (CQL "Timeuuid functions")."""

    format_string = "minTimeuuid(?)"


class MaxTimeUUID(TimeUUIDQueryFunction):
    """``maxTimeuuid(t)``: the largest timeuuid of millisecond ``t``."""

    format_string = "maxTimeuuid(?)"


class Token(BaseQueryFunction):
    """``token(v1, v2...)``: compares a partition key's token, to walk a table in token order.

    Used as ``Model.objects.filter(pk__token__gt=Token(last.pk))``; the values are converted by
    the partition key columns when the filter is applied.
    """

    def __init__(self, *values: Any) -> None:
        if len(values) == 1 and isinstance(values[0], (list, tuple)):
            values = tuple(values[0])
        super().__init__(list(values))
        self._columns = None

    def set_columns(self, columns) -> None:
        if len(columns) != len(self.value):
            raise ValidationError("token() needs %d values (one per partition key column), got %d"
                                  % (len(columns), len(self.value)))
        self._columns = columns

    def cql(self) -> str:
        return "token(%s)" % ", ".join("?" * len(self.value))

    def bind_values(self) -> List[Any]:
        if self._columns is None:
            return list(self.value)
        return [c.to_database(v) for c, v in zip(self._columns, self.value)]
