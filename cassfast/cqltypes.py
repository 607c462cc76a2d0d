"""CQL type descriptors with cassandra-driver's ``cassandra.cqltypes`` API.

Every CQL type is a class (``Int32Type``, ``UTF8Type``, ...); parameterised types are subclasses
built by ``apply_parameters`` (``MapType.apply_parameters([UTF8Type, Int32Type])``).  The classes
carry names and structure only: ``serialize``/``deserialize`` delegate to the compiled codecs in
``cassfast._types``, which build one codec object per descriptor and cache it.  Type strings are
parsed in both forms a server produces: Java marshal class names (``lookup_casstype``, used by
custom types and vectors in result metadata) and CQL syntax (``parse_cql_type``, what
``system_schema`` stores in Cassandra 3.0+, e.g. ``frozen<map<text, list<int>>>``).
"""
from __future__ import annotations

import re
import sys
import weakref
from binascii import unhexlify
from collections import namedtuple
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from cassfast import UnsupportedOperation, util
from cassfast import _logger_for

log = _logger_for(__name__)

apache_cassandra_type_prefix = "org.apache.cassandra.db.marshal."
cassandra_empty_type = "org.apache.cassandra.db.marshal.EmptyType"
cql_empty_type = "empty"

_casstypes: dict = {}
_cqltypes: dict = {}

# The compiled codecs (cassfast._types_codecs.codec_for) are built from these descriptors, so
# this module cannot import them: the root module connects them once it has loaded the compiled
# core (cassfast/__init__.py), before any code outside cassfast can call serialize/deserialize.
_codec_lookup = None
_builtin_codec_lookup = None  # cassfast._types.builtin_codec_for, connected by the root module too


def _codec_for(cqltype):
    return _codec_lookup(cqltype)


def _builtin_codec_for(cqltype):
    """The compiled codec of ``cqltype`` without any ``deserialize`` override (see below)."""
    _codec_for(cqltype)
    return _builtin_codec_lookup(cqltype)


# Deserializer overrides.  Tools replace a descriptor's ``deserialize`` (cqlsh sets
# ``DateType.deserialize`` to return the milliseconds of timestamps outside datetime's range) or
# define it in a subclass; the reference's pure-Python decoding calls it for every value.
# cassfast decides once per descriptor, when its codec is built (``_deserializer_override``): a
# descriptor whose ``deserialize`` is not cassfast's own gets a codec that calls it, every other
# one keeps the compiled decoder.  Setting or deleting ``deserialize`` on a descriptor class
# drops the codecs built so far and the listeners' caches (``_types`` registers its result
# metadata cache), so an override set after connecting applies to the next parsed results;
# metadata already held by a PreparedStatement keeps the codecs it was built with.
_BUILTIN_DESERIALIZE: dict = {}
_all_descriptors: "weakref.WeakSet" = weakref.WeakSet()
_deserializer_listeners: list = []


def _deserializer_override(cqltype) -> Optional[Callable]:
    """``cqltype.deserialize`` when it is not cassfast's own, else None.

    An override reaches the subclasses that share its class's value format (``_codec_kind``):
    ``TimestampType`` and ``CounterColumnType`` inherit overrides of ``DateType`` and
    ``LongType``, but ``TimeUUIDType`` (a ``DateType`` subclass that the reference gives its own
    ``deserialize``) does not get cqlsh's ``DateType`` hook.
    """
    for klass in cqltype.__mro__:
        own = klass.__dict__.get("deserialize")
        if own is not None:
            if _BUILTIN_DESERIALIZE.get(klass) is own:
                return None
            if getattr(klass, "_codec_kind", None) != getattr(cqltype, "_codec_kind", None):
                return None
            return cqltype.deserialize
    return None


def _deserializers_changed() -> None:
    for klass in list(_all_descriptors):
        if "_cassfast_codec" in klass.__dict__:
            type.__delattr__(klass, "_cassfast_codec")
    for listener in _deserializer_listeners:
        listener()


def _name_from_hex_string(encoded_name: str) -> str:
    return unhexlify(encoded_name).decode("utf-8")


