# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Scalar CQL codecs, the codec registry and the byte-level helpers every codec shares.

``Codec`` is the base class of all value converters: one instance per type descriptor from
``cassfast.cqltypes``, built by ``codec_for`` and cached on the descriptor class, decoding from a
``const unsigned char*`` and encoding into a ``WriteBuffer`` through cdef methods.  This module
implements the scalar types (native protocol v5 spec section 6) and the registry by which
``cassfast._types_collections`` adds the parameterised ones (list, set, map, tuple, UDT,
vector, composite).  ``DecodeError`` is the one error raised for malformed bytes.  No I/O; it
imports only the value layer.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.datetime cimport (PyDate_Check, PyDateTime_Check, date_day, date_month, date_year,
                               datetime_day, datetime_hour, datetime_microsecond,
                               datetime_minute, datetime_month, datetime_new, datetime_second,
                               datetime_tzinfo, datetime_year, import_datetime)
from cpython.float cimport PyFloat_AsDouble, PyFloat_FromDouble
from cpython.long cimport (PyLong_AsLongLong, PyLong_AsUnsignedLongLongMask, PyLong_FromLong,
                           PyLong_FromLongLong)
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyTypeObject
from cpython.unicode cimport PyUnicode_DecodeASCII, PyUnicode_DecodeUTF8
from libc.math cimport isinf, isfinite
from libc.string cimport memcpy

import datetime as _datetime
import socket
import uuid as _uuid_module
from collections.abc import Mapping as _Mapping
from decimal import Decimal as _Decimal

from cassfast import cqltypes as _cqltypes
from cassfast import util as _util

cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject* t, Py_ssize_t nitems)
    int PyObject_GenericSetAttr(object o, object name, object value) except -1
    void PyObject_GC_UnTrack(object o)
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object _PyLong_FromByteArray(const unsigned char* b, size_t n, int little_endian, int is_signed)

import_datetime()

__all__ = ["DecodeError", "Codec", "codec_for", "builtin_codec_for", "register_codec_kind",
           "DeserializeOverrideCodec"]


class DecodeError(ValueError):
    """Bytes from the server do not form a valid value, metadata or rows body."""


cdef enum:
    MS_PER_DAY = 86400000

cdef object _UUID = _uuid_module.UUID
cdef object _SAFE_UNKNOWN = _uuid_module.SafeUUID.unknown
cdef object _Date = _util.Date
cdef object _Time = _util.Time
cdef object _Duration = _util.Duration
cdef object _inet_ntop = socket.inet_ntop
cdef object _inet_pton = socket.inet_pton
cdef int _AF_INET = socket.AF_INET
cdef int _AF_INET6 = socket.AF_INET6
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


cdef int _encode_element(Codec codec, WriteBuffer buf, object value) except -1:
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


cdef int _encode_collection_element(Codec codec, WriteBuffer buf, object value,
                                           str what) except -1:
    if value is None:
        # Cassandra rejects null elements in collections; say so here rather than on the server.
        raise ValueError("None is not allowed inside a %s" % what)
    return _encode_element(codec, buf, value)


# ---------------------------------------------------------------------------------------------
# Reading helpers: each checks the bytes it needs against `end` and raises DecodeError.

cdef int _truncated(Py_ssize_t need, Py_ssize_t have, str what) except -1:
    raise DecodeError("truncated input: %s needs %d bytes, %d remain" % (what, need, have))


cdef int32_t _read_i32(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos,
                              str what) except? -1:
    if end - pos[0] < 4:
        _truncated(4, end - pos[0], what)
    cdef int32_t v = <int32_t>get_u32(buf + pos[0])
    pos[0] += 4
    return v


