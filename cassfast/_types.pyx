# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Result metadata, row decoding and bind-value encoding over the compiled CQL value codecs.

Each CQL type descriptor from ``cassfast.cqltypes`` gets one ``Codec`` object (``codec_for``),
built once and cached on the descriptor; codecs decode straight from a ``const unsigned char*``
into Python values and encode into a ``WriteBuffer``, dispatching through cdef methods.  On top
of them this module parses the ``<metadata>`` of RESULT Rows and Prepared bodies (native
protocol v5 spec sections 4.2.5.2 and 4.2.5.4) into ``ResultMetadata`` objects that keep the
column codecs and the row class, and decodes ``<rows_count><rows_content>`` into rows.

Module API (what ``_core``/``protocol`` and ``query`` rely on):

- ``UNSET_VALUE``: the "leave this bind variable unset" marker (a [value] of length -2, v4+).
- ``DecodeError(ValueError)``: any malformed or truncated input; the protocol layer wraps it.
- ``read_type_option(body, pos, user_type_map=None) -> (cqltype, pos)``: one [option] type tree.
- ``parse_result_metadata(body, pos, protocol_version, user_type_map)
  -> (metadata_or_None, paging_state_or_None, new_metadata_id_or_None, column_count, pos)``;
  metadata is None when the server set NO_METADATA.
- ``parse_prepared_metadata(body, pos, protocol_version, user_type_map)
  -> (bind_metadata, pk_indexes, pos)``; pk_indexes is None before protocol v4.
- ``decode_rows(body, pos, metadata, row_factory, protocol_version) -> list`` of rows; the
  built-in factories of ``cassfast.rows`` are recognised by identity and built here directly,
  any other factory is called as ``row_factory(column_names, list_of_tuples)``.
- ``encode_values(bind_metadata, values, protocol_version) -> list`` of ``bytes | None |
  UNSET_VALUE``, values given by position (sequence) or by column name (mapping).
- ``codec_for(cqltype) -> Codec`` with ``serialize(value, protocol_version)`` and
  ``deserialize(data, protocol_version)`` (what ``cqltypes.X.serialize/deserialize`` call).

Nothing is allocated from a count or length read off the wire before that count has been
checked against the bytes that remain.  This module does no I/O and imports only the value
layer (``cassfast.util``, ``cassfast.cqltypes``, ``cassfast.rows``).

The codecs themselves live in ``cassfast._types_codecs`` (scalars, ``Codec``, ``codec_for``,
``DecodeError``) and ``cassfast._types_collections`` (parameterised types); this module is the
metadata and rows layer on top of them and re-exports what callers need.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_SetItem
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.object cimport PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM

import uuid as _uuid_module
from collections import namedtuple as _namedtuple
from collections.abc import Mapping as _Mapping

from cassfast import cqltypes as _cqltypes
from cassfast import rows as _rows
from cassfast import _types_collections  # noqa: F401  (registers the collection codecs)
from cassfast._types_codecs cimport Codec as CodecT
from cassfast._types_codecs cimport codec_for as _codec_for
from cassfast._types_codecs cimport (WriteBuffer, _read_bytes, _read_i32, _read_short_bytes,
                                     _read_string, _read_u16, _truncated, empty_value)
from cassfast._bytes cimport get_u32
from cassfast._types_codecs import Codec, DecodeError, builtin_codec_for, codec_for, _uses_fast_uuid  # noqa: F401
from libc.stdint cimport int32_t

cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject* t, Py_ssize_t nitems)
    int PyObject_GC_IsTracked(object o)
    int PyObject_IS_GC(object o)
    void PyObject_GC_UnTrack(object o)

__all__ = [
    "UNSET_VALUE", "DecodeError", "Codec", "ResultMetadata", "ColumnMetadata", "codec_for",
    "read_type_option", "parse_result_metadata", "parse_prepared_metadata", "decode_rows",
    "encode_values", "clear_caches",
]

class _UnsetValue:
    """Marks a bind variable as unset: sent as a [value] of length -2 (v5 spec 3, v4+ only)."""

    __slots__ = ()

    def __repr__(self):
        return "UNSET_VALUE"

    def __reduce__(self):
        return "UNSET_VALUE"

    def __bool__(self):
        return False


