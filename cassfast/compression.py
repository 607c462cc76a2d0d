"""Frame body compression for native protocol v3/v4 (spec section 5): LZ4 and Snappy.

``locally_supported_compressions`` maps each algorithm name that can be negotiated in STARTUP
to a ``(compress, decompress)`` pair over whole frame bodies, preferring LZ4, as cassandra-driver
does.  LZ4 bodies are Cassandra's layout: a big-endian [int] uncompressed length, then a raw LZ4
block.  Decompressors check the claimed size against the codec's maximum expansion before
allocating, and raise ``cassfast._core.CompressionError`` (a ``ProtocolError``) for bad input.
Protocol v5 compresses segments instead (LZ4 only): see ``cassfast._core.SegmentEncoder`` and
``FrameDecoder.start_segments``.
"""
from __future__ import annotations

from collections import OrderedDict

from cassfast._core import MAX_FRAME_BODY, CompressionError

__all__ = ["locally_supported_compressions"]

locally_supported_compressions: "OrderedDict[str, tuple]" = OrderedDict()

try:
    import lz4.block as _lz4_block
except ImportError:  # pragma: no cover - lz4 is optional
    _lz4_block = None

if _lz4_block is not None:
    def lz4_compress(data: bytes) -> bytes:
        """Cassandra's LZ4 body: a big-endian [int] uncompressed length, then a raw LZ4 block."""
        return len(data).to_bytes(4, "big") + _lz4_block.compress(data, store_size=False)

    def lz4_decompress(data: bytes) -> bytes:
        if len(data) < 4:
            raise CompressionError("LZ4 frame body of %d bytes has no length prefix" % len(data))
        size = int.from_bytes(data[:4], "big")
        # An LZ4 block expands at most ~255x (each extra length byte adds 255 output bytes), so
        # a larger claim is a lie; checking it keeps a tiny body from forcing a huge allocation.
        if size > MAX_FRAME_BODY or size > 256 * len(data) + 64:
            raise CompressionError("LZ4 frame body of %d bytes claims %d uncompressed bytes"
                                   % (len(data), size))
        try:
            out = _lz4_block.decompress(data[4:], uncompressed_size=size)
        except Exception as exc:
            raise CompressionError("LZ4 frame body failed to decompress: %s" % exc) from exc
        if len(out) != size:
            raise CompressionError("LZ4 frame body decompressed to %d bytes, prefix says %d"
                                   % (len(out), size))
        return out

    locally_supported_compressions["lz4"] = (lz4_compress, lz4_decompress)

try:
    import snappy as _snappy
except ImportError:  # pragma: no cover - snappy is optional
    _snappy = None

if _snappy is not None and hasattr(_snappy, "compress"):
    def _snappy_length(data: bytes) -> int:
        # A Snappy block starts with its uncompressed length as a little-endian base-128 varint.
        size = shift = 0
        for i in range(min(len(data), 5)):
            size |= (data[i] & 0x7F) << shift
            if not data[i] & 0x80:
                return size
            shift += 7
        raise CompressionError("Snappy frame body has no valid length prefix")

    def snappy_decompress(data: bytes) -> bytes:
        if isinstance(data, memoryview):
            data = data.tobytes()
        size = _snappy_length(data)
        # Snappy's densest element (a 3-byte copy of 64 bytes) expands ~21x; see the LZ4 note.
        if size > MAX_FRAME_BODY or size > 32 * len(data) + 64:
            raise CompressionError("Snappy frame body of %d bytes claims %d uncompressed bytes"
                                   % (len(data), size))
        try:
            return _snappy.decompress(data)
        except Exception as exc:
            raise CompressionError("Snappy frame body failed to decompress: %s" % exc) from exc

    locally_supported_compressions["snappy"] = (_snappy.compress, snappy_decompress)
