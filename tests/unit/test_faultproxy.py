"""The fault proxy's own framing (cassfast.testing.faultproxy), checked against cassandra-driver's
v5 segment codec, and its refusal of bad settings.  No server, no driver code under test."""
import io
import struct

import pytest
from cassandra.segment import CRC32_INITIAL, SegmentCodec, compute_crc24, compute_crc32

from cassfast.testing.faultproxy import (MAX_SEGMENT_PAYLOAD, Fault, FaultProxy, SegmentReader, crc24,
                                         encode_segments)


@pytest.mark.parametrize("value", [0, 1, 0x1FFFF, 0x20000 | 77, 0x3FFFF, 123456])
def test_crc24_matches_the_reference_driver(value):
    assert crc24(value, 3) == compute_crc24(value, 3)


@pytest.mark.parametrize("size", [0, 1, 9, 4096, MAX_SEGMENT_PAYLOAD, MAX_SEGMENT_PAYLOAD + 1, 300_000])
def test_segments_are_byte_identical_to_the_reference_codec(size):
    payload = bytes(i * 7 % 251 for i in range(size))
    expected = io.BytesIO()
    SegmentCodec().encode(expected, payload)
    assert encode_segments(payload) == expected.getvalue()


def test_segment_reader_reassembles_split_input():
    payload = bytes(range(256)) * 1200  # spans three segments
    encoded = encode_segments(payload)
    reader = SegmentReader()
    out = b"".join(reader.feed(encoded[i:i + 1000]) for i in range(0, len(encoded), 1000))
    assert out == payload


def test_crc32_seed_is_the_spec_one():
    assert encode_segments(b"abc")[-4:] == compute_crc32(b"abc", CRC32_INITIAL).to_bytes(4, "little")


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kind 'bitrot'"):
        Fault("bitrot")
    with pytest.raises(ValueError, match="every must be"):
        Fault("flip", every=0)


def test_proxy_refuses_non_loopback_addresses():
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(("10.1.2.3", 9042), b"t")
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy(("127.0.0.45", 9042), b"t", listen_host="0.0.0.0")


def _prepared_body(prepared_id: bytes) -> bytes:
    return struct.pack(">iH", 4, len(prepared_id)) + prepared_id + b"\x00" * 12


def test_prepared_id_is_learned_after_warnings_tracing_and_custom_payload():
    # A server warning on PREPARE (Cassandra 5 warns about USE with prepared statements) puts a
    # string list before the result kind; the id must still be found, or no EXECUTE is targeted.
    warnings = struct.pack(">HH", 1, 5) + b"hello"
    payload = struct.pack(">HH", 1, 1) + b"k" + struct.pack(">i", 2) + b"vv"
    proxy = FaultProxy(("127.0.0.1", 9042), b"t")
    proxy.learn_prepared(0x08, warnings + _prepared_body(b"id-1"))
    proxy.learn_prepared(0x02 | 0x04 | 0x08, b"\x07" * 16 + warnings + payload + _prepared_body(b"id-2"))
    proxy.learn_prepared(0x00, _prepared_body(b"id-3"))
    assert proxy._prepared_ids == {b"id-1", b"id-2", b"id-3"}
    execute = struct.pack(">H", 4) + b"id-2" + b"\x00\x01"
    assert proxy.is_targeted_request(0x0A, execute)
    assert not proxy.is_targeted_request(0x0A, struct.pack(">H", 4) + b"id-9")