UNSET_VALUE = _UnsetValue()

ColumnMetadata = _namedtuple("ColumnMetadata", ["keyspace_name", "table_name", "name", "type"])

# CQL type [option] ids and RESULT <metadata> flags (v5 spec 4.2.5.2): defined once in _wire.pxd.
from cassfast._wire cimport (
    OPTION_ASCII, OPTION_BIGINT, OPTION_BLOB, OPTION_BOOLEAN, OPTION_COUNTER, OPTION_CUSTOM,
    OPTION_DATE, OPTION_DECIMAL, OPTION_DOUBLE, OPTION_DURATION, OPTION_FLOAT, OPTION_INET,
    OPTION_INT, OPTION_LIST, OPTION_MAP, OPTION_SET, OPTION_SMALLINT, OPTION_TEXT, OPTION_TIME,
    OPTION_TIMESTAMP, OPTION_TIMEUUID, OPTION_TINYINT, OPTION_TUPLE, OPTION_UDT, OPTION_UUID,
    OPTION_VARCHAR, OPTION_VARINT,
)
from cassfast._wire cimport (ROWS_FLAG_GLOBAL_TABLES_SPEC as FLAG_GLOBAL_TABLES_SPEC,
                             ROWS_FLAG_HAS_MORE_PAGES as FLAG_HAS_MORE_PAGES,
                             ROWS_FLAG_METADATA_CHANGED as FLAG_METADATA_CHANGED,
                             ROWS_FLAG_NO_METADATA as FLAG_NO_METADATA)

# Nested [option] trees deeper than this are refused rather than recursed into.
cdef enum:
    MAX_TYPE_DEPTH = 64

cdef object _UNSET = UNSET_VALUE
cdef object _UUID = _uuid_module.UUID
cdef object _tuple_factory = _rows.tuple_factory
cdef object _named_tuple_factory = _rows.named_tuple_factory
cdef object _dict_factory = _rows.dict_factory

# ---------------------------------------------------------------------------------------------
# Type options and result metadata

# The descriptor of each [option] id without parameters.
cdef dict _SIMPLE_OPTIONS = {
    OPTION_ASCII: _cqltypes.AsciiType, OPTION_BIGINT: _cqltypes.LongType,
    OPTION_BLOB: _cqltypes.BytesType, OPTION_BOOLEAN: _cqltypes.BooleanType,
    OPTION_COUNTER: _cqltypes.CounterColumnType, OPTION_DECIMAL: _cqltypes.DecimalType,
    OPTION_DOUBLE: _cqltypes.DoubleType, OPTION_FLOAT: _cqltypes.FloatType,
    OPTION_INT: _cqltypes.Int32Type, OPTION_TEXT: _cqltypes.UTF8Type,
    OPTION_TIMESTAMP: _cqltypes.DateType, OPTION_UUID: _cqltypes.UUIDType,
    OPTION_VARCHAR: _cqltypes.VarcharType, OPTION_VARINT: _cqltypes.IntegerType,
    OPTION_TIMEUUID: _cqltypes.TimeUUIDType, OPTION_INET: _cqltypes.InetAddressType,
    OPTION_DATE: _cqltypes.SimpleDateType, OPTION_TIME: _cqltypes.TimeType,
    OPTION_SMALLINT: _cqltypes.ShortType, OPTION_TINYINT: _cqltypes.ByteType,
    OPTION_DURATION: _cqltypes.DurationType,
}

# Parameterised descriptors are classes built by apply_parameters; building one costs far more
# than decoding a page, so each distinct structure is built once and reused.
cdef dict _descriptor_cache = {}
cdef dict _metadata_cache = {}
cdef Py_ssize_t _CACHE_LIMIT = 4096


cdef object _interned(tuple key, object build):
    found = _descriptor_cache.get(key)
    if found is None:
        if len(_descriptor_cache) >= _CACHE_LIMIT:
            _descriptor_cache.clear()
        found = build()
        _descriptor_cache[key] = found
    return found


def clear_caches() -> None:
    """Forget the interned descriptors and result metadata (tests; schema-wide changes)."""
    _descriptor_cache.clear()
    _metadata_cache.clear()


