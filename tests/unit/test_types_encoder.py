"""Client-side CQL literals: cassfast.encoder.Encoder must render exactly what
cassandra-driver 3.30's cassandra.encoder.Encoder renders, for every mapped Python type."""
import datetime
import ipaddress
import uuid
from collections import OrderedDict
from decimal import Decimal

import pytest

import cassandra.encoder as ref_encoder
import cassandra.util as ref_util

from cassfast import encoder, util

U = uuid.UUID("12345678-1234-5678-1234-567812345678")

CASES = [
    None, 0, -17, 2 ** 70, 1.5, float("inf"), float("-inf"), float("nan"), Decimal("1.25"),
    "it's", "", b"\x00\xff", bytearray(b"ab"), memoryview(b"xy"), U,
    datetime.datetime(2020, 1, 2, 3, 4, 5, 678000), datetime.date(1999, 12, 31),
    datetime.time(1, 2, 3, 4), [1, "a", None], (1, 2), {1, 2}, frozenset(["x"]),
    {"k": [1, 2], "j": {"n": None}}, OrderedDict([("a", 1)]),
    ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("::1"), True,
]


@pytest.mark.parametrize("value", CASES, ids=lambda v: type(v).__name__)
def test_literals_match_the_reference_encoder(value):
    assert (encoder.Encoder().cql_encode_all_types(value)
            == ref_encoder.Encoder().cql_encode_all_types(value))


def test_value_sequence_renders_as_a_parenthesised_in_list():
    assert encoder.Encoder().cql_encode_all_types(encoder.ValueSequence([1, "a"])) == "(1, 'a')"
    assert (encoder.Encoder().cql_encode_all_types(encoder.ValueSequence([1, "a"]))
            == ref_encoder.Encoder().cql_encode_all_types(ref_encoder.ValueSequence([1, "a"])))


def test_a_value_sequence_defined_elsewhere_is_recognised_by_duck_typing():
    class ValueSequence(list):
        pass
    assert encoder.Encoder().cql_encode_all_types(ValueSequence([1, 2])) == "(1, 2)"


def test_util_date_time_and_sorted_set_render_like_the_reference():
    mine, ref = encoder.Encoder(), ref_encoder.Encoder()
    assert mine.cql_encode_all_types(util.Date(10)) == ref.cql_encode_all_types(ref_util.Date(10))
    assert (mine.cql_encode_all_types(util.Time(3723000000001))
            == ref.cql_encode_all_types(ref_util.Time(3723000000001)))
    assert (mine.cql_encode_all_types(util.SortedSet([2, 1]))
            == ref.cql_encode_all_types(ref_util.SortedSet([2, 1])))


def test_mapping_can_be_customised_per_encoder():
    enc = encoder.Encoder()
    enc.mapping[int] = lambda v: "int(%d)" % v
    assert enc.cql_encode_all_types([1]) == "[int(1)]"
    assert encoder.Encoder().cql_encode_all_types([1]) == "[1]"
