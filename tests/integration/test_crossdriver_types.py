"""Cross-driver value checks against a real Cassandra node: every CQL type, nulls and edge values.

For each value, cassandra-driver 3.30 writing it (prepared) and reading it back is the oracle.
Each test then crosses the drivers one way and requires the same value, compared through a
canonical form that maps each driver's container and value classes (SortedSet, OrderedMap,
Duration, Date, Time, UDT namedtuples) to plain data and keeps the Python type of scalars
(timestamps are compared at the wire's millisecond precision):

- ``cassfast_writes``: cassfast writes with a prepared statement, cassandra-driver reads;
- ``cassfast_reads``: cassandra-driver writes, cassfast reads;
- ``cassfast_literal_writes``: cassfast writes with client-side ``%s`` formatting, and the oracle
  is cassandra-driver doing the same (skipped where the reference's literal path cannot express
  the value either).

cassfast connects with protocol v3, v4 (frames; plain, LZ4 and Snappy) and v5 (checksummed
segments; plain and LZ4).  Setting ``CASSFAST_CROSSDRIVER_SELFTEST=1`` puts cassandra-driver in cassfast's
place, which validates the tests themselves.
"""
import importlib
import itertools
import math
import uuid
from collections.abc import Mapping, Set
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
from _crossdriver import driver_package, node_address

from cassfast.testing import _versions

pytestmark = pytest.mark.integration

# Unique per run: several runs (developers, CI) may share the node.
KEYSPACE = "crossdriver_%s" % uuid.uuid4().hex[:10]


def _driver_modules(name):
    pkg = driver_package(name)
    return {m: importlib.import_module("%s.%s" % (pkg, m)) for m in ("cluster", "util", "query")}


class Addr:
    """A UDT value given by attributes rather than by position (both drivers accept it)."""

    def __init__(self, street, zip, tags):
        self.street, self.zip, self.tags = street, zip, tags