# Result metadata holds its columns' codecs: rebuild them when a descriptor's deserialize changes.
_cqltypes._deserializer_listeners.append(clear_caches)


cdef object _read_option(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos,
                         object user_type_map, int depth):
    if depth > MAX_TYPE_DEPTH:
        raise DecodeError("type options nested deeper than %d levels" % MAX_TYPE_DEPTH)
    cdef int option = _read_u16(buf, end, pos, "type option id")
    cdef int count, i
    simple = _SIMPLE_OPTIONS.get(option)
    if simple is not None:
        return simple
    if option == OPTION_CUSTOM:
        name = _read_string(buf, end, pos, "custom type name")
        try:
            return _interned(("custom", name), lambda: _cqltypes.lookup_casstype(name))
        except Exception as exc:
            # The class name is untrusted text: any failure to make sense of it is bad input.
            raise DecodeError("unparseable custom type %r: %s" % (name, exc)) from None
    if option == OPTION_LIST or option == OPTION_SET:
        sub = _read_option(buf, end, pos, user_type_map, depth + 1)
        base = _cqltypes.ListType if option == OPTION_LIST else _cqltypes.SetType
        return _interned((option, sub), lambda: base.apply_parameters((sub,)))
    if option == OPTION_MAP:
        key = _read_option(buf, end, pos, user_type_map, depth + 1)
        value = _read_option(buf, end, pos, user_type_map, depth + 1)
        return _interned((option, key, value),
                         lambda: _cqltypes.MapType.apply_parameters((key, value)))
    if option == OPTION_TUPLE:
        count = _read_u16(buf, end, pos, "tuple field count")
        if count * 2 > end - pos[0]:
            _truncated(count * 2, end - pos[0], "tuple field types")
        subs = tuple([_read_option(buf, end, pos, user_type_map, depth + 1) for i in range(count)])
        return _interned((option,) + subs, lambda: _cqltypes.TupleType.apply_parameters(subs))
    if option == OPTION_UDT:
        keyspace = _read_string(buf, end, pos, "UDT keyspace")
        udt_name = _read_string(buf, end, pos, "UDT name")
        count = _read_u16(buf, end, pos, "UDT field count")
        if count * 4 > end - pos[0]:
            _truncated(count * 4, end - pos[0], "UDT fields")
        names = []
        types = []
        for i in range(count):
            names.append(_read_string(buf, end, pos, "UDT field name"))
            types.append(_read_option(buf, end, pos, user_type_map, depth + 1))
        try:
            udt = _cqltypes.UserType.make_udt_class(keyspace, udt_name, tuple(names), tuple(types))
        except ValueError as exc:
            # e.g. a NUL in the name, which no Python class name may hold.
            raise DecodeError("unusable UDT %r.%r: %s" % (keyspace, udt_name, exc)) from None
        mapped = None
        if user_type_map:
            mapped = user_type_map.get(keyspace, {}).get(udt_name)
        udt.mapped_class = mapped
        return udt
    raise DecodeError("unknown type option id 0x%04x" % option)


def read_type_option(bytes body not None, Py_ssize_t pos, user_type_map=None):
    """Read one [option] type tree at ``pos``; return ``(cqltype, new_pos)``."""
    cdef Py_ssize_t end = PyBytes_GET_SIZE(body)
    if pos < 0 or pos > end:
        raise DecodeError("position %d is outside the body (%d bytes)" % (pos, end))
    cqltype = _read_option(<const unsigned char*>PyBytes_AS_STRING(body), end, &pos,
                           user_type_map, 0)
    return cqltype, pos


