# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled CQL value codecs, result metadata and row decoding.

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
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (PyDate_Check, PyDateTime_Check, date_day, date_month, date_year,
                               datetime_day, datetime_hour, datetime_microsecond,
                               datetime_minute, datetime_month, datetime_new, datetime_second,
                               datetime_tzinfo, datetime_year, import_datetime)
from cpython.dict cimport PyDict_SetItem
from cpython.float cimport PyFloat_AsDouble, PyFloat_FromDouble
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_AsLongLong, PyLong_FromLong, PyLong_FromLongLong
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeASCII, PyUnicode_DecodeUTF8
from libc.math cimport isinf, isfinite
from libc.string cimport memcpy

import datetime as _datetime
import socket
import uuid as _uuid_module
from collections.abc import Mapping as _Mapping
from decimal import Decimal as _Decimal

from cassfast import cqltypes as _cqltypes
from cassfast import rows as _rows
from cassfast import util as _util

cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject* t, Py_ssize_t nitems)
    int PyObject_GenericSetAttr(object o, object name, object value) except -1
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object _PyLong_FromByteArray(const unsigned char* b, size_t n, int little_endian, int is_signed)

import_datetime()

__all__ = [
    "UNSET_VALUE", "DecodeError", "Codec", "ResultMetadata", "ColumnMetadata", "codec_for",
    "read_type_option", "parse_result_metadata", "parse_prepared_metadata", "decode_rows",
    "encode_values", "clear_caches",
]


class DecodeError(ValueError):
    """Bytes from the server do not form a valid value, metadata or rows body."""


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

from collections import namedtuple as _namedtuple

ColumnMetadata = _namedtuple("ColumnMetadata", ["keyspace_name", "table_name", "name", "type"])

# RESULT <metadata> flags (v5 spec 4.2.5.2).
cdef enum:
    FLAG_GLOBAL_TABLES_SPEC = 0x0001
    FLAG_HAS_MORE_PAGES = 0x0002
    FLAG_NO_METADATA = 0x0004
    FLAG_METADATA_CHANGED = 0x0008

# Nested [option] trees deeper than this are refused rather than recursed into.
cdef enum:
    MAX_TYPE_DEPTH = 64

cdef enum:
    MS_PER_DAY = 86400000

cdef object _UNSET = UNSET_VALUE
cdef object _UUID = _uuid_module.UUID
cdef object _SAFE_UNKNOWN = _uuid_module.SafeUUID.unknown
cdef object _Date = _util.Date
cdef object _Time = _util.Time
cdef object _Duration = _util.Duration
cdef object _SortedSet = _util.SortedSet
cdef object _OrderedMapSerializedKey = _util.OrderedMapSerializedKey
cdef object _inet_ntop = socket.inet_ntop
cdef object _inet_pton = socket.inet_pton
cdef int _AF_INET = socket.AF_INET
cdef int _AF_INET6 = socket.AF_INET6
cdef object _tuple_factory = _rows.tuple_factory
cdef object _named_tuple_factory = _rows.named_tuple_factory
cdef object _dict_factory = _rows.dict_factory
cdef bint _fast_uuid = False


# ---------------------------------------------------------------------------------------------
# Writing

cdef class WriteBuffer:
    def __cinit__(self):
        self.capacity = 256
        self.length = 0
        self.data = <unsigned char*>PyMem_Malloc(self.capacity)
        if self.data is NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef int reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.length + extra
        cdef Py_ssize_t cap = self.capacity
        cdef unsigned char* grown
        if need <= cap:
            return 0
        while cap < need:
            cap *= 2
        grown = <unsigned char*>PyMem_Realloc(self.data, cap)
        if grown is NULL:
            raise MemoryError()
        self.data = grown
        self.capacity = cap
        return 0

    cdef int write(self, const void* src, Py_ssize_t n) except -1:
        self.reserve(n)
        memcpy(self.data + self.length, src, n)
        self.length += n
        return 0

    cdef int write_u8(self, uint8_t v) except -1:
        self.reserve(1)
        self.data[self.length] = v
        self.length += 1
        return 0

    cdef int write_u16(self, uint16_t v) except -1:
        self.reserve(2)
        put_u16(self.data + self.length, v)
        self.length += 2
        return 0

    cdef int write_u32(self, uint32_t v) except -1:
        self.reserve(4)
        put_u32(self.data + self.length, v)
        self.length += 4
        return 0

    cdef int write_u64(self, uint64_t v) except -1:
        self.reserve(8)
        put_u64(self.data + self.length, v)
        self.length += 8
        return 0

    cdef int write_uvint(self, uint64_t v) except -1:
        # [unsigned vint] (v5 spec section 3): the count of leading 1 bits in the first byte is
        # the number of extra bytes; the value is big-endian over the remaining bits.
        cdef int extra = 0
        cdef int bits = 0
        cdef uint64_t t = v
        while t:
            bits += 1
            t >>= 1
        if bits > 56:
            extra = 8
        elif bits > 7:
            extra = (bits - 1) // 7
        self.reserve(extra + 1)
        cdef unsigned char* p = self.data + self.length
        cdef int i
        for i in range(extra, 0, -1):
            p[i] = <unsigned char>(v & 0xFF)
            v >>= 8
        if extra == 8:
            p[0] = 0xFF
        else:
            p[0] = <unsigned char>(((0xFF << (8 - extra)) & 0xFF) | v)
        self.length += extra + 1
        return 0

    cdef bytes to_bytes(self):
        return PyBytes_FromStringAndSize(<char*>self.data, self.length)


cdef inline int _encode_element(Codec codec, WriteBuffer buf, object value) except -1:
    """A [bytes] element: int32 length then the value; None is length -1 (v5 spec section 3)."""
    cdef Py_ssize_t start, n
    if value is None:
        return buf.write_u32(<uint32_t>-1)
    buf.write_u32(0)
    start = buf.length
    codec.encode(buf, value)
    n = buf.length - start
    if n > 0x7FFFFFFF:
        raise ValueError("serialized value of %d bytes exceeds the protocol's [bytes] limit" % n)
    put_u32(buf.data + start - 4, <uint32_t>n)
    return 0


