# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The framing half of the compiled protocol core: frames (native protocol v3/v4 and the v5
envelope), v5 segments with their CRC24/CRC32 checks and LZ4 payloads, and the streaming
``FrameDecoder`` that turns bytes read from a socket into complete frames.

Bytes in, tuples and bytes out: no I/O, and no imports from cassfast's Python layers.  Every
malformed input raises a subclass of :class:`ProtocolError`; nothing is allocated from a length
read off the wire before the bytes it announces have actually arrived.  Message bodies are
encoded and decoded in ``cassfast._core_messages``.
"""
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from libc.string cimport memcpy

import zlib

__all__ = [
    "ProtocolError", "FrameTooLarge", "ChecksumMismatch", "TruncatedMessage",
    "UnsupportedProtocolVersion", "CompressionError", "FrameDecoder", "SegmentEncoder",
    "encode_frame", "encode_frame_header", "crc24_of", "crc32", "MAX_FRAME_BODY",
    "MAX_SEGMENT_PAYLOAD", "SEGMENT_MIN_COMPRESS_SIZE",
]

# v4 spec section 2.5 and v5 spec section 2.5 ("a frame is limited to 256MB").
MAX_FRAME_BODY = MAX_BODY_LENGTH
MAX_SEGMENT_PAYLOAD = SEGMENT_MAX_PAYLOAD

# Segment payloads shorter than this are sent uncompressed without trying LZ4 (v5 spec 2.2 lets a
# compressed segment carry its payload as is, with uncompressed length 0).  Measured on 3,000
# synthetic QUERY/EXECUTE envelopes: LZ4 made 0.8% of those under 64 bytes smaller (by 1 byte),
# 10% of those of 64-95 bytes (by 2 bytes) and 38% of those of 96-127 bytes (by 4 bytes), so
# below 128 bytes the expected saving is under 2 bytes per segment while every try costs a call
# into LZ4 and a discarded buffer.  From 128 bytes on most payloads shrink (69% at 128-159,
# 99% from 224), and several small envelopes written together share one segment and cross it.
SEGMENT_MIN_COMPRESS_SIZE = 128

# Frame flags (spec 2.2), defined once in _wire.pxd; Python names kept here for callers.
from cassfast._wire import (COMPRESSED_FLAG, CUSTOM_PAYLOAD_FLAG, TRACING_FLAG,  # noqa: F401
                            USE_BETA_FLAG, WARNING_FLAG)
from cassfast._wire cimport HEADER_DIRECTION_MASK, PROTOCOL_VERSION_MASK

# v5 framing: the payload CRC32 is seeded by first feeding these four bytes.
cdef object _CRC32_SEED = zlib.crc32(b"\xfa\x2d\x55\xca")
cdef object _zlib_crc32 = zlib.crc32
cdef Py_ssize_t _COMPACT_THRESHOLD = 65536


class ProtocolError(Exception):
    """Bytes received from the server do not form valid native protocol data."""


class FrameTooLarge(ProtocolError):
    """A frame header declares a body longer than the protocol's 256 MiB limit (or negative)."""


class ChecksumMismatch(ProtocolError):
    """A v5 segment's header CRC24 or payload CRC32 does not match its bytes."""


class TruncatedMessage(ProtocolError):
    """A message body ends before the structure it announces is complete."""


class CompressionError(ProtocolError):
    """A compressed frame body or segment payload could not be decompressed."""


class UnsupportedProtocolVersion(ProtocolError):
    """A frame carries a protocol version whose header layout this driver does not speak."""

    def __init__(self, version, message=None):
        self.version = version
        ProtocolError.__init__(
            self, message or "frame uses native protocol v%d; cassfast speaks v3 and later" % version)


cdef uint32_t crc24(uint64_t header, int nbytes) noexcept nogil:
    # v5 framing: CRC24 with polynomial 0x1974F0B and initial value 0x875060, fed the header's
    # little-endian bytes lowest first, each byte entering at bit 16 and shifted out MSB-first.
    cdef uint32_t crc = 0x875060
    cdef int i, j
    for i in range(nbytes):
        crc ^= <uint32_t>((header >> (8 * i)) & 0xFF) << 16
        for j in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1974F0B
    return crc & 0xFFFFFF


