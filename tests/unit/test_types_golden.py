"""Golden bytes taken from the native protocol v5 spec (doc/native_protocol_v5.spec in
apache/cassandra): each expected byte string below is either quoted from the spec's own examples
(varint table in 6.24, the [unsigned vint] example and zig-zag table in section 3, the date
examples in 6.5) or follows directly from a one-line rule of section 6 (two's complement sizes,
IEEE 754, [bytes] lengths).  Runs against the compiled cassfast._types through cqltypes."""
import datetime
import decimal
import struct
import uuid

import pytest

from cassfast import cqltypes as T
from cassfast import util

LIST_INT = T.ListType.apply_parameters((T.Int32Type,))
MAP_TEXT_INT = T.MapType.apply_parameters((T.UTF8Type, T.Int32Type))
TUPLE_INT_TEXT = T.TupleType.apply_parameters((T.Int32Type, T.UTF8Type))


@pytest.mark.parametrize("value, encoded", [
    (0, "00"), (1, "01"), (127, "7F"), (128, "0080"), (129, "0081"),
    (-1, "FF"), (-128, "80"), (-129, "FF7F"),
])
def test_varint_examples_from_spec_section_6_24(value, encoded):
    assert T.IntegerType.serialize(value, 5) == bytes.fromhex(encoded)
    assert T.IntegerType.deserialize(bytes.fromhex(encoded), 5) == value


def test_unsigned_vint_example_256000_from_spec_section_3():
    # "256 000 will be encoded on 3 bytes as [110]00011 11101000 00000000"; durations carry
    # zig-zag signed vints, and zig-zag(128000) == 256000.
    encoded = T.DurationType.serialize(util.Duration(0, 0, 128000), 5)
    assert encoded == b"\x00\x00" + bytes([0b11000011, 0b11101000, 0b00000000])
    assert T.DurationType.deserialize(encoded, 5) == util.Duration(0, 0, 128000)


def test_zig_zag_table_from_spec_section_3():
    # 0 = 0, -1 = 1, 1 = 2, -2 = 3, 2 = 4 (each fits one vint byte).
    assert T.DurationType.serialize(util.Duration(-1, 1, -2), 5) == bytes([1, 2, 3])
    assert T.DurationType.serialize(util.Duration(2, 0, 0), 5) == bytes([4, 0, 0])


def test_nine_byte_vint_for_64_bit_nanoseconds():
    # "If the encoded integer is 8 bytes long the vint will be encoded on 9 bytes and the
    # first byte will be: 11111111"; zig-zag(-2**63) == 2**64 - 1.
    encoded = T.DurationType.serialize(util.Duration(0, 0, -2 ** 63), 5)
    assert encoded == b"\x00\x00\xff" + b"\xff" * 8
    assert T.DurationType.deserialize(encoded, 5).nanoseconds == -2 ** 63


def test_date_examples_from_spec_section_6_5():
    # 2^31 is 1970-01-01; 0 is -5877641-06-23 (2^31 days before).
    assert T.SimpleDateType.serialize(util.Date(0), 5) == b"\x80\x00\x00\x00"
    assert T.SimpleDateType.deserialize(b"\x80\x00\x00\x00", 5).date() == datetime.date(1970, 1, 1)
    assert T.SimpleDateType.deserialize(b"\x00\x00\x00\x00", 5).days_from_epoch == -2 ** 31
    assert T.SimpleDateType.serialize(datetime.date(1970, 1, 2), 5) == b"\x80\x00\x00\x01"


@pytest.mark.parametrize("desc, value, encoded", [
    (T.ByteType, -1, "FF"), (T.ShortType, -2, "FFFE"), (T.Int32Type, 1, "00000001"),
    (T.Int32Type, -2 ** 31, "80000000"), (T.LongType, 2 ** 63 - 1, "7FFFFFFFFFFFFFFF"),
    (T.CounterColumnType, -1, "FFFFFFFFFFFFFFFF"),
    (T.FloatType, 1.0, "3F800000"), (T.DoubleType, -2.0, "C000000000000000"),
    (T.BooleanType, True, "01"), (T.BooleanType, False, "00"),
    (T.UTF8Type, "é", "C3A9"), (T.AsciiType, "A", "41"), (T.BytesType, b"\x00\x01", "0001"),
    (T.InetAddressType, "127.0.0.1", "7F000001"),
    (T.InetAddressType, "::1", "00000000000000000000000000000001"),
    (T.TimeType, util.Time(86399999999999), "00004E94914EFFFF"),
    (T.DecimalType, decimal.Decimal("123.45"), "000000023039"),
    (T.DecimalType, decimal.Decimal("-1E+3"), "FFFFFFFDFF"),
    (T.UUIDType, uuid.UUID("00112233-4455-6677-8899-aabbccddeeff"), "00112233445566778899AABBCCDDEEFF"),
])
def test_scalar_encodings_follow_section_6(desc, value, encoded):
    assert desc.serialize(value, 5) == bytes.fromhex(encoded)
    assert desc.deserialize(bytes.fromhex(encoded), 5) == value


