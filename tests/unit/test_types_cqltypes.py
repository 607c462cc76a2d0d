"""Type descriptors and value classes: names, type-string parsing and util behaviour must match
cassandra-driver 3.30 (``cassandra.cqltypes`` / ``cassandra.util``), which is the API spec."""
import datetime
import pickle
import uuid

import pytest

import cassandra.cqltypes as R
import cassandra.util as RU

from cassfast import cqltypes as T
from cassfast import util as U

JAVA_TYPES = [
    "org.apache.cassandra.db.marshal.Int32Type",
    "org.apache.cassandra.db.marshal.MapType(org.apache.cassandra.db.marshal.UTF8Type,org.apache.cassandra.db.marshal.Int32Type)",
    "ListType(SetType(UUIDType))",
    "org.apache.cassandra.db.marshal.FrozenType(org.apache.cassandra.db.marshal.ListType(org.apache.cassandra.db.marshal.TimestampType))",
    "TupleType(Int32Type, UTF8Type, BooleanType)",
    "ReversedType(TimeUUIDType)",
    "CompositeType(UTF8Type, Int32Type)",
    "com.example.MyCustomType",
    "SimpleDateType", "TimeType", "ShortType", "ByteType", "DurationType", "DecimalType",
]


@pytest.mark.parametrize("name", JAVA_TYPES)
def test_lookup_casstype_gives_the_reference_names(name):
    mine, ref = T.lookup_casstype(name), R.lookup_casstype(name)
    assert mine.cass_parameterized_type(full=True) == ref.cass_parameterized_type(full=True)
    assert mine.cql_parameterized_type() == ref.cql_parameterized_type()
    assert mine.__name__ == ref.__name__


def test_vectors_use_cql_syntax_for_their_cql_name_and_keep_their_parameters():
    # Not compared with the reference, whose vector names drop the element type.
    vec = T.lookup_casstype("org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType, 3)")
    assert vec.cql_parameterized_type() == "vector<float, 3>"
    assert vec.cass_parameterized_type(full=True) == (
        "org.apache.cassandra.db.marshal.VectorType(org.apache.cassandra.db.marshal.FloatType, 3)")
    assert (vec.vector_size, vec.subtype) == (3, T.FloatType)
    assert T.lookup_casstype(vec.cass_parameterized_type(full=True)).vector_size == 3


def test_udt_from_java_type_string_decodes_hex_names_like_the_reference():
    s = ("org.apache.cassandra.db.marshal.UserType(ks,706f696e74,"
         "78:org.apache.cassandra.db.marshal.DoubleType,"
         "79:org.apache.cassandra.db.marshal.DoubleType)")
    mine, ref = T.lookup_casstype(s), R.lookup_casstype(s)
    assert (mine.typename, mine.keyspace, mine.fieldnames) == (ref.typename, ref.keyspace, ref.fieldnames)
    assert mine.cql_parameterized_type() == ref.cql_parameterized_type() == "frozen<point>"


def test_udt_names_whose_hex_is_all_digits_parse_as_names():
    # hex("address") is all digits; cassandra-driver 3.30 turns it into an int and fails here.
    s = ("org.apache.cassandra.db.marshal.UserType(ks,61646472657373,"
         "737472656574:org.apache.cassandra.db.marshal.UTF8Type,"
         "7a6970:org.apache.cassandra.db.marshal.Int32Type)")
    udt = T.lookup_casstype(s)
    assert (udt.keyspace, udt.typename, udt.fieldnames) == ("ks", "address", ("street", "zip"))
    assert udt.subtypes == (T.UTF8Type, T.Int32Type)


@pytest.mark.parametrize("text, expected", [
    ("int", "int"), ("TEXT", "text"), ("varchar", "varchar"), ("frozen<list<int>>", "list<int>"),
    ("map<text, frozen<set<uuid>>>", "map<text, set<uuid>>"),
    ("tuple<int, text, boolean>", "frozen<tuple<int, text, boolean>>"),
    ("frozen<tuple<frozen<list<int>>, timestamp>>", "frozen<tuple<list<int>, timestamp>>"),
    ("vector<float, 1536>", "vector<float, 1536>"), ("duration", "duration"),
    ("'org.apache.cassandra.db.marshal.BytesType'", "blob"),
])
def test_parse_cql_type_reads_system_schema_type_strings(text, expected):
    assert T.parse_cql_type(text).cql_parameterized_type() == expected


