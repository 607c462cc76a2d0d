"""The native protocol's constants have one definition, ``cassfast/_wire.pxd``.

Its Python mirror ``cassfast._wire`` must say the same, name for name; the names the compiled
core and ``protocol`` expose must be those values; and the values must be the reference
driver's (cassandra-driver 3.30, an independent reading of the spec).  No other module may
define an opcode, RESULT kind or frame flag by literal.
"""
from __future__ import annotations

import pathlib
import re

import cassandra.protocol as reference_protocol

from cassfast import _core, _core_messages, _wire, protocol

PACKAGE = pathlib.Path(_wire.__file__).resolve().parent
_PXD_CONSTANT = re.compile(r"^\s+([A-Z][A-Z0-9_]*) = (0x[0-9A-Fa-f]+|\d+)\s*$")


def _pxd_constants() -> dict:
    text = (PACKAGE / "_wire.pxd").read_text()
    return {m.group(1): int(m.group(2), 0) for m in map(_PXD_CONSTANT.match, text.splitlines()) if m}


def _mirror_constants() -> dict:
    return {name: value for name, value in vars(_wire).items() if name.isupper()}


def test_the_python_mirror_says_what_the_pxd_says():
    pxd = _pxd_constants()
    assert len(pxd) == 17 + 5 + 5 + 20  # opcodes, frame flags, RESULT kinds, error codes
    assert _mirror_constants() == pxd


def test_the_compiled_core_exposes_the_same_values():
    for name in ("COMPRESSED_FLAG", "TRACING_FLAG", "CUSTOM_PAYLOAD_FLAG", "WARNING_FLAG", "USE_BETA_FLAG"):
        assert getattr(_core, name) == getattr(_wire, name)
    for name in ("OPCODE_STARTUP", "OPCODE_OPTIONS", "OPCODE_QUERY", "OPCODE_PREPARE",
                 "OPCODE_EXECUTE", "OPCODE_REGISTER", "OPCODE_BATCH", "OPCODE_AUTH_RESPONSE"):
        assert getattr(_core_messages, name) == getattr(_wire, name)


def test_encoded_frames_carry_the_wire_opcodes():
    # Byte 4 of the header is the opcode (spec 2.4); byte 1 the flags (2.2).
    assert _core_messages.encode_options_frame(3, 4)[4] == _wire.OPCODE_OPTIONS
    frame = _core.encode_frame(4, _wire.TRACING_FLAG, 7, _wire.OPCODE_QUERY, b"body")
    assert frame[:9] == bytes([4, _wire.TRACING_FLAG, 0, 7, _wire.OPCODE_QUERY, 0, 0, 0, 4])


def test_the_values_are_the_reference_drivers():
    for name, value in _mirror_constants().items():
        if name.startswith("RESULT_KIND_") or name.endswith("_FLAG"):
            assert getattr(reference_protocol, name) == value, name
    # Every message class has the opcode of the reference's class of the same name, and the
    # opcodes are the reference's (less 0xFF, DSE's REVISE_REQUEST).
    ours = protocol.get_registered_classes()
    for opcode, cls in ours.items():
        assert getattr(reference_protocol, cls.__name__).opcode == opcode == cls.opcode, cls
    reference_opcodes = set(reference_protocol._message_types_by_opcode) - {0xFF}
    assert set(ours) == reference_opcodes
    assert {getattr(_wire, n) for n in vars(_wire) if n.startswith("OPCODE_")} == reference_opcodes


def test_protocol_error_classes_use_the_wire_codes():
    reference = {cls.__name__: cls.error_code
                 for cls in reference_protocol.ErrorMessageSub.__subclasses__()
                 for cls in [cls] + _all_subclasses(cls) if cls.error_code is not None}
    ours = {cls.__name__: cls.error_code
            for cls in protocol.ErrorMessageSub.__subclasses__()
            for cls in [cls] + _all_subclasses(cls) if cls.error_code is not None}
    wire_codes = {v for n, v in vars(_wire).items() if n.startswith("ERR_")}
    for name, code in ours.items():
        if name in reference:  # CASWriteUnknownErrorMessage (v5, 0x1700) is cassfast's own
            assert reference[name] == code, name
        # 0x8000 is the reference's client-side ClientWriteError, not a server code.
        assert code in wire_codes or code == 0x8000, name
    assert wire_codes <= set(ours.values())


def _all_subclasses(cls) -> list:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def test_no_other_module_defines_a_wire_constant_by_literal():
    literal = re.compile(r"^\s*(?:cdef\s+\w+\s+)?(_?(?:OPCODE_\w+|RESULT_KIND_\w+|ERR_\w+|"
                         r"COMPRESSED_FLAG|TRACING_FLAG|CUSTOM_PAYLOAD_FLAG|WARNING_FLAG|"
                         r"USE_BETA_FLAG))\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*$")
    found = []
    for path in sorted(list(PACKAGE.glob("*.py")) + list(PACKAGE.glob("*.pyx")) + list(PACKAGE.glob("*.pxd"))):
        if path.name in ("_wire.py", "_wire.pxd"):
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if literal.match(line):
                found.append("%s:%d: %s" % (path.name, lineno, line.strip()))
    assert found == []
