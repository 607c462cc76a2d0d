"""``deserialize`` overrides on type descriptors are honoured, as cqlsh needs (no server).

cqlsh replaces ``DateType.deserialize`` so that a timestamp outside datetime's range (year 10000
and later) shows as its milliseconds instead of failing the whole result, deletes the
reference's compiled ``DesDateType`` so that the reference calls it, and sets
``CassandraType.support_empty_values``.  The override below is written the way cqlsh's is; the
same RESULT body is decoded by cassfast and by cassandra-driver 3.30 with the same hooks.
"""
import struct
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from oracle import cql_oracle as oracle  # noqa: E402

import cassandra.cqltypes as ref_cqltypes  # noqa: E402
import cassandra.protocol as ref_protocol  # noqa: E402

from cassfast import _types, _types_codecs, cqltypes, rows  # noqa: E402
from cassfast.marshal import int64_unpack  # noqa: E402
from cassfast.util import datetime_from_timestamp  # noqa: E402

YEAR_10000_MS = 253402300800000  # 10000-01-01T00:00:00Z, one past datetime.max
IN_RANGE_MS = 1700000000123


def timestamp_or_millis(byts, protocol_version):
    millis = int64_unpack(byts)
    try:
        return datetime_from_timestamp(millis / 1000.0)
    except OverflowError:
        return millis


def body(columns, cells):
    out = oracle.pack_int(2) + oracle.rows_metadata(columns) + oracle.pack_int(1)
    for cell in cells:
        out += oracle.pack_bytes(cell) if cell is not None else oracle.pack_int(-1)
    return out


def decode(data):
    meta, _, _, _, pos = _types.parse_result_metadata(data, 4, 4, None)
    return _types.decode_rows(data, pos, meta, rows.tuple_factory, 4)


def decode_with_reference(data):
    msg = ref_protocol.ProtocolHandler.decode_message(4, {}, 0, 0, 0x08, data, None, None)
    return msg.parsed_rows


@pytest.fixture
def cqlsh_date_hook():
    """cassfast's and the reference's DateType with cqlsh's override, removed afterwards."""
    # The reference's DateType defines its own deserialize: put that very object back after.
    ref_original = ref_cqltypes.DateType.__dict__["deserialize"]
    assert "deserialize" not in cqltypes.DateType.__dict__
    cqltypes.DateType.deserialize = staticmethod(timestamp_or_millis)
    ref_cqltypes.DateType.deserialize = staticmethod(timestamp_or_millis)
    deserializers = sys.modules.get("cassandra.deserializers")
    saved = getattr(deserializers, "DesDateType", None)
    if saved is not None:
        del deserializers.DesDateType
    try:
        yield
    finally:
        del cqltypes.DateType.deserialize
        ref_cqltypes.DateType.deserialize = ref_original
        if saved is not None:
            deserializers.DesDateType = saved


TIMESTAMPS = body([("a", ("timestamp",)), ("b", ("timestamp",))],
                  [struct.pack(">q", YEAR_10000_MS), struct.pack(">q", IN_RANGE_MS)])


def test_without_an_override_an_out_of_range_timestamp_is_a_decode_error():
    with pytest.raises(_types.DecodeError, match="outside the range of datetime"):
        decode(TIMESTAMPS)


def test_cqlsh_date_override_gives_the_milliseconds_like_the_reference(cqlsh_date_hook):
    result = decode(TIMESTAMPS)
    assert result == [(YEAR_10000_MS, datetime_from_timestamp(IN_RANGE_MS / 1000.0))]
    assert result == decode_with_reference(TIMESTAMPS)


def test_date_override_reaches_timestamp_type_but_not_timeuuid(cqlsh_date_hook):
    # cqlsh's trace display reads timeuuid columns under its DateType hook (TimeUUIDType is a
    # DateType subclass with its own deserialize in the reference).
    event_id = uuid.uuid1()
    data = body([("e", ("timeuuid",)), ("ts", ("timestamp",))], [event_id.bytes, struct.pack(">q", YEAR_10000_MS)])
    assert decode(data) == [(event_id, YEAR_10000_MS)] == decode_with_reference(data)
    assert cqltypes._deserializer_override(cqltypes.TimeUUIDType) is None
    assert cqltypes._deserializer_override(cqltypes.TimestampType) is not None


def test_override_applies_inside_collections(cqlsh_date_hook):
    inner = struct.pack(">i", 2) + oracle.pack_bytes(struct.pack(">q", YEAR_10000_MS)) \
        + oracle.pack_bytes(struct.pack(">q", 0))
    data = body([("l", ("list", ("timestamp",)))], [inner])
    assert decode(data) == [([YEAR_10000_MS, datetime_from_timestamp(0)],)]
    assert decode(data) == decode_with_reference(data)


def test_removing_the_override_restores_the_compiled_decoder():
    cqltypes.DateType.deserialize = staticmethod(timestamp_or_millis)
    try:
        assert decode(TIMESTAMPS)[0][0] == YEAR_10000_MS
        assert type(_types_codecs.codec_for(cqltypes.DateType)) is _types_codecs.DeserializeOverrideCodec
    finally:
        del cqltypes.DateType.deserialize
    assert type(_types_codecs.codec_for(cqltypes.DateType)) is _types_codecs.TimestampCodec
    with pytest.raises(_types.DecodeError):
        decode(TIMESTAMPS)


def test_default_codecs_are_the_compiled_ones():
    for descriptor in (cqltypes.DateType, cqltypes.Int32Type, cqltypes.UTF8Type, cqltypes.UUIDType):
        assert type(_types_codecs.codec_for(descriptor)) is not _types_codecs.DeserializeOverrideCodec
        assert cqltypes._deserializer_override(descriptor) is None


def test_an_override_that_calls_the_builtin_through_super_does_not_recurse():
    def tagged(cls, byts, protocol_version):
        return ("int", super(cqltypes.Int32Type, cls).deserialize(byts, protocol_version))
    cqltypes.Int32Type.deserialize = classmethod(tagged)
    try:
        assert decode(body([("i", ("int",))], [struct.pack(">i", 7)])) == [(("int", 7),)]
        assert cqltypes.Int32Type.deserialize(struct.pack(">i", 8), 4) == ("int", 8)
        # encoding keeps the compiled codec
        assert cqltypes.Int32Type.serialize(9, 4) == struct.pack(">i", 9)
    finally:
        del cqltypes.Int32Type.deserialize
    assert decode(body([("i", ("int",))], [struct.pack(">i", 7)])) == [(7,)]


def test_empty_values_still_follow_the_reference_rule_under_an_override(cqlsh_date_hook):
    # cqlsh also sets CassandraType.support_empty_values: an empty timestamp is EMPTY, and the
    # override is not called for it (the reference's from_binary rule).
    data = body([("a", ("timestamp",))], [b""])
    assert decode(data) == [(None,)]
    cqltypes.CassandraType.support_empty_values = True
    try:
        assert decode(data) == [(cqltypes.EMPTY,)]
    finally:
        cqltypes.CassandraType.support_empty_values = False