def test_parse_cql_type_resolves_user_types_and_falls_back_to_bytes():
    addr = T.UserType.make_udt_class("ks", "Address", ("s",), (T.UTF8Type,))
    assert T.parse_cql_type('frozen<"Address">', {"Address": addr}) is addr
    assert T.parse_cql_type("list<frozen<address>>", lambda n: addr if n == "address" else None).subtypes[0] is addr
    unknown = T.parse_cql_type("frozen<nosuchtype>")
    assert unknown.deserialize(b"\x01", 4) == b"\x01"


@pytest.mark.parametrize("bad", ["", "list<", "map<int>", "vector<float>", "frozen<int, int>",
                                 "int int", "list<int>>"])
def test_parse_cql_type_rejects_malformed_strings(bad):
    with pytest.raises(ValueError):
        T.parse_cql_type(bad)


def test_descriptor_serialize_and_from_binary_classmethods_match_the_reference():
    assert T.Int32Type.serialize(5, 4) == R.Int32Type.serialize(5, 4)
    assert T.Int32Type.from_binary(None, 4) is None
    assert T.UTF8Type.to_binary(None, 4) == b""
    assert T.is_counter_type("CounterColumnType") and not T.is_counter_type("LongType")
    assert T.cql_typename("ListType(IntegerType)") == R.cql_typename("ListType(IntegerType)")


# -- util ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, -1, 19000, "2024-02-29", datetime.date(1, 1, 1),
                                   datetime.datetime(2020, 5, 6, 7, 8)])
def test_date_matches_the_reference(value):
    mine, ref = U.Date(value), RU.Date(value)
    assert mine.days_from_epoch == ref.days_from_epoch
    assert str(mine) == str(ref) and repr(mine) == repr(ref)
    assert mine.date() == ref.date()


def test_date_outside_datetime_range_prints_its_day_count():
    assert str(U.Date(-2 ** 31)) == str(RU.Date(-2 ** 31))
    with pytest.raises(ValueError):
        U.Date(-2 ** 31).date()


@pytest.mark.parametrize("value", [0, 3723000000001, "01:02:03", "23:59:59.123456789",
                                   datetime.time(4, 5, 6, 7)])
def test_time_matches_the_reference(value):
    mine, ref = U.Time(value), RU.Time(value)
    assert mine.nanosecond_time == ref.nanosecond_time
    assert (str(mine), repr(mine), mine.hour, mine.minute, mine.second, mine.nanosecond) == \
        (str(ref), repr(ref), ref.hour, ref.minute, ref.second, ref.nanosecond)


def test_duration_sorted_set_and_version_behave_like_the_reference():
    assert str(U.Duration(1, 2, 3)) == str(RU.Duration(1, 2, 3))
    assert repr(U.Duration(-1, 0, 0)) == repr(RU.Duration(-1, 0, 0))
    s = U.SortedSet([3, 1, 2, 1])
    assert list(s) == [1, 2, 3] and 2 in s and s == {1, 2, 3}
    assert list(U.SortedSet([[2], [1]])) == [[1], [2]]  # unhashable elements work
    assert pickle.loads(pickle.dumps(s)) == s
    versions = ["4.0.1", "5.0-beta1", "5.0.0", "3.11.10", "5.0.0.1"]
    assert sorted(versions, key=U.Version) == sorted(versions, key=RU.Version)


