# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Codecs of the parameterised CQL types: list, set, map, tuple, UDT, vector and the legacy
composite, registered with ``cassfast._types_codecs.codec_for`` when this module is imported.

Element counts read off the wire are checked against the bytes that remain before anything is
allocated; every element goes through its own cached codec.  No I/O; imports only the value
layer and the scalar codec module.
"""
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_SetItem
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.object cimport PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM

from collections.abc import Mapping as _Mapping

from cassfast import util as _util
from cassfast._types_codecs cimport (Codec, WriteBuffer, _cell_length, _collection_count,
                                     _encode_collection_element, _encode_element, _read_u16,
                                     _read_uvint, _sized_items, _truncated, codec_for,
                                     decode_cell)
from cassfast._bytes cimport get_u32
from cassfast._types_codecs import DecodeError, register_codec_kind
from libc.stdint cimport int32_t, uint16_t, uint32_t, uint64_t

cdef extern from "Python.h":
    object PyType_GenericAlloc(PyTypeObject* t, Py_ssize_t nitems)
    int PyObject_GenericSetAttr(object o, object name, object value) except -1

cdef object _SortedSet = _util.SortedSet
cdef object _OrderedMapSerializedKey = _util.OrderedMapSerializedKey

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
        cdef Py_ssize_t pos = 4, klen, vlen
        cdef dict result = None
        omap = None
        kbytes = None
        if ordered:
            omap = _OrderedMapSerializedKey(self.cqltype.subtypes[0], 4)
        else:
            result = {}
        for _ in range(count):
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



register_codec_kind("list", lambda t: ListCodec(t, False))
register_codec_kind("set", lambda t: ListCodec(t, True))
register_codec_kind("map", MapCodec)
register_codec_kind("tuple", lambda t: TupleCodec(t, False))
register_codec_kind("udt", lambda t: TupleCodec(t, True))
register_codec_kind("composite", CompositeCodec)
register_codec_kind("vector", VectorCodec)
