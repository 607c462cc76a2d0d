"""The native protocol's constants have one definition, ``cassfast/_wire.pxd``.

Its Python mirror ``cassfast._wire`` must say the same, name for name; the names the compiled
core and ``protocol`` expose must be those values, and the frames the compiled encoders write
and the metadata the compiled decoder reads must use them; and the values must be the reference
driver's (cassandra-driver 3.30, an independent reading of the spec).  No other module may
define an opcode, RESULT kind, frame flag or direction bit, <query_parameters>/PREPARE/Rows
metadata flag, BATCH type or EVENT type by literal.
"""
from __future__ import annotations

import pathlib
import re
import struct

import cassandra.connection as reference_connection
import cassandra.protocol as reference_protocol
import cassandra.query as reference_query

from cassfast import _core, _core_messages, _types, _wire, connection, cqltypes, protocol, type_codes
from cassfast.query import BatchType

PACKAGE = pathlib.Path(_wire.__file__).resolve().parent
_PXD_CONSTANT = re.compile(r"^\s+([A-Z][A-Z0-9_]*) = (-?0x[0-9A-Fa-f]+|-?\d+)\s*$")


def _pxd_constants() -> dict:
    text = (PACKAGE / "_wire.pxd").read_text()
    return {m.group(1): int(m.group(2), 0) for m in map(_PXD_CONSTANT.match, text.splitlines()) if m}


def _mirror_constants() -> dict:
    return {name: value for name, value in vars(_wire).items() if name.isupper() and isinstance(value, int)}


def _group(prefix: str) -> dict:
    return {name: value for name, value in _mirror_constants().items() if name.startswith(prefix)}


def test_the_python_mirror_says_what_the_pxd_says():
    pxd = _pxd_constants()
    # opcodes, frame flags, RESULT kinds, error codes, stream ids, header byte 0,
    # <query_parameters> flags, PREPARE flag, BATCH types, Rows metadata flags, type option ids
    assert len(pxd) == 17 + 5 + 5 + 20 + 3 + 4 + 9 + 1 + 3 + 4 + 27
    assert (pxd["MIN_STREAM_ID"], pxd["EVENT_STREAM_ID"], pxd["MAX_STREAM_ID"]) == (-32768, -1, 32767)
    assert _mirror_constants() == pxd
    # The only other upper-case names of the mirror are the EVENT type strings (spec 4.2.6).
    strings = {n: v for n, v in vars(_wire).items() if n.isupper() and not isinstance(v, int)}
    assert strings == {"EVENT_TOPOLOGY_CHANGE": "TOPOLOGY_CHANGE", "EVENT_STATUS_CHANGE": "STATUS_CHANGE",
                       "EVENT_SCHEMA_CHANGE": "SCHEMA_CHANGE"}


def test_each_flag_group_is_distinct_single_bits():
    for prefix in ("QUERY_FLAG_", "ROWS_FLAG_"):
        values = sorted(_group(prefix).values())
        assert all(v & (v - 1) == 0 for v in values) and len(set(values)) == len(values), prefix
    assert sorted(_group("QUERY_FLAG_").values()) == [1 << i for i in range(9)]
    assert sorted(_group("BATCH_TYPE_").values()) == [0, 1, 2]


def test_the_compiled_core_exposes_the_same_values():
    for name in ("COMPRESSED_FLAG", "TRACING_FLAG", "CUSTOM_PAYLOAD_FLAG", "WARNING_FLAG", "USE_BETA_FLAG"):
        assert getattr(_core, name) == getattr(_wire, name)
    for name in ("OPCODE_STARTUP", "OPCODE_OPTIONS", "OPCODE_QUERY", "OPCODE_PREPARE",
                 "OPCODE_EXECUTE", "OPCODE_REGISTER", "OPCODE_BATCH", "OPCODE_AUTH_RESPONSE"):
        assert getattr(_core_messages, name) == getattr(_wire, name)


_ALL_QUERY_FLAGS = sum(_group("QUERY_FLAG_").values())
_V4_QUERY_FLAGS = _ALL_QUERY_FLAGS & ~(_wire.QUERY_FLAG_WITH_KEYSPACE | _wire.QUERY_FLAG_WITH_NOW_IN_SECONDS)


