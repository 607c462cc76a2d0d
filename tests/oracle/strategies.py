"""Hypothesis strategies for CQL types (as oracle type tuples) and values of those types, plus
converters from oracle type tuples to cassfast and cassandra-driver descriptors, and a
normaliser that maps the values of either driver (and of the oracle) to comparable plain data."""
from __future__ import annotations

import datetime
import decimal
import ipaddress
import uuid

from hypothesis import strategies as st

SCALARS = ["ascii", "bigint", "blob", "boolean", "counter", "date", "decimal", "double",
           "duration", "float", "inet", "int", "smallint", "varchar", "time", "timestamp",
           "timeuuid", "tinyint", "uuid", "varint"]
# Scalars whose Python values hash and order (usable as set elements and map keys).
ORDERED_SCALARS = ["ascii", "bigint", "blob", "boolean", "int", "smallint", "varchar",
                   "timestamp", "tinyint", "uuid", "varint", "double", "inet"]
FIXED = ["boolean", "int", "bigint", "float", "double", "uuid", "timeuuid", "timestamp"]


def scalar_types(names=SCALARS):
    return st.sampled_from(names).map(lambda n: (n,))


def _compound(children):
    ordered = scalar_types(ORDERED_SCALARS)
    return st.one_of(
        children.map(lambda t: ("list", t)),
        ordered.map(lambda t: ("set", t)),
        st.tuples(ordered, children).map(lambda kv: ("map", kv[0], kv[1])),
        st.lists(children, min_size=1, max_size=4).map(lambda ts: ("tuple", ts)),
        st.lists(children, min_size=1, max_size=4).map(
            lambda ts: ("udt", "ks", "udt_%d" % len(ts), [("f%d" % i, t) for i, t in enumerate(ts)])),
        st.tuples(st.one_of(scalar_types(FIXED), scalar_types(["varchar", "varint", "blob"])),
                  st.integers(1, 5)).map(lambda p: ("vector", p[0], p[1])),
    )


def cql_types(max_leaves=6):
    return st.recursive(scalar_types(), _compound, max_leaves=max_leaves)


def timestamps(min_year=1, max_year=9999):
    return st.datetimes(min_value=datetime.datetime(min_year, 1, 1),
                        max_value=datetime.datetime(max_year, 12, 31, 23, 59, 59)).map(
        # Millisecond precision, as on the wire; fold=0 too, since the wire cannot carry fold
        # (a fold=1 value decodes as fold=0, which sorts differently by repr in sets and maps).
        lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, fold=0))


def values(t, wide_timestamps=True, nulls=True):
    """Values of oracle type t that both the oracle and cassfast accept."""
    kind = t[0]
    if kind == "ascii":
        return st.text(alphabet=st.characters(max_codepoint=127), max_size=20)
    if kind == "varchar":
        return st.text(max_size=20)
    if kind == "blob":
        return st.binary(max_size=20)
    if kind == "boolean":
        return st.booleans()
    if kind == "tinyint":
        return st.integers(-128, 127)
    if kind == "smallint":
        return st.integers(-32768, 32767)
    if kind == "int":
        return st.integers(-2 ** 31, 2 ** 31 - 1)
    if kind in ("bigint", "counter"):
        return st.integers(-2 ** 63, 2 ** 63 - 1)
    if kind == "varint":
        return st.integers(-2 ** 200, 2 ** 200)
    if kind == "float":
        return st.floats(width=32, allow_nan=False)
    if kind == "double":
        return st.floats(allow_nan=False)
    if kind == "decimal":
        return st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
            lambda d: -2 ** 31 < d.as_tuple().exponent < 2 ** 31)
    if kind == "uuid":
        return st.uuids()
    if kind == "timeuuid":
        return st.uuids(version=1)
    if kind == "timestamp":
        return timestamps() if wide_timestamps else timestamps(1900, 2200)
    if kind == "date":
        return st.integers(-2 ** 31, 2 ** 31 - 1)
    if kind == "time":
        return st.integers(0, 86399999999999)
    if kind == "duration":
        return st.tuples(st.integers(-2 ** 31, 2 ** 31 - 1), st.integers(-2 ** 31, 2 ** 31 - 1),
                         st.integers(-2 ** 63, 2 ** 63 - 1))
    if kind == "inet":
        return st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
    sub = lambda s: values(s, wide_timestamps, nulls)  # noqa: E731
    if kind == "list":
        return st.lists(sub(t[1]), max_size=4)
    if kind == "set":
        return st.lists(sub(t[1]), max_size=4, unique=True)
    if kind == "map":
        return st.dictionaries(sub(t[1]), sub(t[2]), max_size=4)
    if kind in ("tuple", "udt"):
        subs = t[1] if kind == "tuple" else [s for _, s in t[3]]
        fields = [st.one_of(st.none(), sub(s)) if nulls else sub(s) for s in subs]
        return st.tuples(*fields)
    if kind == "vector":
        return st.lists(sub(t[1]), min_size=t[2], max_size=t[2])
    raise AssertionError(t)