cdef inline int _encode_collection_element(Codec codec, WriteBuffer buf, object value,
                                           str what) except -1:
    if value is None:
        # Cassandra rejects null elements in collections; say so here rather than on the server.
        raise ValueError("None is not allowed inside a %s" % what)
    return _encode_element(codec, buf, value)


# ---------------------------------------------------------------------------------------------
# Reading helpers: each checks the bytes it needs against `end` and raises DecodeError.

cdef int _truncated(Py_ssize_t need, Py_ssize_t have, str what) except -1:
    raise DecodeError("truncated input: %s needs %d bytes, %d remain" % (what, need, have))


cdef inline int32_t _read_i32(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos,
                              str what) except? -1:
    if end - pos[0] < 4:
        _truncated(4, end - pos[0], what)
    cdef int32_t v = <int32_t>get_u32(buf + pos[0])
    pos[0] += 4
    return v


cdef inline uint16_t _read_u16(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos,
                               str what) except? 0xFFFF:
    if end - pos[0] < 2:
        _truncated(2, end - pos[0], what)
    cdef uint16_t v = get_u16(buf + pos[0])
    pos[0] += 2
    return v


cdef object _read_string(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what):
    """A [string]: [short] n, then n bytes of UTF-8 (v5 spec 3)."""
    cdef Py_ssize_t n = _read_u16(buf, end, pos, what)
    if end - pos[0] < n:
        _truncated(n, end - pos[0], what)
    try:
        s = PyUnicode_DecodeUTF8(<const char*>buf + pos[0], n, NULL)
    except UnicodeDecodeError as exc:
        raise DecodeError("%s is not valid UTF-8: %s" % (what, exc)) from None
    pos[0] += n
    return s


cdef object _read_bytes(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what):
    """A [bytes]: [int] n then n bytes; a negative n is null (v5 spec 3)."""
    cdef int32_t n = _read_i32(buf, end, pos, what)
    if n < 0:
        return None
    if end - pos[0] < n:
        _truncated(n, end - pos[0], what)
    b = PyBytes_FromStringAndSize(<const char*>buf + pos[0], n)
    pos[0] += n
    return b


cdef object _read_short_bytes(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what):
    """A [short bytes]: [short] n then n bytes (v5 spec 3)."""
    cdef Py_ssize_t n = _read_u16(buf, end, pos, what)
    if end - pos[0] < n:
        _truncated(n, end - pos[0], what)
    b = PyBytes_FromStringAndSize(<const char*>buf + pos[0], n)
    pos[0] += n
    return b


cdef inline Py_ssize_t _cell_length(const unsigned char* p, Py_ssize_t avail, str what) except -2:
    """The [bytes] length at p: -1 for null, else a length known to fit in `avail - 4`."""
    if avail < 4:
        _truncated(4, avail, what)
    cdef int32_t n = <int32_t>get_u32(p)
    if n < 0:
        if n == -1 or n == -2:
            return -1
        raise DecodeError("invalid negative length %d for %s" % (n, what))
    if n > avail - 4:
        _truncated(n, avail - 4, what)
    return n


cdef object decode_cell(Codec codec, const unsigned char* p, Py_ssize_t n):
    """A non-null cell: empty bytes are None for types where empty is no value (the reference's
    ``from_binary`` rule), otherwise the codec's value."""
    if n == 0 and not codec.empty_ok:
        return None
    return codec.decode(p, n)


cdef int _wrong_size(Codec codec, Py_ssize_t expected, Py_ssize_t n) except -1:
    raise DecodeError("a %s value is %d bytes, got %d"
                      % (codec.cqltype.cql_parameterized_type(), expected, n))


# ---------------------------------------------------------------------------------------------
# Calendar arithmetic (proleptic Gregorian, days relative to 1970-01-01), H. Hinnant's algorithms.