def test_query_frames_carry_the_wire_query_flags():
    # QUERY (spec 4.1.4): header (9) <query: [long string]> <consistency: short> <flags>, an
    # [int] in v5 and a [byte] before; every optional part asked for sets its flag.
    options = dict(values={"a": b"x"}, serial_consistency_level=8, fetch_size=10, paging_state=b"p",
                   timestamp=1, skip_meta=True)
    frame = _core_messages.encode_query_frame(1, 5, "Q", 1, keyspace="ks", now_in_seconds=5, **options)
    assert struct.unpack_from(">I", frame, 9 + 4 + 1 + 2)[0] == _ALL_QUERY_FLAGS == 0x1FF
    frame = _core_messages.encode_query_frame(1, 4, "Q", 1, **options)
    assert frame[9 + 4 + 1 + 2] == _V4_QUERY_FLAGS
    frame = _core_messages.encode_query_frame(1, 4, "Q", 1, values=[b"x"])
    assert frame[9 + 4 + 1 + 2] == _wire.QUERY_FLAG_VALUES


def test_execute_frames_carry_the_wire_query_flags():
    # EXECUTE v4: header (9) <id: [short bytes]> <consistency> <flags: byte>.
    frame = _core_messages.encode_execute_frame(1, 4, b"id", [b"x"], 1, serial_consistency_level=8,
                                                fetch_size=10, paging_state=b"p", timestamp=1,
                                                skip_meta=True)
    assert frame[9 + 2 + 2 + 2] == (_wire.QUERY_FLAG_VALUES | _wire.QUERY_FLAG_SKIP_METADATA
                                    | _wire.QUERY_FLAG_PAGE_SIZE | _wire.QUERY_FLAG_WITH_PAGING_STATE
                                    | _wire.QUERY_FLAG_WITH_SERIAL_CONSISTENCY
                                    | _wire.QUERY_FLAG_WITH_DEFAULT_TIMESTAMP)


def test_batch_frames_carry_the_wire_batch_type_and_flags():
    # BATCH v5: header (9) <type: byte> <n: short> <kind: byte><query: [long string]><n values:
    # short> <consistency: short> <flags: int> (spec 4.1.7).
    for batch_type, wire_type in ((BatchType.LOGGED, _wire.BATCH_TYPE_LOGGED),
                                  (BatchType.UNLOGGED, _wire.BATCH_TYPE_UNLOGGED),
                                  (BatchType.COUNTER, _wire.BATCH_TYPE_COUNTER)):
        frame = _core_messages.encode_batch_frame(1, 5, batch_type, [(False, "Q", [])], 1,
                                                  serial_consistency_level=8, timestamp=1,
                                                  keyspace="ks", now_in_seconds=5)
        assert frame[9] == wire_type == batch_type.value
        flags = struct.unpack_from(">I", frame, 9 + 3 + 1 + 4 + 1 + 2 + 2)[0]
        assert flags == (_wire.QUERY_FLAG_WITH_SERIAL_CONSISTENCY | _wire.QUERY_FLAG_WITH_DEFAULT_TIMESTAMP
                         | _wire.QUERY_FLAG_WITH_KEYSPACE | _wire.QUERY_FLAG_WITH_NOW_IN_SECONDS)


def test_prepare_frames_carry_the_wire_prepare_flag():
    # PREPARE v5: header (9) <query: [long string]> <flags: int> [<keyspace>] (spec 4.1.5).
    frame = _core_messages.encode_prepare_frame(1, 5, "Q", keyspace="ks")
    assert struct.unpack_from(">I", frame, 9 + 4 + 1)[0] == _wire.PREPARE_FLAG_WITH_KEYSPACE
    assert struct.unpack_from(">I", _core_messages.encode_prepare_frame(1, 5, "Q"), 9 + 4 + 1)[0] == 0


def _string(text: str) -> bytes:
    return struct.pack(">H", len(text)) + text.encode()


def test_the_rows_decoder_reads_the_wire_metadata_flags():
    # <flags><columns_count>[<paging_state>][<new_metadata_id>] with NO_METADATA: no specs.
    flags = _wire.ROWS_FLAG_HAS_MORE_PAGES | _wire.ROWS_FLAG_METADATA_CHANGED | _wire.ROWS_FLAG_NO_METADATA
    body = struct.pack(">ii", flags, 1) + struct.pack(">i", 2) + b"ps" + struct.pack(">H", 2) + b"id"
    assert _types.parse_result_metadata(body, 0, 5) == (None, b"ps", b"id", 1, len(body))
    # GLOBAL_TABLES_SPEC: one <keyspace><table> for all columns, then <name><type> (int: 0x0009).
    body = (struct.pack(">ii", _wire.ROWS_FLAG_GLOBAL_TABLES_SPEC, 1) + _string("ks") + _string("t")
            + _string("c") + struct.pack(">H", 0x0009))
    metadata, paging_state, _, count, pos = _types.parse_result_metadata(body, 0, 5)
    assert (metadata.col_specs[0].keyspace_name, metadata.col_specs[0].table_name, metadata.column_names,
            paging_state, count, pos) == ("ks", "t", ("c",), None, 1, len(body))


