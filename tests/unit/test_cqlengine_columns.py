"""cqlengine columns: CQL type definitions and validation, checked against cassandra-driver 3.30's
cqlengine (the reference) as the oracle; where cassfast is deliberately stricter, the test shows
the reference's serializer cannot encode the value it let through."""
import datetime
import decimal
import uuid

import pytest

from cassandra.cqlengine import columns as ref_columns
from cassandra.cqlengine import ValidationError as RefValidationError
from cassandra import cqltypes as ref_cqltypes

from cassfast import cqltypes, util
from cassfast.cqlengine import ValidationError, columns

SCALARS = ["Text", "Ascii", "Integer", "BigInt", "SmallInt", "TinyInt", "VarInt", "Counter", "Float", "Double",
           "Decimal", "Boolean", "DateTime", "Date", "Time", "Duration", "UUID", "TimeUUID", "Blob", "Inet"]


def _named(col, name="x"):
    col.set_column_name(name)
    return col


@pytest.mark.parametrize("name", SCALARS)
def test_scalar_column_definition_matches_reference(name):
    mine = _named(getattr(columns, name)()).get_column_def()
    ref = _named(getattr(ref_columns, name)()).get_column_def()
    assert mine == ref.strip()


@pytest.mark.parametrize("build", [
    lambda m: m.List(m.Integer),
    lambda m: m.Set(m.Text, static=True),
    lambda m: m.Map(m.Text, m.List(m.Integer)),
    lambda m: m.Map(m.Ascii, m.Set(m.UUID)),
    lambda m: m.List(m.Tuple(m.Integer, m.Text)),
    lambda m: m.Tuple(m.Integer, m.Map(m.Text, m.Integer)),
    lambda m: m.Text(db_field="Mixed Case"),
])
def test_collection_column_definition_matches_reference(build):
    assert _named(build(columns)).get_column_def() == _named(build(ref_columns)).get_column_def().strip()


# Values on which both mappers must agree: accepted (with the same normalised value) or rejected.
AGREED = {
    "Text": ["a", "", 1, b"x"],
    "Ascii": ["abc", "é"],
    "Integer": [1, "17", "x", True],
    "BigInt": [2 ** 62, "z"],
    "VarInt": [10 ** 30, "x"],
    "Float": [1.5, "1.5", "x"],
    "Double": [1.5, "x"],
    "Decimal": ["1.5", 1, "x"],
    "Boolean": [True, 0, "x"],
    "DateTime": [datetime.datetime(2020, 1, 1, 2, 3, 4), datetime.date(2020, 1, 1)],
    "Date": [datetime.date(2020, 1, 1)],
    "UUID": [uuid.UUID(int=5), str(uuid.UUID(int=7)), "x", 5],
    "TimeUUID": [uuid.UUID("c9a4d5d6-2e2f-11ed-a261-0242ac120002")],
    "Blob": [b"x"],
    "Inet": ["1.2.3.4", "::1"],
}


@pytest.mark.parametrize("name,value", [(n, v) for n, vs in AGREED.items() for v in vs])
def test_validation_agrees_with_reference(name, value):
    ref = _named(getattr(ref_columns, name)())
    mine = _named(getattr(columns, name)())
    try:
        ref_bytes = ref_cqltypes._cqltypes[ref.db_type].serialize(ref.to_database(ref.validate(value)), 4)
    except RefValidationError:
        with pytest.raises(ValidationError):
            mine.validate(value)
    else:
        # Same bytes on the wire: the values may differ in Python type (date vs util.Date).
        mine_bytes = cqltypes._cqltypes[mine.db_type].serialize(mine.to_database(mine.validate(value)), 4)
        assert mine_bytes == ref_bytes


