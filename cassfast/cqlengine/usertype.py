"""User-defined types: declare a CQL UDT as a class of columns, use it in ``UserDefinedType``.

A ``UserType`` subclass lists its fields as columns, like a model without a primary key.
``management.sync_type`` (or ``sync_table`` of a model that uses it) creates the type and
registers the class with the cluster, so values read back decode into instances of it.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Optional

from cassfast.cqlengine import CQLEngineException, ValidationError, columns

_CAMEL = re.compile(r"([a-z])([A-Z])")


class UserTypeException(CQLEngineException):
    pass


class UserTypeDefinitionException(UserTypeException):
    pass


class BaseUserType:
    """Instance behaviour of UDT values: attribute and mapping access to the fields."""

    __type_name__: Optional[str] = None
    _fields: Dict[str, columns.Column] = {}
    _db_map: Dict[str, str] = {}

    def __init__(self, **values: Any) -> None:
        # The driver builds registered classes with the CQL field names; accept those too.
        values = {self._db_map.get(k, k): v for k, v in values.items()}
        unknown = [k for k in values if k not in self._fields]
        if unknown:
            raise ValidationError("%s has no field(s) %s" % (type(self).__name__, ", ".join(sorted(unknown))))
        self._values: Dict[str, Any] = {}
        for name, field in self._fields.items():
            value = values.get(name)
            if value is None and name not in values and field.has_default:
                value = field.get_default()
            self._values[name] = field.to_python(value) if value is not None else None
        self._is_persisted = False

    def _mark_persisted(self) -> None:
        self._is_persisted = True

    def __eq__(self, other) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return self._values == other._values

    def __ne__(self, other) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(tuple(_hashable(v) for v in self._values.values()))

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % kv for kv in self._values.items()))

    __str__ = __repr__

    def has_changed_fields(self) -> bool:
        return not self._is_persisted

    def reset_changed_fields(self) -> None:
        self._is_persisted = True

    @classmethod
    def register_for_keyspace(cls, keyspace: str, connection: Optional[str] = None) -> None:
        """Have rows of ``keyspace`` decode this type into instances of this class."""
        from cassfast.cqlengine import connection as conn_module
        conn_module.register_udt(keyspace, cls.type_name(), cls, connection=connection)

    def __getattr__(self, name: str):
        values = self.__dict__.get("_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError("%s has no field %r" % (type(self).__name__, name))

    def __setattr__(self, name: str, value) -> None:
        if name in type(self)._fields:
            self._values[name] = value
            self._is_persisted = False
        else:
            object.__setattr__(self, name, value)

    def __getitem__(self, key: str):
        if not isinstance(key, str):
            raise TypeError
        if key not in self._fields:
            raise KeyError(key)
        return self._values[key]

    def __setitem__(self, key: str, val) -> None:
        if not isinstance(key, str):
            raise TypeError
        if key not in self._fields:
            raise KeyError(key)
        setattr(self, key, val)

    def __len__(self) -> int:
        return len(self._fields)

    def __iter__(self):
        return iter(self._fields)

    def keys(self):
        return list(self._fields)

    def values(self):
        return [self._values[k] for k in self._fields]

    def items(self):
        return [(k, self._values[k]) for k in self._fields]

    @classmethod
    def type_name(cls) -> str:
        """The CQL name of the type: ``__type_name__`` or the class name in snake_case."""
        if cls.__type_name__:
            return cls.__type_name__.lower()
        name = _CAMEL.sub(lambda m: "%s_%s" % (m.group(1), m.group(2).lower()), cls.__name__)
        return re.sub(r"^_+", "", name[-48:].lower())

    def validate(self) -> None:
        for name, field in self._fields.items():
            self._values[name] = field.validate(self._values[name])


def _hashable(v):
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)


class UserTypeMetaClass(type):
    def __new__(mcs, name, bases, attrs):
        fields: Dict[str, columns.Column] = {}
        for base in reversed(bases):
            fields.update(getattr(base, "_fields", {}))
        own = sorted(((k, v) for k, v in attrs.items() if isinstance(v, columns.Column)),
                     key=lambda kv: kv[1].position)
        for k, field in own:
            if field.primary_key or field.partition_key or field.index or field.static:
                raise UserTypeDefinitionException("UDT field '%s' can't be a key, an index or static" % k)
            if isinstance(field, columns.Counter):
                raise UserTypeDefinitionException("UDT field '%s' can't be a counter" % k)
            if k in BaseUserType.__dict__:
                raise UserTypeDefinitionException("field '%s' conflicts with built-in attribute/method" % k)
            field.set_column_name(k)
            fields[k] = field
            del attrs[k]
        db_map = {}
        for k, field in fields.items():
            if field.db_field_name in db_map:
                raise UserTypeDefinitionException("%s defines the field '%s' more than once"
                                                  % (name, field.db_field_name))
            db_map[field.db_field_name] = k
        attrs["_fields"] = fields
        attrs["_db_map"] = db_map
        return super().__new__(mcs, name, bases, attrs)


class UserType(BaseUserType, metaclass=UserTypeMetaClass):
    """Base class of user-defined types (``__type_name__`` overrides the CQL name)."""

    __type_name__ = None