# (column id, CQL type, values).  A value may be a callable taking the writing driver's util
# module, for driver classes (Duration, Date).  None (null) is added to every column.
NAN, INF = float("nan"), float("inf")
CASES = [
    ("ascii", "ascii", ["", "a", "ASCII ~!@#$%^&*()_+{}|:<>?", "it's", "x" * 5000]),
    ("bigint", "bigint", [0, -1, -2 ** 63, 2 ** 63 - 1]),
    ("blob", "blob", [b"", b"\x00", bytes(range(256)), b"\xff" * 10000]),
    ("boolean", "boolean", [True, False]),
    ("date", "date", [date(1970, 1, 1), date(1969, 12, 31), date(1, 1, 1), date(9999, 12, 31),
                      date(2024, 2, 29),
                      # An int is the raw unsigned wire value (epoch at 2**31), as in CQL.
                      0, 2 ** 31, 2 ** 32 - 1,
                      lambda u: u.Date(-2 ** 31), lambda u: u.Date(2 ** 31 - 1),
                      lambda u: u.Date(-1)]),
    ("decimal", "decimal", [Decimal("0"), Decimal("-0"), Decimal("1.50"), Decimal("-1.5"),
                            Decimal("-123456789012345678901234567890.123456789"),
                            Decimal("1E+25"), Decimal("-1E-30"), Decimal("0.000")]),
    ("double", "double", [0.0, -0.0, 1.5, -2.5e-308, 1.7976931348623157e308, 5e-324, INF, -INF,
                          NAN, 0.1]),
    ("duration", "duration", [lambda u: u.Duration(0, 0, 0), lambda u: u.Duration(1, 2, 3),
                              lambda u: u.Duration(-1, -2, -3),
                              lambda u: u.Duration(2 ** 31 - 1, 2 ** 31 - 1, 2 ** 63 - 1),
                              lambda u: u.Duration(-2 ** 31, -2 ** 31, -2 ** 63)]),
    ("float", "float", [0.0, -0.0, 1.5, 0.1, 3.4028234663852886e+38, 1.401298464324817e-45, INF,
                        -INF, NAN]),
    ("inet", "inet", ["127.0.0.1", "0.0.0.0", "255.255.255.255", "::1",
                      "2001:db8::8a2e:370:7334", "fe80::1"]),
    ("int", "int", [0, -1, -2 ** 31, 2 ** 31 - 1]),
    ("smallint", "smallint", [0, -32768, 32767]),
    ("tinyint", "tinyint", [0, -128, 127]),
    ("text", "text", ["", "h\u00e9llo w\u00f6rld", "\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8",
                      "\U0001f642 emoji \U0001f680", "nul\x00inside", "x" * 100000,
                      # Larger than a v5 segment payload (128 KiB - 1): a multi-segment frame.
                      "y\u00e9" * 100000]),
    ("time", "time", [0, 86399999999999, 1, time(12, 34, 56, 789012), time(0, 0),
                      time(23, 59, 59, 999999)]),
    ("timestamp", "timestamp", [datetime(1970, 1, 1), datetime(1969, 12, 31, 23, 59, 59, 999000),
                                datetime(1900, 1, 1, 12, 0), datetime(1, 1, 1),
                                datetime(9999, 12, 31, 23, 59, 59, 999000),
                                datetime(2024, 2, 29, 12, 0, 0, 123000,
                                         tzinfo=timezone(timedelta(hours=5))),
                                0, -1, 1700000000123]),
    ("timeuuid", "timeuuid", [uuid.UUID("8a9b0d30-5f4e-11ee-8c99-0242ac120002"),
                              uuid.UUID("00000000-0000-1000-8000-000000000000")]),
    ("uuid", "uuid", [uuid.UUID(int=0), uuid.UUID(int=2 ** 128 - 1),
                      uuid.UUID("123e4567-e89b-42d3-a456-426614174000")]),
    ("varint", "varint", [0, 1, -1, 127, 128, -128, -129, 255, 256, 2 ** 63, -(2 ** 63) - 1,
                          2 ** 200, -(2 ** 200)]),
    ("list_int", "list<int>", [[], [1], [1, 2, 3, -2 ** 31]]),
    ("list_text", "list<text>", [["a", "", "\u00e9", "a"]]),
    ("set_text", "set<text>", [set(), {"a"}, {"b", "a", "\u00e7"}]),
    ("set_int", "set<int>", [{3, 1, 2, -5}]),
    ("map_text_int", "map<text, int>", [{}, {"a": 1, "b": -2}]),
    ("map_int_text", "map<int, text>", [{2: "b", 1: "a", -1: ""}]),
    ("map_uuid_dbl", "map<uuid, double>", [{uuid.UUID(int=5): 1.5, uuid.UUID(int=1): NAN}]),
    ("frozen_list", "frozen<list<int>>", [[], [5, 4, 3]]),
    ("frozen_set", "frozen<set<text>>", [set(), {"z", "y"}]),
    ("frozen_map", "frozen<map<text, int>>", [{}, {"k": 1}]),
    ("tuple3", "tuple<int, text, double>", [(1, "a", 1.5), (None, None, None),
                                            (2 ** 31 - 1, "", -INF)]),
    ("tuple_nested", "tuple<int, frozen<list<text>>, frozen<map<int, text>>>",
     [(1, ["a", "b"], {1: "x"}), (0, [], {})]),
    ("map_nested", "map<text, frozen<list<int>>>", [{"a": [1, 2], "b": []}]),
    ("list_nested", "list<frozen<map<int, frozen<set<text>>>>>", [[{1: {"a", "b"}}, {}]]),
    ("set_tuples", "set<frozen<tuple<int, text>>>", [{(1, "a"), (2, "b")}]),
    ("map_tuple_key", "map<frozen<tuple<int, int>>, text>", [{(1, 2): "x", (0, -1): "y"}]),
    ("udt_frozen", "frozen<addr>", [("Main St", 12345, {"a", "b"}), (None, None, None),
                                    Addr("Elm", -1, set())]),
    ("udt", "addr", [("S", 1, {"t"})]),
    ("udt_nested", "frozen<outer_t>", [("n", ("s", 2, {"t"}), [1, 2]), ("m", None, [])]),
    ("list_udt", "list<frozen<addr>>", [[("a", 1, {"x"}), ("b", None, None)]]),
    ("map_udt", "map<int, frozen<addr>>", [{1: ("a", 1, {"x"})}]),
    ("vector_float", "vector<float, 3>", [[1.0, -2.5, 3.25], [0.0, -0.0, 1e-45]]),
    ("vector_float1", "vector<float, 1>", [[INF]]),
    ("vector_bigint", "vector<bigint, 2>", [[2 ** 63 - 1, -2 ** 63]]),
    ("vector_text", "vector<text, 2>", [["a", "b\u00e9"]]),
]
CASE_TYPES = {cid: ctype for cid, ctype, _ in CASES}
#: The vector type is new in Cassandra 5.0: older servers (the harness runs 4.x too) get no such
#: column, and its cases are listed as not run (tests/version_subset.py).
VECTOR_SINCE = "5.0"


