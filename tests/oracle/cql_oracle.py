"""A slow, obviously-correct CQL value codec written from the native protocol spec, for tests only.

Written from ``native_protocol_v5.spec`` section 6 (value encodings) and 4.2.5 (RESULT bodies)
with ``struct`` and plain integer arithmetic, without looking at cassfast's implementation, so
that the compiled codecs can be checked against an independent reading of the spec.

Types are described by small tuples rather than cassfast descriptors:
``("int",)``, ``("list", T)``, ``("set", T)``, ``("map", K, V)``, ``("tuple", [T...])``,
``("udt", keyspace, name, [(field, T)...])``, ``("vector", T, n)``, ``("custom", classname)``.
Decoded values are plain Python: lists for list/set/vector, dicts (or lists of pairs with
``pairs=True``) for maps, tuples for tuples and UDTs, datetimes for timestamps, day counts for
dates, nanosecond counts for times and (months, days, nanos) for durations.
"""
from __future__ import annotations

import datetime
import decimal
import ipaddress
import struct
import uuid

EPOCH = datetime.datetime(1970, 1, 1)

# [option] ids, spec section 4.2.5.2.
OPTION_IDS = {
    "ascii": 0x0001, "bigint": 0x0002, "blob": 0x0003, "boolean": 0x0004, "counter": 0x0005,
    "decimal": 0x0006, "double": 0x0007, "float": 0x0008, "int": 0x0009, "timestamp": 0x000B,
    "uuid": 0x000C, "varchar": 0x000D, "varint": 0x000E, "timeuuid": 0x000F, "inet": 0x0010,
    "date": 0x0011, "time": 0x0012, "smallint": 0x0013, "tinyint": 0x0014, "duration": 0x0015,
    "list": 0x0020, "map": 0x0021, "set": 0x0022, "udt": 0x0030, "tuple": 0x0031,
}
# Cassandra's fixed-length types (packed without lengths inside vectors).
FIXED_SIZES = {"boolean": 1, "int": 4, "bigint": 8, "counter": 8, "float": 4, "double": 8,
               "uuid": 16, "timeuuid": 16, "timestamp": 8}
JAVA_NAMES = {"ascii": "AsciiType", "bigint": "LongType", "blob": "BytesType",
              "boolean": "BooleanType", "decimal": "DecimalType", "double": "DoubleType",
              "float": "FloatType", "int": "Int32Type", "timestamp": "TimestampType",
              "uuid": "UUIDType", "varchar": "UTF8Type", "varint": "IntegerType",
              "timeuuid": "TimeUUIDType", "inet": "InetAddressType", "date": "SimpleDateType",
              "time": "TimeType", "smallint": "ShortType", "tinyint": "ByteType",
              "duration": "DurationType"}
PREFIX = "org.apache.cassandra.db.marshal."


# -- primitives ----------------------------------------------------------------------------------

def pack_int(n):
    return struct.pack(">i", n)


def pack_short(n):
    return struct.pack(">H", n)


def pack_string(s):
    b = s.encode("utf-8")
    return pack_short(len(b)) + b


def pack_bytes(b):
    """[bytes]: [int] length then the bytes; None is length -1."""
    if b is None:
        return pack_int(-1)
    return pack_int(len(b)) + b


def varint_encode(n):
    """Minimal big-endian two's complement (spec 6.27)."""
    length = 1
    while not (-(1 << (8 * length - 1)) <= n < (1 << (8 * length - 1))):
        length += 1
    return (n % (1 << (8 * length))).to_bytes(length, "big")


def varint_decode(b):
    if not b:
        return 0
    n = int.from_bytes(b, "big")
    if b[0] & 0x80:
        n -= 1 << (8 * len(b))
    return n


def uvint_encode(n):
    """Cassandra unsigned vint (spec 6.24): leading 1-bits of the first byte count the extra bytes."""
    assert 0 <= n < 1 << 64
    for extra in range(9):
        bits = 7 * (extra + 1) if extra < 8 else 64
        if n < (1 << bits):
            break
    raw = n.to_bytes(extra + 1, "big")
    prefix = (0xFF << (8 - extra)) & 0xFF if extra < 8 else 0xFF
    return bytes([raw[0] | prefix]) + raw[1:] if extra < 8 else b"\xff" + n.to_bytes(8, "big")


def uvint_decode(b, pos):
    first = b[pos]
    extra = 0
    while extra < 8 and first & (0x80 >> extra):
        extra += 1
    value = first & (0xFF >> extra) if extra < 8 else 0
    for i in range(extra):
        value = (value << 8) | b[pos + 1 + i]
    return value, pos + 1 + extra


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def unzigzag(n):
    return (n >> 1) ^ -(n & 1)