def test_uuid_time_helpers_match_the_reference():
    dt = datetime.datetime(2021, 3, 4, 5, 6, 7, 123456)
    u = U.uuid_from_time(dt, node=0x123456789ABC, clock_seq=0x1234)
    assert u == RU.uuid_from_time(dt, node=0x123456789ABC, clock_seq=0x1234)
    assert U.datetime_from_uuid1(u) == RU.datetime_from_uuid1(u)
    assert U.unix_time_from_uuid1(u) == RU.unix_time_from_uuid1(u)
    assert U.min_uuid_from_time(1e9) == RU.min_uuid_from_time(1e9)
    assert U.max_uuid_from_time(1e9) == RU.max_uuid_from_time(1e9)
    assert U.ms_timestamp_from_datetime(dt) == RU.ms_timestamp_from_datetime(dt)
    assert U.datetime_from_timestamp(-1.5) == RU.datetime_from_timestamp(-1.5)
    assert isinstance(u, uuid.UUID) and u.version == 1


def test_ordered_map_accepts_unhashable_keys():
    m = U.OrderedMap([([1], "a"), ({"k": 1}, "b")])
    assert m[[1]] == "a" and m[{"k": 1}] == "b" and len(m) == 2
    assert U.OrderedMap([("x", 1)]) == {"x": 1}


def test_udt_namedtuples_handle_invalid_field_names_like_the_reference():
    names = ("first name", "class", "ok")
    mine = T.UserType.make_udt_class("ks", "person_t", names, (T.UTF8Type,) * 3)
    ref = R.UserType.make_udt_class("ks", "person_t", names, (R.UTF8Type,) * 3)
    assert mine.tuple_type._fields == ref.tuple_type._fields
    data = R.UserType.make_udt_class("ks", "person_t", names, (R.UTF8Type,) * 3).serialize(("a", "b", "c"), 4)
    assert tuple(mine.deserialize(data, 4)) == ("a", "b", "c")


def test_unmapped_udt_values_pickle_so_they_can_be_ordered_map_keys():
    udt = T.UserType.make_udt_class("ks", "pt", ("x", "y"), (T.Int32Type, T.Int32Type))
    value = udt.deserialize(udt.serialize((1, 2), 4), 4)
    assert pickle.loads(pickle.dumps(value)) == value
    m = U.OrderedMap([(value, "v")])
    assert m[value] == "v"


def test_make_udt_class_is_cached_until_the_fields_change():
    first = T.UserType.make_udt_class("ks", "evolving", ("a",), (T.Int32Type,))
    assert T.UserType.make_udt_class("ks", "evolving", ("a",), (T.Int32Type,)) is first
    altered = T.UserType.make_udt_class("ks", "evolving", ("a", "b"), (T.Int32Type, T.UTF8Type))
    assert altered is not first and altered.fieldnames == ("a", "b")
    T.UserType.evict_udt_class("ks", "evolving")
    assert T.UserType.make_udt_class("ks", "evolving", ("a", "b"), (T.Int32Type, T.UTF8Type)) is not altered


@pytest.mark.parametrize("text", ["frozen<tuple<int, text>>", "map<text,frozen<list<int>>>", "int",
                                  'frozen<"MyType">', "list<frozen<addr>>", "vector<float, 3>",
                                  "frozen<map<frozen<set<int>>, frozen<tuple<int, frozen<list<text>>>>>>"])
def test_strip_frozen_and_cql_types_from_string_match_the_reference(text):
    assert T.strip_frozen(text) == R.strip_frozen(text)
    assert T.cql_types_from_string(text) == R.cql_types_from_string(text)


def test_map_with_unhashable_keys_round_trips_through_serialize():
    desc = T.MapType.apply_parameters((T.ListType.apply_parameters((T.Int32Type,)), T.UTF8Type))
    value = desc.deserialize(desc.serialize(U.OrderedMap([([1, 2], "a"), ([3], "b")]), 4), 4)
    assert isinstance(value, U.OrderedMapSerializedKey) and value[[1, 2]] == "a"
    assert desc.serialize(value, 4) == R.MapType.apply_parameters(
        (R.ListType.apply_parameters((R.Int32Type,)), R.UTF8Type)).serialize(
            RU.OrderedMap([([1, 2], "a"), ([3], "b")]), 4)
