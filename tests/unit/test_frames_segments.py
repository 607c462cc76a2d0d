"""v5 segment framing (native protocol v5, section 2 "framing"): CRC24 headers, CRC32 payloads,
self-contained and multi-segment envelopes, LZ4 payloads.  The CRCs are checked against an
independent polynomial-division implementation written here and against zlib; segments are
cross-checked with cassandra-driver's ``cassandra.segment.SegmentCodec`` in both directions."""
import io
import os
import random
import struct
import zlib

import lz4.block
import pytest
from cassandra.connection import segment_codec_lz4
from cassandra.segment import SegmentCodec, compute_crc24

from cassfast import _core
from cassfast._core import (ChecksumMismatch, CompressionError, FrameDecoder, ProtocolError,
                            SegmentEncoder, TruncatedMessage)

MAX_PAYLOAD = 128 * 1024 - 1
CRC24_POLY = 0x1974F0B
CRC24_INIT = 0x875060


def crc24_by_division(header_int, nbytes):
    """CRC24 as GF(2) polynomial division: (init * x^(8n) + M(x) * x^24) mod P(x), where M is the
    header's little-endian bytes read first-byte-most-significant, which is the order in which
    the spec's shift register consumes them."""
    message = int.from_bytes(header_int.to_bytes(nbytes, "little"), "big")
    dividend = (CRC24_INIT << (8 * nbytes)) ^ (message << 24)
    for bit in range(dividend.bit_length() - 1, 23, -1):
        if dividend >> bit & 1:
            dividend ^= CRC24_POLY << (bit - 24)
    return dividend


def crc32_payload(payload):
    return zlib.crc32(b"\xfa\x2d\x55\xca" + payload)


def envelope(stream, body, opcode=0x08):
    return struct.pack(">BBhBi", 0x85, 0, stream, opcode, len(body)) + body


def plain_segment(payload, self_contained=True):
    header = len(payload) | (int(self_contained) << 17)
    return (header.to_bytes(3, "little") + crc24_by_division(header, 3).to_bytes(3, "little")
            + payload + crc32_payload(payload).to_bytes(4, "little"))


def reference_encode(codec, data):
    buf = io.BytesIO()
    codec.encode(buf, data)
    return buf.getvalue()


@pytest.mark.parametrize("nbytes", [3, 5])
def test_crc24_matches_polynomial_division(nbytes):
    rng = random.Random(24)
    for value in [0, 1, 0xFFFFFF, 0x20005] + [rng.getrandbits(8 * nbytes) for _ in range(300)]:
        assert _core.crc24_of(value, nbytes) == crc24_by_division(value, nbytes)


def test_crc24_matches_the_reference_driver():
    rng = random.Random(7)
    for _ in range(200):
        value = rng.getrandbits(40)
        assert _core.crc24_of(value, 5) == compute_crc24(value, 5)


def test_crc32_is_zlib_crc32_seeded_with_the_spec_bytes():
    data = os.urandom(1000)
    assert _core.crc32(data) == crc32_payload(data)


def test_self_contained_segment_has_the_spec_layout():
    env = envelope(1, b"abc")
    assert SegmentEncoder().encode(env) == plain_segment(env)


def test_several_small_envelopes_share_one_self_contained_segment():
    envs = [envelope(i, b"x" * i) for i in range(10)]
    assert SegmentEncoder().encode(envs) == plain_segment(b"".join(envs))


def test_envelopes_are_packed_into_segments_of_at_most_the_max_payload():
    envs = [envelope(i, bytes(50000)) for i in range(5)]
    data = SegmentEncoder().encode(envs)
    decoder = FrameDecoder(5)
    decoder.start_segments()
    out = decoder.feed(data)
    assert [f[2] for f in out] == list(range(5))
    # Two envelopes (2 x 50009 bytes) fit one segment, a third would not.
    first_len = int.from_bytes(data[:3], "little") & MAX_PAYLOAD
    assert first_len == 2 * 50009