def trim_if_startswith(s: str, prefix: str) -> str:
    return s[len(prefix):] if s.startswith(prefix) else s


class CassandraTypeType(type):
    """Metaclass that registers each public descriptor by Java class name and by CQL name."""

    def __new__(metacls, name, bases, dct):
        dct.setdefault("cassname", name)
        cls = type.__new__(metacls, name, bases, dct)
        _all_descriptors.add(cls)
        if not name.startswith("_"):
            _casstypes[name] = cls
            if not cls.typename.startswith(apache_cassandra_type_prefix):
                _cqltypes[cls.typename] = cls
        return cls

    def __setattr__(cls, name, value):
        type.__setattr__(cls, name, value)
        if name == "deserialize":
            _deserializers_changed()

    def __delattr__(cls, name):
        type.__delattr__(cls, name)
        if name == "deserialize":
            _deserializers_changed()


class EmptyValue:
    """Marker returned for empty (zero-length) non-string values when ``support_empty_values``."""

    def __str__(self):
        return "EMPTY"

    __repr__ = __str__


EMPTY = EmptyValue()


class _CassandraType(metaclass=CassandraTypeType):
    typename = "'custom'"
    subtypes: tuple = ()
    num_subtypes: Union[int, str] = 0
    fieldnames = None
    empty_binary_ok = False
    support_empty_values = False
    # Which compiled codec decodes this descriptor; see cassfast._types.codec_for.
    _codec_kind = "blob"

    def __repr__(self):
        return "<%s>" % (self.cql_parameterized_type(),)

    @classmethod
    def from_binary(cls, byts: Optional[bytes], protocol_version: int):
        """``deserialize``, except that None and empty bytes (non-string types) give None."""
        if byts is None:
            return None
        if len(byts) == 0 and not cls.empty_binary_ok:
            return EMPTY if cls.support_empty_values else None
        return cls.deserialize(byts, protocol_version)

    @classmethod
    def to_binary(cls, val, protocol_version: int) -> bytes:
        return b"" if val is None else cls.serialize(val, protocol_version)

    @classmethod
    def deserialize(cls, byts: bytes, protocol_version: int):
        """The Python value for the serialized ``byts`` of this type."""
        return _builtin_codec_for(cls).deserialize(byts, protocol_version)

    @classmethod
    def serialize(cls, val, protocol_version: int) -> bytes:
        """The serialized bytes of ``val`` as this type (TypeError/ValueError when it does not fit)."""
        return _codec_for(cls).serialize(val, protocol_version)

    @classmethod
    def cass_parameterized_type_with(cls, subtypes, full: bool = False) -> str:
        cname = cls.cassname
        if full and "." not in cname:
            cname = apache_cassandra_type_prefix + cname
        if not subtypes:
            return cname
        return "%s(%s)" % (cname, ", ".join(s.cass_parameterized_type(full=full) for s in subtypes))

    @classmethod
    def apply_parameters(cls, subtypes, names=None):
        """A subclass of this type with ``subtypes`` as its parameters (e.g. the map's key/value)."""
        if cls.num_subtypes != "UNKNOWN" and len(subtypes) != cls.num_subtypes:
            raise ValueError("%s types require %d subtypes (%d given)"
                             % (cls.typename, cls.num_subtypes, len(subtypes)))
        newname = cls.cass_parameterized_type_with(subtypes)
        return type(newname, (cls,), {"subtypes": tuple(subtypes), "cassname": cls.cassname,
                                      "fieldnames": names})

    @classmethod
    def cql_parameterized_type(cls) -> str:
        """The CQL spelling of this type, parameters in ``<>``."""
        if not cls.subtypes:
            return cls.typename
        return "%s<%s>" % (cls.typename, ", ".join(s.cql_parameterized_type() for s in cls.subtypes))

    @classmethod
    def cass_parameterized_type(cls, full: bool = False) -> str:
        return cls.cass_parameterized_type_with(cls.subtypes, full=full)

    @classmethod
    def serial_size(cls) -> Optional[int]:
        """Bytes of every value when the type is fixed-size (what ``vector`` packs without lengths)."""
        return None


