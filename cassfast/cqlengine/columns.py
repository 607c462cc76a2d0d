"""Column types of the mapper: one class per CQL type, with validation and value conversion.

A ``Column`` describes one attribute of a model: its CQL type (``cql_type``), its role in the
primary key, its default, and how a Python value is checked (``validate``), prepared for the
driver (``to_database``) and read back (``to_python``).  Values go to the server as bind values
of prepared statements, so ``to_database`` returns what ``cassfast`` encodes natively (e.g.
``datetime`` for ``timestamp``, ``util.Date`` for ``date``), and a value the column cannot hold
raises ``ValidationError`` naming the column.  ``BaseValueManager`` holds one model instance's
value of one column and whether it changed since it was loaded or saved.
"""
from __future__ import annotations

import decimal
import ipaddress
import itertools
import uuid as _uuid
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any, Iterable, Optional

from cassfast import util
from cassfast.cqlengine import ValidationError

_COUNTER = itertools.count()

# Collections are serialized with [int] element counts (native protocol v4 spec 6: "[int] n");
# Cassandra itself refuses more than 65535 elements in a collection for v2-era compatibility.
MAX_COLLECTION_ELEMENTS = 65535


class BaseValueManager:
    """One instance's value of one column, plus what is needed to tell whether it changed."""

    __slots__ = ("instance", "column", "value", "previous_value", "explicit")

    def __init__(self, instance, column: "Column", value: Any) -> None:
        self.instance = instance
        self.column = column
        self.value = value
        self.previous_value = None
        self.explicit = False

    @property
    def deleted(self) -> bool:
        return self.column._val_is_null(self.value) and (self.explicit or not self.column._val_is_null(self.previous_value))

    @property
    def changed(self) -> bool:
        if self.explicit:
            return self.value != self.previous_value
        if isinstance(self.column, BaseContainerColumn):
            default = self.column.get_default()
            if self.previous_value is None and self.value == default:
                return False  # an untouched default empty collection is not a change
            return self.value != self.previous_value
        return False

    def reset_previous_value(self) -> None:
        # Collections are mutated in place (obj.tags.append(...)), so keep a copy to diff against;
        # scalars are immutable and are shared.
        value = self.value
        self.previous_value = value.copy() if isinstance(value, (list, set, dict)) else value

    def getval(self):
        return self.value

    def setval(self, val) -> None:
        self.value = val
        self.explicit = True

    def delval(self) -> None:
        self.value = None
        self.explicit = True

    def get_property(self) -> property:
        return property(self.getval, self.setval, self.delval)


