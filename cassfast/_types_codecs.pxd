# cython: language_level=3
# Declarations of cassfast._types_codecs: byte helpers, WriteBuffer, the Codec base class and the
# shared reading/writing helpers used by _types_collections and _types.

from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t


from cassfast._bytes cimport get_u16, get_u32, get_u64, put_u16, put_u32, put_u64


cdef class WriteBuffer:
    """A growable byte buffer that codecs serialize into."""
    cdef unsigned char* data
    cdef Py_ssize_t length
    cdef Py_ssize_t capacity

    cdef int reserve(self, Py_ssize_t extra) except -1
    cdef int write(self, const void* src, Py_ssize_t n) except -1
    cdef int write_u8(self, uint8_t v) except -1
    cdef int write_u16(self, uint16_t v) except -1
    cdef int write_u32(self, uint32_t v) except -1
    cdef int write_u64(self, uint64_t v) except -1
    cdef int write_uvint(self, uint64_t v) except -1
    cdef bytes to_bytes(self)


cdef class Codec:
    """One CQL type's converter, built once per type descriptor (see codec_for)."""
    cdef readonly object cqltype
    # Empty bytes decode to a value (text, ascii, blob) rather than to None.
    cdef bint empty_ok
    # Bytes of every value when fixed-size (packed without lengths in vectors), else -1.
    cdef Py_ssize_t fixed_size
    # Values of this type can be dict keys (decides dict vs OrderedMapSerializedKey for maps).
    cdef bint hashable

    # Decode the n bytes at p (n >= 0, all readable); raise DecodeError when they are not a
    # valid value.  Returns a new reference, or NULL with an exception set.
    cdef object decode(self, const unsigned char* p, Py_ssize_t n)
    # Append the serialization of value (never None) to buf, without a length prefix.
    cdef int encode(self, WriteBuffer buf, object value) except -1


cpdef Codec codec_for(cqltype)
cpdef Codec builtin_codec_for(cqltype)

# A non-null cell's value: None for empty bytes of types where empty is no value.
cdef object decode_cell(Codec codec, const unsigned char* p, Py_ssize_t n)
# What an empty (zero-length) value of a non-string type decodes to: None, or cqltypes.EMPTY.
cdef object empty_value(Codec codec)

# Raise DecodeError for input that ends early (always returns -1 with the error set).
cdef int _truncated(Py_ssize_t need, Py_ssize_t have, str what) except -1

# Readers of protocol notations (v5 spec section 3) over buf[pos:end]; advance pos[0].
cdef int32_t _read_i32(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what) except? -1
cdef uint16_t _read_u16(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what) except? 0xFFFF
cdef object _read_string(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what)
cdef object _read_bytes(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what)
cdef object _read_short_bytes(const unsigned char* buf, Py_ssize_t end, Py_ssize_t* pos, str what)
cdef int _read_uvint(const unsigned char* p, Py_ssize_t n, Py_ssize_t* pos, uint64_t* out) except -1

# The [bytes] length at p: -1 for null (-1/-2), else a length known to fit in avail - 4.
cdef Py_ssize_t _cell_length(const unsigned char* p, Py_ssize_t avail, str what) except -2
# The element count of a collection value, checked against the bytes that follow.
cdef Py_ssize_t _collection_count(const unsigned char* p, Py_ssize_t n, int per_item, str what) except -1
# value itself when it is a sized, iterable, non-string, non-mapping collection; else TypeError.
cdef object _sized_items(object value, str what)

# A [bytes] element (length then value; None is -1); the collection variant refuses None.
cdef int _encode_element(Codec codec, WriteBuffer buf, object value) except -1
cdef int _encode_collection_element(Codec codec, WriteBuffer buf, object value, str what) except -1
