"""Malformed input and bad values: cassfast._types must raise its typed errors, never crash,
hang, read out of bounds or allocate from an untrusted count.

The fuzz tests feed random and mutated RESULT bodies to parse_result_metadata/decode_rows; the
only exception allowed is ``_types.DecodeError`` (a ValueError).  Each records how many inputs
it ran in ``FUZZ_COUNTS`` and asserts it ran the number hypothesis was asked for.
"""
import os
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from oracle import cql_oracle as oracle  # noqa: E402

from cassfast import _types, cqltypes, rows, util  # noqa: E402

DecodeError = _types.DecodeError

# CASSFAST_FUZZ_EXAMPLES raises the count for a long local fuzz run.
FUZZ_EXAMPLES = int(os.environ.get("CASSFAST_FUZZ_EXAMPLES", "3000"))
FUZZ_COUNTS = {"random": 0, "mutated": 0}

COLUMNS = [("id", ("uuid",)), ("n", ("int",)), ("t", ("varchar",)), ("l", ("list", ("int",))),
           ("m", ("map", ("varchar",), ("bigint",))), ("ts", ("timestamp",)),
           ("u", ("udt", "ks", "point", [("x", ("double",)), ("y", ("double",))])),
           ("v", ("vector", ("float",), 2)), ("d", ("duration",)), ("dec", ("decimal",))]
import datetime  # noqa: E402
import decimal  # noqa: E402
import uuid  # noqa: E402

GOOD_BODY = oracle.rows_body(COLUMNS, [
    (uuid.UUID(int=7), 1, "x", [1, 2], {"a": 5}, datetime.datetime(2020, 1, 1), (1.0, 2.0),
     [0.5, 1.5], (1, 2, 3), decimal.Decimal("1.5")),
    (None, None, "", [], {}, None, (None, 3.0), None, None, None),
], paging_state=b"state")


def decode_body(body):
    meta, _, _, count, pos = _types.parse_result_metadata(body, 4, 5, None)
    if meta is not None:
        _types.decode_rows(body, pos, meta, rows.named_tuple_factory, 5)
        _types.decode_rows(body, pos, meta, rows.dict_factory, 5)


def test_the_fuzz_seed_body_is_valid():
    meta, paging, _, _, pos = _types.parse_result_metadata(GOOD_BODY, 4, 5, None)
    assert paging == b"state"
    result = _types.decode_rows(GOOD_BODY, pos, meta, rows.tuple_factory, 5)
    assert len(result) == 2 and result[0][2] == "x" and result[1][6] == (None, 3.0)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_raise_only_decode_error(data):
    FUZZ_COUNTS["random"] += 1
    body = b"\x00\x00\x00\x02" + data
    try:
        decode_body(body)
    except DecodeError:
        pass


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, len(GOOD_BODY) - 1), st.integers(0, 255)),
                min_size=1, max_size=4),
       st.integers(0, len(GOOD_BODY)))
def test_fuzz_mutated_and_truncated_bodies_raise_only_decode_error(mutations, cut):
    FUZZ_COUNTS["mutated"] += 1
    body = bytearray(GOOD_BODY)
    for index, byte in mutations:
        body[index] = byte
    try:
        decode_body(bytes(body[:max(cut, 4)]))
    except DecodeError:
        pass


def test_fuzz_tests_ran_the_requested_number_of_inputs():
    # Runs after the two fuzz tests in file order; hypothesis may stop early only on failure.
    assert FUZZ_COUNTS["random"] >= FUZZ_EXAMPLES * 0.9, FUZZ_COUNTS
    assert FUZZ_COUNTS["mutated"] >= FUZZ_EXAMPLES * 0.9, FUZZ_COUNTS
    print("fuzz inputs run:", FUZZ_COUNTS)


@pytest.mark.parametrize("cut", range(4, len(GOOD_BODY) - 1, 7))
def test_every_truncation_of_a_valid_body_is_a_decode_error(cut):
    with pytest.raises(DecodeError):
        decode_body(GOOD_BODY[:cut])


def test_huge_row_and_column_counts_fail_before_allocating():
    meta_only = oracle.pack_int(2) + oracle.rows_metadata([("n", ("int",))])
    with pytest.raises(DecodeError, match="does not fit"):
        decode_body(meta_only + struct.pack(">i", 2 ** 31 - 1))
    with pytest.raises(DecodeError, match="columns"):
        decode_body(oracle.pack_int(2) + struct.pack(">ii", 1, 2 ** 31 - 1) + b"\x00" * 8)
    huge_list = struct.pack(">i", 2 ** 31 - 1)
    with pytest.raises(DecodeError, match="elements"):
        cqltypes.ListType.apply_parameters((cqltypes.Int32Type,)).deserialize(huge_list, 4)


def test_negative_lengths_other_than_null_and_unset_are_rejected():
    body = oracle.pack_int(2) + oracle.rows_metadata([("n", ("int",))])
    body += oracle.pack_int(1) + struct.pack(">i", -3)
    with pytest.raises(DecodeError, match="negative"):
        decode_body(body)


def test_nested_type_options_deeper_than_the_limit_are_refused():
    option = b"\x00\x09"
    for _ in range(100):
        option = b"\x00\x20" + option
    with pytest.raises(DecodeError, match="deeper"):
        _types.read_type_option(option, 0)