# -- descriptors ---------------------------------------------------------------------------------

_CQL_NAMES = {"varchar": "text"}


def descriptor(t, module):
    """The descriptor of oracle type t in ``module`` (cassfast.cqltypes or cassandra.cqltypes)."""
    kind = t[0]
    if kind in SCALARS:
        return module._cqltypes[_CQL_NAMES.get(kind, kind)]
    if kind == "list":
        return module.ListType.apply_parameters((descriptor(t[1], module),))
    if kind == "set":
        return module.SetType.apply_parameters((descriptor(t[1], module),))
    if kind == "map":
        return module.MapType.apply_parameters((descriptor(t[1], module), descriptor(t[2], module)))
    if kind == "tuple":
        return module.TupleType.apply_parameters(tuple(descriptor(s, module) for s in t[1]))
    if kind == "udt":
        return module.UserType.make_udt_class(t[1], t[2], tuple(n for n, _ in t[3]),
                                              tuple(descriptor(s, module) for _, s in t[3]))
    if kind == "vector":
        return module.VectorType.apply_parameters((descriptor(t[1], module), t[2]), None)
    raise AssertionError(t)


def to_input(t, v, util):
    """The oracle value v as the Python value a driver is given to serialize (util: its util)."""
    kind = t[0]
    if v is None:
        return None
    if kind == "date":
        return util.Date(v)
    if kind == "time":
        return util.Time(v)
    if kind == "duration":
        return util.Duration(*v)
    if kind in ("list", "vector", "set"):
        # Sets go in as lists: the wire order is then the generated order, as the oracle's.
        return [to_input(t[1], x, util) for x in v]
    if kind == "map":
        return {to_input(t[1], k, util): to_input(t[2], x, util) for k, x in v.items()}
    if kind == "tuple":
        return tuple(to_input(s, x, util) for s, x in zip(t[1], v))
    if kind == "udt":
        return tuple(to_input(s, x, util) for (_, s), x in zip(t[3], v))
    return v


def normalize(t, v):
    """A driver's (or the oracle's) decoded value as plain comparable data for oracle type t."""
    kind = t[0]
    if v is None:
        return None
    if kind == "date":
        return getattr(v, "days_from_epoch", v)
    if kind == "time":
        return getattr(v, "nanosecond_time", v)
    if kind == "duration":
        return (v.months, v.days, v.nanoseconds) if hasattr(v, "months") else tuple(v)
    if kind == "inet":
        return ipaddress.ip_address(v)
    if kind == "decimal":
        return decimal.Decimal(v)
    if kind in ("list", "vector"):
        return [normalize(t[1], x) for x in v]
    if kind == "set":
        return sorted((normalize(t[1], x) for x in v), key=repr)
    if kind == "map":
        items = v.items() if hasattr(v, "items") else v
        return sorted(((normalize(t[1], k), normalize(t[2], x)) for k, x in items), key=repr)
    if kind == "tuple":
        return tuple(normalize(s, x) for s, x in zip(t[1], v))
    if kind == "udt":
        return tuple(normalize(s, x) for (_, s), x in zip(t[3], v))
    if kind in ("uuid", "timeuuid"):
        assert isinstance(v, uuid.UUID)
    return v