def _server_has(ctype, version):
    return not ctype.startswith("vector<") or _versions.at_least(version, VECTOR_SINCE)


def _case_marks(ctype):
    if ctype.startswith("vector<"):
        return [pytest.mark.cassandra_min(VECTOR_SINCE, reason="the vector type is new in Cassandra 5.0")]
    return []


PARAMS = [pytest.param(cid, i, id="%s-%d" % (cid, i), marks=_case_marks(ctype))
          for cid, ctype, values in CASES for i in range(len(values) + 1)]
DIRECTIONS = ["cassfast_writes", "cassfast_reads", "cassfast_literal_writes"]


def value_for(cid, index, util_module):
    values = dict((c, v) for c, _, v in CASES)[cid]
    if index == len(values):
        return None
    v = values[index]
    return v(util_module) if callable(v) else v


def canonical(v):
    """Plain, comparable data for a value read by either driver; scalars keep their type."""
    if v is None:
        return None
    if isinstance(v, float):
        return ("float", "nan") if math.isnan(v) else ("float", v, math.copysign(1.0, v))
    if isinstance(v, Decimal):
        return ("decimal", str(v))
    if isinstance(v, (bool, int, str, bytes, uuid.UUID)):
        return (type(v).__name__, v)
    if isinstance(v, datetime):
        # The wire holds milliseconds; a sub-millisecond difference is float rounding in the
        # reading driver (cassandra-driver reads 9999-12-31T23:59:59.999 as ...59.998993).
        return ("datetime", (v.replace(microsecond=0) + timedelta(
            milliseconds=round(v.microsecond / 1000))).isoformat(), v.tzinfo)
    if isinstance(v, (date, time)):
        return (type(v).__name__, v.isoformat())
    if all(hasattr(v, a) for a in ("months", "days", "nanoseconds")):
        return ("duration", v.months, v.days, v.nanoseconds)
    if hasattr(v, "days_from_epoch"):
        return ("date", v.days_from_epoch)
    if hasattr(v, "nanosecond_time"):
        return ("time", v.nanosecond_time)
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return ("udt", tuple((f, canonical(x)) for f, x in zip(v._fields, v)))
    if isinstance(v, tuple):
        return ("tuple", tuple(canonical(x) for x in v))
    if isinstance(v, Mapping) or type(v).__name__ in ("OrderedMap", "OrderedMapSerializedKey"):
        return ("map", tuple(sorted(((canonical(k), canonical(x)) for k, x in v.items()),
                                    key=repr)))
    if isinstance(v, Set) or type(v).__name__ == "SortedSet":
        return ("set", tuple(sorted((canonical(x) for x in v), key=repr)))
    if isinstance(v, list):
        return ("list", tuple(canonical(x) for x in v))
    return ("other", type(v).__name__, repr(v))


class Side:
    """One driver's session on the test keyspace, with prepared statements per column."""

    def __init__(self, name, host, port, protocol_version=None, compression=True):
        self.modules = _driver_modules(name)
        kwargs = {"port": port, "compression": compression}
        if protocol_version:
            kwargs["protocol_version"] = protocol_version
        self.cluster = self.modules["cluster"].Cluster([host], **kwargs)
        self.session = self.cluster.connect(KEYSPACE)
        self._inserts, self._selects = {}, {}

    def insert(self, cid, k, value):
        stmt = self._inserts.get(cid)
        if stmt is None:
            stmt = self._inserts[cid] = self.session.prepare(
                "INSERT INTO alltypes (k, c_%s) VALUES (?, ?)" % cid)
        self.session.execute(stmt, (k, value))

    def insert_literal(self, cid, k, value):
        self.session.execute("INSERT INTO alltypes (k, c_%s) VALUES (%%s, %%s)" % cid, (k, value))

    def select(self, cid, k):
        stmt = self._selects.get(cid)
        if stmt is None:
            stmt = self._selects[cid] = self.session.prepare(
                "SELECT c_%s FROM alltypes WHERE k = ?" % cid)
        rows = list(self.session.execute(stmt, (k,)))
        assert len(rows) == 1, "expected one row for k=%d, got %d" % (k, len(rows))
        return rows[0][0]

    def close(self):
        self.cluster.shutdown()