def test_zero_field_udt_and_tuple_options_are_accepted():
    # Found by the mutation fuzzer: a UDT option whose field count is 0.
    option = (oracle.pack_short(0x30) + oracle.pack_string("ks") + oracle.pack_string("empty_udt")
              + oracle.pack_short(0))
    body = (oracle.pack_int(2) + oracle.pack_int(1) + oracle.pack_int(1)
            + oracle.pack_string("ks") + oracle.pack_string("t") + oracle.pack_string("c") + option
            + oracle.pack_int(1) + oracle.pack_bytes(b""))
    meta, _, _, _, pos = _types.parse_result_metadata(body, 4, 4, None)
    assert _types.decode_rows(body, pos, meta, rows.tuple_factory, 4) == [(None,)]
    empty_tuple = _types.read_type_option(oracle.pack_short(0x31) + oracle.pack_short(0), 0)[0]
    assert _types.codec_for(empty_tuple).deserialize(b"", 4) == ()


def test_unknown_option_id_and_bad_positions_are_decode_errors():
    with pytest.raises(DecodeError, match="0x00ff"):
        _types.read_type_option(b"\x00\xff", 0)
    with pytest.raises(DecodeError):
        _types.parse_result_metadata(b"\x00" * 8, 9, 4, None)
    with pytest.raises(DecodeError):
        _types.parse_result_metadata(b"\x00" * 8, -1, 4, None)


@pytest.mark.parametrize("desc, data", [
    (cqltypes.Int32Type, b"\x00\x00\x01"),
    (cqltypes.LongType, b"\x00" * 9),
    (cqltypes.UUIDType, b"\x00" * 15),
    (cqltypes.BooleanType, b"\x00\x01"),
    (cqltypes.DoubleType, b"\x00" * 4),
    (cqltypes.InetAddressType, b"\x01\x02\x03"),
    (cqltypes.UTF8Type, b"\xff\xfe"),
    (cqltypes.AsciiType, b"\x80"),
    (cqltypes.DecimalType, b"\x00\x01"),
    (cqltypes.DurationType, b"\x02\x04"),
    (cqltypes.DurationType, b"\xff"),
    (cqltypes.TimeType, struct.pack(">q", -1)),
    (cqltypes.DateType, struct.pack(">q", 2 ** 62)),
    (cqltypes.lookup_casstype("VectorType(FloatType, 2)"), b"\x00" * 7),
    (cqltypes.lookup_casstype("VectorType(UTF8Type, 2)"), b"\x05ab"),
    (cqltypes.MapType.apply_parameters((cqltypes.Int32Type, cqltypes.Int32Type)),
     struct.pack(">ii", 1, 4) + b"\x00\x00\x00\x01"),
    (cqltypes.TupleType.apply_parameters((cqltypes.Int32Type,)), struct.pack(">i", 8) + b"\x00"),
])
def test_malformed_values_raise_decode_error(desc, data):
    with pytest.raises(DecodeError):
        desc.deserialize(data, 4)


@pytest.mark.parametrize("desc, value, exc", [
    (cqltypes.Int32Type, 2 ** 31, ValueError),
    (cqltypes.Int32Type, "1", TypeError),
    (cqltypes.Int32Type, 1.5, TypeError),
    (cqltypes.ShortType, -32769, ValueError),
    (cqltypes.ByteType, 128, ValueError),
    (cqltypes.LongType, 2 ** 63, ValueError),
    (cqltypes.FloatType, 1e300, ValueError),
    (cqltypes.DoubleType, "x", TypeError),
    (cqltypes.UTF8Type, b"bytes", TypeError),
    (cqltypes.AsciiType, "é", ValueError),
    (cqltypes.UUIDType, "not-a-uuid", TypeError),
    (cqltypes.BooleanType, "yes", TypeError),
    (cqltypes.DateType, "2020-01-01", TypeError),
    (cqltypes.SimpleDateType, 2 ** 32, ValueError),
    (cqltypes.TimeType, 86400000000000, ValueError),
    (cqltypes.InetAddressType, "1.2.3", ValueError),
    (cqltypes.DecimalType, object(), TypeError),
    (cqltypes.DecimalType, decimal.Decimal("NaN"), ValueError),
    (cqltypes.DurationType, 5, TypeError),
    (cqltypes.DurationType, util.Duration(2 ** 31, 0, 0), ValueError),
    (cqltypes.BytesType, "text", TypeError),
    (cqltypes.ListType.apply_parameters((cqltypes.Int32Type,)), "abc", TypeError),
    (cqltypes.ListType.apply_parameters((cqltypes.Int32Type,)), [None], ValueError),
    (cqltypes.MapType.apply_parameters((cqltypes.Int32Type, cqltypes.Int32Type)), [1], TypeError),
    (cqltypes.TupleType.apply_parameters((cqltypes.Int32Type,)), (1, 2), ValueError),
    (cqltypes.lookup_casstype("VectorType(FloatType, 2)"), [1.0], ValueError),
    (cqltypes.lookup_casstype("VectorType(FloatType, 2)"), [1.0, None], ValueError),
])
def test_bad_python_values_raise_type_or_value_error(desc, value, exc):
    with pytest.raises(exc):
        desc.serialize(value, 4)