# Values the reference's validate() lets through but its write path (to_database, then the
# serializer) then fails on with assorted exceptions: cassfast rejects them in validate() with a
# ValidationError that names the column.
STRICTER = [
    ("Integer", 2 ** 31, ref_cqltypes.Int32Type),
    ("BigInt", 2 ** 63, ref_cqltypes.LongType),
    ("SmallInt", 40000, ref_cqltypes.ShortType),
    ("TinyInt", 300, ref_cqltypes.ByteType),
    ("DateTime", "x", ref_cqltypes.DateType),
    ("Blob", "x", ref_cqltypes.BytesType),
    ("Blob", 5, ref_cqltypes.BytesType),
    ("Inet", "x", ref_cqltypes.InetAddressType),
]


@pytest.mark.parametrize("name,value,ref_type", STRICTER)
def test_values_the_reference_cannot_write_are_rejected_in_validate(name, value, ref_type):
    ref = _named(getattr(ref_columns, name)())
    ref.validate(value)
    with pytest.raises(Exception):
        ref_type.serialize(ref.to_database(value), 4)
    with pytest.raises(ValidationError, match="price"):
        _named(getattr(columns, name)(), "price").validate(value)


def test_timeuuid_rejects_random_uuid():
    with pytest.raises(ValidationError, match="version 1"):
        _named(columns.TimeUUID()).validate(uuid.uuid4())


def test_integer_rejects_fractional_float_instead_of_truncating():
    # The reference silently stores int(1.5) == 1; losing data silently is worse than an error.
    with pytest.raises(ValidationError):
        _named(columns.Integer()).validate(1.5)
    assert _named(columns.Integer()).validate(2.0) == 2


def test_required_column_rejects_none_and_names_it():
    with pytest.raises(ValidationError, match="title"):
        _named(columns.Text(required=True), "title").validate(None)


def test_text_length_bounds():
    col = _named(columns.Text(min_length=2, max_length=3), "code")
    assert col.validate("ab") == "ab"
    with pytest.raises(ValidationError, match="shorter"):
        col.validate("a")
    with pytest.raises(ValidationError, match="longer"):
        col.validate("abcd")
    with pytest.raises(ValueError):
        columns.Text(min_length=5, max_length=2)


def test_collections_validate_their_elements():
    assert _named(columns.List(columns.Integer)).validate(["1", 2]) == [1, 2]
    with pytest.raises(ValidationError):
        _named(columns.List(columns.Integer)).validate(["x"])
    with pytest.raises(ValidationError):
        _named(columns.Set(columns.Text)).validate(["a"])  # strict: a list is not a set
    assert _named(columns.Set(columns.Text, strict=False)).validate(["a", "a"]) == {"a"}
    with pytest.raises(ValidationError):
        _named(columns.Map(columns.Text, columns.Integer)).validate({"a": "x"})
    with pytest.raises(ValidationError):
        _named(columns.Map(columns.Text, columns.Integer)).validate({None: 1})
    with pytest.raises(ValidationError):
        _named(columns.Tuple(columns.Integer)).validate((1, 2))


def test_collection_size_limit():
    col = _named(columns.List(columns.Integer), "big")
    with pytest.raises(ValidationError, match="65535"):
        col.validate([0] * (columns.MAX_COLLECTION_ELEMENTS + 1))


def test_counters_cannot_be_nested():
    with pytest.raises(ValidationError):
        columns.List(columns.Counter)


def test_datetime_aware_values_are_stored_as_utc():
    tz = datetime.timezone(datetime.timedelta(hours=2))
    col = _named(columns.DateTime())
    assert col.to_database(datetime.datetime(2020, 1, 1, 12, tzinfo=tz)) == datetime.datetime(2020, 1, 1, 10)


def test_date_and_time_round_trip_through_driver_types():
    d = _named(columns.Date())
    assert d.to_python(util.Date(datetime.date(2021, 5, 6))) == datetime.date(2021, 5, 6)
    t = _named(columns.Time())
    assert t.to_database(datetime.time(1, 2, 3)) == util.Time(datetime.time(1, 2, 3))
    assert t.to_python(3_723_000_000_000) == util.Time(datetime.time(1, 2, 3))