class Column:
    """Base column: options shared by every CQL type."""

    db_type: Optional[str] = None
    value_manager = BaseValueManager

    def __init__(self, primary_key: bool = False, partition_key: bool = False, index: bool = False,
                 db_field: Optional[str] = None, default: Any = None, required: bool = False,
                 clustering_order: Optional[str] = None, discriminator_column: bool = False,
                 static: bool = False, custom_index: bool = False) -> None:
        self.partition_key = partition_key
        self.primary_key = partition_key or primary_key
        self.index = index
        self.custom_index = custom_index
        self.db_field = db_field
        self.default = default
        self.required = required
        self.clustering_order = clustering_order
        self.discriminator_column = discriminator_column
        self.static = static
        if clustering_order is not None and str(clustering_order).upper() not in ("ASC", "DESC"):
            raise ValidationError("clustering_order must be 'ASC' or 'DESC', not %r" % (clustering_order,))
        self.column_name: Optional[str] = None
        self._partition_key_index: Optional[int] = None
        self.position = next(_COUNTER)  # declaration order, which is the order of the key columns

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, self.column_name or "(unbound)")

    if TYPE_CHECKING:
        # For type checkers only: a model's metaclass replaces each declared column with a
        # descriptor (models.ColumnDescriptor), so ``instance.col`` is the column's value and
        # ``Model.col`` a filter expression builder, not this Column.
        def __get__(self, instance: Any, owner: Any) -> Any: ...

        def __set__(self, instance: Any, value: Any) -> None: ...

    # -- values -------------------------------------------------------------------------------

    def validate(self, value: Any) -> Any:
        """Check ``value`` and return it normalised; None passes unless the column is required."""
        if value is None and self.required:
            raise ValidationError("%s - None values are not allowed" % (self.column_name or self.db_field,))
        return value

    def to_python(self, value: Any) -> Any:
        return value

    def to_database(self, value: Any) -> Any:
        return value

    # Whether a value decoded by the driver is already what to_python returns, so that reading
    # rows can skip the conversion (see models.BaseModel._construct_instance).
    driver_value_is_python = False

    @property
    def has_default(self) -> bool:
        return self.default is not None

    @property
    def is_primary_key(self) -> bool:
        return self.primary_key

    @property
    def can_delete(self) -> bool:
        return not self.primary_key

    def get_default(self) -> Any:
        if self.has_default:
            return self.default() if callable(self.default) else self.default
        return None

    def _val_is_null(self, val: Any) -> bool:
        return val is None

    def _error(self, value: Any, what: str) -> ValidationError:
        return ValidationError("%s %r %s" % (self.column_name or type(self).__name__, value, what))

    # -- schema -------------------------------------------------------------------------------

    def set_column_name(self, name: str) -> None:
        self.column_name = name

    @property
    def db_field_name(self) -> str:
        return self.db_field if self.db_field is not None else self.column_name

    @property
    def db_index_name(self) -> str:
        return "index_%s" % self.db_field_name

    @property
    def cql(self) -> str:
        return quote_identifier(self.db_field_name)

    @property
    def cql_type(self) -> str:
        """The CQL type as written in CREATE TABLE (collections and UDTs nested as frozen)."""
        return self.db_type

    def cql_parameterized_type(self) -> str:
        return self.cql_type

    @property
    def sub_types(self) -> list:
        return []

    def get_column_def(self) -> str:
        return "%s %s%s" % (self.cql, self.cql_type, " static" if self.static else "")


def quote_identifier(name: str) -> str:
    """Double-quote a CQL identifier (CQL 3 spec, "Identifiers and keywords")."""
    return '"%s"' % name.replace('"', '""')


class Blob(Column):
    db_type = "blob"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is not None and not isinstance(value, (bytes, bytearray, memoryview)):
            raise self._error(value, "is not a bytes-like value")
        return value

    def to_database(self, value):
        return bytes(value) if isinstance(value, (bytearray, memoryview)) else value


Bytes = Blob


class Inet(Column):
    db_type = "inet"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is not None:
            try:
                ipaddress.ip_address(value)
            except ValueError:
                raise self._error(value, "is not an IPv4 or IPv6 address") from None
        return value

    def to_database(self, value):
        return None if value is None else str(value)


class Text(Column):
    db_type = "text"
    driver_value_is_python = True

    def __init__(self, min_length: Optional[int] = None, max_length: Optional[int] = None, **kwargs) -> None:
        self.min_length = 1 if min_length is None and kwargs.get("required") else min_length
        self.max_length = max_length
        for name, bound in (("min_length", self.min_length), ("max_length", self.max_length)):
            if bound is not None and bound < 0:
                raise ValueError("%s must be non-negative, not %r" % (name, bound))
        if self.min_length is not None and self.max_length is not None and self.max_length < self.min_length:
            raise ValueError("max_length (%d) is less than min_length (%d)" % (self.max_length, self.min_length))
        super().__init__(**kwargs)

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return value
        if not isinstance(value, str):
            raise self._error(value, "is not a string")
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError("%s is longer than %d characters" % (self.column_name, self.max_length))
        if self.min_length is not None and len(value) < self.min_length:
            raise ValidationError("%s is shorter than %d characters" % (self.column_name, self.min_length))
        return value


class Ascii(Text):
    db_type = "ascii"

    def validate(self, value):
        value = super().validate(value)
        if value is not None and not value.isascii():
            raise self._error(value, "is not an ASCII string")
        return value


class _IntegerColumn(Column):
    bits: Optional[int] = 32  # None = unbounded (varint)
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            try:
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
                value = int(value)
            except (TypeError, ValueError):
                raise self._error(value, "can't be converted to an integer") from None
        if self.bits is not None:
            bound = 1 << (self.bits - 1)
            if not -bound <= value < bound:
                raise self._error(value, "is out of range for a %d-bit %s" % (self.bits, self.db_type))
        return value

    def to_python(self, value):
        return self.validate(value)

    def to_database(self, value):
        return self.validate(value)