cdef inline int64_t _days_from_civil(int64_t y, int m, int d) noexcept nogil:
    y -= m <= 2
    cdef int64_t era = (y if y >= 0 else y - 399) // 400
    cdef int64_t yoe = y - era * 400
    cdef int64_t doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef int64_t doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline void _civil_from_days(int64_t z, int64_t* y, int* m, int* d) noexcept nogil:
    z += 719468
    cdef int64_t era = (z if z >= 0 else z - 146096) // 146097
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    d[0] = <int>(doy - (153 * mp + 2) // 5 + 1)
    m[0] = <int>(mp + 3 if mp < 10 else mp - 9)
    y[0] = yoe + era * 400 + (m[0] <= 2)


# Milliseconds of 0001-01-01T00:00 and 10000-01-01T00:00 (the datetime range).
cdef int64_t _MIN_MS = _days_from_civil(1, 1, 1) * <int64_t>MS_PER_DAY
cdef int64_t _MAX_MS = _days_from_civil(10000, 1, 1) * <int64_t>MS_PER_DAY


cdef object _datetime_from_ms(int64_t ms):
    if ms < _MIN_MS or ms >= _MAX_MS:
        raise DecodeError("timestamp %d ms is outside the range of datetime.datetime" % ms)
    cdef int64_t days = ms // MS_PER_DAY
    cdef int64_t rem = ms - days * MS_PER_DAY
    if rem < 0:
        days -= 1
        rem += MS_PER_DAY
    cdef int64_t y
    cdef int m, d
    _civil_from_days(days, &y, &m, &d)
    return datetime_new(<int>y, m, d, <int>(rem // 3600000), <int>((rem // 60000) % 60),
                        <int>((rem // 1000) % 60), <int>((rem % 1000) * 1000), None)


cdef int64_t _ms_from_datetime(object v) except? -1:
    """Milliseconds since the epoch for a datetime (naive = UTC), sub-millisecond floored."""
    cdef int64_t ms = (_days_from_civil(datetime_year(v), datetime_month(v), datetime_day(v))
                       * <int64_t>MS_PER_DAY
                       + datetime_hour(v) * <int64_t>3600000 + datetime_minute(v) * 60000
                       + datetime_second(v) * 1000 + datetime_microsecond(v) // 1000)
    if datetime_tzinfo(v) is not None:
        offset = v.utcoffset()
        if offset is not None:
            ms -= (offset.days * <int64_t>MS_PER_DAY + offset.seconds * 1000
                   + offset.microseconds // 1000)
    return ms


# ---------------------------------------------------------------------------------------------
# Codecs

cdef class Codec:
    """Decodes and encodes the values of one CQL type (the base class encodes bytes as-is)."""

    def __init__(self, cqltype):
        self.cqltype = cqltype
        self.empty_ok = False
        self.fixed_size = -1
        self.hashable = True

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        return PyBytes_FromStringAndSize(<const char*>p, n)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        if isinstance(value, bytes):
            return buf.write(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
        if isinstance(value, (bytearray, memoryview)):
            data = bytes(value)
            return buf.write(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        raise TypeError("expected bytes, bytearray or memoryview for %s, got %s"
                        % (self.cqltype.cql_parameterized_type(), type(value).__name__))

    def deserialize(self, data, protocol_version=4):
        """The Python value of the serialized ``data`` (bytes-like) of this type."""
        cdef bytes b = data if type(data) is bytes else bytes(data)
        return self.decode(<const unsigned char*>PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b))

    def serialize(self, value, protocol_version=4) -> bytes:
        """The serialized bytes of ``value`` as this type."""
        cdef WriteBuffer buf = WriteBuffer()
        self.encode(buf, value)
        return buf.to_bytes()

    def __repr__(self):
        return "<%s for %s>" % (type(self).__name__, self.cqltype.cql_parameterized_type())


cdef class BlobCodec(Codec):
    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.empty_ok = True


cdef class EmptyCodec(Codec):
    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.empty_ok = True
        self.fixed_size = 0

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        return None

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        return 0


cdef class TextCodec(Codec):
    cdef bint ascii

    def __init__(self, cqltype, bint ascii):
        Codec.__init__(self, cqltype)
        self.empty_ok = True
        self.ascii = ascii

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        try:
            if self.ascii:
                return PyUnicode_DecodeASCII(<const char*>p, n, NULL)
            return PyUnicode_DecodeUTF8(<const char*>p, n, NULL)
        except UnicodeDecodeError as exc:
            raise DecodeError("invalid %s value: %s" % ("ascii" if self.ascii else "text", exc)) from None

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef Py_ssize_t n
        cdef const char* s
        if not isinstance(value, str):
            raise TypeError("expected str for %s, got %s"
                            % (self.cqltype.cql_parameterized_type(), type(value).__name__))
        if self.ascii:
            data = (<str>value).encode("ascii")
            return buf.write(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        s = PyUnicode_AsUTF8AndSize(value, &n)
        return buf.write(s, n)


cdef inline int64_t _as_int64(object value, str cqlname) except? -1:
    if isinstance(value, float):
        raise TypeError("expected int for %s, got float" % cqlname)
    try:
        return PyLong_AsLongLong(value)
    except OverflowError:
        raise ValueError("%r is out of range for %s" % (value, cqlname)) from None
    except TypeError:
        raise TypeError("expected int for %s, got %s" % (cqlname, type(value).__name__)) from None


cdef class IntCodec(Codec):
    """tinyint, smallint, int, bigint/counter: big-endian two's complement of 1, 2, 4, 8 bytes."""
    cdef int size
    cdef int64_t lo, hi
    cdef str cqlname

    def __init__(self, cqltype, int size):
        Codec.__init__(self, cqltype)
        self.size = size
        self.fixed_size = size if size >= 4 else -1
        self.hi = (<int64_t>1 << (8 * size - 1)) - 1 if size < 8 else 0x7FFFFFFFFFFFFFFF
        self.lo = -self.hi - 1
        self.cqlname = cqltype.typename

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n != self.size:
            _wrong_size(self, self.size, n)
        if self.size == 4:
            return PyLong_FromLong(<int32_t>get_u32(p))
        if self.size == 8:
            return PyLong_FromLongLong(<int64_t>get_u64(p))
        if self.size == 2:
            return PyLong_FromLong(<int16_t>get_u16(p))
        return PyLong_FromLong(<int8_t>p[0])

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef int64_t v = _as_int64(value, self.cqlname)
        if v < self.lo or v > self.hi:
            raise ValueError("%r is out of range for %s (%d..%d)" % (value, self.cqlname, self.lo, self.hi))
        if self.size == 4:
            return buf.write_u32(<uint32_t>v)
        if self.size == 8:
            return buf.write_u64(<uint64_t>v)
        if self.size == 2:
            return buf.write_u16(<uint16_t>v)
        return buf.write_u8(<uint8_t>v)


cdef class BooleanCodec(Codec):
    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.fixed_size = 1

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n != 1:
            _wrong_size(self, 1, n)
        return p[0] != 0

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        if not isinstance(value, int):
            raise TypeError("expected bool for boolean, got %s" % type(value).__name__)
        return buf.write_u8(1 if value else 0)


cdef union _Bits64:
    uint64_t u
    double d


cdef union _Bits32:
    uint32_t u
    float f


cdef class FloatCodec(Codec):
    cdef bint single

    def __init__(self, cqltype, bint single):
        Codec.__init__(self, cqltype)
        self.single = single
        self.fixed_size = 4 if single else 8

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        cdef _Bits64 b64
        cdef _Bits32 b32
        if self.single:
            if n != 4:
                _wrong_size(self, 4, n)
            b32.u = get_u32(p)
            return PyFloat_FromDouble(b32.f)
        if n != 8:
            _wrong_size(self, 8, n)
        b64.u = get_u64(p)
        return PyFloat_FromDouble(b64.d)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef _Bits64 b64
        cdef _Bits32 b32
        cdef double d
        if isinstance(value, (str, bytes)):
            raise TypeError("expected a number for %s, got %s"
                            % (self.cqltype.typename, type(value).__name__))
        try:
            d = PyFloat_AsDouble(value)
        except TypeError:
            raise TypeError("expected a number for %s, got %s"
                            % (self.cqltype.typename, type(value).__name__)) from None
        except OverflowError:
            raise ValueError("%r is out of range for %s" % (value, self.cqltype.typename)) from None
        if self.single:
            b32.f = <float>d
            if isinf(b32.f) and isfinite(d):
                raise ValueError("%r is out of range for float" % (value,))
            return buf.write_u32(b32.u)
        b64.d = d
        return buf.write_u64(b64.u)


cdef object _uuid_from_bytes(const unsigned char* p):
    # uuid.UUID(bytes=...) validates and converts in Python; building the instance and
    # setting its two slots directly gives an identical object several times faster.
    if not _fast_uuid:
        return _UUID(bytes=PyBytes_FromStringAndSize(<const char*>p, 16))
    value = _PyLong_FromByteArray(p, 16, 0, 0)
    u = PyType_GenericAlloc(<PyTypeObject*>_UUID, 0)
    PyObject_GenericSetAttr(u, "int", value)
    PyObject_GenericSetAttr(u, "is_safe", _SAFE_UNKNOWN)
    return u


cdef class UUIDCodec(Codec):
    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.fixed_size = 16

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n != 16:
            _wrong_size(self, 16, n)
        return _uuid_from_bytes(p)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        try:
            data = value.bytes
        except AttributeError:
            raise TypeError("expected uuid.UUID for %s, got %s"
                            % (self.cqltype.typename, type(value).__name__)) from None
        if type(data) is not bytes or PyBytes_GET_SIZE(data) != 16:
            raise TypeError("%r does not give 16 bytes for %s" % (value, self.cqltype.typename))
        return buf.write(PyBytes_AS_STRING(data), 16)


cdef class TimestampCodec(Codec):
    """timestamp: int64 milliseconds since the epoch <-> naive UTC datetime (v5 spec 6.18)."""

    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.fixed_size = 8

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n != 8:
            _wrong_size(self, 8, n)
        return _datetime_from_ms(<int64_t>get_u64(p))

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef int64_t ms
        if PyDateTime_Check(value):
            ms = _ms_from_datetime(value)
        elif PyDate_Check(value):
            ms = (_days_from_civil(date_year(value), date_month(value), date_day(value))
                  * <int64_t>MS_PER_DAY)
        elif type(value) is int or type(value) is float:
            try:
                ms = PyLong_AsLongLong(int(value))
            except OverflowError:
                raise ValueError("%r ms is out of range for timestamp" % (value,)) from None
        else:
            raise TypeError("expected datetime, date or a number of milliseconds for timestamp, "
                            "got %s" % type(value).__name__)
        return buf.write_u64(<uint64_t>ms)


cdef class DateCodec(Codec):
    """date: uint32 days with the epoch at 2**31 <-> util.Date (v5 spec 6.5)."""

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n != 4:
            _wrong_size(self, 4, n)
        d = PyType_GenericAlloc(<PyTypeObject*>_Date, 0)
        PyObject_GenericSetAttr(d, "days_from_epoch",
                                PyLong_FromLongLong(<int64_t>get_u32(p) - 2147483648))
        return d

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef int64_t days
        if hasattr(value, "days_from_epoch"):
            days = _as_int64(value.days_from_epoch, "date") + 2147483648
        elif isinstance(value, int) and not isinstance(value, bool):
            # As the reference: a bare int is the raw (already offset) unsigned value, as CQL
            # literals spell it.
            days = _as_int64(value, "date")
        elif isinstance(value, (str, _datetime.date)):
            days = _as_int64(_Date(value).days_from_epoch, "date") + 2147483648
        else:
            raise TypeError("expected util.Date, datetime.date, str or int for date, got %s"
                            % type(value).__name__)
        if days < 0 or days > 0xFFFFFFFF:
            raise ValueError("%r is out of range for date" % (value,))
        return buf.write_u32(<uint32_t>days)


cdef class TimeCodec(Codec):
    """time: int64 nanoseconds since midnight <-> util.Time (v5 spec 6.17)."""

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n != 8:
            _wrong_size(self, 8, n)
        cdef int64_t nanos = <int64_t>get_u64(p)
        if nanos < 0 or nanos >= 86400000000000:
            raise DecodeError("time value %d ns is outside 0..86399999999999" % nanos)
        t = PyType_GenericAlloc(<PyTypeObject*>_Time, 0)
        PyObject_GenericSetAttr(t, "nanosecond_time", PyLong_FromLongLong(nanos))
        return t

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        if hasattr(value, "nanosecond_time"):
            nanos = value.nanosecond_time
        else:
            try:
                nanos = _Time(value).nanosecond_time
            except TypeError:
                raise TypeError("expected util.Time, datetime.time, str or int for time, got %s"
                                % type(value).__name__) from None
        cdef int64_t v = _as_int64(nanos, "time")
        if v < 0 or v >= 86400000000000:
            raise ValueError("%r is outside 0..86399999999999 ns for time" % (value,))
        return buf.write_u64(<uint64_t>v)


cdef class VarintCodec(Codec):
    """varint: big-endian two's complement of any length (v5 spec 6.24)."""

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        return _PyLong_FromByteArray(p, n, 0, 1)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        if isinstance(value, float) or not hasattr(value, "__index__"):
            raise TypeError("expected int for %s, got %s"
                            % (self.cqltype.typename, type(value).__name__))
        data = _varint_bytes(value.__index__())
        return buf.write(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef bytes _varint_bytes(object v):
    nbytes = (v if v >= 0 else ~v).bit_length() // 8 + 1
    return v.to_bytes(nbytes, "big", signed=True)


cdef class DecimalCodec(Codec):
    """decimal: [int] scale then the unscaled varint; value = unscaled * 10**-scale (v5 spec 6.6)."""

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n < 4:
            raise DecodeError("a decimal value needs at least 4 bytes, got %d" % n)
        cdef int32_t scale = <int32_t>get_u32(p)
        unscaled = _PyLong_FromByteArray(p + 4, n - 4, 0, 1)
        return _Decimal("%de%d" % (unscaled, -<int64_t>scale))

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        if not isinstance(value, _Decimal):
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                try:
                    value = _Decimal(value)
                except ArithmeticError:
                    raise ValueError("can't interpret %r as a decimal" % (value,)) from None
            else:
                raise TypeError("expected Decimal, int, float or str for decimal, got %s"
                                % type(value).__name__)
        sign, digits, exponent = value.as_tuple()
        if not isinstance(exponent, int):
            raise ValueError("decimal cannot hold %r" % (value,))
        unscaled = int("".join(map(str, digits)) or "0")
        if sign:
            unscaled = -unscaled
        if -exponent < -2147483648 or -exponent > 2147483647:
            raise ValueError("the scale of %r does not fit the decimal type's int32" % (value,))
        buf.write_u32(<uint32_t><int32_t>(-exponent))
        data = _varint_bytes(unscaled)
        return buf.write(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef class InetCodec(Codec):
    """inet: 4 bytes (IPv4) or 16 bytes (IPv6) <-> the address as a str, like the reference."""

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if n == 4:
            return "%d.%d.%d.%d" % (p[0], p[1], p[2], p[3])
        if n == 16:
            return _inet_ntop(_AF_INET6, PyBytes_FromStringAndSize(<const char*>p, 16))
        raise DecodeError("an inet value is 4 or 16 bytes, got %d" % n)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        if isinstance(value, str):
            try:
                data = _inet_pton(_AF_INET6 if ":" in value else _AF_INET, value)
            except OSError:
                raise ValueError("can't interpret %r as an inet address" % (value,)) from None
        elif hasattr(value, "packed"):
            data = value.packed
        else:
            raise TypeError("expected str or ipaddress address for inet, got %s"
                            % type(value).__name__)
        return buf.write(PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))


cdef inline int _read_uvint(const unsigned char* p, Py_ssize_t n, Py_ssize_t* pos,
                            uint64_t* out) except -1:
    """Cassandra's [unsigned vint] (v5 spec section 3); raises DecodeError when truncated."""
    if pos[0] >= n:
        _truncated(1, 0, "vint")
    cdef unsigned char first = p[pos[0]]
    cdef int extra = 0
    while extra < 8 and (first & (0x80 >> extra)):
        extra += 1
    if n - pos[0] - 1 < extra:
        _truncated(extra, n - pos[0] - 1, "vint")
    cdef uint64_t v = (first & (0xFF >> extra)) if extra < 8 else 0
    cdef int i
    for i in range(1, extra + 1):
        v = (v << 8) | p[pos[0] + i]
    pos[0] += extra + 1
    out[0] = v
    return 0


cdef inline int64_t _unzigzag(uint64_t v) noexcept nogil:
    return <int64_t>(v >> 1) ^ -<int64_t>(v & 1)


cdef inline uint64_t _zigzag(int64_t v) noexcept nogil:
    return (<uint64_t>v << 1) ^ <uint64_t>(v >> 63)


cdef class DurationCodec(Codec):
    """duration: signed vints months, days, nanoseconds <-> util.Duration (v5 spec 6.8)."""

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        cdef Py_ssize_t pos = 0
        cdef uint64_t months, days, nanos
        _read_uvint(p, n, &pos, &months)
        _read_uvint(p, n, &pos, &days)
        _read_uvint(p, n, &pos, &nanos)
        if pos != n:
            raise DecodeError("duration value has %d trailing bytes" % (n - pos))
        return _Duration(_unzigzag(months), _unzigzag(days), _unzigzag(nanos))

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        try:
            months, days, nanos = value.months, value.days, value.nanoseconds
        except AttributeError:
            raise TypeError("expected util.Duration for duration, got %s"
                            % type(value).__name__) from None
        cdef int64_t m = _as_int64(months, "duration months")
        cdef int64_t d = _as_int64(days, "duration days")
        cdef int64_t ns = _as_int64(nanos, "duration nanoseconds")
        if m < -2147483648 or m > 2147483647 or d < -2147483648 or d > 2147483647:
            raise ValueError("duration months and days must fit in int32: %r" % (value,))
        buf.write_uvint(_zigzag(m))
        buf.write_uvint(_zigzag(d))
        return buf.write_uvint(_zigzag(ns))


cdef inline Py_ssize_t _collection_count(const unsigned char* p, Py_ssize_t n, int per_item,
                                         str what) except -1:
    if n < 4:
        _truncated(4, n, what)
    cdef int32_t count = <int32_t>get_u32(p)
    if count < 0:
        raise DecodeError("negative element count %d in %s" % (count, what))
    # Every element carries at least a 4-byte length: refuse counts the bytes cannot hold.
    if count > (n - 4) // per_item:
        raise DecodeError("%s announces %d elements but only %d bytes follow" % (what, count, n - 4))
    return count


cdef object _sized_items(object value, str what):
    if isinstance(value, (str, bytes, bytearray)) or isinstance(value, _Mapping):
        raise TypeError("expected a sequence or set for %s, got %s" % (what, type(value).__name__))
    try:
        len(value)
        iter(value)
    except TypeError:
        raise TypeError("expected a sequence or set for %s, got %s"
                        % (what, type(value).__name__)) from None
    return value


cdef class ListCodec(Codec):
    """list and set: [int] n, then n [bytes] elements (v5 spec 6.12, 6.14)."""
    cdef Codec element
    cdef bint is_set
    cdef str what

    def __init__(self, cqltype, bint is_set):
        Codec.__init__(self, cqltype)
        self.element = codec_for(cqltype.subtypes[0])
        self.is_set = is_set
        self.hashable = False
        self.what = cqltype.cql_parameterized_type()

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        cdef Py_ssize_t count = _collection_count(p, n, 4, self.what)
        cdef Py_ssize_t pos = 4, i, length
        cdef list items = PyList_New(count)
        for i in range(count):
            length = _cell_length(p + pos, n - pos, self.what)
            pos += 4
            if length < 0:
                item = None
            else:
                item = decode_cell(self.element, p + pos, length)
                pos += length
            Py_INCREF(item)
            PyList_SET_ITEM(items, i, item)
        if pos != n:
            raise DecodeError("%s value has %d trailing bytes" % (self.what, n - pos))
        if not self.is_set:
            return items
        return _make_sorted_set(items)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        items = _sized_items(value, self.what)
        cdef Py_ssize_t count = len(items), written = 0
        buf.write_u32(<uint32_t>count)
        for item in items:
            _encode_collection_element(self.element, buf, item, self.what)
            written += 1
        if written != count:
            raise ValueError("%s changed size while being serialized" % self.what)
        return 0


cdef object _make_sorted_set(list items):
    # The server's order is its comparator's (timeuuid by time, ...), not Python's: sort here.
    # list.sort gives SortedSet's order whenever all elements compare; otherwise let SortedSet
    # place the non-comparable ones.
    try:
        items.sort()
    except TypeError:
        return _SortedSet(items)
    s = PyType_GenericAlloc(<PyTypeObject*>_SortedSet, 0)
    PyObject_GenericSetAttr(s, "_items", items)
    return s


cdef class MapCodec(Codec):
    """map: [int] n, then n key/value [bytes] pairs (v5 spec 6.13).

    Decodes to a dict; to util.OrderedMapSerializedKey (the reference's type) when the keys
    cannot be dict keys (e.g. frozen lists).
    """
    cdef Codec key
    cdef Codec value
    cdef str what

    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.key = codec_for(cqltype.subtypes[0])
        self.value = codec_for(cqltype.subtypes[1])
        self.hashable = False
        self.what = cqltype.cql_parameterized_type()

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        if self.key.hashable:
            try:
                return self._decode(p, n, False)
            except TypeError:
                pass
        return self._decode(p, n, True)

    cdef object _decode(self, const unsigned char* p, Py_ssize_t n, bint ordered):
        cdef Py_ssize_t count = _collection_count(p, n, 8, self.what)
        cdef Py_ssize_t pos = 4, i, klen, vlen
        cdef dict result
        if ordered:
            omap = _OrderedMapSerializedKey(self.cqltype.subtypes[0], 4)
        else:
            result = {}
        for i in range(count):
            klen = _cell_length(p + pos, n - pos, self.what)
            pos += 4
            if klen < 0:
                k = None
                kbytes = None
            else:
                k = decode_cell(self.key, p + pos, klen)
                if ordered:
                    kbytes = PyBytes_FromStringAndSize(<const char*>p + pos, klen)
                pos += klen
            vlen = _cell_length(p + pos, n - pos, self.what)
            pos += 4
            if vlen < 0:
                v = None
            else:
                v = decode_cell(self.value, p + pos, vlen)
                pos += vlen
            if ordered:
                omap._insert_unchecked(k, kbytes, v)
            else:
                PyDict_SetItem(result, k, v)
        if pos != n:
            raise DecodeError("%s value has %d trailing bytes" % (self.what, n - pos))
        return omap if ordered else result

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        try:
            items = value.items()
        except AttributeError:
            raise TypeError("expected a mapping for %s, got %s"
                            % (self.what, type(value).__name__)) from None
        buf.write_u32(<uint32_t>len(value))
        for k, v in items:
            _encode_collection_element(self.key, buf, k, self.what)
            _encode_collection_element(self.value, buf, v, self.what)
        return 0


cdef class TupleCodec(Codec):
    """tuple and UDT: each field a [bytes] (null allowed); missing trailing fields are null
    (v5 spec 6.21 and section 7)."""
    cdef tuple fields
    cdef Py_ssize_t nfields
    cdef str what
    cdef bint is_udt
    cdef tuple fieldnames

    def __init__(self, cqltype, bint is_udt):
        Codec.__init__(self, cqltype)
        self.fields = tuple(codec_for(t) for t in cqltype.subtypes)
        self.nfields = len(self.fields)
        self.is_udt = is_udt
        self.fieldnames = tuple(cqltype.fieldnames or ()) if is_udt else ()
        self.what = cqltype.cql_parameterized_type()
        self.hashable = all((<Codec>c).hashable for c in self.fields)
        if is_udt and cqltype.mapped_class is not None:
            self.hashable = False

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        cdef tuple values = PyTuple_New(self.nfields)
        cdef Py_ssize_t pos = 0, i, length
        for i in range(self.nfields):
            if pos == n:
                item = None
            else:
                length = _cell_length(p + pos, n - pos, self.what)
                pos += 4
                if length < 0:
                    item = None
                else:
                    item = decode_cell(<Codec>self.fields[i], p + pos, length)
                    pos += length
            Py_INCREF(item)
            PyTuple_SET_ITEM(values, i, item)
        if pos != n:
            raise DecodeError("%s value has %d trailing bytes" % (self.what, n - pos))
        if not self.is_udt:
            return values
        mapped = self.cqltype.mapped_class
        if mapped is not None:
            return mapped(**dict(zip(self.fieldnames, values)))
        tuple_type = self.cqltype.tuple_type
        if tuple_type is not None:
            return tuple_type(*values)
        return values

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef Py_ssize_t i
        if not self.is_udt:
            if not isinstance(value, (tuple, list)):
                raise TypeError("expected a tuple for %s, got %s" % (self.what, type(value).__name__))
            if len(value) > self.nfields:
                raise ValueError("expected at most %d items for %s, got %d"
                                 % (self.nfields, self.what, len(value)))
            for i in range(len(value)):
                _encode_element(<Codec>self.fields[i], buf, value[i])
            return 0
        if isinstance(value, (tuple, list)):
            if len(value) > self.nfields:
                raise ValueError("expected at most %d fields for %s, got %d"
                                 % (self.nfields, self.what, len(value)))
            for i in range(self.nfields):
                _encode_element(<Codec>self.fields[i], buf, value[i] if i < len(value) else None)
        elif isinstance(value, _Mapping):
            for i in range(self.nfields):
                _encode_element(<Codec>self.fields[i], buf, value.get(self.fieldnames[i]))
        else:
            for i in range(self.nfields):
                _encode_element(<Codec>self.fields[i], buf,
                                getattr(value, self.fieldnames[i], None))
        return 0


cdef class CompositeCodec(Codec):
    """Legacy CompositeType: per component [short] length, the bytes, one end-of-component byte."""
    cdef tuple parts

    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.parts = tuple(codec_for(t) for t in cqltype.subtypes)

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        cdef list out = []
        cdef Py_ssize_t pos = 0, length
        for codec in self.parts:
            if pos >= n:
                break
            length = _read_u16(p, n, &pos, "composite component")
            if n - pos < length + 1:
                _truncated(length + 1, n - pos, "composite component")
            out.append(decode_cell(<Codec>codec, p + pos, length))
            pos += length + 1
        return tuple(out)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef WriteBuffer part
        if not isinstance(value, (tuple, list)) or len(value) > len(self.parts):
            raise TypeError("expected a tuple of at most %d components" % len(self.parts))
        for i, item in enumerate(value):
            part = WriteBuffer()
            (<Codec>self.parts[i]).encode(part, item)
            if part.length > 0xFFFF:
                raise ValueError("composite component longer than 65535 bytes")
            buf.write_u16(<uint16_t>part.length)
            buf.write(part.data, part.length)
            buf.write_u8(0)
        return 0


cdef class VectorCodec(Codec):
    """vector<T, n>: n elements, packed when T is fixed-size, else each prefixed by an unsigned
    vint length; nulls are not allowed (Cassandra 5 VectorType)."""
    cdef Codec element
    cdef Py_ssize_t dimension
    cdef Py_ssize_t element_size
    cdef str what

    def __init__(self, cqltype):
        Codec.__init__(self, cqltype)
        self.element = codec_for(cqltype.subtype)
        self.dimension = cqltype.vector_size
        size = cqltype.subtype.serial_size()
        self.element_size = size if size is not None else -1
        self.fixed_size = self.element_size * self.dimension if size is not None else -1
        self.hashable = False
        self.what = cqltype.cql_parameterized_type()

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        cdef Py_ssize_t i, pos = 0
        cdef uint64_t length
        if self.element_size >= 0:
            if n != self.fixed_size:
                raise DecodeError("%s value should be %d bytes, got %d" % (self.what, self.fixed_size, n))
        elif self.dimension > n:
            # Each variable-size element takes at least one byte (its length).
            raise DecodeError("%s value of %d bytes cannot hold %d elements" % (self.what, n, self.dimension))
        cdef list items = PyList_New(self.dimension)
        for i in range(self.dimension):
            if self.element_size >= 0:
                item = self.element.decode(p + pos, self.element_size)
                pos += self.element_size
            else:
                _read_uvint(p, n, &pos, &length)
                if length > <uint64_t>(n - pos):
                    _truncated(<Py_ssize_t>min(length, <uint64_t>0x7FFFFFFF), n - pos, self.what)
                item = self.element.decode(p + pos, <Py_ssize_t>length)
                pos += <Py_ssize_t>length
            Py_INCREF(item)
            PyList_SET_ITEM(items, i, item)
        if pos != n:
            raise DecodeError("%s value has %d trailing bytes" % (self.what, n - pos))
        return items

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        cdef WriteBuffer part
        items = _sized_items(value, self.what)
        if len(items) != self.dimension:
            raise ValueError("expected %d elements for %s, got %d" % (self.dimension, self.what, len(items)))
        for item in items:
            if item is None:
                raise ValueError("None is not allowed inside a %s" % self.what)
            if self.element_size >= 0:
                self.element.encode(buf, item)
            else:
                part = WriteBuffer()
                self.element.encode(part, item)
                buf.write_uvint(<uint64_t>part.length)
                buf.write(part.data, part.length)
        return 0


cdef Codec _build_codec(cqltype):
    kind = getattr(cqltype, "_codec_kind", "blob")
    if kind == "wrapper":
        if not cqltype.subtypes:
            raise ValueError("%s has no subtype to wrap" % (cqltype,))
        return codec_for(cqltype.subtypes[0])
    if kind == "int":
        return IntCodec(cqltype, 4)
    if kind == "bigint":
        return IntCodec(cqltype, 8)
    if kind == "smallint":
        return IntCodec(cqltype, 2)
    if kind == "tinyint":
        return IntCodec(cqltype, 1)
    if kind == "text":
        return TextCodec(cqltype, False)
    if kind == "ascii":
        return TextCodec(cqltype, True)
    if kind == "blob":
        return BlobCodec(cqltype)
    if kind == "boolean":
        return BooleanCodec(cqltype)
    if kind == "double":
        return FloatCodec(cqltype, False)
    if kind == "float":
        return FloatCodec(cqltype, True)
    if kind == "uuid":
        return UUIDCodec(cqltype)
    if kind == "timestamp":
        return TimestampCodec(cqltype)
    if kind == "date":
        return DateCodec(cqltype)
    if kind == "time":
        return TimeCodec(cqltype)
    if kind == "varint":
        return VarintCodec(cqltype)
    if kind == "decimal":
        return DecimalCodec(cqltype)
    if kind == "inet":
        return InetCodec(cqltype)
    if kind == "duration":
        return DurationCodec(cqltype)
    if kind == "empty":
        return EmptyCodec(cqltype)
    if not cqltype.subtypes and kind in ("list", "set", "map", "tuple", "udt", "composite", "vector"):
        raise ValueError("%s needs its type parameters to have a codec" % (cqltype.__name__,))
    if kind == "list":
        return ListCodec(cqltype, False)
    if kind == "set":
        return ListCodec(cqltype, True)
    if kind == "map":
        return MapCodec(cqltype)
    if kind == "tuple":
        return TupleCodec(cqltype, False)
    if kind == "udt":
        return TupleCodec(cqltype, True)
    if kind == "composite":
        return CompositeCodec(cqltype)
    if kind == "vector":
        return VectorCodec(cqltype)
    return BlobCodec(cqltype)


cpdef Codec codec_for(cqltype):
    """The codec of a type descriptor, built on first use and kept on the descriptor class."""
    codec = cqltype.__dict__.get("_cassfast_codec")
    if codec is not None:
        return <Codec>codec
    codec = _build_codec(cqltype)
    type.__setattr__(cqltype, "_cassfast_codec", codec)
    return <Codec>codec


# ---------------------------------------------------------------------------------------------
# Type options and result metadata

# [option] ids of the native protocol (v5 spec 4.2.5.2).
cdef dict _SIMPLE_OPTIONS = {
    0x0001: _cqltypes.AsciiType, 0x0002: _cqltypes.LongType, 0x0003: _cqltypes.BytesType,
    0x0004: _cqltypes.BooleanType, 0x0005: _cqltypes.CounterColumnType,
    0x0006: _cqltypes.DecimalType, 0x0007: _cqltypes.DoubleType, 0x0008: _cqltypes.FloatType,
    0x0009: _cqltypes.Int32Type, 0x000A: _cqltypes.UTF8Type, 0x000B: _cqltypes.DateType,
    0x000C: _cqltypes.UUIDType, 0x000D: _cqltypes.VarcharType, 0x000E: _cqltypes.IntegerType,
    0x000F: _cqltypes.TimeUUIDType, 0x0010: _cqltypes.InetAddressType,
    0x0011: _cqltypes.SimpleDateType, 0x0012: _cqltypes.TimeType, 0x0013: _cqltypes.ShortType,
    0x0014: _cqltypes.ByteType, 0x0015: _cqltypes.DurationType,
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


cdef object _read_option(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos,
                         object user_type_map, int depth):
    if depth > MAX_TYPE_DEPTH:
        raise DecodeError("type options nested deeper than %d levels" % MAX_TYPE_DEPTH)
    cdef int option = _read_u16(buf, end, pos, "type option id")
    cdef int count, i
    simple = _SIMPLE_OPTIONS.get(option)
    if simple is not None:
        return simple
    if option == 0x0000:
        name = _read_string(buf, end, pos, "custom type name")
        try:
            return _interned(("custom", name), lambda: _cqltypes.lookup_casstype(name))
        except Exception as exc:
            # The class name is untrusted text: any failure to make sense of it is bad input.
            raise DecodeError("unparseable custom type %r: %s" % (name, exc)) from None
    if option == 0x0020 or option == 0x0022:
        sub = _read_option(buf, end, pos, user_type_map, depth + 1)
        base = _cqltypes.ListType if option == 0x0020 else _cqltypes.SetType
        return _interned((option, sub), lambda: base.apply_parameters((sub,)))
    if option == 0x0021:
        key = _read_option(buf, end, pos, user_type_map, depth + 1)
        value = _read_option(buf, end, pos, user_type_map, depth + 1)
        return _interned((option, key, value),
                         lambda: _cqltypes.MapType.apply_parameters((key, value)))
    if option == 0x0031:
        count = _read_u16(buf, end, pos, "tuple field count")
        if count * 2 > end - pos[0]:
            _truncated(count * 2, end - pos[0], "tuple field types")
        subs = tuple([_read_option(buf, end, pos, user_type_map, depth + 1) for i in range(count)])
        return _interned((option,) + subs, lambda: _cqltypes.TupleType.apply_parameters(subs))
    if option == 0x0030:
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
        self._codecs = tuple(codec_for(t) for t in self.column_types)
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
        found = ResultMetadata(key)
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
    cdef Codec codec
    cdef RowShape shape
    cdef PyTypeObject* row_type = NULL
    cdef dict drow
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
                codec = <Codec>codecs[c]
                if length == 0 and not codec.empty_ok:
                    value = None
                else:
                    value = codec.decode(buf + pos, length)
                pos += length
            if shape == SHAPE_DICT:
                PyDict_SetItem(drow, names[c], value)
            else:
                Py_INCREF(value)
                PyTuple_SET_ITEM(row, c, value)
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
    cdef bint by_name = isinstance(values, _Mapping)
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
                (<Codec>codecs[i]).encode(buf, value)
            except (TypeError, ValueError, OverflowError, AttributeError) as exc:
                raise _encode_error(exc, bind_metadata, i, value) from exc
            encoded = buf.to_bytes()
        Py_INCREF(encoded)
        PyList_SET_ITEM(out, i, encoded)
    return out


def _check_fast_uuid():
    global _fast_uuid
    probe = bytes(range(16))
    _fast_uuid = True
    try:
        fast = _uuid_from_bytes(<const unsigned char*>PyBytes_AS_STRING(probe))
        slow = _UUID(bytes=probe)
        _fast_uuid = (type(fast) is _UUID and fast == slow and fast.int == slow.int
                      and fast.is_safe == slow.is_safe and hash(fast) == hash(slow))
    except Exception:
        _fast_uuid = False


_check_fast_uuid()


def _uses_fast_uuid() -> bool:
    """Whether UUIDs are built by the slot fast path (checked once at import); for tests."""
    return _fast_uuid