cdef class ResultMetadata:
    """The columns of a result (or of a prepared statement's bind variables).

    ``col_specs`` is a tuple of ``ColumnMetadata(keyspace_name, table_name, name, type)``
    namedtuples (plain 4-tuples to code that unpacks them); iterating or indexing the metadata
    gives the same items, as the reference's list of column metadata does.  The codecs and the
    named-tuple row class are built once per metadata and reused for every page.
    """

    def __init__(self, col_specs):
        specs = tuple(ColumnMetadata(*spec) for spec in col_specs)
        self.col_specs = specs
        self.column_count = len(specs)
        self.column_names = tuple(spec[2] for spec in specs)
        self.column_types = tuple(spec[3] for spec in specs)
        self.keyspace = specs[0][0] if specs else None
        self.table = specs[0][1] if specs else None
        self._codecs = tuple(_codec_for(t) for t in self.column_types)
        self._row_class = None

    @property
    def row_class(self):
        """The namedtuple class the default row factory builds (made on first use)."""
        if self._row_class is None:
            self._row_class = _rows.named_tuple_class(self.column_names)
        return self._row_class

    def __len__(self):
        return self.column_count

    def __iter__(self):
        return iter(self.col_specs)

    def __getitem__(self, index):
        return self.col_specs[index]

    def __eq__(self, other):
        if isinstance(other, ResultMetadata):
            return self.col_specs == (<ResultMetadata>other).col_specs
        return NotImplemented

    def __hash__(self):
        return hash(self.col_specs)

    def __repr__(self):
        return "ResultMetadata(%s)" % ", ".join(
            "%s %s" % (n, t.cql_parameterized_type()) for n, t in zip(self.column_names, self.column_types))


cdef ResultMetadata _read_col_specs(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos,
                                    int32_t flags, Py_ssize_t count, object user_type_map):
    """[<global_table_spec>?<col_spec_1>...<col_spec_n>] (v5 spec 4.2.5.2)."""
    cdef Py_ssize_t i
    cdef bint global_spec = flags & FLAG_GLOBAL_TABLES_SPEC
    # Each column spec holds at least a name [string] and a type [option]: 4 bytes.
    if count > (end - pos[0]) // 4:
        raise DecodeError("metadata announces %d columns but only %d bytes follow"
                          % (count, end - pos[0]))
    keyspace = table = None
    if global_spec:
        keyspace = _read_string(buf, end, pos, "global keyspace name")
        table = _read_string(buf, end, pos, "global table name")
    cdef list specs = []
    for i in range(count):
        if not global_spec:
            keyspace = _read_string(buf, end, pos, "column keyspace name")
            table = _read_string(buf, end, pos, "column table name")
        name = _read_string(buf, end, pos, "column name")
        cqltype = _read_option(buf, end, pos, user_type_map, 0)
        specs.append((keyspace, table, name, cqltype))
    key = tuple(specs)
    found = _metadata_cache.get(key)
    if found is None:
        if len(_metadata_cache) >= _CACHE_LIMIT:
            _metadata_cache.clear()
        try:
            found = ResultMetadata(key)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, DecodeError):
                raise
            raise DecodeError("result metadata has unusable column types: %s" % (exc,)) from None
        _metadata_cache[key] = found
    return <ResultMetadata>found


cdef int _check_pos(bytes body, Py_ssize_t pos) except -1:
    if body is None:
        raise TypeError("body must be bytes, not None")
    if pos < 0 or pos > PyBytes_GET_SIZE(body):
        raise DecodeError("position %d is outside the body (%d bytes)" % (pos, PyBytes_GET_SIZE(body)))
    return 0


def parse_result_metadata(bytes body, Py_ssize_t pos, int protocol_version, user_type_map=None):
    """Parse the <metadata> of a RESULT Rows body (v5 spec 4.2.5.2) starting at ``pos``.

    Returns ``(metadata, paging_state, new_metadata_id, column_count, pos)``; metadata is None
    when the server set NO_METADATA (use the prepared statement's result metadata), and
    new_metadata_id is set only when the server reports Metadata_changed (v5).
    """
    _check_pos(body, pos)
    cdef const unsigned char* buf = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(body)
    cdef int32_t flags = _read_i32(buf, end, &pos, "metadata flags")
    cdef int32_t count = _read_i32(buf, end, &pos, "column count")
    if count < 0:
        raise DecodeError("negative column count %d" % count)
    paging_state = None
    new_metadata_id = None
    if flags & FLAG_HAS_MORE_PAGES:
        paging_state = _read_bytes(buf, end, &pos, "paging state")
    if flags & FLAG_METADATA_CHANGED and protocol_version >= 5:
        new_metadata_id = _read_short_bytes(buf, end, &pos, "new metadata id")
    if flags & FLAG_NO_METADATA:
        return None, paging_state, new_metadata_id, count, pos
    metadata = _read_col_specs(buf, end, &pos, flags, count, user_type_map)
    return metadata, paging_state, new_metadata_id, count, pos