class Integer(_IntegerColumn):
    db_type = "int"
    bits = 32


class TinyInt(_IntegerColumn):
    db_type = "tinyint"
    bits = 8


class SmallInt(_IntegerColumn):
    db_type = "smallint"
    bits = 16


class BigInt(_IntegerColumn):
    db_type = "bigint"
    bits = 64


class VarInt(_IntegerColumn):
    db_type = "varint"
    bits = None


class Counter(_IntegerColumn):
    """A counter: only ever incremented or decremented, never set (CQL "Counters")."""

    db_type = "counter"
    bits = 64

    def __init__(self, index: bool = False, db_field: Optional[str] = None, required: bool = False) -> None:
        super().__init__(primary_key=False, partition_key=False, index=index, db_field=db_field,
                         default=0, required=required)


class BaseFloat(Column):
    """Shared by the two IEEE 754 types."""

    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self._error(value, "is not a valid float") from None

    def to_python(self, value):
        return self.validate(value)

    def to_database(self, value):
        return self.validate(value)


class Float(BaseFloat):
    db_type = "float"

    def __init__(self, double_precision: Optional[bool] = None, **kwargs) -> None:
        if double_precision:  # the reference's deprecated spelling of Double
            self.db_type = "double"
        super().__init__(**kwargs)


class Double(BaseFloat):
    db_type = "double"


class Decimal(Column):
    db_type = "decimal"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is None or isinstance(value, decimal.Decimal):
            return value
        try:
            # str() first so that a float keeps its shortest repr instead of its binary expansion
            return decimal.Decimal(value if isinstance(value, (int, str)) else str(value))
        except (TypeError, ValueError, decimal.InvalidOperation):
            raise self._error(value, "can't be converted to a decimal") from None

    def to_python(self, value):
        return self.validate(value)

    def to_database(self, value):
        return self.validate(value)


class Boolean(Column):
    db_type = "boolean"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        return value if value is None else bool(value)

    def to_python(self, value):
        return self.validate(value)

    def to_database(self, value):
        return self.validate(value)


