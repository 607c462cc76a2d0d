"""Fuzzing the protocol core with hypothesis: random and mutated bytes into FrameDecoder (v4
frames, v5 plain and LZ4 segments) and into ProtocolHandler.decode_message.  The property: every
input either decodes or raises a typed error (ProtocolError, or DriverException for a contract
violation such as rows without metadata); never another exception, a crash or a hang.

Run with ``--hypothesis-show-statistics`` to see how many inputs each fuzzer ran (1,500 each by
default; set CASSFAST_FUZZ_EXAMPLES for more)."""
import os
import struct

from hypothesis import HealthCheck, given, settings, strategies as st

from cassfast import DriverException
from cassfast._core import FrameDecoder, ProtocolError, SegmentEncoder
from cassfast.protocol import ProtocolHandler, locally_supported_compressions

# CASSFAST_FUZZ_EXAMPLES raises the count for a long run (e.g. 20000 before a release).
EXAMPLES = int(os.environ.get("CASSFAST_FUZZ_EXAMPLES", "1500"))
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TYPED = (ProtocolError, DriverException)


def short(n):
    return struct.pack(">H", n)


def int32(n):
    return struct.pack(">i", n)


def string(s):
    return short(len(s)) + s.encode()


BODIES = [
    (0x00, int32(0x1000) + string("x") + short(4) + int32(3) + int32(1)),
    (0x00, int32(0x1300) + string("x") + short(5) + int32(1) + int32(3) + int32(1)
     + b"\x04\x7f\x00\x00\x01" + short(1) + b"\x01"),
    (0x00, int32(0x1100) + string("x") + short(1) + int32(0) + int32(1) + string("SIMPLE")),
    (0x02, b""),
    (0x03, string("org.apache.cassandra.auth.PasswordAuthenticator")),
    (0x06, short(1) + string("CQL_VERSION") + short(1) + string("3.4.7")),
    (0x08, int32(1)),
    (0x08, int32(3) + string("ks")),
    (0x08, int32(5) + string("CREATED") + string("FUNCTION") + string("ks") + string("f")
     + short(1) + string("int")),
    (0x08, int32(2) + int32(1) + int32(2) + string("ks") + string("t") + string("k")
     + short(0x0009) + string("v") + short(0x0020) + short(0x000D) + int32(1) + int32(4)
     + int32(5) + int32(13) + int32(1) + int32(5) + b"hello"),
    (0x08, int32(4) + short(1) + b"\x01" + int32(1) + int32(1) + int32(1) + short(0)
     + string("ks") + string("t") + string("k") + short(0x0009) + int32(4) + int32(0)),
    (0x0C, string("STATUS_CHANGE") + string("UP") + b"\x04\x7f\x00\x00\x01" + int32(9042)),
    (0x0E, int32(2) + b"ab"),
]


def frame(version, opcode, body, stream=1, flags=0):
    return struct.pack(">BBhBi", 0x80 | version, flags, stream, opcode, len(body)) + body


def feed_in_chunks(decoder, data, cuts):
    out, start = [], 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        out += decoder.feed(data[start:cut])
        start = max(start, cut)
    return out


def make_decoder(mode):
    decoder = FrameDecoder(5 if mode else 4)
    if mode:
        decoder.start_segments(None if mode == "plain" else "lz4")
    return decoder


@fuzz
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=6),
       mode=st.sampled_from([None, "plain", "lz4"]))
def test_decoder_survives_random_bytes(data, cuts, mode):
    try:
        frames = feed_in_chunks(make_decoder(mode), data, cuts)
    except ProtocolError:
        return
    assert all(len(f[4]) <= len(data) for f in frames)


def valid_stream(mode, picks):
    frames = [frame(5 if mode else 4, op, body, stream=i) for i, (op, body) in
              enumerate(BODIES[p % len(BODIES)] for p in picks)]
    if mode:
        return SegmentEncoder(None if mode == "plain" else "lz4").encode(frames)
    return b"".join(frames)


@fuzz
@given(mode=st.sampled_from([None, "plain", "lz4"]),
       picks=st.lists(st.integers(0, 100), min_size=1, max_size=5),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=3),
       cut=st.one_of(st.none(), st.integers(0, 10**6)),
       cuts=st.lists(st.integers(0, 2000), max_size=4))
def test_decoder_and_messages_survive_mutated_valid_streams(mode, picks, flips, cut, cuts):
    data = bytearray(valid_stream(mode, picks))
    for index, xor in flips:
        data[index % len(data)] ^= xor
    if cut is not None:
        del data[cut % len(data):]
    try:
        frames = feed_in_chunks(make_decoder(mode), bytes(data), cuts)
    except ProtocolError:
        return
    for version, flags, stream, opcode, body in frames:
        try:
            ProtocolHandler.decode_message(version, {}, stream, flags, opcode, body,
                                           locally_supported_compressions["lz4"][1], None)
        except TYPED:
            pass


@fuzz
@given(opcode=st.sampled_from([0x00, 0x02, 0x03, 0x06, 0x08, 0x0C, 0x0E, 0x10, 0x07, 0x44]),
       flags=st.integers(0, 0x1F), body=st.binary(max_size=300), pv=st.sampled_from([3, 4, 5]))
def test_decode_message_survives_random_bodies(opcode, flags, body, pv):
    decompressor = locally_supported_compressions["lz4"][1]
    try:
        ProtocolHandler.decode_message(pv, {}, 0, flags, opcode, body, decompressor, None)
    except TYPED:
        pass


@fuzz
@given(index=st.integers(0, len(BODIES) - 1), pv=st.sampled_from([4, 5]),
       flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1,
                      max_size=4),
       extra=st.binary(max_size=8))
def test_decode_message_survives_mutated_valid_bodies(index, pv, flips, extra):
    opcode, body = BODIES[index]
    data = bytearray(body + extra)
    for position, xor in flips if data else ():
        data[position % len(data)] ^= xor
    try:
        ProtocolHandler.decode_message(pv, {}, 0, 0, opcode, bytes(data), None, None)
    except TYPED:
        pass


def test_every_golden_fuzz_body_decodes_unmutated():
    # The mutation fuzzers start from valid messages; prove they are valid.
    for opcode, body in BODIES:
        msg = ProtocolHandler.decode_message(4, {}, 0, 0, opcode, body, None, None)
        assert msg.opcode == opcode