def parse_prepared_metadata(bytes body, Py_ssize_t pos, int protocol_version, user_type_map=None):
    """Parse the bind-variable <metadata> of a RESULT Prepared body (v5 spec 4.2.5.4).

    Returns ``(bind_metadata, pk_indexes, pos)``; ``pk_indexes`` (positions of the partition
    key columns among the bind variables) is None before protocol v4, which does not send it.
    The <result_metadata> that follows is read with ``parse_result_metadata``.
    """
    _check_pos(body, pos)
    cdef const unsigned char* buf = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(body)
    cdef int32_t flags = _read_i32(buf, end, &pos, "prepared metadata flags")
    cdef int32_t count = _read_i32(buf, end, &pos, "bind variable count")
    cdef int32_t pk_count, i
    if count < 0:
        raise DecodeError("negative bind variable count %d" % count)
    pk_indexes = None
    if protocol_version >= 4:
        pk_count = _read_i32(buf, end, &pos, "partition key count")
        if pk_count < 0 or pk_count > (end - pos) // 2:
            raise DecodeError("invalid partition key count %d" % pk_count)
        pk_indexes = [_read_u16(buf, end, &pos, "partition key index") for i in range(pk_count)]
    metadata = _read_col_specs(buf, end, &pos, flags, count, user_type_map)
    return metadata, pk_indexes, pos


# ---------------------------------------------------------------------------------------------
# Rows

cdef enum RowShape:
    SHAPE_TUPLE
    SHAPE_NAMED
    SHAPE_DICT
    SHAPE_OTHER