def test_encoded_frames_carry_the_wire_opcodes():
    # Byte 4 of the header is the opcode (spec 2.4); byte 1 the flags (2.2).
    assert _core_messages.encode_options_frame(3, 4)[4] == _wire.OPCODE_OPTIONS
    frame = _core.encode_frame(4, _wire.TRACING_FLAG, 7, _wire.OPCODE_QUERY, b"body")
    assert frame[:9] == bytes([4, _wire.TRACING_FLAG, 0, 7, _wire.OPCODE_QUERY, 0, 0, 0, 4])


def test_the_values_are_the_reference_drivers():
    for name, value in _mirror_constants().items():
        if name.startswith("HEADER_DIRECTION_"):
            assert getattr(reference_connection, name) == value, name
        if name.startswith("RESULT_KIND_") or name.endswith("_FLAG"):
            assert getattr(reference_protocol, name) == value, name
    assert _wire.PROTOCOL_VERSION_MASK == reference_connection.PROTOCOL_VERSION_MASK
    # The reference names the <query_parameters> flags (but not v5's now_in_seconds), the
    # PREPARE flag and the Rows metadata flags privately.
    assert {name: getattr(reference_protocol, name) for name in (
        "_VALUES_FLAG", "_SKIP_METADATA_FLAG", "_PAGE_SIZE_FLAG", "_WITH_PAGING_STATE_FLAG",
        "_WITH_SERIAL_CONSISTENCY_FLAG", "_PROTOCOL_TIMESTAMP_FLAG", "_NAMES_FOR_VALUES_FLAG",
        "_WITH_KEYSPACE_FLAG", "_PREPARED_WITH_KEYSPACE_FLAG")} == {
        "_VALUES_FLAG": _wire.QUERY_FLAG_VALUES, "_SKIP_METADATA_FLAG": _wire.QUERY_FLAG_SKIP_METADATA,
        "_PAGE_SIZE_FLAG": _wire.QUERY_FLAG_PAGE_SIZE, "_WITH_PAGING_STATE_FLAG": _wire.QUERY_FLAG_WITH_PAGING_STATE,
        "_WITH_SERIAL_CONSISTENCY_FLAG": _wire.QUERY_FLAG_WITH_SERIAL_CONSISTENCY,
        "_PROTOCOL_TIMESTAMP_FLAG": _wire.QUERY_FLAG_WITH_DEFAULT_TIMESTAMP,
        "_NAMES_FOR_VALUES_FLAG": _wire.QUERY_FLAG_WITH_NAMES_FOR_VALUES,
        "_WITH_KEYSPACE_FLAG": _wire.QUERY_FLAG_WITH_KEYSPACE,
        "_PREPARED_WITH_KEYSPACE_FLAG": _wire.PREPARE_FLAG_WITH_KEYSPACE}
    result = reference_protocol.ResultMessage
    assert (result._FLAGS_GLOBAL_TABLES_SPEC, result._HAS_MORE_PAGES_FLAG, result._NO_METADATA_FLAG,
            result._METADATA_ID_FLAG) == (_wire.ROWS_FLAG_GLOBAL_TABLES_SPEC, _wire.ROWS_FLAG_HAS_MORE_PAGES,
                                          _wire.ROWS_FLAG_NO_METADATA, _wire.ROWS_FLAG_METADATA_CHANGED)
    assert [reference_query.BatchType.LOGGED.value, reference_query.BatchType.UNLOGGED.value,
            reference_query.BatchType.COUNTER.value] == [
        _wire.BATCH_TYPE_LOGGED, _wire.BATCH_TYPE_UNLOGGED, _wire.BATCH_TYPE_COUNTER]
    assert reference_protocol.known_event_types == protocol.known_event_types == {
        _wire.EVENT_TOPOLOGY_CHANGE, _wire.EVENT_STATUS_CHANGE, _wire.EVENT_SCHEMA_CHANGE}