def create_schema(session, version):
    session.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    session.execute("CREATE KEYSPACE %s WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
    session.set_keyspace(KEYSPACE)
    session.execute("CREATE TYPE addr (street text, zip int, tags frozen<set<text>>)")
    session.execute("CREATE TYPE outer_t (name text, home frozen<addr>, scores list<int>)")
    columns = ", ".join("c_%s %s" % (cid, ctype) for cid, ctype, _ in CASES if _server_has(ctype, version))
    session.execute("CREATE TABLE alltypes (k int PRIMARY KEY, %s)" % columns)
    session.execute("CREATE TABLE counters (k int PRIMARY KEY, c counter)")


@pytest.fixture(scope="module")
def reference(cassandra_single):
    host, port = node_address(cassandra_single)
    from cassandra.cluster import Cluster
    cluster = Cluster([host], port=port)
    create_schema(cluster.connect(), cassandra_single.version)
    cluster.shutdown()
    side = Side("cassandra", host, port)
    yield side
    side.session.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    side.close()


_V5 = pytest.mark.cassandra_min("4.0", reason="protocol v5: 3.11 speaks v4 at most")


@pytest.fixture(scope="module", params=[
    pytest.param((3, False), id="v3"), pytest.param((4, False), id="v4"), pytest.param((4, "lz4"), id="v4-lz4"),
    pytest.param((4, "snappy"), id="v4-snappy"), pytest.param((5, False), id="v5", marks=_V5),
    pytest.param((5, "lz4"), id="v5-lz4", marks=_V5),
])
def cassfast_side(request, cassandra_single, reference):
    host, port = node_address(cassandra_single)
    protocol_version, compression = request.param
    side = Side("cassfast", host, port, protocol_version, compression)
    yield side
    side.close()


_keys = itertools.count(1)


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("cid,index", PARAMS)
def test_value_crosses_drivers_identically(reference, cassfast_side, cid, index, direction):
    ref, cf = reference, cassfast_side
    oracle_key, key = next(_keys), next(_keys)
    ref_value = value_for(cid, index, ref.modules["util"])
    cf_value = value_for(cid, index, cf.modules["util"])

    if direction == "cassfast_literal_writes":
        try:
            ref.insert_literal(cid, oracle_key, ref_value)
        except Exception as ref_exc:
            # Some values (tuples, UDTs, dates before year 1 in CQL text) have no client-side
            # literal in cassandra-driver either.  A drop-in replacement must then fail the same
            # way, with the server's validation error, or, if it can write the literal, store
            # exactly what a prepared write by the reference stores.
            try:
                cf.insert_literal(cid, key, cf_value)
            except Exception as cf_exc:
                assert type(cf_exc).__name__ == type(ref_exc).__name__, (ref_exc, cf_exc)
                return
            ref.insert(cid, oracle_key, ref_value)
        else:
            cf.insert_literal(cid, key, cf_value)
        expected, got = ref.select(cid, oracle_key), ref.select(cid, key)
    elif direction == "cassfast_writes":
        ref.insert(cid, oracle_key, ref_value)
        cf.insert(cid, key, cf_value)
        expected, got = ref.select(cid, oracle_key), ref.select(cid, key)
    else:
        ref.insert(cid, key, ref_value)
        expected, got = ref.select(cid, key), cf.select(cid, key)

    assert canonical(got) == canonical(expected), (
        "%s %s value %r: cassandra-driver saw %r, cassfast path gave %r"
        % (direction, CASE_TYPES[cid], ref_value, expected, got))


def test_counter_updates_cross_drivers(reference, cassfast_side):
    key = next(_keys)
    update_ref = reference.session.prepare("UPDATE counters SET c = c + ? WHERE k = ?")
    update_cf = cassfast_side.session.prepare("UPDATE counters SET c = c + ? WHERE k = ?")
    reference.session.execute(update_ref, (2 ** 62, key))
    cassfast_side.session.execute(update_cf, (2 ** 62 - 1, key))
    cassfast_side.session.execute(update_cf, (-(2 ** 63) + 1, key))
    reference.session.execute("UPDATE counters SET c = c + %s WHERE k = %s", (-5, key))
    expected = 2 ** 62 + 2 ** 62 - 1 - 2 ** 63 + 1 - 5
    select = "SELECT c FROM counters WHERE k = %d" % key
    assert reference.session.execute(select).one()[0] == expected
    assert cassfast_side.session.execute(select).one()[0] == expected
