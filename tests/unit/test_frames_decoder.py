"""cassfast._core frame headers and the streaming FrameDecoder (native protocol v3/v4 framing,
spec sections 1-2).  Expected bytes are written from the spec with ``struct`` in the tests."""
import struct

import pytest

from cassfast import _core
from cassfast._core import FrameDecoder, FrameTooLarge, ProtocolError, UnsupportedProtocolVersion


def response_frame(version, flags, stream, opcode, body):
    # Spec section 2: version (response bit 0x80), flags, stream [short], opcode, length [int].
    return struct.pack(">BBhBi", 0x80 | version, flags, stream, opcode, len(body)) + body


def test_encode_frame_header_matches_the_spec_layout():
    assert _core.encode_frame_header(4, 0x02, 300, 0x07, 17) == bytes(
        [0x04, 0x02, 0x01, 0x2C, 0x07, 0x00, 0x00, 0x00, 0x11])


def test_encode_frame_writes_negative_stream_ids_as_signed_shorts():
    assert _core.encode_frame(4, 0, -1, 0x05, b"")[:5] == b"\x04\x00\xff\xff\x05"


def test_encode_frame_rejects_a_stream_id_outside_a_signed_short():
    with pytest.raises(ValueError, match="stream id"):
        _core.encode_frame(4, 0, 32768, 0x05, b"")


def test_decoder_returns_header_fields_and_body():
    frame = response_frame(4, 0x08, 7, 0x08, b"\x00\x00\x00\x01")
    assert FrameDecoder(4).feed(frame) == [(4, 0x08, 7, 0x08, b"\x00\x00\x00\x01")]


def test_decoder_reports_event_stream_id_minus_one():
    frame = response_frame(4, 0, -1, 0x0C, b"")
    assert FrameDecoder(4).feed(frame)[0][2] == -1


def test_decoder_assembles_frames_fed_one_byte_at_a_time():
    frames = [response_frame(4, 0, i, 0x08, bytes([i]) * i) for i in range(20)]
    data = b"".join(frames)
    decoder = FrameDecoder(4)
    out = []
    for i in range(len(data)):
        out += decoder.feed(data[i:i + 1])
    assert [f[2] for f in out] == list(range(20))
    assert [f[4] for f in out] == [bytes([i]) * i for i in range(20)]
    assert decoder.buffered == 0


def test_decoder_returns_every_frame_of_one_large_read():
    data = b"".join(response_frame(3, 0, i, 0x02, b"") for i in range(1000))
    out = FrameDecoder(3).feed(data)
    assert len(out) == 1000 and out[-1] == (3, 0, 999, 0x02, b"")


def test_decoder_keeps_a_partial_frame_until_the_rest_arrives():
    frame = response_frame(4, 0, 1, 0x08, b"x" * 100)
    decoder = FrameDecoder(4)
    assert decoder.feed(frame + frame[:50]) == [(4, 0, 1, 0x08, b"x" * 100)]
    assert decoder.buffered == 50
    assert decoder.feed(frame[50:]) == [(4, 0, 1, 0x08, b"x" * 100)]
    assert decoder.buffered == 0


def test_decoder_accepts_bytearray_and_memoryview_chunks():
    frame = response_frame(4, 0, 1, 0x02, b"")
    decoder = FrameDecoder(4)
    assert decoder.feed(bytearray(frame[:4])) == []
    assert decoder.feed(memoryview(frame)[4:]) == [(4, 0, 1, 0x02, b"")]


def test_decoder_handles_many_chunks_past_the_compaction_threshold():
    # More than 64 KiB consumed from the internal buffer forces a compaction mid-stream.
    frames = [response_frame(4, 0, i % 100, 0x08, bytes(1000)) for i in range(200)]
    data = b"".join(frames)
    decoder = FrameDecoder(4)
    out = []
    for i in range(0, len(data), 777):
        out += decoder.feed(data[i:i + 777])
    assert len(out) == 200 and all(f[4] == bytes(1000) for f in out)


def test_decoder_rejects_a_declared_length_over_256_mib_before_buffering_it():
    header = struct.pack(">BBhBi", 0x84, 0, 0, 0x08, 256 * 1024 * 1024 + 1)
    with pytest.raises(FrameTooLarge):
        FrameDecoder(4).feed(header)


def test_decoder_rejects_a_negative_declared_length():
    header = struct.pack(">BBhBi", 0x84, 0, 0, 0x08, -5)
    with pytest.raises(FrameTooLarge):
        FrameDecoder(4).feed(header)


def test_decoder_waits_for_a_large_declared_body_without_allocating_it():
    # 200 MiB is legal; the decoder must hold only the bytes that actually arrived.
    header = struct.pack(">BBhBi", 0x84, 0, 0, 0x08, 200 * 1024 * 1024)
    decoder = FrameDecoder(4)
    assert decoder.feed(header + b"abc") == []
    assert decoder.buffered == 12


def test_decoder_rejects_a_request_frame_on_a_response_stream():
    with pytest.raises(ProtocolError, match="direction"):
        FrameDecoder(4).feed(struct.pack(">BBhBi", 0x04, 0, 0, 0x05, 0))


def test_decoder_in_request_mode_reads_request_frames():
    frame = _core.encode_frame(4, 0, 3, 0x05, b"")
    assert FrameDecoder(4, requests=True).feed(frame) == [(4, 0, 3, 0x05, b"")]


def test_decoder_rejects_protocol_v2_headers_with_the_version_named():
    with pytest.raises(UnsupportedProtocolVersion) as info:
        FrameDecoder(4).feed(b"\x82\x00\x01\x08\x00\x00\x00\x00\x00")
    assert info.value.version == 2


def test_decoder_reports_a_lower_version_frame_for_negotiation():
    # A v5 STARTUP may be answered by a v4 ERROR; the caller must see it, not a decode error.
    frame = response_frame(4, 0, 0, 0x00, b"")
    assert FrameDecoder(5).feed(frame)[0][0] == 4


def test_decoder_refuses_to_start_segments_twice():
    decoder = FrameDecoder(5)
    decoder.start_segments(None)
    with pytest.raises(ValueError):
        decoder.start_segments(None)


def test_decoder_rejects_snappy_for_v5_segments():
    with pytest.raises(ValueError, match="lz4"):
        FrameDecoder(5).start_segments("snappy")


def test_frames_decode_identically_in_the_reference_driver():
    # cassandra-driver reads the header with its own unpackers; both must agree on our bytes.
    from cassandra.marshal import v3_header_unpack, int32_unpack
    frame = _core.encode_frame(4, 0x12, -3, 0x0A, b"hello")
    version, flags, stream, opcode = v3_header_unpack(frame[:5])
    assert (version, flags, stream, opcode, int32_unpack(frame[5:9])) == (4, 0x12, -3, 0x0A, 5)
