"""Native protocol v3/v4 bytes for the fake server: frames, request bodies, response bodies, values.

Written from ``native_protocol_v4.spec`` alone, independent of cassfast's compiled codecs (the
code under test) and of cassandra-driver's: the server must not agree with a driver because it
shares its bugs.  Only what a server sends is encoded and only what a client sends is decoded.
"""
from __future__ import annotations

import ipaddress
import re
import struct
import uuid
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any, NamedTuple

HEADER = struct.Struct(">BBhBi")  # spec 2: version, flags, stream, opcode, length
WARNING_FLAG = 0x08  # spec 2.2

# Opcodes (spec 2.4).
ERROR, STARTUP, READY, AUTHENTICATE, OPTIONS, SUPPORTED, QUERY, RESULT = 0, 1, 2, 3, 5, 6, 7, 8
PREPARE, EXECUTE, REGISTER, EVENT, BATCH = 9, 10, 11, 12, 13

# Error codes (spec 9).
SERVER_ERROR, PROTOCOL_ERROR, BAD_CREDENTIALS = 0x0000, 0x000A, 0x0100
UNAVAILABLE, OVERLOADED, IS_BOOTSTRAPPING = 0x1000, 0x1001, 0x1002
WRITE_TIMEOUT, READ_TIMEOUT = 0x1100, 0x1200
SYNTAX_ERROR, UNAUTHORIZED, INVALID, CONFIG_ERROR, ALREADY_EXISTS, UNPREPARED = (
    0x2000, 0x2100, 0x2200, 0x2300, 0x2400, 0x2500)

_TYPE_IDS = {
    "custom": 0x00, "ascii": 0x01, "bigint": 0x02, "blob": 0x03, "boolean": 0x04, "counter": 0x05,
    "decimal": 0x06, "double": 0x07, "float": 0x08, "int": 0x09, "timestamp": 0x0B, "uuid": 0x0C,
    "text": 0x0D, "varchar": 0x0D, "varint": 0x0E, "timeuuid": 0x0F, "inet": 0x10, "date": 0x11,
    "time": 0x12, "smallint": 0x13, "tinyint": 0x14, "list": 0x20, "map": 0x21, "set": 0x22,
}


class Raw(bytes):
    """A value already serialized (a bound value the client sent), stored and sent back as is."""


# ---------------------------------------------------------------------------------------------
# Writing (spec 3: [int] [short] [string] [long string] [bytes] [short bytes] [string map] ...)

def int32(n: int) -> bytes:
    return struct.pack(">i", n)


def short(n: int) -> bytes:
    return struct.pack(">H", n)


def string(s: str) -> bytes:
    b = s.encode("utf-8")
    return short(len(b)) + b


def long_string(s: str) -> bytes:
    b = s.encode("utf-8")
    return int32(len(b)) + b


def value_bytes(b: bytes | None) -> bytes:
    return int32(-1) if b is None else int32(len(b)) + b


def short_bytes(b: bytes) -> bytes:
    return short(len(b)) + b


def string_list(items) -> bytes:
    return short(len(items)) + b"".join(string(i) for i in items)


def string_multimap(m: dict) -> bytes:
    return short(len(m)) + b"".join(string(k) + string_list(v) for k, v in m.items())


def frame(version: int, stream: int, opcode: int, body: bytes, flags: int = 0) -> bytes:
    return HEADER.pack(0x80 | version, flags, stream, opcode, len(body)) + body


# ---------------------------------------------------------------------------------------------
# CQL types: "int", "set<text>", "frozen<map<text, int>>" ...

def parse_type(text: str) -> tuple:
    """("name", *params) from a CQL type string; frozen<> is transparent on the wire."""
    text = text.strip()
    m = re.fullmatch(r"(\w+)\s*<(.*)>", text, re.S)
    if not m:
        return (text.lower(),)
    name, inner = m.group(1).lower(), m.group(2)
    params, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
        elif ch == "," and depth == 0:
            params.append(inner[start:i])
            start = i + 1
    params.append(inner[start:])
    if name == "frozen":
        return parse_type(params[0])
    return (name, *(parse_type(p) for p in params))