CassandraType = _CassandraType


class _UnrecognizedType(_CassandraType):
    num_subtypes = "UNKNOWN"


def mkUnrecognizedType(casstypename: str):
    """A descriptor for a custom or unknown type: its values stay raw bytes."""
    return CassandraTypeType(casstypename, (_UnrecognizedType,), {"typename": "'%s'" % casstypename})


class BytesType(_CassandraType):
    typename = "blob"
    empty_binary_ok = True
    _codec_kind = "blob"


class DecimalType(_CassandraType):
    typename = "decimal"
    _codec_kind = "decimal"


class UUIDType(_CassandraType):
    typename = "uuid"
    _codec_kind = "uuid"

    @classmethod
    def serial_size(cls):
        return 16


class BooleanType(_CassandraType):
    typename = "boolean"
    _codec_kind = "boolean"

    @classmethod
    def serial_size(cls):
        return 1


class ByteType(_CassandraType):
    typename = "tinyint"
    _codec_kind = "tinyint"


class AsciiType(_CassandraType):
    typename = "ascii"
    empty_binary_ok = True
    _codec_kind = "ascii"


class FloatType(_CassandraType):
    typename = "float"
    _codec_kind = "float"

    @classmethod
    def serial_size(cls):
        return 4


class DoubleType(_CassandraType):
    typename = "double"
    _codec_kind = "double"

    @classmethod
    def serial_size(cls):
        return 8


class LongType(_CassandraType):
    typename = "bigint"
    _codec_kind = "bigint"

    @classmethod
    def serial_size(cls):
        return 8


class Int32Type(_CassandraType):
    typename = "int"
    _codec_kind = "int"

    @classmethod
    def serial_size(cls):
        return 4


class IntegerType(_CassandraType):
    typename = "varint"
    _codec_kind = "varint"


class InetAddressType(_CassandraType):
    typename = "inet"
    _codec_kind = "inet"


class CounterColumnType(LongType):
    typename = "counter"


class DateType(_CassandraType):
    typename = "timestamp"
    _codec_kind = "timestamp"

    @classmethod
    def serial_size(cls):
        return 8


class TimestampType(DateType):
    pass


class TimeUUIDType(DateType):
    typename = "timeuuid"
    _codec_kind = "uuid"

    @classmethod
    def serial_size(cls):
        return 16


class SimpleDateType(_CassandraType):
    typename = "date"
    date_format = "%Y-%m-%d"
    # Days are unsigned 32-bit with the Unix epoch at 2**31 (native protocol v5 spec 6.5).
    EPOCH_OFFSET_DAYS = 2 ** 31
    _codec_kind = "date"


class ShortType(_CassandraType):
    typename = "smallint"
    _codec_kind = "smallint"


class TimeType(_CassandraType):
    typename = "time"
    # Eight bytes on the wire, yet Cassandra 5.0 declares the type variable-length, and vectors
    # of time carry per-element lengths accordingly: no serial_size here.
    _codec_kind = "time"


class DurationType(_CassandraType):
    typename = "duration"
    _codec_kind = "duration"


class UTF8Type(_CassandraType):
    typename = "text"
    empty_binary_ok = True
    _codec_kind = "text"


class VarcharType(UTF8Type):
    typename = "varchar"


class EmptyType(_CassandraType):
    """Cassandra's ``EmptyType``: every value is empty, and decodes to None."""

    typename = "'%s'" % cassandra_empty_type
    empty_binary_ok = True
    _codec_kind = "empty"


def _check_collection_protocol(cls, protocol_version) -> None:
    # Protocol v1/v2 framed collections with 16-bit counts and lengths; cassfast only speaks v3+
    # (32-bit), so it refuses rather than produce bytes a v1/v2 reader would misread.
    if protocol_version < 3 and cls._codec_kind in ("list", "set", "map"):
        raise UnsupportedOperation(
            "%s in native protocol v%d is not supported: cassfast encodes collections for "
            "protocol v3 and later only" % (cls.cql_parameterized_type(), protocol_version))