def crc24_of(header: int, nbytes: int) -> int:
    """CRC24 of the low ``nbytes`` (3 or 5) bytes of a v5 segment header, as the spec defines it."""
    if nbytes != SEGMENT_HEADER_PLAIN and nbytes != SEGMENT_HEADER_COMPRESSED:
        raise ValueError("a segment header is 3 or 5 bytes, not %r" % (nbytes,))
    return crc24(header, nbytes)


def crc32(data) -> int:
    """The v5 segment payload CRC32: zlib's CRC32 after first feeding 0xFA 0x2D 0x55 0xCA."""
    return _zlib_crc32(data, _CRC32_SEED)


cdef int _check_body_length(int32_t length) except -1:
    if length < 0 or length > MAX_BODY_LENGTH:
        raise FrameTooLarge("frame header declares a body of %d bytes (limit %d)"
                            % (length, MAX_FRAME_BODY))
    return 0


def encode_frame_header(int version, int flags, int stream_id, int opcode, Py_ssize_t length) -> bytes:
    """The 9-byte v3+ frame (v5: envelope) header (spec section 2), request direction."""
    cdef bytes out = PyBytes_FromStringAndSize(NULL, FRAME_HEADER_LENGTH)
    write_frame_header(<unsigned char*>PyBytes_AS_STRING(out), version, flags, stream_id, opcode, length)
    return out


def encode_frame(int version, int flags, int stream_id, int opcode, body) -> bytes:
    """A complete request frame: the 9-byte header followed by ``body`` (bytes-like)."""
    cdef bytes b = body if type(body) is bytes else bytes(body)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(b)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, FRAME_HEADER_LENGTH + n)
    cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
    write_frame_header(p, version, flags, stream_id, opcode, n)
    memcpy(p + FRAME_HEADER_LENGTH, PyBytes_AS_STRING(b), n)
    return out


cdef object _resolve_lz4(compression, bint want_compressor):
    """Map the compression argument of the segment codecs to the LZ4 block callable wanted.

    Accepts None, the name 'lz4', or a ``(compress, decompress)`` pair where ``compress(data)``
    returns a raw LZ4 block and ``decompress(data, uncompressed_size)`` its inverse.
    """
    if compression is None:
        return None
    if isinstance(compression, str):
        if compression != "lz4":
            # v5 spec section 2: segment compression is LZ4 only (Snappy was dropped in v5).
            raise ValueError("v5 segments support only 'lz4' compression, not %r" % (compression,))
        try:
            import lz4.block as lz4_block
        except ImportError as exc:
            raise ImportError("LZ4 segment compression needs the 'lz4' package") from exc
        if want_compressor:
            return lambda data: lz4_block.compress(data, store_size=False)
        return lambda data, size: lz4_block.decompress(data, uncompressed_size=size)
    compress, decompress = compression
    return compress if want_compressor else decompress


