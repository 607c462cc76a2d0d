# cython: language_level=3
"""Declarations of the framing core (cassfast/_core.pyx) and the byte helpers it shares with the
message codec (cassfast/_core_messages.pyx).

All multi-byte integers of the native protocol are big-endian (spec section 1); the v5 segment
headers and CRC trailers are the one exception and are little-endian (v5 spec section 2).  The
inline helpers below never check bounds: every caller has checked the length first.
"""
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t


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
    return (<uint16_t>p[0] << 8) | p[1]

cdef inline uint32_t get_u32(const unsigned char* p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) | (<uint32_t>p[2] << 8) | p[3])

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


# Native protocol v5 section 2 (framing): a segment payload is at most 2**17 - 1 bytes.
cdef enum:
    FRAME_HEADER_LENGTH = 9
    SEGMENT_MAX_PAYLOAD = 131071
    SEGMENT_HEADER_PLAIN = 3
    SEGMENT_HEADER_COMPRESSED = 5
    SEGMENT_CRC24_LENGTH = 3
    SEGMENT_CRC32_LENGTH = 4
    # v4/v5 spec section 2.5: a frame body is limited to 256 MiB.
    MAX_BODY_LENGTH = 268435456
    OPCODE_READY = 0x02
    OPCODE_AUTHENTICATE = 0x03

cdef uint32_t crc24(uint64_t header, int nbytes) noexcept nogil


cdef class FrameDecoder:
    cdef readonly int protocol_version
    cdef readonly bint segments
    cdef bint _requests
    cdef bytearray _buf            # raw bytes received and not yet consumed
    cdef Py_ssize_t _pos           # read offset into _buf
    cdef object _decompress        # v5 LZ4 block decompressor, or None
    cdef bytearray _large          # reassembly of one envelope spread over several segments
    cdef Py_ssize_t _large_need    # total bytes of that envelope, 0 while none is in progress

    cdef Py_ssize_t _parse(self, const unsigned char* data, Py_ssize_t n, list out) except -1
    cdef Py_ssize_t _parse_frames(self, const unsigned char* data, Py_ssize_t n, list out,
                                  bint exact) except -1
    cdef Py_ssize_t _parse_segments(self, const unsigned char* data, Py_ssize_t n,
                                    list out) except -1
    cdef int _segment_payload(self, bytes payload, bint self_contained, list out) except -1
