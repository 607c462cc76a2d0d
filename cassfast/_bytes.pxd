# cython: language_level=3
"""Big-endian byte helpers shared by every compiled module (cimport only; nothing to build).

All multi-byte integers of the native protocol are big-endian (spec section 1); the v5 segment
headers and CRC trailers are the one exception and are little-endian (v5 spec section 2), read
with ``get_le`` and written with ``put_le``.  None of these check bounds: every caller has checked the length first.
"""
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t


cdef inline void put_u8(unsigned char* p, uint8_t v) noexcept nogil:
    p[0] = v


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


cdef inline uint16_t get_u16(const unsigned char* p) noexcept nogil:
    return <uint16_t>((<uint16_t>p[0] << 8) | p[1])


cdef inline uint32_t get_u32(const unsigned char* p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8)
            | <uint32_t>p[3])


cdef inline uint64_t get_u64(const unsigned char* p) noexcept nogil:
    return (<uint64_t>get_u32(p) << 32) | <uint64_t>get_u32(p + 4)


cdef inline uint64_t get_le(const unsigned char* p, int n) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(n):
        v |= (<uint64_t>p[i]) << (8 * i)
    return v


cdef inline void put_le(unsigned char* p, uint64_t v, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        p[i] = <unsigned char>(v >> (8 * i))
