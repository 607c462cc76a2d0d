# cython: language_level=3
# Declarations of cassfast._types: the CQL value codecs, result metadata and row decoding.
# Other compiled modules (_core) may cimport these to decode rows without a Python call.

from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t


cdef inline uint16_t get_u16(const unsigned char* p) noexcept nogil:
    return <uint16_t>((<uint16_t>p[0] << 8) | p[1])


cdef inline uint32_t get_u32(const unsigned char* p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8)
            | <uint32_t>p[3])


cdef inline uint64_t get_u64(const unsigned char* p) noexcept nogil:
    return (<uint64_t>get_u32(p) << 32) | <uint64_t>get_u32(p + 4)


cdef inline void put_u16(unsigned char* p, uint16_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 8)
    p[1] = <unsigned char>v


cdef inline void put_u32(unsigned char* p, uint32_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 24)
    p[1] = <unsigned char>(v >> 16)
    p[2] = <unsigned char>(v >> 8)
    p[3] = <unsigned char>v


cdef inline void put_u64(unsigned char* p, uint64_t v) noexcept nogil:
    put_u32(p, <uint32_t>(v >> 32))
    put_u32(p + 4, <uint32_t>v)


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


cdef class ResultMetadata:
    cdef readonly tuple column_names
    cdef readonly tuple column_types
    cdef readonly tuple col_specs
    cdef readonly object keyspace
    cdef readonly object table
    cdef readonly Py_ssize_t column_count
    cdef tuple _codecs
    cdef object _row_class


cdef object decode_cell(Codec codec, const unsigned char* p, Py_ssize_t n)
