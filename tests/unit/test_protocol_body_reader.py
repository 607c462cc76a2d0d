"""cassfast._core_messages.BodyReader: one reader per notation of spec section 3, bounds-checked.
Expected values come from ``struct`` encodings of the notations written in the tests."""
import struct

import pytest

from cassfast._core import ProtocolError, TruncatedMessage
from cassfast._core_messages import BodyReader, read_response_prelude


def test_integers_are_big_endian_and_signed_where_the_spec_says():
    r = BodyReader(struct.pack(">BHiq", 0xFF, 0xFFFE, -2, -3))
    assert (r.read_byte(), r.read_short(), r.read_int(), r.read_long()) == (255, 65534, -2, -3)
    assert r.remaining == 0


def test_read_int_can_return_minus_one_without_an_error():
    # ``except? -1``: a real -1 must not be mistaken for an exception.
    assert BodyReader(struct.pack(">i", -1)).read_int() == -1


def test_bytes_null_and_empty_are_distinct():
    r = BodyReader(struct.pack(">i", -1) + struct.pack(">i", 0))
    assert r.read_bytes() is None and r.read_bytes() == b""


def test_strings_maps_and_lists():
    body = (struct.pack(">H", 2) + b"ok" + struct.pack(">i", 3) + "été".encode()[:3]
            + struct.pack(">H", 1) + struct.pack(">H", 1) + b"k" + struct.pack(">H", 1) + b"v")
    r = BodyReader(body)
    assert r.read_string() == "ok"
    assert r.read_longstring() == "ét"
    assert r.read_string_map() == {"k": "v"}


def test_reader_starts_at_the_given_position_and_tracks_it():
    r = BodyReader(b"xx" + struct.pack(">H", 7), 2)
    assert r.read_short() == 7 and r.pos == 4
    r.pos = 2
    assert r.read_short() == 7


def test_position_outside_the_body_is_rejected():
    with pytest.raises(ValueError):
        BodyReader(b"abc", 4)


def test_truncated_reads_raise_truncated_message_and_keep_the_position():
    r = BodyReader(struct.pack(">H", 10) + b"abc")
    with pytest.raises(TruncatedMessage):
        r.read_string()
    assert r.pos == 2


def test_negative_long_string_length_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        BodyReader(struct.pack(">i", -5)).read_longstring()


def test_inet_reads_ipv4_and_ipv6_with_port():
    body = bytes([4, 10, 0, 0, 1]) + struct.pack(">i", 9042) + bytes([16]) + bytes(15) + b"\x01" + struct.pack(">i", 1)
    r = BodyReader(body)
    assert r.read_inet() == ("10.0.0.1", 9042)
    assert r.read_inet() == ("::1", 1)


def test_prelude_without_flags_reads_nothing():
    assert read_response_prelude(0x10, b"\x00\x01") == (None, None, None, 0)


def test_prelude_tracing_id_is_sixteen_raw_bytes():
    trace, warnings, payload, pos = read_response_prelude(0x02, bytes(range(16)) + b"rest")
    assert trace == bytes(range(16)) and warnings is None and payload is None and pos == 16