cdef class FrameDecoder:
    """Streaming decoder of response frames for one connection.

    ``feed(data)`` accepts bytes in chunks of any size (one byte, or many frames at once) and
    returns the list of frames completed by them, each a tuple ``(version, flags, stream_id,
    opcode, body)`` where ``version`` is the protocol version with the direction bit removed and
    ``body`` the raw body bytes (still compressed when the v3/v4 COMPRESSED flag is set:
    ``protocol.ProtocolHandler.decode_message`` decompresses).  The version of each frame is
    reported rather than enforced, so that a server answering STARTUP with a lower version's
    ERROR during negotiation is seen by the caller.

    For protocol v5, call ``start_segments(compression)`` once the server has answered STARTUP
    with READY or AUTHENTICATE: from then on bytes are read as segments (v5 spec section 2),
    checked against their CRCs, decompressed when LZ4 was negotiated, and the envelopes inside
    them come out as frames.  Pass ``requests=True`` to decode request frames (tests, proxies).

    One decoder per connection, used from one thread at a time (the connection's loop thread):
    it holds no lock.
    """

    def __cinit__(self, int protocol_version, *, bint requests=False):
        self.protocol_version = protocol_version
        self.segments = False
        self._requests = requests
        self._buf = bytearray()
        self._pos = 0
        self._decompress = None
        self._large = None
        self._large_need = 0

    def start_segments(self, compression=None) -> list:
        """Switch to v5 segment framing; ``compression`` is None, 'lz4' or a (compress,
        decompress) pair of LZ4 block functions.

        Bytes already received after the STARTUP answer are segment bytes: any frames they
        complete are returned (normally none, as the server waits for the client's next move)."""
        if self.segments:
            raise ValueError("segment framing has already started on this decoder")
        self._decompress = _resolve_lz4(compression, False)
        self.segments = True
        if PyByteArray_GET_SIZE(self._buf) == self._pos:
            return []
        return self.feed(b"")

    @property
    def buffered(self) -> int:
        """Bytes received and not yet part of a complete frame."""
        cdef Py_ssize_t n = PyByteArray_GET_SIZE(self._buf) - self._pos
        if self._large is not None:
            n += PyByteArray_GET_SIZE(self._large)
        return n

    cpdef list feed(self, data):
        """Add received bytes; return the frames they complete (possibly none)."""
        cdef list out = []
        cdef bytes chunk
        cdef Py_ssize_t used, n, pending
        if type(data) is bytes:
            chunk = <bytes>data
        else:
            chunk = bytes(data)
        n = PyBytes_GET_SIZE(chunk)
        pending = PyByteArray_GET_SIZE(self._buf) - self._pos
        if n == 0 and pending == 0:
            return out
        if pending == 0:
            # Common case: whole frames arrive in one read; parse them in place, keep the tail.
            if self._pos:
                del self._buf[:]
                self._pos = 0
            used = self._parse(<const unsigned char*>PyBytes_AS_STRING(chunk), n, out)
            if used < n:
                self._buf += memoryview(chunk)[used:]
            return out
        self._buf += chunk
        used = self._parse(<const unsigned char*>PyByteArray_AS_STRING(self._buf) + self._pos,
                           PyByteArray_GET_SIZE(self._buf) - self._pos, out)
        self._pos += used
        if self._pos == PyByteArray_GET_SIZE(self._buf):
            del self._buf[:]
            self._pos = 0
        elif self._pos >= _COMPACT_THRESHOLD:
            del self._buf[:self._pos]
            self._pos = 0
        return out

    cdef Py_ssize_t _parse(self, const unsigned char* data, Py_ssize_t n, list out) except -1:
        if self.segments:
            return self._parse_segments(data, n, out)
        return self._parse_frames(data, n, out, False)

    cdef Py_ssize_t _parse_frames(self, const unsigned char* data, Py_ssize_t n, list out,
                                  bint exact) except -1:
        """Parse whole frames from ``data``; return the bytes consumed.  With ``exact`` (the
        payload of a self-contained segment) a partial frame at the end is an error."""
        cdef Py_ssize_t off = 0
        cdef int version
        cdef int32_t length
        cdef const unsigned char* p
        while n - off >= FRAME_HEADER_LENGTH:
            p = data + off
            version = p[0] & PROTOCOL_VERSION_MASK
            if version < 3:
                # v1/v2 headers are 8 bytes with a one-byte stream id; parsing on would desync.
                raise UnsupportedProtocolVersion(version)
            if self._requests == ((p[0] & HEADER_DIRECTION_MASK) != 0):
                raise ProtocolError("frame version byte 0x%02x has the wrong direction bit "
                                    "(spec section 2.1): the stream is out of sync" % p[0])
            length = <int32_t>get_u32(p + 5)
            _check_body_length(length)
            if n - off - FRAME_HEADER_LENGTH < length:
                break
            out.append((version, p[1], <int16_t>get_u16(p + 2), p[4],
                        PyBytes_FromStringAndSize(<const char*>p + FRAME_HEADER_LENGTH, length)))
            off += FRAME_HEADER_LENGTH + length
            if (p[4] == OPCODE_READY or p[4] == OPCODE_AUTHENTICATE) and not exact \
                    and self.protocol_version >= 5 and not self.segments:
                # v5 section 2: the answer to STARTUP is the last unsegmented frame; what
                # follows it is segment bytes, left for start_segments() to read.
                break
        if exact and off != n:
            raise TruncatedMessage("a self-contained segment ends inside an envelope "
                                   "(%d trailing bytes)" % (n - off))
        return off

    cdef Py_ssize_t _parse_segments(self, const unsigned char* data, Py_ssize_t n,
                                    list out) except -1:
        cdef Py_ssize_t off = 0, total
        cdef int hlen = SEGMENT_HEADER_COMPRESSED if self._decompress is not None else SEGMENT_HEADER_PLAIN
        cdef uint64_t header
        cdef uint32_t got_crc, payload_length, uncompressed_length = 0
        cdef bint self_contained
        cdef const unsigned char* p
        cdef bytes payload
        while n - off >= hlen + SEGMENT_CRC24_LENGTH:
            p = data + off
            header = get_le(p, hlen)
            got_crc = <uint32_t>get_le(p + hlen, SEGMENT_CRC24_LENGTH)
            if crc24(header, hlen) != got_crc:
                raise ChecksumMismatch("segment header CRC24 mismatch: received 0x%06x, computed "
                                       "0x%06x" % (got_crc, crc24(header, hlen)))
            payload_length = header & SEGMENT_MAX_PAYLOAD
            if hlen == SEGMENT_HEADER_COMPRESSED:
                uncompressed_length = (header >> 17) & SEGMENT_MAX_PAYLOAD
                self_contained = (header >> 34) & 1
            else:
                self_contained = (header >> 17) & 1
            total = hlen + SEGMENT_CRC24_LENGTH + payload_length + SEGMENT_CRC32_LENGTH
            if n - off < total:
                break
            payload = PyBytes_FromStringAndSize(<const char*>p + hlen + SEGMENT_CRC24_LENGTH,
                                                payload_length)
            got_crc = <uint32_t>get_le(p + total - SEGMENT_CRC32_LENGTH, SEGMENT_CRC32_LENGTH)
            if <uint32_t>_zlib_crc32(payload, _CRC32_SEED) != got_crc:
                raise ChecksumMismatch("segment payload CRC32 mismatch: received 0x%08x, computed "
                                       "0x%08x" % (got_crc, _zlib_crc32(payload, _CRC32_SEED)))
            if hlen == SEGMENT_HEADER_COMPRESSED and uncompressed_length != 0:
                # An uncompressed length of 0 means the payload was stored uncompressed.
                payload = _decompress_block(self._decompress, payload, uncompressed_length)
            off += total
            self._segment_payload(payload, self_contained, out)
        return off

    cdef int _segment_payload(self, bytes payload, bint self_contained, list out) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(payload)
        cdef int32_t length
        if self_contained:
            if self._large_need:
                raise ProtocolError("self-contained segment received while a multi-segment "
                                    "envelope is incomplete")
            self._parse_frames(p, n, out, True)
            return 0
        if not self._large_need:
            # First segment of an envelope too large for one segment: its header gives the total.
            if n < FRAME_HEADER_LENGTH:
                raise TruncatedMessage("first segment of a multi-segment envelope holds only %d "
                                       "bytes, less than an envelope header" % n)
            length = <int32_t>get_u32(p + 5)
            _check_body_length(length)
            self._large_need = FRAME_HEADER_LENGTH + length
            self._large = bytearray()
        self._large += payload
        n = PyByteArray_GET_SIZE(self._large)
        if n < self._large_need:
            return 0
        if n > self._large_need:
            raise ProtocolError("multi-segment envelope followed by %d extra bytes in its last "
                                "segment" % (n - self._large_need))
        try:
            self._parse_frames(<const unsigned char*>PyByteArray_AS_STRING(self._large), n, out, True)
        finally:
            self._large = None
            self._large_need = 0
        return 0