class _ParameterizedType(_CassandraType):
    num_subtypes = "UNKNOWN"

    @classmethod
    def deserialize(cls, byts, protocol_version):
        if not cls.subtypes:
            raise NotImplementedError("can't deserialize unparameterized %s" % cls.typename)
        _check_collection_protocol(cls, protocol_version)
        return _builtin_codec_for(cls).deserialize(byts, protocol_version)

    @classmethod
    def serialize(cls, val, protocol_version):
        if not cls.subtypes:
            raise NotImplementedError("can't serialize unparameterized %s" % cls.typename)
        _check_collection_protocol(cls, protocol_version)
        return _codec_for(cls).serialize(val, protocol_version)


class _SimpleParameterizedType(_ParameterizedType):
    pass


class ListType(_SimpleParameterizedType):
    typename = "list"
    num_subtypes = 1
    adapter = list
    _codec_kind = "list"


class SetType(_SimpleParameterizedType):
    typename = "set"
    num_subtypes = 1
    adapter = util.SortedSet
    _codec_kind = "set"


class MapType(_ParameterizedType):
    typename = "map"
    num_subtypes = 2
    _codec_kind = "map"


class TupleType(_ParameterizedType):
    typename = "tuple"
    _codec_kind = "tuple"

    @classmethod
    def cql_parameterized_type(cls):
        return "frozen<tuple<%s>>" % ", ".join(s.cql_parameterized_type() for s in cls.subtypes)


class UserType(TupleType):
    """User-defined types: one subclass per (keyspace, name), made by ``make_udt_class``.

    Values decode to ``mapped_class(**fields)`` when the application registered a class for the
    type (``Cluster.register_user_type``; the protocol layer sets ``mapped_class`` from the
    ``user_type_map``), otherwise to a generated namedtuple (``tuple_type``), or to a plain
    tuple when the type's name cannot be a Python identifier.
    """

    typename = "org.apache.cassandra.db.marshal.UserType"
    keyspace = None
    mapped_class = None
    tuple_type = None
    _codec_kind = "udt"

    _cache: dict = {}
    _module = sys.modules[__name__]

    @classmethod
    def make_udt_class(cls, keyspace: str, udt_name: str, field_names: Sequence[str],
                       field_types: Sequence[Any]):
        field_names = tuple(field_names)
        field_types = tuple(field_types)
        if len(field_names) != len(field_types):
            raise ValueError("UDT %s.%s has %d field names but %d field types"
                             % (keyspace, udt_name, len(field_names), len(field_types)))
        instance = cls._cache.get((keyspace, udt_name))
        if not instance or instance.fieldnames != field_names or instance.subtypes != field_types:
            instance = type(udt_name, (cls,), {
                "subtypes": field_types,
                "cassname": cls.cassname,
                "typename": udt_name,
                "fieldnames": field_names,
                "keyspace": keyspace,
                "mapped_class": None,
                "tuple_type": cls._make_registered_udt_namedtuple(keyspace, udt_name, field_names),
            })
            cls._cache[(keyspace, udt_name)] = instance
        return instance

    @classmethod
    def evict_udt_class(cls, keyspace: str, udt_name: str) -> None:
        cls._cache.pop((keyspace, udt_name), None)

    @classmethod
    def apply_parameters(cls, subtypes, names=None):
        # UserType(keyspace, hex(name), hex(field1):type1, ...): the first two "types" come back
        # from the class-name parser as unrecognized types named after the strings.
        keyspace = subtypes[0].cass_parameterized_type()
        udt_name = _name_from_hex_string(subtypes[1].cassname)
        field_names = tuple(_name_from_hex_string(n) for n in names[2:])
        return cls.make_udt_class(keyspace, udt_name, field_names, tuple(subtypes[2:]))

    @classmethod
    def cql_parameterized_type(cls):
        return "frozen<%s>" % (cls.typename,)

    @classmethod
    def _make_registered_udt_namedtuple(cls, keyspace, name, field_names):
        # Registered as a module attribute so values of unmapped UDTs pickle (OrderedMap keys).
        t = cls._make_udt_tuple_type(name, field_names)
        if t:
            setattr(cls._module, "%s_%s" % (keyspace, name), t)
            t.__module__ = __name__
            t.__qualname__ = "%s_%s" % (keyspace, name)
        return t

    @classmethod
    def _make_udt_tuple_type(cls, name, field_names):
        try:
            return namedtuple(name, field_names)
        except ValueError:
            pass
        try:
            t = namedtuple(name, util._positional_rename_invalid_identifiers(field_names))
            log.warning("could not create a namedtuple for '%s' because one or more field names "
                        "are not valid Python identifiers (%s); returning positionally-named "
                        "fields", name, field_names)
            return t
        except ValueError:
            log.warning("could not create a namedtuple for '%s' because the name is not a valid "
                        "Python identifier; will return tuples in its place", name)
            return None


