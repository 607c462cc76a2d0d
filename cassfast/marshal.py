"""Big-endian packers and Cassandra's variable-length integer encodings (``cassandra.marshal``).

The reference driver's codecs are built on these helpers and user code (custom types, tests,
tooling) imports them from ``cassandra.marshal``; cassfast's own codecs are compiled
(``_types_codecs``) and do not use this module, which exists for those callers.  Names and
behaviour follow the reference: ``<type>_pack(value) -> bytes`` and ``<type>_unpack(bytes) ->
value`` for fixed-width types (``struct`` errors on a wrong size), ``varint_pack``/``varint_unpack``
for CQL ``varint`` (two's complement, minimal length), ``vints_pack``/``vints_unpack`` for the
zig-zag signed vints of a ``duration`` and ``uvint_pack``/``uvint_unpack`` for unsigned vints.

Cassandra's vint (``org.apache.cassandra.utils.vint.VIntCoding``): the number of leading 1 bits
of the first byte is the number of extra bytes that follow (0-8); the remaining bits of the first
byte are the most significant bits of the value.  Nine bytes (first byte 0xFF) hold any 64-bit
value.
"""
from __future__ import annotations

import struct
from typing import Callable, Iterable

__all__ = [
    "int64_pack", "int64_unpack", "int32_pack", "int32_unpack", "int16_pack", "int16_unpack",
    "int8_pack", "int8_unpack", "uint64_pack", "uint64_unpack", "uint32_pack", "uint32_unpack",
    "uint32_le_pack", "uint32_le_unpack", "uint16_pack", "uint16_unpack", "uint8_pack",
    "uint8_unpack", "float_pack", "float_unpack", "double_pack", "double_unpack",
    "header_struct", "header_pack", "header_unpack", "v3_header_struct", "v3_header_pack",
    "v3_header_unpack", "point_be", "point_le", "circle_be", "circle_le",
    "varint_pack", "varint_unpack", "bit_length", "encode_zig_zag", "decode_zig_zag",
    "vints_pack", "vints_unpack", "uvint_pack", "uvint_unpack",
]


def _packer(fmt: str) -> tuple[Callable, Callable]:
    compiled = struct.Struct(fmt)

    def unpack(s):
        return compiled.unpack(s)[0]
    return compiled.pack, unpack


int64_pack, int64_unpack = _packer(">q")
int32_pack, int32_unpack = _packer(">i")
int16_pack, int16_unpack = _packer(">h")
int8_pack, int8_unpack = _packer(">b")
uint64_pack, uint64_unpack = _packer(">Q")
uint32_pack, uint32_unpack = _packer(">I")
uint32_le_pack, uint32_le_unpack = _packer("<I")
uint16_pack, uint16_unpack = _packer(">H")
uint8_pack, uint8_unpack = _packer(">B")
float_pack, float_unpack = _packer(">f")
double_pack, double_unpack = _packer(">d")

# Frame headers: v1/v2 (one-byte stream id) and v3+ (two-byte stream id); native_protocol_v4.spec
# section 2.
header_struct = struct.Struct(">BBbB")
header_pack = header_struct.pack
header_unpack = header_struct.unpack
v3_header_struct = struct.Struct(">BBhB")
v3_header_pack = v3_header_struct.pack
v3_header_unpack = v3_header_struct.unpack

# Geometry coordinates (DSE's well-known binary), kept for code that imports them.
point_be = struct.Struct(">dd")
point_le = struct.Struct("<dd")
circle_be = struct.Struct(">ddd")
circle_le = struct.Struct("<ddd")


def bit_length(n: int) -> int:
    return int.bit_length(n)


def varint_unpack(term: bytes) -> int:
    """A CQL ``varint``: big-endian two's complement of any length (empty is 0)."""
    return int.from_bytes(term, "big", signed=True)


def varint_pack(big: int) -> bytes:
    """The shortest two's-complement bytes of ``big`` (at least one byte)."""
    # A non-negative value needs a spare bit for the sign; -2**(8k-1) fits in exactly k bytes.
    length = (big.bit_length() + 8) // 8 if big >= 0 else ((-big - 1).bit_length() + 8) // 8
    return big.to_bytes(length, "big", signed=True)


def encode_zig_zag(n: int) -> int:
    """Map a signed 64-bit value to unsigned so that small magnitudes stay small."""
    return (n << 1) ^ (n >> 63)


def decode_zig_zag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def uvint_pack(val: int) -> bytes:
    """Cassandra's unsigned vint of ``0 <= val < 2**64``."""
    if val < 0 or val >= 1 << 64:
        raise ValueError("Value %d is out of range for an unsigned vint" % (val,))
    if val < 0x80:
        return bytes((val,))
    # k extra bytes leave 7 - k value bits in the first byte (none when k = 8).
    extra = 1
    while extra < 8 and val >= 1 << (8 * extra + 7 - extra):
        extra += 1
    body = val.to_bytes(extra + 1, "big")
    marker = (0xFF << (8 - extra)) & 0xFF
    return bytes((body[0] | marker,)) + body[1:]


def uvint_unpack(bytes) -> tuple[int, int]:  # noqa: A002  (the reference's parameter name)
    """``(value, bytes consumed)`` of the unsigned vint at the start of ``bytes``."""
    data = bytes
    first = data[0]
    extra = 8 - (~first & 0xFF).bit_length()  # leading one bits
    if len(data) < extra + 1:
        raise ValueError("truncated vint: needs %d bytes, got %d" % (extra + 1, len(data)))
    value = first & (0xFF >> extra)
    for byte in data[1:extra + 1]:
        value = (value << 8) | byte
    return value, extra + 1


def vints_pack(values: Iterable[int]) -> bytes:
    """Signed values as consecutive zig-zag vints (a ``duration`` is three of them)."""
    out = bytearray()
    for value in values:
        value = int(value)
        if not -(1 << 63) <= value < 1 << 63:
            raise ValueError("Value %d is too big and cannot be encoded as vint" % (value,))
        out += uvint_pack(encode_zig_zag(value) & 0xFFFFFFFFFFFFFFFF)
    return bytes(out)


def vints_unpack(term: bytes) -> tuple[int, ...]:
    """Every zig-zag vint in ``term``, in order."""
    values = []
    pos = 0
    while pos < len(term):
        value, used = uvint_unpack(term[pos:pos + 9])
        values.append(decode_zig_zag(value))
        pos += used
    return tuple(values)