def test_decimal_from_float_keeps_its_repr():
    assert _named(columns.Decimal()).validate(0.1) == decimal.Decimal("0.1")


def test_clustering_order_must_be_asc_or_desc():
    with pytest.raises(ValidationError):
        columns.Integer(primary_key=True, clustering_order="sideways")


def test_timeuuid_from_datetime_encodes_the_time():
    dt = datetime.datetime(2020, 3, 4, 5, 6, 7, 123000, tzinfo=datetime.timezone.utc)
    u = columns.TimeUUID.from_datetime(dt)
    assert u.version == 1
    assert util.datetime_from_uuid1(u) == dt.replace(tzinfo=None)


# One value per column type, as a user would give it.
SAMPLES = {"Text": "é", "Ascii": "a", "Integer": -5, "BigInt": 2 ** 40, "SmallInt": 7, "TinyInt": -3,
           "VarInt": 10 ** 20, "Counter": 12, "Float": 1.5, "Double": 0.1, "Decimal": decimal.Decimal("1.25"),
           "Boolean": True, "DateTime": datetime.datetime(2020, 1, 2, 3, 4, 5, 6000),
           "Date": datetime.date(2020, 1, 2), "Time": datetime.time(1, 2, 3, 4),
           "Duration": util.Duration(1, 2, 3), "UUID": uuid.UUID(int=9),
           "TimeUUID": uuid.UUID("c9a4d5d6-2e2f-11ed-a261-0242ac120002"), "Blob": b"\x00",
           "Inet": "10.0.0.1"}


@pytest.mark.parametrize("name", SCALARS)
def test_driver_decoded_values_need_no_conversion_when_the_column_says_so(name):
    """Rows skip to_python for columns flagged driver_value_is_python: check that the flag is true
    only where to_python of a value decoded by cassfast's own codec returns it unchanged."""
    col = _named(getattr(columns, name)())
    cqltype = cqltypes._cqltypes[col.db_type]
    decoded = cqltype.deserialize(cqltype.serialize(col.to_database(col.validate(SAMPLES[name])), 4), 4)
    converted = col.to_python(decoded)
    if col.driver_value_is_python:
        assert converted == decoded and type(converted) is type(decoded)
    assert converted == col.to_python(col.validate(SAMPLES[name]))


@pytest.mark.parametrize("name", ["Date", "Time", "Duration", "DateTime", "UUID", "Decimal", "Set", "Map", "List"])
def test_values_read_back_have_the_reference_types(name):
    """Model attributes read from rows have the same Python type names as in the reference
    (e.g. util.Date, not datetime.date), so code inspecting them behaves the same."""
    from cassandra import util as ref_util
    args = {"Set": (columns.Integer,), "Map": (columns.Integer, columns.Integer), "List": (columns.Integer,)}
    ref_args = {"Set": (ref_columns.Integer,), "Map": (ref_columns.Integer, ref_columns.Integer),
                "List": (ref_columns.Integer,)}
    driver_values = {
        "Date": (ref_util.Date(18000), util.Date(18000)), "Time": (ref_util.Time(5), util.Time(5)),
        "Duration": (ref_util.Duration(1, 2, 3), util.Duration(1, 2, 3)),
        "DateTime": (datetime.datetime(2020, 1, 1),) * 2, "UUID": (uuid.UUID(int=1),) * 2,
        "Decimal": (decimal.Decimal("1.5"),) * 2,
        "Set": (ref_util.SortedSet([1]), util.SortedSet([1])),
        "Map": (ref_util.OrderedMapSerializedKey(ref_cqltypes.Int32Type, 4), {1: 2}),
        "List": ([1],) * 2,
    }
    ref_value, my_value = driver_values[name]
    ref = _named(getattr(ref_columns, name)(*ref_args.get(name, ())))
    mine = _named(getattr(columns, name)(*args.get(name, ())))
    assert type(mine.to_python(my_value)).__name__ == type(ref.to_python(ref_value)).__name__