cdef uint16_t _read_u16(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos,
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


cdef Py_ssize_t _cell_length(const unsigned char* p, Py_ssize_t avail, str what) except -2:
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
        return empty_value(codec)
    return codec.decode(p, n)


cdef object empty_value(Codec codec):
    # cqltypes.EMPTY when the application opted in through the descriptor's
    # support_empty_values (reference behaviour), else None.
    if codec.cqltype.support_empty_values:
        return _cqltypes.EMPTY
    return None


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
    # A UUID holds only an int and a SafeUUID member and refuses attribute assignment, so it can
    # never close a reference cycle: keep the cyclic GC from walking every decoded UUID.
    PyObject_GC_UnTrack(u)
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
        cdef object number
        if type(value) is _UUID:
            # The 128-bit value as two big-endian halves, without UUID.bytes' Python code.
            number = value.int
            buf.write_u64(PyLong_AsUnsignedLongLongMask(number >> 64))
            return buf.write_u64(PyLong_AsUnsignedLongLongMask(number))
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


cdef int _read_uvint(const unsigned char* p, Py_ssize_t n, Py_ssize_t* pos,
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


cdef Py_ssize_t _collection_count(const unsigned char* p, Py_ssize_t n, int per_item,
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
    cdef type kind = type(value)
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return value
    if isinstance(value, (str, bytes, bytearray)) or isinstance(value, _Mapping):
        raise TypeError("expected a sequence or set for %s, got %s" % (what, type(value).__name__))
    try:
        len(value)
        iter(value)
    except TypeError:
        raise TypeError("expected a sequence or set for %s, got %s"
                        % (what, type(value).__name__)) from None
    return value


# Codec builders for the parameterised kinds, filled by cassfast._types_collections.
cdef dict _collection_builders = {}


def register_codec_kind(str kind, builder) -> None:
    """Make ``codec_for`` build descriptors whose ``_codec_kind`` is ``kind`` with ``builder``."""
    _collection_builders[kind] = builder


cdef class DeserializeOverrideCodec(Codec):
    """Decodes through a ``deserialize`` that an application or tool gave the descriptor (see
    ``cqltypes._deserializer_override``); encodes, and decodes for that ``deserialize``'s own
    ``super()`` calls, with the compiled codec ``builtin``."""

    cdef readonly Codec builtin
    cdef object override

    def __init__(self, cqltype, Codec builtin, override):
        Codec.__init__(self, cqltype)
        self.builtin = builtin
        self.override = override
        self.empty_ok = builtin.empty_ok
        self.fixed_size = builtin.fixed_size
        self.hashable = builtin.hashable

    cdef object decode(self, const unsigned char* p, Py_ssize_t n):
        # The reference passes the connection's protocol version.  Codecs do not see it; value
        # layouts are the same in every version cassfast speaks (v3-v5), so pass the newest.
        return self.override(PyBytes_FromStringAndSize(<const char*>p, n), _OVERRIDE_PROTOCOL_VERSION)

    cdef int encode(self, WriteBuffer buf, object value) except -1:
        return self.builtin.encode(buf, value)


cdef int _OVERRIDE_PROTOCOL_VERSION = 5


cdef Codec _build_codec(cqltype):
    cdef Codec builtin = _build_builtin_codec(cqltype)
    # Decided once per descriptor class: the default path keeps the compiled decoder untouched.
    override = _cqltypes._deserializer_override(cqltype)
    if override is None:
        return builtin
    return DeserializeOverrideCodec(cqltype, builtin, override)


cdef Codec _build_builtin_codec(cqltype):
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
    builder = _collection_builders.get(kind)
    if builder is not None:
        # Tuples and UDTs may have no fields; the other parameterised kinds need theirs.
        if not cqltype.subtypes and kind not in ("tuple", "udt", "composite"):
            raise ValueError("%s needs its type parameters to have a codec" % (cqltype.__name__,))
        return builder(cqltype)
    return BlobCodec(cqltype)


cpdef Codec codec_for(cqltype):
    """The codec of a type descriptor, built on first use and kept on the descriptor class."""
    codec = cqltype.__dict__.get("_cassfast_codec")
    if codec is not None:
        return <Codec>codec
    codec = _build_codec(cqltype)
    type.__setattr__(cqltype, "_cassfast_codec", codec)
    return <Codec>codec


cpdef Codec builtin_codec_for(cqltype):
    """``codec_for`` without a ``deserialize`` override: the compiled codec of the descriptor."""
    cdef Codec codec = codec_for(cqltype)
    if type(codec) is DeserializeOverrideCodec:
        return (<DeserializeOverrideCodec>codec).builtin
    return codec


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