# -- values --------------------------------------------------------------------------------------

def encode(t, v):
    """Serialize v as type t (no length prefix)."""
    kind = t[0]
    if kind in ("ascii",):
        return v.encode("ascii")
    if kind in ("varchar", "text"):
        return v.encode("utf-8")
    if kind in ("blob", "custom"):
        return bytes(v)
    if kind == "boolean":
        return b"\x01" if v else b"\x00"
    if kind == "tinyint":
        return struct.pack(">b", v)
    if kind == "smallint":
        return struct.pack(">h", v)
    if kind == "int":
        return struct.pack(">i", v)
    if kind in ("bigint", "counter"):
        return struct.pack(">q", v)
    if kind == "float":
        return struct.pack(">f", v)
    if kind == "double":
        return struct.pack(">d", v)
    if kind == "varint":
        return varint_encode(v)
    if kind == "decimal":
        sign, digits, exponent = v.as_tuple()
        unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        return struct.pack(">i", -exponent) + varint_encode(unscaled)
    if kind in ("uuid", "timeuuid"):
        return v.bytes
    if kind == "timestamp":
        delta = v - EPOCH
        return struct.pack(">q", (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000)
    if kind == "date":
        return struct.pack(">I", v + (1 << 31))
    if kind == "time":
        return struct.pack(">q", v)
    if kind == "duration":
        return b"".join(uvint_encode(zigzag(x) & ((1 << 64) - 1)) for x in v)
    if kind == "inet":
        return ipaddress.ip_address(v).packed
    if kind in ("list", "set"):
        return pack_int(len(v)) + b"".join(pack_bytes(encode(t[1], x)) for x in v)
    if kind == "map":
        items = v.items() if hasattr(v, "items") else v
        return pack_int(len(items)) + b"".join(
            pack_bytes(encode(t[1], k)) + pack_bytes(encode(t[2], x)) for k, x in items)
    if kind == "tuple":
        return b"".join(pack_bytes(None if x is None else encode(st, x)) for st, x in zip(t[1], v))
    if kind == "udt":
        return b"".join(pack_bytes(None if x is None else encode(st, x))
                        for (_, st), x in zip(t[3], v))
    if kind == "vector":
        sub, n = t[1], t[2]
        assert len(v) == n
        if sub[0] in FIXED_SIZES:
            return b"".join(encode(sub, x) for x in v)
        out = b""
        for x in v:
            e = encode(sub, x)
            out += uvint_encode(len(e)) + e
        return out
    raise AssertionError("oracle does not know %r" % (t,))


def _cell(t, b, pairs):
    """A [bytes] element's value: None for null, and None for empty non-string values."""
    if b is None:
        return None
    if not b and t[0] not in ("ascii", "varchar", "text", "blob", "custom"):
        return None
    return decode(t, b, pairs)


def _read_bytes(b, pos):
    (n,) = struct.unpack_from(">i", b, pos)
    pos += 4
    if n < 0:
        return None, pos
    assert pos + n <= len(b), "truncated"
    return b[pos:pos + n], pos + n


def decode(t, b, pairs=False):
    kind = t[0]
    if kind == "ascii":
        return b.decode("ascii")
    if kind in ("varchar", "text"):
        return b.decode("utf-8")
    if kind in ("blob", "custom"):
        return bytes(b)
    if kind == "boolean":
        return b != b"\x00"
    fmt = {"tinyint": ">b", "smallint": ">h", "int": ">i", "bigint": ">q", "counter": ">q",
           "float": ">f", "double": ">d", "time": ">q"}.get(kind)
    if fmt:
        (value,) = struct.unpack(fmt, b)
        return value
    if kind == "varint":
        return varint_decode(b)
    if kind == "decimal":
        (scale,) = struct.unpack(">i", b[:4])
        return decimal.Decimal(varint_decode(b[4:])).scaleb(-scale, decimal.Context(prec=10000))
    if kind in ("uuid", "timeuuid"):
        return uuid.UUID(bytes=bytes(b))
    if kind == "timestamp":
        (ms,) = struct.unpack(">q", b)
        return EPOCH + datetime.timedelta(milliseconds=ms)
    if kind == "date":
        (days,) = struct.unpack(">I", b)
        return days - (1 << 31)
    if kind == "duration":
        out, pos = [], 0
        while pos < len(b):
            value, pos = uvint_decode(b, pos)
            out.append(unzigzag(value))
        return tuple(out)
    if kind == "inet":
        return str(ipaddress.ip_address(bytes(b)))
    if kind in ("list", "set"):
        (n,) = struct.unpack_from(">i", b, 0)
        pos, out = 4, []
        for _ in range(n):
            item, pos = _read_bytes(b, pos)
            out.append(_cell(t[1], item, pairs))
        assert pos == len(b)
        return out
    if kind == "map":
        (n,) = struct.unpack_from(">i", b, 0)
        pos, out = 4, []
        for _ in range(n):
            k, pos = _read_bytes(b, pos)
            v, pos = _read_bytes(b, pos)
            out.append((_cell(t[1], k, pairs), _cell(t[2], v, pairs)))
        assert pos == len(b)
        return out if pairs else dict(out)
    if kind in ("tuple", "udt"):
        subs = t[1] if kind == "tuple" else [st for _, st in t[3]]
        pos, out = 0, []
        for st in subs:
            if pos == len(b):
                out.append(None)
                continue
            item, pos = _read_bytes(b, pos)
            out.append(_cell(st, item, pairs))
        assert pos == len(b)
        return tuple(out)
    if kind == "vector":
        sub, n = t[1], t[2]
        out, pos = [], 0
        size = FIXED_SIZES.get(sub[0])
        for _ in range(n):
            if size is None:
                size_here, pos = uvint_decode(b, pos)
            else:
                size_here = size
            out.append(decode(sub, b[pos:pos + size_here], pairs))
            pos += size_here
        assert pos == len(b)
        return out
    raise AssertionError("oracle does not know %r" % (t,))


# -- type options and RESULT bodies --------------------------------------------------------------

def java_name(t):
    kind = t[0]
    if kind in JAVA_NAMES:
        return PREFIX + JAVA_NAMES[kind]
    if kind == "vector":
        return "%sVectorType(%s, %d)" % (PREFIX, java_name(t[1]), t[2])
    if kind == "custom":
        return t[1]
    raise AssertionError("no Java name for %r" % (t,))


def encode_option(t):
    """An [option] (spec 4.2.5.2); vectors and custom types travel as custom class names."""
    kind = t[0]
    if kind in ("vector", "custom"):
        return pack_short(0) + pack_string(java_name(t))
    out = pack_short(OPTION_IDS[kind])
    if kind in ("list", "set"):
        out += encode_option(t[1])
    elif kind == "map":
        out += encode_option(t[1]) + encode_option(t[2])
    elif kind == "tuple":
        out += pack_short(len(t[1])) + b"".join(encode_option(s) for s in t[1])
    elif kind == "udt":
        out += pack_string(t[1]) + pack_string(t[2]) + pack_short(len(t[3]))
        for name, st in t[3]:
            out += pack_string(name) + encode_option(st)
    return out


def rows_metadata(columns, keyspace="ks", table="tbl", global_spec=True, paging_state=None,
                  no_metadata=False, new_metadata_id=None):
    """The <metadata> of a RESULT Rows body for [(name, type)] columns."""
    flags = 0
    if global_spec:
        flags |= 0x0001
    if paging_state is not None:
        flags |= 0x0002
    if no_metadata:
        flags |= 0x0004
    if new_metadata_id is not None:
        flags |= 0x0008
    out = pack_int(flags) + pack_int(len(columns))
    if paging_state is not None:
        out += pack_bytes(paging_state)
    if new_metadata_id is not None:
        out += pack_short(len(new_metadata_id)) + new_metadata_id
    if no_metadata:
        return out
    if global_spec:
        out += pack_string(keyspace) + pack_string(table)
    for name, t in columns:
        if not global_spec:
            out += pack_string(keyspace) + pack_string(table)
        out += pack_string(name) + encode_option(t)
    return out


def rows_content(columns, rows):
    """<rows_count><rows_content>; each cell serialized by the oracle (None is null)."""
    out = [pack_int(len(rows))]
    for row in rows:
        for (_, t), value in zip(columns, row):
            out.append(pack_bytes(None if value is None else encode(t, value)))
    return b"".join(out)


def rows_body(columns, rows, **kwargs):
    """A complete RESULT Rows body: kind 2, metadata, rows."""
    return pack_int(2) + rows_metadata(columns, **kwargs) + rows_content(columns, rows)


def prepared_metadata(columns, pk_indexes, keyspace="ks", table="tbl", protocol_version=4):
    """The bind-variable <metadata> of RESULT Prepared (spec 4.2.5.4), global table spec."""
    out = pack_int(0x0001) + pack_int(len(columns))
    if protocol_version >= 4:
        out += pack_int(len(pk_indexes)) + b"".join(pack_short(i) for i in pk_indexes)
    out += pack_string(keyspace) + pack_string(table)
    for name, t in columns:
        out += pack_string(name) + encode_option(t)
    return out
