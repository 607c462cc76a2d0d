"""Unit tests of cassfast.query.bind_params (client-side ``%s`` / ``%(name)s`` formatting) and
composite routing-key packing, with cassandra-driver 3.30 as the oracle (each driver formats with
its own ``Encoder``).  No network.
"""
import uuid
from datetime import date, datetime, time, timezone
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given, settings, strategies as st

import cassandra.encoder as ref_encoder
import cassandra.query as ref_query

from cassfast import encoder as cf_encoder
from cassfast import query as cf_query

VALUES = [
    None, True, False, 0, -1, 2 ** 70, -(2 ** 63), 1.5, -0.0, 1e300, float("inf"),
    float("-inf"), "plain", "it's", "''", "h\u00e9llo \u65e5\u672c \U0001f642", "",
    "semi; DROP TABLE x; --", b"", b"\x00\xff'", bytearray(b"ab"), Decimal("-1.2300"),
    Decimal("1E+10"), uuid.UUID("12345678-1234-5678-1234-567812345678"),
    datetime(1969, 12, 31, 23, 59, 59, 999000), datetime(2024, 2, 29, 12, 0, tzinfo=timezone.utc),
    date(1, 1, 1), time(23, 59, 59, 123456), [1, "a'b", None], (1, 2), {3, 1, 2},
    frozenset(["x"]), {"k": [1, 2], "j": {"n": None}}, IPv4Address("10.0.0.1"),
    IPv6Address("::1"),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + ":" + repr(v)[:30])
def test_positional_formatting_matches_the_reference(value):
    query = "SELECT * FROM t WHERE a = %s"
    ours = cf_query.bind_params(query, (value,), cf_encoder.Encoder())
    ref = ref_query.bind_params(query, (value,), ref_encoder.Encoder())
    assert ours == ref


def test_named_formatting_matches_the_reference():
    params = {"a": "it's", "b": [1, 2], "c": None}
    query = "UPDATE t SET b = %(b)s, c = %(c)s WHERE a = %(a)s"
    ours = cf_query.bind_params(query, params, cf_encoder.Encoder())
    assert ours == ref_query.bind_params(query, params, ref_encoder.Encoder())
    assert ours == "UPDATE t SET b = [1, 2], c = NULL WHERE a = 'it''s'"


def test_value_sequence_formats_as_an_in_list():
    query = "SELECT * FROM t WHERE a IN %s"
    ours = cf_query.bind_params(query, [cf_query.ValueSequence(["a", "b'c"])],
                                cf_encoder.Encoder())
    assert ours == "SELECT * FROM t WHERE a IN ('a', 'b''c')"
    assert ours == ref_query.bind_params(query, [ref_query.ValueSequence(["a", "b'c"])],
                                         ref_encoder.Encoder())


def test_single_quotes_are_doubled_so_a_value_cannot_end_the_literal():
    out = cf_query.bind_params("INSERT INTO t (a) VALUES (%s)", ("x'); DROP TABLE t; --",),
                               cf_encoder.Encoder())
    assert out == "INSERT INTO t (a) VALUES ('x''); DROP TABLE t; --')"


def test_wrong_number_of_parameters_raises_type_error():
    with pytest.raises(TypeError):
        cf_query.bind_params("SELECT %s, %s", (1,), cf_encoder.Encoder())


# --- properties, with cassandra-driver as the oracle -----------------------------------------

_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                     st.binary(max_size=64), st.uuids(),
                     st.floats(allow_nan=False, allow_infinity=False))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_values, min_size=1, max_size=5))
def test_formatting_any_values_matches_the_reference(params):
    query = "SELECT * FROM t WHERE " + " AND ".join("c%d = %%s" % i for i in range(len(params)))
    assert cf_query.bind_params(query, params, cf_encoder.Encoder()) == ref_query.bind_params(
        query, params, ref_encoder.Encoder())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=6))
def test_routing_key_packing_of_any_components_matches_the_reference(parts):
    ours, theirs = cf_query.SimpleStatement("q"), ref_query.SimpleStatement("q")
    ours.routing_key = parts
    theirs.routing_key = parts
    assert ours.routing_key == theirs.routing_key