class CompositeType(_ParameterizedType):
    """Legacy composite (``CompositeType(...)`` custom type): decodes to a tuple of components."""

    typename = "org.apache.cassandra.db.marshal.CompositeType"
    _codec_kind = "composite"

    @classmethod
    def cql_parameterized_type(cls):
        return "'%s'" % (cls.cass_parameterized_type(full=True),)


class DynamicCompositeType(_ParameterizedType):
    """Legacy dynamic composite: values stay raw bytes."""

    typename = "org.apache.cassandra.db.marshal.DynamicCompositeType"
    _codec_kind = "blob"

    @classmethod
    def cql_parameterized_type(cls):
        sublist = ", ".join("%s=>%s" % (alias, typ.cass_parameterized_type(full=True))
                            for alias, typ in zip(cls.fieldnames or (), cls.subtypes))
        return "'%s(%s)'" % (cls.typename, sublist)

    @classmethod
    def deserialize(cls, byts, protocol_version):
        return _builtin_codec_for(cls).deserialize(byts, protocol_version)

    @classmethod
    def serialize(cls, val, protocol_version):
        return _codec_for(cls).serialize(val, protocol_version)


class ColumnToCollectionType(_ParameterizedType):
    """Only appears inside legacy comparator strings; carries no value."""

    typename = "org.apache.cassandra.db.marshal.ColumnToCollectionType"


class ReversedType(_ParameterizedType):
    """Clustering order DESC wrapper: values are those of its one subtype."""

    typename = "org.apache.cassandra.db.marshal.ReversedType"
    num_subtypes = 1
    _codec_kind = "wrapper"


class FrozenType(_ParameterizedType):
    """``frozen<T>``: the same bytes and values as ``T``."""

    typename = "frozen"
    num_subtypes = 1
    _codec_kind = "wrapper"


class VectorType(_CassandraType):
    """Cassandra 5 ``vector<T, n>``: exactly ``n`` non-null elements, no count on the wire.

    Fixed-size elements are packed back to back; variable-size ones are each preceded by their
    length as an unsigned vint (Cassandra's ``VectorType`` serializer).
    """

    typename = "org.apache.cassandra.db.marshal.VectorType"
    vector_size = 0
    subtype = None
    _codec_kind = "vector"

    @classmethod
    def serial_size(cls):
        size = cls.subtype.serial_size()
        return cls.vector_size * size if size is not None else None

    @classmethod
    def apply_parameters(cls, params, names=None):
        if len(params) != 2:
            raise ValueError("VectorType needs an element type and a dimension (%d given)"
                             % len(params))
        if isinstance(params[0], int):
            raise ValueError("vector element type missing")
        subtype = lookup_casstype(params[0])
        vsize = params[1]
        if not isinstance(vsize, int) or vsize <= 0:
            raise ValueError("vector dimension must be a positive integer, got %r" % (vsize,))
        name = "%s(%s, %d)" % (cls.cassname, subtype.cass_parameterized_type(), vsize)
        return type(name, (cls,), {"vector_size": vsize, "subtype": subtype, "subtypes": (subtype,),
                                   "cassname": cls.cassname})

    @classmethod
    def cass_parameterized_type(cls, full=False):
        cname = (apache_cassandra_type_prefix if full else "") + cls.cassname
        if cls.subtype is None:
            return cname
        return "%s(%s, %d)" % (cname, cls.subtype.cass_parameterized_type(full=full), cls.vector_size)

    @classmethod
    def cql_parameterized_type(cls):
        if cls.subtype is None:
            return "vector"
        return "vector<%s, %d>" % (cls.subtype.cql_parameterized_type(), cls.vector_size)