def test_type_codes_take_the_wire_option_ids_and_the_decoder_reads_them():
    options = _group("OPTION_")
    assert len(options) == 27 and len(set(options.values())) == 27
    # The reference's names (test_dropin_compat checks their values) cover every option id.
    names = [n for n in vars(type_codes) if not n.startswith("_") and isinstance(getattr(type_codes, n), int)]
    assert set(getattr(type_codes, n) for n in names) == set(options.values())
    # The compiled decoder maps every simple option id to the descriptor type_codes names.
    for name, option in options.items():
        if option in (_wire.OPTION_CUSTOM, _wire.OPTION_LIST, _wire.OPTION_MAP, _wire.OPTION_SET,
                      _wire.OPTION_UDT, _wire.OPTION_TUPLE):
            continue
        (type_name,) = [n for n in names if getattr(type_codes, n) == option]
        assert _types.read_type_option(option.to_bytes(2, "big"), 0) == (getattr(cqltypes, type_name), 2), name
    listed, end = _types.read_type_option(
        _wire.OPTION_LIST.to_bytes(2, "big") + _wire.OPTION_INT.to_bytes(2, "big"), 0)
    assert (listed.typename, listed.subtypes, end) == ("list", (cqltypes.Int32Type,), 4)


def test_the_reference_names_of_protocol_and_connection_are_the_wire_values():
    for name in ("HEADER_DIRECTION_TO_CLIENT", "HEADER_DIRECTION_MASK"):
        assert getattr(protocol, name) == getattr(connection, name) == getattr(_wire, name)
    assert connection.HEADER_DIRECTION_FROM_CLIENT == _wire.HEADER_DIRECTION_FROM_CLIENT
    assert connection.PROTOCOL_VERSION_MASK == _wire.PROTOCOL_VERSION_MASK
    assert protocol._PREPARED_WITH_KEYSPACE_FLAG == _wire.PREPARE_FLAG_WITH_KEYSPACE
    assert protocol._PROTOCOL_TIMESTAMP_FLAG == _wire.QUERY_FLAG_WITH_DEFAULT_TIMESTAMP
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


_WIRE_NAMES = (r"OPCODE_\w+|RESULT_KIND_\w+|ERR_\w+|COMPRESSED_FLAG|TRACING_FLAG|CUSTOM_PAYLOAD_FLAG|"
               r"WARNING_FLAG|USE_BETA_FLAG|HEADER_DIRECTION_\w+|PROTOCOL_VERSION_MASK|QUERY_FLAG_\w+|"
               r"PREPARE_FLAG_\w+|BATCH_TYPE_\w+|ROWS_FLAG_\w+|EVENT_\w+|OPTION_\w+|"
               # the names the duplicates had: protocol's (the reference's), _core_messages', _types'
               r"(?:VALUES|SKIP_METADATA|PAGE_SIZE|WITH_PAGING_STATE|WITH_SERIAL_CONSISTENCY|"
               r"PROTOCOL_TIMESTAMP|NAMES_FOR_VALUES|WITH_KEYSPACE|PREPARED_WITH_KEYSPACE)_FLAG|"
               r"Q_\w+|P_KEYSPACE|FLAG_(?:GLOBAL_TABLES_SPEC|HAS_MORE_PAGES|NO_METADATA|METADATA_CHANGED)")
_LITERAL = re.compile(r"^\s*(?:cdef\s+\w+\s+)?(_?(?:" + _WIRE_NAMES + r"))\s*=\s*"
                      r"(0x[0-9A-Fa-f]+|\d+|[\"'][A-Z_]+[\"'])\s*$")
_EVENT_TYPE_LITERAL = re.compile(r"[\"'](?:TOPOLOGY_CHANGE|STATUS_CHANGE|SCHEMA_CHANGE)[\"']")
# Lines that spell an event type's string for something else, with the reason.
_NOT_AN_EVENT_TYPE = {
    ("_engine.pyx", 'SCHEMA_CHANGE: "SCHEMA_CHANGE"'): "the name of the engine's SCHEMA_CHANGE action (a RESULT kind)",
}


def test_no_other_module_defines_a_wire_constant_by_literal():
    found = []
    for path in sorted(list(PACKAGE.glob("*.py")) + list(PACKAGE.glob("*.pyx")) + list(PACKAGE.glob("*.pxd"))):
        if path.name in ("_wire.py", "_wire.pxd"):
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if any(path.name == name and text in line for name, text in _NOT_AN_EVENT_TYPE):
                continue
            if _LITERAL.match(line) or _EVENT_TYPE_LITERAL.search(line.split("#")[0]):
                found.append("%s:%d: %s" % (path.name, lineno, line.strip()))
    assert found == []


def test_the_literal_check_finds_the_old_duplicates():
    for line in ("_VALUES_FLAG = 0x01", "    Q_NOW_IN_SECONDS = 0x100", "    FLAG_NO_METADATA = 0x0004",
                 "    P_KEYSPACE = 0x01", "HEADER_DIRECTION_MASK = 0x80", "PROTOCOL_VERSION_MASK = 0x7F"):
        assert _LITERAL.match(line), line
    assert _EVENT_TYPE_LITERAL.search('known = frozenset(("TOPOLOGY_CHANGE", ...))')