def decode_rows(bytes body, Py_ssize_t pos, ResultMetadata metadata not None, row_factory,
                int protocol_version):
    """Decode <rows_count><rows_content> (v5 spec 4.2.5.2) at ``pos`` into a list of rows.

    The built-in factories of ``cassfast.rows`` are built here directly (named tuples from the
    metadata's cached class); any other ``row_factory`` is called with the column names and
    the list of row tuples, like the reference driver does.
    """
    _check_pos(body, pos)
    cdef const unsigned char* buf = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef Py_ssize_t end = PyBytes_GET_SIZE(body)
    cdef int32_t count = _read_i32(buf, end, &pos, "rows count")
    cdef Py_ssize_t ncols = metadata.column_count
    cdef Py_ssize_t r, c, n
    cdef int32_t length
    cdef tuple codecs = metadata._codecs
    cdef tuple names = metadata.column_names
    cdef CodecT codec
    cdef RowShape shape
    cdef PyTypeObject* row_type = NULL
    cdef dict drow
    cdef bint atomic
    if count < 0:
        raise DecodeError("negative rows count %d" % count)
    # Every cell holds at least its 4-byte length; rows without columns are bounded by the body.
    if (ncols and count > (end - pos) // (4 * ncols)) or (not ncols and count > end):
        raise DecodeError("rows count %d with %d columns does not fit the %d remaining bytes"
                          % (count, ncols, end - pos))

    if row_factory is _named_tuple_factory:
        shape = SHAPE_NAMED
        row_type = <PyTypeObject*>metadata.row_class
    elif row_factory is _tuple_factory:
        shape = SHAPE_TUPLE
    elif row_factory is _dict_factory:
        shape = SHAPE_DICT
    else:
        shape = SHAPE_OTHER

    cdef list rows = PyList_New(count)
    for r in range(count):
        if shape == SHAPE_DICT:
            drow = {}
            row = drow
        elif shape == SHAPE_NAMED:
            row = PyType_GenericAlloc(row_type, ncols)
        else:
            row = PyTuple_New(ncols)
        atomic = True
        for c in range(ncols):
            if end - pos < 4:
                _truncated(4, end - pos, "cell length")
            length = <int32_t>get_u32(buf + pos)
            pos += 4
            if length < 0:
                if length != -1 and length != -2:
                    raise DecodeError("invalid negative cell length %d" % length)
                value = None
            else:
                if length > end - pos:
                    _truncated(length, end - pos, "cell of column %r" % (names[c],))
                codec = <CodecT>codecs[c]
                if length == 0 and not codec.empty_ok:
                    value = empty_value(codec)
                else:
                    value = codec.decode(buf + pos, length)
                pos += length
            if shape == SHAPE_DICT:
                PyDict_SetItem(drow, names[c], value)
            else:
                # CPython's own rule for tuples (_PyTuple_MaybeUntrack): only values that can
                # never hold references (not GC objects), or untracked exact tuples, keep the
                # row atomic; an untracked dict may become tracked later, so it does not.
                # Decoded UUIDs are untracked for good (see _types_codecs), so they count too.
                if atomic and PyObject_IS_GC(value) and not (
                        (type(value) is tuple or type(value) is _UUID)
                        and not PyObject_GC_IsTracked(value)):
                    atomic = False
                Py_INCREF(value)
                PyTuple_SET_ITEM(row, c, value)
        if atomic and shape != SHAPE_DICT:
            # A row of atomic values (numbers, strings, None, datetimes, ...) can never be part
            # of a reference cycle; untracking it spares every later collection from walking
            # it.  CPython does this itself only for exact tuples, never for named-tuple rows.
            PyObject_GC_UnTrack(row)
        Py_INCREF(row)
        PyList_SET_ITEM(rows, r, row)
    if shape == SHAPE_OTHER:
        return row_factory(list(names), rows)
    return rows


# ---------------------------------------------------------------------------------------------
# Bind values

cdef object _encode_error(exc, ResultMetadata meta, Py_ssize_t i, value):
    spec = meta.col_specs[i]
    message = ("Received an argument of invalid %s for column \"%s\" (position %d). "
               "Expected: %s, Got: %s; (%s)"
               % ("type" if isinstance(exc, TypeError) else "value", spec[2], i,
                  spec[3].cql_parameterized_type(), type(value).__name__, exc))
    return (TypeError if isinstance(exc, TypeError) else ValueError)(message)


def encode_values(ResultMetadata bind_metadata not None, values, int protocol_version):
    """Serialize bind values for a prepared statement, in bind-variable order.

    ``values`` is a sequence (by position) or a mapping (by column name).  Returns a list of
    ``bytes`` (the serialized value), ``None`` (null) or ``UNSET_VALUE``; missing trailing or
    missing named values are UNSET on protocol v4+.  A value of the wrong Python type raises
    TypeError, an out-of-range one ValueError, both naming the column and its CQL type.
    """
    cdef Py_ssize_t ncols = bind_metadata.column_count, i, nvalues = 0
    cdef list out = PyList_New(ncols)
    cdef WriteBuffer buf = WriteBuffer()
    cdef tuple codecs = bind_metadata._codecs
    cdef type kind = type(values)
    cdef bint by_name = kind is not tuple and kind is not list and isinstance(values, _Mapping)
    cdef bint allow_unset = protocol_version >= 4
    if values is None:
        values = ()
    if not by_name:
        if isinstance(values, (str, bytes)):
            raise TypeError("bind values must be a sequence or a mapping, not %s"
                            % type(values).__name__)
        if not isinstance(values, (list, tuple)):
            values = list(values)
        nvalues = len(values)
        if nvalues > ncols:
            raise ValueError("Too many arguments provided to bind() (got %d, expected %d)"
                             % (nvalues, ncols))
    for i in range(ncols):
        if by_name:
            name = bind_metadata.column_names[i]
            value = values[name] if name in values else _UNSET
        elif i < nvalues:
            value = values[i]
        else:
            value = _UNSET
        if value is None:
            encoded = None
        elif value is _UNSET:
            if not allow_unset:
                raise ValueError("Unset value for column \"%s\": protocol v%d needs every bind "
                                 "variable (unset values need v4+)"
                                 % (bind_metadata.column_names[i], protocol_version))
            encoded = _UNSET
        else:
            buf.length = 0
            try:
                (<CodecT>codecs[i]).encode(buf, value)
            except (TypeError, ValueError, OverflowError, AttributeError) as exc:
                raise _encode_error(exc, bind_metadata, i, value) from exc
            encoded = buf.to_bytes()
        Py_INCREF(encoded)
        PyList_SET_ITEM(out, i, encoded)
    return out