def type_option(t: tuple) -> bytes:
    """[option] of a column type (spec 4.2.5.2)."""
    if t[0] not in _TYPE_IDS:
        raise ValueError("fake server cannot describe type %r" % (t,))
    out = short(_TYPE_IDS[t[0]])
    for param in t[1:]:
        out += type_option(param)
    return out


def serialize(t: tuple, value: Any) -> bytes | None:
    """A Python value as the [bytes] content of type ``t`` (spec 6)."""
    if value is None:
        return None
    if isinstance(value, Raw):
        return bytes(value)
    name = t[0]
    if name in ("text", "varchar", "ascii"):
        return value.encode("utf-8")
    if name == "int":
        return struct.pack(">i", value)
    if name in ("bigint", "counter"):
        return struct.pack(">q", value)
    if name == "smallint":
        return struct.pack(">h", value)
    if name == "tinyint":
        return struct.pack(">b", value)
    if name == "double":
        return struct.pack(">d", value)
    if name == "float":
        return struct.pack(">f", value)
    if name == "boolean":
        return b"\x01" if value else b"\x00"
    if name in ("uuid", "timeuuid"):
        return (value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))).bytes
    if name == "inet":
        return ipaddress.ip_address(value).packed
    if name == "blob":
        return bytes(value)
    if name == "timestamp":
        if isinstance(value, datetime):
            value = int(value.replace(tzinfo=value.tzinfo or timezone.utc).timestamp() * 1000)
        return struct.pack(">q", value)
    if name in ("list", "set"):
        items = list(value) if name == "list" else sorted(value)
        return int32(len(items)) + b"".join(value_bytes(serialize(t[1], v)) for v in items)
    if name == "map":
        return int32(len(value)) + b"".join(
            value_bytes(serialize(t[1], k)) + value_bytes(serialize(t[2], v)) for k, v in value.items())
    raise ValueError("fake server cannot serialize type %r" % (t,))


class Column(NamedTuple):
    keyspace: str
    table: str
    name: str
    type: tuple


def rows_metadata(columns: list[Column], no_metadata: bool = False) -> bytes:
    """<metadata> of a Rows result or a prepared statement's result (spec 4.2.5.2)."""
    if no_metadata:
        return int32(0x0004) + int32(len(columns))
    same = len({(c.keyspace, c.table) for c in columns}) == 1
    out = int32(0x0001 if same else 0) + int32(len(columns))
    if same:
        out += string(columns[0].keyspace) + string(columns[0].table)
    for c in columns:
        if not same:
            out += string(c.keyspace) + string(c.table)
        out += string(c.name) + type_option(c.type)
    return out


def result_void() -> bytes:
    return int32(1)


def result_rows(columns: list[Column], rows: list[list]) -> bytes:
    out = [int32(2), rows_metadata(columns), int32(len(rows))]
    for row in rows:
        for c, v in zip(columns, row):
            out.append(value_bytes(serialize(c.type, v)))
    return b"".join(out)


def result_set_keyspace(keyspace: str) -> bytes:
    return int32(3) + string(keyspace)


def result_prepared(query_id: bytes, bind: list[Column], pk_indexes: list[int],
                    result: list[Column], protocol_version: int) -> bytes:
    """RESULT Prepared (spec 4.2.5.4): id, bind-variable metadata (v4: with the partition-key
    indexes), result metadata."""
    same = bool(bind) and len({(c.keyspace, c.table) for c in bind}) == 1
    meta = int32(0x0001 if same else 0) + int32(len(bind))
    if protocol_version >= 4:
        meta += int32(len(pk_indexes)) + b"".join(short(i) for i in pk_indexes)
    if same:
        meta += string(bind[0].keyspace) + string(bind[0].table)
    for c in bind:
        if not same:
            meta += string(c.keyspace) + string(c.table)
        meta += string(c.name) + type_option(c.type)
    res = rows_metadata(result) if result else int32(0x0004) + int32(0)
    return int32(4) + short_bytes(query_id) + meta + res