class DateTime(Column):
    """A ``timestamp``: milliseconds since the epoch, UTC.  Naive datetimes are taken as UTC."""

    db_type = "timestamp"
    driver_value_is_python = True
    truncate_microseconds = False

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return value
        if isinstance(value, datetime):
            pass
        elif isinstance(value, date):
            value = datetime(value.year, value.month, value.day)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            value = util.datetime_from_timestamp(value)
        else:
            raise self._error(value, "is not a datetime")
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        if self.truncate_microseconds:
            value = value.replace(microsecond=value.microsecond // 1000 * 1000)
        return value

    def to_python(self, value):
        return self.validate(value)

    def to_database(self, value):
        return self.validate(value)


class Date(Column):
    """A ``date``: held as ``util.Date`` as in the reference (it compares equal to
    ``datetime.date`` and also covers days outside ``date``'s years 1-9999)."""

    db_type = "date"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is None or isinstance(value, util.Date):
            return value
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            try:
                return util.Date(value)
            except (TypeError, ValueError):
                pass
        raise self._error(value, "is not a date")

    def to_python(self, value):
        value = self.validate(value)
        return value if value is None or isinstance(value, util.Date) else util.Date(value)

    def to_database(self, value):
        return self.validate(value)


class Time(Column):
    """A ``time``: nanoseconds since midnight, read back as ``util.Time``."""

    db_type = "time"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is None or isinstance(value, util.Time):
            return value
        if isinstance(value, (time, str)) or (isinstance(value, int) and not isinstance(value, bool)):
            try:
                return util.Time(value)
            except (TypeError, ValueError):
                pass
        raise self._error(value, "is not a time of day")

    def to_python(self, value):
        return self.validate(value)

    def to_database(self, value):
        return self.validate(value)


class Duration(Column):
    db_type = "duration"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is not None and not isinstance(value, util.Duration):
            raise self._error(value, "is not a cassfast.util.Duration")
        return value


class UUID(Column):
    db_type = "uuid"
    driver_value_is_python = True

    def validate(self, value):
        value = super().validate(value)
        if value is None or isinstance(value, _uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return _uuid.UUID(value)
            except ValueError:
                pass
        raise self._error(value, "is not a valid uuid")

    def to_python(self, value):
        return self.validate(value)

    def to_database(self, value):
        return self.validate(value)


class TimeUUID(UUID):
    db_type = "timeuuid"

    def validate(self, value):
        value = super().validate(value)
        if value is not None and value.version != 1:
            raise self._error(value, "is not a version 1 (time-based) uuid")
        return value

    @classmethod
    def from_datetime(cls, dt: datetime) -> _uuid.UUID:
        """A fresh time-based UUID for ``dt`` (random clock sequence and node)."""
        return util.uuid_from_time(dt)


# -- nested types ---------------------------------------------------------------------------------

def _instantiate(col_type) -> Column:
    if isinstance(col_type, type) and issubclass(col_type, Column):
        col_type = col_type()
    if not isinstance(col_type, Column):
        raise ValidationError("%r is not a column type" % (col_type,))
    if isinstance(col_type, Counter):
        raise ValidationError("counters can't be nested in collections, tuples or UDTs")
    return col_type


def _nested_cql(col: Column) -> str:
    # Collections, tuples and UDTs nested in another type must be frozen (CQL spec, "Frozen").
    t = col.cql_type
    if isinstance(col, (BaseCollectionColumn, UserDefinedType)) and not t.startswith("frozen<"):
        return "frozen<%s>" % t
    return t


class BaseCollectionColumn(Column):
    """A column whose value holds values of nested column types (collections and tuples)."""

    def __init__(self, types: Iterable, **kwargs) -> None:
        self.types = [_instantiate(t) for t in types]
        super().__init__(**kwargs)

    def set_column_name(self, name: str) -> None:
        super().set_column_name(name)
        for t in self.types:  # so that an element's error names the collection
            t.set_column_name(name)

    @property
    def sub_types(self) -> list:
        return self.types


BaseContainerColumn = BaseCollectionColumn


class _Container(BaseCollectionColumn):
    def validate(self, value):
        value = super().validate(value)
        if value is not None and len(value) > MAX_COLLECTION_ELEMENTS:
            raise ValidationError("%s: collections may hold at most %d elements"
                                  % (self.column_name, MAX_COLLECTION_ELEMENTS))
        return value

    def _val_is_null(self, val) -> bool:
        return not val  # an empty collection is stored as null by Cassandra


class List(_Container):
    db_type = "list"

    def __init__(self, value_type, default=list, **kwargs) -> None:
        super().__init__((value_type,), default=default, **kwargs)
        self.value_col = self.types[0]

    @property
    def cql_type(self) -> str:
        return "list<%s>" % _nested_cql(self.value_col)

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return None
        if not isinstance(value, (list, tuple)):
            raise self._error(value, "is not a list")
        return [self.value_col.validate(v) for v in value]

    def to_python(self, value):
        return None if value is None else [self.value_col.to_python(v) for v in value]

    def to_database(self, value):
        return None if value is None else [self.value_col.to_database(v) for v in value]


class Set(_Container):
    db_type = "set"

    def __init__(self, value_type, strict: bool = True, default=set, **kwargs) -> None:
        self.strict = strict
        super().__init__((value_type,), default=default, **kwargs)
        self.value_col = self.types[0]

    @property
    def cql_type(self) -> str:
        return "set<%s>" % _nested_cql(self.value_col)

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return None
        kinds = (set, frozenset, util.SortedSet) if self.strict else (set, frozenset, util.SortedSet, list, tuple)
        if not isinstance(value, kinds):
            raise self._error(value, "is not a set" if self.strict else "is not a set, list or tuple")
        if None in value:
            raise ValidationError("%s: None is not allowed in a set" % self.column_name)
        return {self.value_col.validate(v) for v in value}

    def to_python(self, value):
        return None if value is None else {self.value_col.to_python(v) for v in value}

    def to_database(self, value):
        return None if value is None else {self.value_col.to_database(v) for v in value}


class Map(_Container):
    db_type = "map"

    def __init__(self, key_type, value_type, default=dict, **kwargs) -> None:
        super().__init__((key_type, value_type), default=default, **kwargs)
        self.key_col, self.value_col = self.types

    @property
    def cql_type(self) -> str:
        return "map<%s, %s>" % (_nested_cql(self.key_col), _nested_cql(self.value_col))

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return None
        if not isinstance(value, dict) and not hasattr(value, "items"):
            raise self._error(value, "is not a dict")
        if None in value:
            raise ValidationError("%s: None is not allowed as a map key" % self.column_name)
        return {self.key_col.validate(k): self.value_col.validate(v) for k, v in value.items()}

    def to_python(self, value):
        if value is None:
            return None
        return {self.key_col.to_python(k): self.value_col.to_python(v) for k, v in value.items()}

    def to_database(self, value):
        if value is None:
            return None
        return {self.key_col.to_database(k): self.value_col.to_database(v) for k, v in value.items()}


class Tuple(BaseCollectionColumn):
    db_type = "tuple"

    def __init__(self, *args, **kwargs) -> None:
        if not args:
            raise ValueError("Tuple must specify at least one inner type")
        super().__init__(args, **kwargs)

    @property
    def cql_type(self) -> str:
        # Tuples are always frozen (CQL spec, "Tuples"); the keyword is only needed when nested.
        return "tuple<%s>" % ", ".join(_nested_cql(t) for t in self.types)

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return None
        if not isinstance(value, (tuple, list)):
            raise self._error(value, "is not a tuple")
        if len(value) > len(self.types):
            raise ValidationError("%s: too many values for a tuple of %d" % (self.column_name, len(self.types)))
        return tuple(t.validate(v) for t, v in zip(self.types, value))

    def to_python(self, value):
        if value is None:
            return None
        return tuple(t.to_python(v) for t, v in zip(self.types, value))

    def to_database(self, value):
        if value is None:
            return None
        return tuple(t.to_database(v) for t, v in zip(self.types, value))


class UserDefinedType(Column):
    """A column holding a user-defined type declared as a ``usertype.UserType`` subclass."""

    def __init__(self, user_type: type, **kwargs) -> None:
        from cassfast.cqlengine.usertype import UserType
        if not (isinstance(user_type, type) and issubclass(user_type, UserType)):
            raise ValidationError("UserDefinedType needs a UserType subclass, not %r" % (user_type,))
        self.user_type = user_type
        super().__init__(**kwargs)

    @property
    def cql_type(self) -> str:
        return "frozen<%s>" % quote_identifier(self.user_type.type_name())

    @property
    def sub_types(self) -> list:
        return list(self.user_type._fields.values())

    def validate(self, value):
        value = super().validate(value)
        if value is None:
            return None
        if isinstance(value, dict):
            value = self.user_type(**value)
        if not isinstance(value, self.user_type):
            raise self._error(value, "is not a %s" % self.user_type.__name__)
        value.validate()
        return value

    def to_python(self, value):
        if value is None:
            return None
        if isinstance(value, self.user_type):
            value._mark_persisted()
            return value
        # Rows decoded before the class was registered carry a named tuple or a mapping.
        items = value.items() if hasattr(value, "items") else value._asdict().items()
        by_db = {f.db_field_name: name for name, f in self.user_type._fields.items()}
        inst = self.user_type(**{by_db[k]: self.user_type._fields[by_db[k]].to_python(v)
                                 for k, v in items if k in by_db})
        inst._mark_persisted()
        return inst

    def to_database(self, value):
        if value is None:
            return None
        value = self.validate(value)
        # A mapping by CQL field name: what cassfast's UDT codec accepts for any registered or
        # unregistered type, so binding works whether or not the class is registered yet.
        return {f.db_field_name: f.to_database(value._values[name])
                for name, f in self.user_type._fields.items()}


def resolve_udts(col: Column, out: list) -> None:
    """Append to ``out`` every UserType ``col`` uses, innermost first (CREATE TYPE order)."""
    for sub in col.sub_types:
        resolve_udts(sub, out)
    if isinstance(col, UserDefinedType) and col.user_type not in out:
        out.append(col.user_type)


class _PartitionKeysToken(Column):
    """The ``token(<partition key>)`` pseudo column that ``pk__token`` filters compare with."""

    def __init__(self, model) -> None:
        self.partition_columns = list(model._partition_keys.values())
        super().__init__(partition_key=True)

    @property
    def db_field_name(self) -> str:
        return "token(%s)" % ", ".join(c.cql for c in self.partition_columns)

    @property
    def cql(self) -> str:
        return self.db_field_name
