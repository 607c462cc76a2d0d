"""Property tests: cassfast's compiled codecs against the spec oracle and against cassandra-driver.

For random (nested) CQL types and random values: cassfast must serialize to exactly the oracle's
bytes, decode the oracle's bytes back to the value, and agree with cassandra-driver 3.30's
``cqltypes.<Type>.serialize/deserialize`` on protocol v4 and v5 wherever the reference accepts the
value.  Runs against the in-tree compiled ``cassfast._types``.
"""
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from oracle import cql_oracle as oracle  # noqa: E402
from oracle import strategies as S  # noqa: E402

import cassandra.cqltypes as ref_cqltypes  # noqa: E402
import cassandra.util as ref_util  # noqa: E402

from cassfast import cqltypes, util  # noqa: E402

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def typed_values(wide_timestamps=True, nulls=True):
    return S.cql_types().flatmap(
        lambda t: st.tuples(st.just(t), S.values(t, wide_timestamps, nulls)))


@SETTINGS
@given(typed_values())
def test_serialize_matches_oracle_bytes_and_decodes_back(tv):
    t, v = tv
    desc = S.descriptor(t, cqltypes)
    expected = oracle.encode(t, v)
    for protocol_version in (4, 5):
        got = desc.serialize(S.to_input(t, v, util), protocol_version)
        assert got == expected
        decoded = desc.deserialize(expected, protocol_version)
        assert S.normalize(t, decoded) == S.normalize(t, oracle.decode(t, expected))
        assert S.normalize(t, decoded) == S.normalize(t, v)


@SETTINGS
@given(typed_values(wide_timestamps=False, nulls=False))
def test_cassfast_and_reference_agree_on_bytes_and_values(tv):
    t, v = tv
    mine = S.descriptor(t, cqltypes)
    ref = S.descriptor(t, ref_cqltypes)
    for protocol_version in (4, 5):
        ref_bytes = ref.serialize(S.to_input(t, v, ref_util), protocol_version)
        my_bytes = mine.serialize(S.to_input(t, v, util), protocol_version)
        assert my_bytes == ref_bytes
        assert (S.normalize(t, mine.deserialize(ref_bytes, protocol_version))
                == S.normalize(t, ref.from_binary(ref_bytes, protocol_version)))


@pytest.mark.parametrize("name", S.SCALARS)
def test_each_scalar_decodes_to_the_reference_python_type(name):
    t = (name,)
    value = S.values(t, wide_timestamps=False).example()
    data = oracle.encode(t, value)
    mine = S.descriptor(t, cqltypes).deserialize(data, 4)
    theirs = S.descriptor(t, ref_cqltypes).deserialize(data, 4)
    assert type(mine).__name__ == type(theirs).__name__
    assert S.normalize(t, mine) == S.normalize(t, theirs)


@SETTINGS
@given(S.timestamps())
def test_timestamps_decode_exactly_to_the_millisecond_over_the_whole_datetime_range(dt):
    data = oracle.encode(("timestamp",), dt)
    assert cqltypes.DateType.deserialize(data, 4) == dt
    assert cqltypes.DateType.serialize(dt, 4) == data