def test_timestamps_are_milliseconds_from_the_epoch_negative_before_it():
    assert T.DateType.serialize(datetime.datetime(1970, 1, 1, 0, 0, 1), 5) == struct.pack(">q", 1000)
    assert T.DateType.deserialize(struct.pack(">q", -1), 5) == datetime.datetime(1969, 12, 31, 23, 59, 59, 999000)
    aware = datetime.datetime(1970, 1, 1, 1, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert T.DateType.serialize(aware, 5) == struct.pack(">q", 0)
    assert T.DateType.serialize(1500, 5) == struct.pack(">q", 1500)


def test_boolean_any_nonzero_byte_is_true():
    assert T.BooleanType.deserialize(b"\x02", 5) is True
    assert T.BooleanType.deserialize(b"\x00", 5) is False


def test_collections_are_int_count_then_bytes_elements():
    assert LIST_INT.serialize([1, 2], 5) == bytes.fromhex("00000002" "00000004" "00000001" "00000004" "00000002")
    assert MAP_TEXT_INT.serialize({"a": 1}, 5) == bytes.fromhex("00000001" "00000001" "61" "00000004" "00000001")
    assert MAP_TEXT_INT.deserialize(bytes.fromhex("00000001" "00000001" "61" "00000004" "00000001"), 5) == {"a": 1}


def test_tuple_nulls_are_length_minus_one_and_udts_may_have_fewer_values_than_fields():
    assert TUPLE_INT_TEXT.serialize((None, "x"), 5) == bytes.fromhex("FFFFFFFF" "00000001" "78")
    assert TUPLE_INT_TEXT.deserialize(bytes.fromhex("FFFFFFFF" "00000001" "78"), 5) == (None, "x")
    udt = T.UserType.make_udt_class("ks", "golden_pair", ("a", "b"), (T.Int32Type, T.Int32Type))
    value = udt.deserialize(bytes.fromhex("00000004" "00000007"), 5)  # section 7: fewer values
    assert value == (7, None) and value.a == 7 and value.b is None


def test_empty_values_are_distinct_from_null_for_strings_and_none_for_numbers():
    assert T.UTF8Type.from_binary(b"", 5) == ""
    assert T.BytesType.from_binary(b"", 5) == b""
    assert T.Int32Type.from_binary(b"", 5) is None
    assert T.UTF8Type.from_binary(None, 5) is None


def test_vector_of_fixed_size_floats_is_packed_and_of_text_uses_vint_lengths():
    floats = T.lookup_casstype("org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType, 2)")
    assert floats.serialize([1.0, -2.0], 5) == bytes.fromhex("3F800000" "C0000000")
    assert floats.deserialize(bytes.fromhex("3F800000" "C0000000"), 5) == [1.0, -2.0]
    texts = T.parse_cql_type("vector<text, 2>")
    assert texts.serialize(["ab", ""], 5) == b"\x02ab\x00"
    assert texts.deserialize(b"\x02ab\x00", 5) == ["ab", ""]


def test_support_empty_values_makes_empty_non_string_values_decode_to_EMPTY(monkeypatch):
    # Opt-in reference behaviour: an application that sets support_empty_values on a descriptor
    # sees the EMPTY marker instead of None, in rows and inside collections.
    from cassfast import _types, rows
    monkeypatch.setattr(T.Int32Type, "support_empty_values", True)
    assert T.Int32Type.from_binary(b"", 5) is T.EMPTY
    assert LIST_INT.deserialize(bytes.fromhex("00000001" "00000000"), 5) == [T.EMPTY]
    body = (bytes.fromhex("00000001" "00000001") + b"\x00\x02ks\x00\x01t" + b"\x00\x01c\x00\x09"
            + bytes.fromhex("00000001" "00000000"))
    meta, _, _, _, pos = _types.parse_result_metadata(body, 0, 5, None)
    assert _types.decode_rows(body, pos, meta, rows.tuple_factory, 5) == [(T.EMPTY,)]