def error_body(code: int, message: str, extra: bytes = b"") -> bytes:
    return int32(code) + string(message) + extra


# ---------------------------------------------------------------------------------------------
# Reading what clients send

class Reader:
    def __init__(self, body: bytes) -> None:
        self.body, self.pos = body, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.body):
            raise ValueError("truncated request body")
        b = self.body[self.pos:self.pos + n]
        self.pos += n
        return b

    def byte(self) -> int:
        return self.take(1)[0]

    def short(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def int(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def string(self) -> str:
        return self.take(self.short()).decode("utf-8")

    def long_string(self) -> str:
        return self.take(self.int()).decode("utf-8")

    def short_bytes(self) -> bytes:
        return self.take(self.short())

    def value(self) -> bytes | None:
        n = self.int()
        if n == -1:
            return None
        if n == -2:
            return None  # unset: nothing stored
        return self.take(n)

    def end(self) -> None:
        """Every field of the body was read: a driver that sends a field of another protocol
        version (v5's [int] flags on v4, a keyspace in PREPARE) is caught here."""
        if self.pos != len(self.body):
            raise ValueError("%d unexpected trailing bytes in the request body" % (len(self.body) - self.pos))

    def string_map(self) -> dict:
        return {self.string(): self.string() for _ in range(self.short())}

    def string_list(self) -> list:
        return [self.string() for _ in range(self.short())]


class QueryParameters(NamedTuple):
    consistency: int
    values: list
    names: list | None
    page_size: int | None
    paging_state: bytes | None


def read_query_parameters(r: Reader) -> QueryParameters:
    """<query_parameters> of QUERY and EXECUTE (spec 4.1.4, v3/v4: a [byte] of flags)."""
    consistency = r.short()
    flags = r.byte()
    values, names = [], None
    if flags & 0x01:
        n = r.short()
        if flags & 0x40:
            names = []
            for _ in range(n):
                names.append(r.string())
                values.append(r.value())
        else:
            values = [r.value() for _ in range(n)]
    page_size = r.int() if flags & 0x04 else None
    paging_state = r.value() if flags & 0x08 else None
    if flags & 0x10:
        r.short()
    if flags & 0x20:
        r.long()
    return QueryParameters(consistency, values, names, page_size, paging_state)


def read_batch(r: Reader) -> tuple[int, list, int]:
    """BATCH (spec 4.1.7): (type, [(query_string or prepared id, is_prepared, values)], cl)."""
    kind = r.byte()
    statements = []
    for _ in range(r.short()):
        is_prepared = r.byte() == 1
        target = r.short_bytes() if is_prepared else r.long_string()
        values = [r.value() for _ in range(r.short())]
        statements.append((target, is_prepared, values))
    consistency = r.short()
    flags = r.byte()  # v3/v4: a [byte] (v5: [int])
    if flags & 0x10:
        r.short()
    if flags & 0x20:
        r.long()
    return kind, statements, consistency


@dataclass
class Table:
    keyspace: str
    name: str
    columns: list                           # [(name, type tuple, kind)] kind: partition_key/clustering/regular
    rows: list = field(default_factory=list)  # dicts name -> value (Raw for client-bound values)
    cql_types: dict = field(default_factory=dict)  # name -> the CQL type text system_schema shows
    options: dict = field(default_factory=dict)    # system_schema.tables values overriding defaults

    def column(self, name: str) -> Column:
        for n, t, _ in self.columns:
            if n == name:
                return Column(self.keyspace, self.name, n, t)
        raise CqlError(INVALID, "Undefined column name %s" % name)

    @property
    def key_names(self) -> list:
        return [n for n, _, k in self.columns if k == "partition_key"]


class CqlError(Exception):
    """A request the server refuses: answered as ERROR ``code`` with ``message``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message