# ---------------------------------------------------------------------------------------------
# Java class-name type strings: "org.apache.cassandra.db.marshal.MapType(UTF8Type,Int32Type)"

_casstype_scanner = re.Scanner((
    (r"[()]", lambda s, t: t),
    (r"[a-zA-Z0-9_.:=>\-]+", lambda s, t: t),
    (r"[\s,]", None),
))


def lookup_casstype_simple(casstype: str):
    """The descriptor for an unparameterised Java type name; unknown names give a bytes type."""
    shortname = trim_if_startswith(casstype, apache_cassandra_type_prefix)
    try:
        return _casstypes[shortname]
    except KeyError:
        return mkUnrecognizedType(casstype)


def parse_casstype_args(typestring: str):
    tokens, remainder = _casstype_scanner.scan(typestring)
    if remainder:
        raise ValueError("weird characters %r at end" % remainder)
    # A stack of (types, names) being collected for each open parenthesis.
    args: list = [([], [])]
    for tok in tokens:
        if tok == "(":
            args.append(([], []))
        elif tok == ")":
            if len(args) < 2:
                raise ValueError("unbalanced ')'")
            types, names = args.pop()
            prev_types = args[-1][0]
            if not prev_types or isinstance(prev_types[-1], int):
                raise ValueError("parameters without a type")
            prev_types[-1] = prev_types[-1].apply_parameters(types, names)
        else:
            types, names = args[-1]
            parts = re.split(":|=>", tok)
            tok = parts.pop()
            names.append(parts[0] if parts else None)
            # Numbers are parameters only of vectors (their dimension); elsewhere, e.g. the hex
            # UDT names of UserType(...), digit strings are names.
            parent = args[-2][0][-1] if len(args) > 1 and args[-2][0] else None
            if tok.isdigit() and isinstance(parent, type) and issubclass(parent, VectorType):
                ctype = int(tok)
            else:
                ctype = lookup_casstype_simple(tok)
            types.append(ctype)
    if len(args) != 1 or len(args[0][0]) != 1 or isinstance(args[0][0][0], int):
        raise ValueError("expected exactly one type")
    return args[0][0][0]


def lookup_casstype(casstype):
    """The descriptor for a Java marshal type string (parameters included), or a descriptor itself.

    >>> lookup_casstype('org.apache.cassandra.db.marshal.MapType(UTF8Type,Int32Type)')
    <class 'cassfast.cqltypes.MapType(UTF8Type, Int32Type)'>
    """
    if isinstance(casstype, CassandraTypeType):
        return casstype
    try:
        return parse_casstype_args(casstype)
    except (ValueError, AssertionError, IndexError, TypeError, AttributeError, UnicodeError) as e:
        raise ValueError("Don't know how to parse type string %r: %s" % (casstype, e))


def is_reversed_casstype(data_type) -> bool:
    return issubclass(data_type, ReversedType)


def is_counter_type(t) -> bool:
    if isinstance(t, str):
        t = lookup_casstype(t)
    return issubclass(t, CounterColumnType)


def cql_typename(casstypename: str) -> str:
    """The CQL spelling of a Java type string: ``cql_typename('ListType(IntegerType)') == 'list<varint>'``."""
    return lookup_casstype(casstypename).cql_parameterized_type()


# ---------------------------------------------------------------------------------------------
# CQL type strings, as system_schema stores them: "frozen<map<text, frozen<list<int>>>>"

_CQL_TOKEN = re.compile(r"""\s*(?:
      (?P<punct>[<>,])
    | "(?P<quoted>(?:[^"]|"")*)"
    | '(?P<custom>(?:[^']|'')*)'
    | (?P<word>[A-Za-z0-9_.]+)
    )""", re.VERBOSE)

