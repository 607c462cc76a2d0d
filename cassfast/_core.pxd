# cython: language_level=3
"""Declarations of the framing core (cassfast/_core.pyx) and its constants shared with the message
codec (cassfast/_core_messages.pyx); the byte helpers live in cassfast/_bytes.pxd.
"""
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from cassfast._bytes cimport get_le, get_u16, get_u32, put_le, put_u8, put_u16, put_u32, put_u64
from cassfast._wire cimport MAX_STREAM_ID, MIN_STREAM_ID, OPCODE_AUTHENTICATE, OPCODE_READY


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

cdef uint32_t crc24(uint64_t header, int nbytes) noexcept nogil


# THE one place a frame (v5: envelope) header is written, request direction (spec section 2):
# [version][flags][stream id: signed short][opcode][body length: int].  Inline here so that the
# encoders of _core_messages write it without a call across modules.  Raises ValueError.
cdef inline int write_frame_header(unsigned char* p, int version, int flags, int stream_id, int opcode,
                                   Py_ssize_t length) except -1:
    if stream_id < MIN_STREAM_ID or stream_id > MAX_STREAM_ID:
        raise ValueError("stream id %d does not fit a signed [short] (spec section 2.3)" % stream_id)
    if length > MAX_BODY_LENGTH:
        raise ValueError("a frame body of %d bytes exceeds the protocol's 256 MiB limit" % length)
    p[0] = <unsigned char>version
    p[1] = <unsigned char>flags
    put_u16(p + 2, <uint16_t><int16_t>stream_id)
    p[4] = <unsigned char>opcode
    put_u32(p + 5, <uint32_t>length)
    return 0


cdef class FrameDecoder:
    cdef readonly int protocol_version
    cdef readonly bint segments
    cdef bint _requests
    cdef bytearray _buf            # raw bytes received and not yet consumed
    cdef Py_ssize_t _pos           # read offset into _buf
    cdef object _decompress        # v5 LZ4 block decompressor, or None
    cdef bytearray _large          # reassembly of one envelope spread over several segments
    cdef Py_ssize_t _large_need    # total bytes of that envelope, 0 while none is in progress

    cpdef list feed(self, data)
    cdef Py_ssize_t _parse(self, const unsigned char* data, Py_ssize_t n, list out) except -1
    cdef Py_ssize_t _parse_frames(self, const unsigned char* data, Py_ssize_t n, list out,
                                  bint exact) except -1
    cdef Py_ssize_t _parse_segments(self, const unsigned char* data, Py_ssize_t n,
                                    list out) except -1
    cdef int _segment_payload(self, bytes payload, bint self_contained, list out) except -1
