"""Protocol benchmarks: cassfast beside cassandra-driver in the same run.

- EXECUTE encode: ``ProtocolHandler.encode_message(ExecuteMessage(...))`` with three bound
  values (the statement layer's serialized bytes), for both drivers, plus cassfast's hot-path
  ``encode_execute_frame`` that skips the message object.
- RESULT decode: a 100-row, 3-column Rows body through ``ProtocolHandler.decode_message`` for
  both drivers (the full message path; cassfast._types' row decoding alone is benchmarked by
  bench/test_bench_rows.py).
- v5 segment decode: 50 envelopes in one self-contained segment, ``FrameDecoder.feed`` against
  the reference's ``SegmentCodec`` header+payload decode.
- v5 LZ4 segment encode of one small request envelope (the common write: one EXECUTE), cassfast's
  ``SegmentEncoder('lz4')`` against the reference's ``SegmentCodec`` with its LZ4 compressor.
  Below ``SegmentEncoder``'s compression threshold the payload is stored without calling LZ4.

Run:  pytest bench/test_bench_protocol.py --benchmark-enable
The ratio of medians (reference / cassfast, > 1 means cassfast is faster) is printed at the end
and stored in each cassfast benchmark's ``extra_info``.  The machine is small and shared: repeat runs before trusting a ratio.
"""
import io
import struct

import pytest
from _ratios import Ratios
from cassandra import protocol as ref
from cassandra.connection import segment_codec_lz4
from cassandra.segment import SegmentCodec

from cassfast import protocol
from cassfast._core import FrameDecoder, SegmentEncoder
from cassfast._core_messages import encode_execute_frame

pytestmark = pytest.mark.benchmark

QUERY_ID = bytes(range(16))
VALUES = [struct.pack(">i", 42), b"some text value", struct.pack(">q", 1700000000000)]
_ratios = Ratios()
_record = _ratios.record


@pytest.fixture(scope="module", autouse=True)
def report_ratios(request):
    yield
    _ratios.print_report(request)


@pytest.mark.benchmark(group="execute-encode")
def test_execute_encode_reference(benchmark):
    handler, message = ref.ProtocolHandler, ref.ExecuteMessage

    def run():
        return handler.encode_message(message(QUERY_ID, VALUES, 1), 5, 4, None, False)

    out = benchmark(run)
    _record(benchmark, "execute-encode", "cassandra-driver")
    assert len(out) > 9


@pytest.mark.benchmark(group="execute-encode")
def test_execute_encode_cassfast_message(benchmark):
    handler, message = protocol.ProtocolHandler, protocol.ExecuteMessage

    def run():
        return handler.encode_message(message(QUERY_ID, VALUES, 1), 5, 4, None, False)

    out = benchmark(run)
    _record(benchmark, "execute-encode", "cassfast ProtocolHandler")
    assert out == ref.ProtocolHandler.encode_message(ref.ExecuteMessage(QUERY_ID, VALUES, 1),
                                                     5, 4, None, False)


@pytest.mark.benchmark(group="execute-encode")
def test_execute_encode_cassfast_hot_path(benchmark):
    out = benchmark(encode_execute_frame, 5, 4, QUERY_ID, VALUES, 1)
    _record(benchmark, "execute-encode", "cassfast encode_execute_frame")
    assert out == protocol.ProtocolHandler.encode_message(
        protocol.ExecuteMessage(QUERY_ID, VALUES, 1), 5, 4, None, False)


def _rows_body(n):
    def short(v):
        return struct.pack(">H", v)

    def string(s):
        return short(len(s)) + s.encode()

    meta = (struct.pack(">ii", 0x0001, 3) + string("ks") + string("tbl") + string("id")
            + short(0x0009) + string("name") + short(0x000D) + string("ts") + short(0x0002))
    rows = [struct.pack(">i", n)]
    for i in range(n):
        name = ("user-%d" % i).encode()
        rows.append(struct.pack(">ii", 4, i) + struct.pack(">i", len(name)) + name
                    + struct.pack(">iq", 8, 1700000000000 + i))
    return struct.pack(">i", 2) + meta + b"".join(rows)


ROWS_BODY = _rows_body(100)


@pytest.mark.benchmark(group="result-decode")
def test_result_decode_reference(benchmark):
    out = benchmark(ref.ProtocolHandler.decode_message, 4, {}, 1, 0, 0x08, ROWS_BODY, None, None)
    _record(benchmark, "result-decode", "cassandra-driver")
    assert len(out.parsed_rows) == 100


@pytest.mark.benchmark(group="result-decode")
def test_result_decode_cassfast(benchmark):
    out = benchmark(protocol.ProtocolHandler.decode_message, 4, {}, 1, 0, 0x08, ROWS_BODY, None,
                    None)
    _record(benchmark, "result-decode", "cassfast ProtocolHandler")
    theirs = ref.ProtocolHandler.decode_message(4, {}, 1, 0, 0x08, ROWS_BODY, None, None)
    assert out.parsed_rows == theirs.parsed_rows


ENVELOPE = struct.pack(">BBhBi", 0x85, 0, 1, 0x08, 4) + struct.pack(">i", 1)
SEGMENT = SegmentEncoder().encode([ENVELOPE] * 50)


@pytest.mark.benchmark(group="segment-decode")
def test_segment_decode_reference(benchmark):
    codec = SegmentCodec()

    def run():
        buf = io.BytesIO(SEGMENT)
        return codec.decode(buf, codec.decode_header(buf)).payload

    out = benchmark(run)
    _record(benchmark, "segment-decode", "cassandra-driver")
    assert out == ENVELOPE * 50


@pytest.mark.benchmark(group="segment-decode")
def test_segment_decode_cassfast(benchmark):
    def run():
        decoder = FrameDecoder(5)
        decoder.start_segments()
        return decoder.feed(SEGMENT)

    out = benchmark(run)
    _record(benchmark, "segment-decode", "cassfast FrameDecoder")
    assert len(out) == 50


SMALL_REQUEST = protocol.ProtocolHandler.encode_message(
    protocol.ExecuteMessage(QUERY_ID, VALUES, 1, result_metadata_id=bytes(range(16, 32))), 5, 5, None, False)


@pytest.mark.benchmark(group="segment-encode-lz4")
def test_small_segment_encode_lz4_reference(benchmark):
    def run():
        buf = io.BytesIO()
        segment_codec_lz4.encode(buf, SMALL_REQUEST)
        return buf.getvalue()

    out = benchmark(run)
    _record(benchmark, "segment-encode-lz4", "cassandra-driver")
    buf = io.BytesIO(out)
    assert segment_codec_lz4.decode(buf, segment_codec_lz4.decode_header(buf)).payload == SMALL_REQUEST


@pytest.mark.benchmark(group="segment-encode-lz4")
def test_small_segment_encode_lz4_cassfast(benchmark):
    encode = SegmentEncoder("lz4").encode
    out = benchmark(encode, [SMALL_REQUEST])
    _record(benchmark, "segment-encode-lz4", "cassfast SegmentEncoder")
    buf = io.BytesIO(out)
    assert segment_codec_lz4.decode(buf, segment_codec_lz4.decode_header(buf)).payload == SMALL_REQUEST