_CQL_SCALARS = {
    "ascii": AsciiType, "bigint": LongType, "blob": BytesType, "boolean": BooleanType,
    "counter": CounterColumnType, "date": SimpleDateType, "decimal": DecimalType,
    "double": DoubleType, "duration": DurationType, "float": FloatType, "inet": InetAddressType,
    "int": Int32Type, "smallint": ShortType, "text": UTF8Type, "time": TimeType,
    "timestamp": DateType, "timeuuid": TimeUUIDType, "tinyint": ByteType, "uuid": UUIDType,
    "varchar": VarcharType, "varint": IntegerType, "empty": EmptyType,
}

UserTypeResolver = Union[Mapping[str, Any], Callable[[str], Any], None]


def _tokenize_cql_type(text: str) -> list:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _CQL_TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError("unexpected character %r at %d in CQL type %r" % (text[pos], pos, text))
        pos = m.end()
        if m.group("punct"):
            tokens.append(("p", m.group("punct")))
        elif m.group("quoted") is not None:
            tokens.append(("name", m.group("quoted").replace('""', '"')))
        elif m.group("custom") is not None:
            tokens.append(("custom", m.group("custom").replace("''", "'")))
        else:
            tokens.append(("word", m.group("word")))
    return tokens


def parse_cql_type(text: str, user_types: UserTypeResolver = None):
    """The descriptor for a CQL type string such as ``frozen<map<text, list<int>>>``.

    ``user_types`` resolves user-defined type names (a mapping or a callable from the name as
    written, quotes removed, to a ``UserType`` descriptor); an unresolved name gives a bytes
    descriptor rather than an error, so one odd column never breaks a whole schema refresh.
    A quoted string (``'org.apache...MyType'``) is a custom type looked up by class name.
    ``frozen<T>`` yields ``T``'s descriptor: frozenness does not change the bytes.
    """
    tokens = _tokenize_cql_type(text)
    if not tokens:
        raise ValueError("empty CQL type string")
    result, pos = _parse_cql_tokens(tokens, 0, user_types, text)
    if pos != len(tokens):
        raise ValueError("trailing text after the type in %r" % (text,))
    return result


def _expect(tokens, pos, punct, text):
    if pos >= len(tokens) or tokens[pos] != ("p", punct):
        raise ValueError("expected %r at token %d in CQL type %r" % (punct, pos, text))
    return pos + 1


def _parse_cql_tokens(tokens, pos, user_types, text):
    if pos >= len(tokens):
        raise ValueError("CQL type %r ends early" % (text,))
    kind, value = tokens[pos]
    pos += 1
    if kind == "custom":
        return lookup_casstype(value), pos
    if kind == "p":
        raise ValueError("unexpected %r in CQL type %r" % (value, text))
    if kind == "word":
        lowered = value.lower()
        has_params = pos < len(tokens) and tokens[pos] == ("p", "<")
        if lowered in _CQL_SCALARS and not has_params:
            return _CQL_SCALARS[lowered], pos
        if has_params and lowered in ("frozen", "list", "set", "map", "tuple", "vector"):
            pos += 1
            params = []
            while True:
                if lowered == "vector" and len(params) == 1:
                    if pos >= len(tokens) or tokens[pos][0] != "word" or not tokens[pos][1].isdigit():
                        raise ValueError("vector dimension must be an integer in %r" % (text,))
                    params.append(int(tokens[pos][1]))
                    pos += 1
                else:
                    sub, pos = _parse_cql_tokens(tokens, pos, user_types, text)
                    params.append(sub)
                if pos < len(tokens) and tokens[pos] == ("p", ","):
                    pos += 1
                    continue
                pos = _expect(tokens, pos, ">", text)
                break
            if lowered == "frozen":
                if len(params) != 1:
                    raise ValueError("frozen<> takes one type in %r" % (text,))
                return params[0], pos
            if lowered == "list":
                return ListType.apply_parameters(params), pos
            if lowered == "set":
                return SetType.apply_parameters(params), pos
            if lowered == "map":
                return MapType.apply_parameters(params), pos
            if lowered == "tuple":
                return TupleType.apply_parameters(params), pos
            return VectorType.apply_parameters(params), pos
    # A user-defined type name: as written when quoted, lower-cased by CQL rules otherwise.
    name = value if kind == "name" else value.lower()
    if "." in name and kind == "word":
        name = name.split(".", 1)[1]
    resolved = None
    if user_types is not None:
        resolved = user_types(name) if callable(user_types) else user_types.get(name)
    if resolved is None:
        resolved = mkUnrecognizedType(name)
    return resolved, pos