def test_large_envelope_is_split_into_non_self_contained_segments():
    env = envelope(3, os.urandom(300000))
    data = SegmentEncoder().encode(env)
    offsets, pos = [], 0
    while pos < len(data):
        header = int.from_bytes(data[pos:pos + 3], "little")
        length = header & MAX_PAYLOAD
        assert not header >> 17 & 1
        assert data[pos + 3:pos + 6] == crc24_by_division(header, 3).to_bytes(3, "little")
        offsets.append(length)
        pos += 6 + length + 4
    assert offsets == [MAX_PAYLOAD, MAX_PAYLOAD, len(env) - 2 * MAX_PAYLOAD]


@pytest.mark.parametrize("size", [10, MAX_PAYLOAD - 9, MAX_PAYLOAD - 8, 300000])
def test_plain_segments_match_the_reference_encoder(size):
    env = envelope(9, os.urandom(size))
    assert SegmentEncoder().encode(env) == reference_encode(SegmentCodec(), env)


@pytest.mark.parametrize("size", [10, 5000, 300000])
def test_lz4_segments_match_the_reference_encoder(size):
    env = envelope(9, b"abcd" * (size // 4))
    assert SegmentEncoder("lz4").encode(env) == reference_encode(segment_codec_lz4, env)


@pytest.mark.parametrize("compression,codec", [(None, SegmentCodec()), ("lz4", segment_codec_lz4)])
@pytest.mark.parametrize("size", [0, 100, 131062, 131063, 400000])
def test_decoder_reads_reference_segments_fed_in_chunks(compression, codec, size):
    body = (b"row-data-" * (size // 9 + 1))[:size]
    data = reference_encode(codec, envelope(5, body)) + reference_encode(codec, envelope(6, b"z"))
    for chunk in (1 if size < 1000 else 997, len(data)):
        decoder = FrameDecoder(5)
        decoder.start_segments(compression)
        out = []
        for i in range(0, len(data), chunk):
            out += decoder.feed(data[i:i + chunk])
        assert out == [(5, 0, 5, 0x08, body), (5, 0, 6, 0x08, b"z")]
        assert decoder.buffered == 0


def test_reference_decoder_reads_cassfast_segments():
    env = envelope(4, b"payload" * 100)
    for compression, codec in ((None, SegmentCodec()), ("lz4", segment_codec_lz4)):
        buf = io.BytesIO(SegmentEncoder(compression).encode(env))
        header = codec.decode_header(buf)
        assert header.is_self_contained
        assert codec.decode(buf, header).payload == env


def test_incompressible_lz4_payload_is_stored_with_uncompressed_length_zero():
    env = envelope(1, os.urandom(2000))
    data = SegmentEncoder("lz4").encode(env)
    header = int.from_bytes(data[:5], "little")
    assert header & MAX_PAYLOAD == len(env)
    assert header >> 17 & MAX_PAYLOAD == 0
    assert header >> 34 & 1 == 1
    assert data[8:8 + len(env)] == env


def test_compressible_lz4_payload_is_a_raw_lz4_block():
    env = envelope(1, b"a" * 5000)
    data = SegmentEncoder("lz4").encode(env)
    header = int.from_bytes(data[:5], "little")
    compressed_len, uncompressed_len = header & MAX_PAYLOAD, header >> 17 & MAX_PAYLOAD
    assert uncompressed_len == len(env) and compressed_len < len(env)
    block = data[8:8 + compressed_len]
    assert lz4.block.decompress(block, uncompressed_size=uncompressed_len) == env
    assert data[8 + compressed_len:] == crc32_payload(block).to_bytes(4, "little")


def test_custom_lz4_callables_are_accepted():
    calls = []

    def compress(data):
        calls.append(len(data))
        return lz4.block.compress(data, store_size=False)

    def decompress(data, size):
        return lz4.block.decompress(data, uncompressed_size=size)

    env = envelope(1, b"q" * 1000)
    decoder = FrameDecoder(5)
    decoder.start_segments((compress, decompress))
    assert decoder.feed(SegmentEncoder((compress, decompress)).encode(env))[0][4] == b"q" * 1000
    assert calls == [len(env)]


def test_bad_header_crc_raises_checksum_mismatch():
    data = bytearray(SegmentEncoder().encode(envelope(1, b"abc")))
    data[3] ^= 0x01
    decoder = FrameDecoder(5)
    decoder.start_segments()
    with pytest.raises(ChecksumMismatch, match="header"):
        decoder.feed(bytes(data))


def test_bad_payload_crc_raises_checksum_mismatch():
    data = bytearray(SegmentEncoder().encode(envelope(1, b"abc")))
    data[8] ^= 0x40
    decoder = FrameDecoder(5)
    decoder.start_segments()
    with pytest.raises(ChecksumMismatch, match="payload"):
        decoder.feed(bytes(data))


def test_checksum_mismatch_is_a_protocol_error():
    assert issubclass(ChecksumMismatch, ProtocolError)


def test_self_contained_segment_ending_inside_an_envelope_is_rejected():
    env = envelope(1, b"abcdef")
    decoder = FrameDecoder(5)
    decoder.start_segments()
    with pytest.raises(TruncatedMessage):
        decoder.feed(plain_segment(env[:-2]))


def test_multi_segment_envelope_with_trailing_bytes_is_rejected():
    env = envelope(1, bytes(10))
    decoder = FrameDecoder(5)
    decoder.start_segments()
    with pytest.raises(ProtocolError, match="extra bytes"):
        decoder.feed(plain_segment(env + b"junk", self_contained=False))


def test_self_contained_segment_inside_a_multi_segment_envelope_is_rejected():
    env = envelope(1, bytes(200000))
    decoder = FrameDecoder(5)
    decoder.start_segments()
    decoder.feed(plain_segment(env[:MAX_PAYLOAD], self_contained=False))
    with pytest.raises(ProtocolError, match="incomplete"):
        decoder.feed(plain_segment(envelope(2, b"")))


def test_corrupt_lz4_payload_raises_compression_error():
    block = b"\xff" * 20
    header = len(block) | (100 << 17) | (1 << 34)
    data = (header.to_bytes(5, "little") + crc24_by_division(header, 5).to_bytes(3, "little")
            + block + crc32_payload(block).to_bytes(4, "little"))
    decoder = FrameDecoder(5)
    decoder.start_segments("lz4")
    with pytest.raises(CompressionError):
        decoder.feed(data)


def test_start_segments_decodes_segment_bytes_that_arrived_with_the_startup_answer():
    ready = struct.pack(">BBhBi", 0x85, 0, 0, 0x02, 0)
    decoder = FrameDecoder(5)
    assert decoder.feed(ready + SegmentEncoder().encode(envelope(-1, b"event"))) == [
        (5, 0, 0, 0x02, b"")]
    assert decoder.start_segments() == [(5, 0, -1, 0x08, b"event")]
    assert decoder.buffered == 0


def test_bytes_before_start_segments_are_frames_and_after_are_segments():
    # The STARTUP answer arrives unsegmented (v5 section 2); everything after it in segments.
    ready = struct.pack(">BBhBi", 0x85, 0, 0, 0x02, 0)
    later = SegmentEncoder().encode(envelope(1, b"r"))
    decoder = FrameDecoder(5)
    assert decoder.feed(ready + later[:4]) == [(5, 0, 0, 0x02, b"")]
    decoder.start_segments()
    assert decoder.feed(later[4:]) == [(5, 0, 1, 0x08, b"r")]


# --- properties over random envelopes and chunkings --------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

envelope_lists = st.lists(
    st.tuples(st.integers(-1, 32767), st.one_of(st.binary(max_size=300),
                                                 st.sampled_from([b"a" * 140000, bytes(131062)]))),
    min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(items=envelope_lists, compression=st.sampled_from([None, "lz4"]),
       chunk=st.integers(1, 70000))
def test_segment_round_trip_for_any_envelopes_and_chunking(items, compression, chunk):
    envs = [envelope(stream, body) for stream, body in items]
    data = SegmentEncoder(compression).encode(envs)
    decoder = FrameDecoder(5)
    decoder.start_segments(compression)
    out = []
    for i in range(0, len(data), chunk):
        out += decoder.feed(data[i:i + chunk])
    assert out == [(5, 0, stream, 0x08, body) for stream, body in items]
    assert decoder.buffered == 0


@settings(max_examples=60, deadline=None)
@given(items=envelope_lists, compression=st.sampled_from([None, "lz4"]))
def test_reference_segments_of_any_envelope_decode_identically(items, compression):
    codec = segment_codec_lz4 if compression else SegmentCodec()
    # The reference encodes one message per call (it cannot pack several), so feed each.
    data = b"".join(reference_encode(codec, envelope(stream, body)) for stream, body in items)
    decoder = FrameDecoder(5)
    decoder.start_segments(compression)
    assert decoder.feed(data) == [(5, 0, stream, 0x08, body) for stream, body in items]


def counting_lz4():
    calls = []

    def compress(data):
        calls.append(len(data))
        return lz4.block.compress(data, store_size=False)
    return calls, (compress, lambda data, size: lz4.block.decompress(data, uncompressed_size=size))


def segment_lengths(data):
    header = int.from_bytes(data[:5], "little")
    return header & MAX_PAYLOAD, header >> 17 & MAX_PAYLOAD


def test_payload_below_the_threshold_is_stored_without_trying_lz4():
    calls, pair = counting_lz4()
    env = envelope(1, b"a" * (_core.SEGMENT_MIN_COMPRESS_SIZE - 10))  # 9-byte header: size - 1
    assert len(env) == _core.SEGMENT_MIN_COMPRESS_SIZE - 1
    data = SegmentEncoder(pair).encode(env)
    assert calls == []
    # Compressed-format header (5 bytes) with uncompressed length 0: the payload as is.
    assert segment_lengths(data) == (len(env), 0)
    assert data[8:8 + len(env)] == env
    # cassandra-driver, an independent decoder, reads it back.
    buf = io.BytesIO(data)
    assert segment_codec_lz4.decode(buf, segment_codec_lz4.decode_header(buf)).payload == env


def test_payload_at_the_threshold_is_compressed_when_smaller():
    calls, pair = counting_lz4()
    env = envelope(1, b"a" * (_core.SEGMENT_MIN_COMPRESS_SIZE - 9))
    data = SegmentEncoder(pair).encode(env)
    assert calls == [len(env)] == [_core.SEGMENT_MIN_COMPRESS_SIZE]
    compressed, uncompressed = segment_lengths(data)
    assert uncompressed == len(env) and compressed < len(env)


def test_small_envelopes_written_together_cross_the_threshold_and_compress():
    calls, pair = counting_lz4()
    envs = [envelope(i, b"SELECT v FROM kv WHERE k = ?") for i in range(10)]
    data = SegmentEncoder(pair).encode(envs)
    assert calls == [sum(map(len, envs))]
    assert segment_lengths(data)[1] == sum(map(len, envs))


def test_threshold_is_configurable_and_zero_always_tries_lz4():
    calls, pair = counting_lz4()
    env = envelope(1, b"abc")
    assert segment_lengths(SegmentEncoder(pair, min_compress_size=0).encode(env)) == (len(env), 0)
    assert calls == [len(env)]  # tried, not smaller, stored as is
    with pytest.raises(ValueError):
        SegmentEncoder("lz4", min_compress_size=-1)