cdef bytes _decompress_block(decompress, bytes payload, uint32_t size):
    try:
        result = decompress(payload, size)
    except Exception as exc:
        raise CompressionError("LZ4 segment payload failed to decompress: %s" % (exc,)) from exc
    if type(result) is not bytes:
        result = bytes(result)
    if PyBytes_GET_SIZE(result) != size:
        raise CompressionError("LZ4 segment payload decompressed to %d bytes, header says %d"
                               % (PyBytes_GET_SIZE(result), size))
    return result


cdef class SegmentEncoder:
    """Wraps encoded v5 envelopes into segments (v5 spec section 2) for sending.

    ``encode(envelopes)`` takes one envelope (bytes) or a list of envelopes and returns the bytes
    to write.  Envelopes are packed into self-contained segments of at most 128 KiB - 1 payload
    bytes; an envelope larger than that travels alone, split over non-self-contained segments.
    With ``compression`` ('lz4' or a (compress, decompress) pair) payloads are LZ4 blocks,
    stored uncompressed (uncompressed length 0) when they are shorter than
    ``min_compress_size`` (LZ4 is not even tried) or when compressing would not make them
    smaller.  Either way the segment keeps the compressed-format header (v5 spec 2.2).
    """

    cdef object _compress
    cdef int _hlen
    cdef Py_ssize_t _min_compress

    def __cinit__(self, compression=None, Py_ssize_t min_compress_size=SEGMENT_MIN_COMPRESS_SIZE):
        if min_compress_size < 0:
            raise ValueError("min_compress_size must be >= 0, not %d" % min_compress_size)
        self._compress = _resolve_lz4(compression, True)
        self._hlen = SEGMENT_HEADER_COMPRESSED if self._compress is not None else SEGMENT_HEADER_PLAIN
        self._min_compress = min_compress_size

    def encode(self, envelopes) -> bytes:
        cdef list parts = []
        cdef list group = []
        cdef Py_ssize_t group_size = 0, n
        cdef bytes env
        if isinstance(envelopes, (bytes, bytearray, memoryview)):
            envelopes = [bytes(envelopes)]
        for item in envelopes:
            env = item if type(item) is bytes else bytes(item)
            n = PyBytes_GET_SIZE(env)
            if n > SEGMENT_MAX_PAYLOAD:
                if group:
                    parts.append(self._segment(b"".join(group), True))
                    group = []
                    group_size = 0
                self._split(env, parts)
                continue
            if group_size + n > SEGMENT_MAX_PAYLOAD:
                parts.append(self._segment(b"".join(group), True))
                group = []
                group_size = 0
            group.append(env)
            group_size += n
        if group:
            parts.append(self._segment(b"".join(group), True))
        return b"".join(parts)

    cdef int _split(self, bytes env, list parts) except -1:
        cdef Py_ssize_t n = PyBytes_GET_SIZE(env), start = 0
        if n < FRAME_HEADER_LENGTH or <Py_ssize_t>get_u32(
                <const unsigned char*>PyBytes_AS_STRING(env) + 5) != n - FRAME_HEADER_LENGTH:
            raise ValueError("an envelope larger than one segment must be exactly one envelope "
                             "(9-byte header + body)")
        while start < n:
            parts.append(self._segment(env[start:start + SEGMENT_MAX_PAYLOAD], False))
            start += SEGMENT_MAX_PAYLOAD
        return 0

    cdef bytes _segment(self, bytes payload, bint self_contained):
        cdef Py_ssize_t n = PyBytes_GET_SIZE(payload)
        cdef uint64_t header
        cdef uint32_t uncompressed_length = 0
        cdef bytes body = payload
        cdef int hlen = self._hlen
        if self._compress is not None and n >= self._min_compress:
            compressed = self._compress(payload)
            if type(compressed) is not bytes:
                compressed = bytes(compressed)
            if PyBytes_GET_SIZE(compressed) < n:
                body = compressed
                uncompressed_length = <uint32_t>n
        cdef Py_ssize_t blen = PyBytes_GET_SIZE(body)
        if hlen == SEGMENT_HEADER_COMPRESSED:
            header = (<uint64_t>blen | (<uint64_t>uncompressed_length << 17)
                      | (<uint64_t>self_contained << 34))
        else:
            header = <uint64_t>blen | (<uint64_t>self_contained << 17)
        cdef bytes out = PyBytes_FromStringAndSize(
            NULL, hlen + SEGMENT_CRC24_LENGTH + blen + SEGMENT_CRC32_LENGTH)
        cdef unsigned char* p = <unsigned char*>PyBytes_AS_STRING(out)
        put_le(p, header, hlen)
        put_le(p + hlen, crc24(header, hlen), SEGMENT_CRC24_LENGTH)
        memcpy(p + hlen + SEGMENT_CRC24_LENGTH, PyBytes_AS_STRING(body), blen)
        put_le(p + hlen + SEGMENT_CRC24_LENGTH + blen, <uint32_t>_zlib_crc32(body, _CRC32_SEED),
               SEGMENT_CRC32_LENGTH)
        return out