_SIMPLE_TOKEN = re.compile(r"\s*(?:(frozen)\b|([a-zA-Z0-9_]+)|[,<>])")


def cql_types_from_string(cql_type: str) -> list:
    """The type names in a CQL type string, ``frozen`` left out, in order of appearance:
    ``cql_types_from_string("map<text, frozen<list<int>>>") == ["map", "text", "list", "int"]``.
    Scanning stops at the first character that is not part of a plain name or punctuation
    (a quoted name, for instance), as in the reference driver."""
    names = []
    pos = 0
    while pos < len(cql_type):
        m = _SIMPLE_TOKEN.match(cql_type, pos)
        if m is None or m.end() == pos:
            break
        if m.group(2):
            names.append(m.group(2))
        pos = m.end()
    return names


def strip_frozen(cql: str) -> str:
    """The CQL type string without its ``frozen<...>`` wrappers:
    ``strip_frozen("frozen<tuple<int, frozen<list<text>>>>") == "tuple<int, list<text>>"``."""
    out = []
    closers = []  # for each open '<': whether its '>' belongs to a dropped frozen<
    tokens = _tokenize_cql_type(cql)
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind == "word" and value.lower() == "frozen" and i + 1 < len(tokens) and tokens[i + 1] == ("p", "<"):
            closers.append(True)
            i += 2
            continue
        if kind == "p":
            if value == "<":
                closers.append(False)
                out.append("<")
            elif value == ">":
                if not closers:
                    raise ValueError("unbalanced '>' in CQL type %r" % (cql,))
                if not closers.pop():
                    out.append(">")
            else:
                out.append(", ")
        elif kind == "name":
            out.append('"%s"' % value.replace('"', '""'))
        elif kind == "custom":
            out.append("'%s'" % value.replace("'", "''"))
        else:
            out.append(value)
        i += 1
    return "".join(out)


__all__ = [
    "apache_cassandra_type_prefix", "CassandraType", "CassandraTypeType", "EMPTY", "EmptyValue",
    "AsciiType", "BooleanType", "ByteType", "BytesType", "ColumnToCollectionType",
    "CompositeType", "CounterColumnType", "DateType", "DecimalType", "DoubleType",
    "DurationType", "DynamicCompositeType", "EmptyType", "FloatType", "FrozenType",
    "InetAddressType", "Int32Type", "IntegerType", "ListType", "LongType", "MapType",
    "ReversedType", "SetType", "ShortType", "SimpleDateType", "TimeType", "TimeUUIDType",
    "TimestampType", "TupleType", "UTF8Type", "UUIDType", "UserType", "VarcharType",
    "VectorType", "cql_typename", "is_counter_type", "is_reversed_casstype", "lookup_casstype",
    "lookup_casstype_simple", "mkUnrecognizedType", "parse_casstype_args", "parse_cql_type",
    "cql_types_from_string", "strip_frozen",
]


# Every deserialize defined above is cassfast's own (decoded by the compiled codecs).
_BUILTIN_DESERIALIZE.update(
    (klass, klass.__dict__["deserialize"]) for klass in list(_all_descriptors)
    if "deserialize" in klass.__dict__)

# The reference's cassandra.cqltypes exposes the byte helpers of cassandra.marshal.
from cassfast.marshal import (  # noqa: E402,F401
    double_unpack, float_unpack, int8_unpack, int16_unpack, int32_unpack, int64_unpack,
    uint16_unpack, uint32_unpack, uvint_pack, uvint_unpack, varint_pack, varint_unpack,
    vints_pack, vints_unpack)
