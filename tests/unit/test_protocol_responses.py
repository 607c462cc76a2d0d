"""Response decoding (native protocol v4/v5 spec sections 4.2 and 9) through
``cassfast.protocol.ProtocolHandler.decode_message``: bodies written from the spec with
``struct``, every error code, every event, the frame prelude (tracing id, warnings, custom
payload), compression, and agreement with cassandra-driver's decoder on the same bytes."""
import socket
import struct
import uuid

import pytest
from cassandra import protocol as ref
from cassandra.connection import locally_supported_compressions as ref_compressions

import cassfast
from cassfast import protocol
from cassfast._core import ProtocolError
from cassfast.protocol import ProtocolHandler, locally_supported_compressions


def short(n):
    return struct.pack(">H", n)


def int32(n):
    return struct.pack(">i", n)


def string(s):
    b = s.encode()
    return short(len(b)) + b


def string_list(items):
    return short(len(items)) + b"".join(string(s) for s in items)


def inetaddr(addr):
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    raw = socket.inet_pton(family, addr)
    return bytes([len(raw)]) + raw


def decode(opcode, body, pv=4, flags=0, stream=3):
    return ProtocolHandler.decode_message(pv, {}, stream, flags, opcode, body, None, None)


def ref_decode(opcode, body, pv=4, flags=0, stream=3):
    return ref.ProtocolHandler.decode_message(pv, {}, stream, flags, opcode, body, None, None)


def error_body(code, message, extra=b""):
    return int32(code) + string(message) + extra


# (code, class name in both drivers, extra bytes after <code><message>, protocol version)
ERRORS = [
    (0x0000, "ServerError", b"", 4),
    (0x000A, "ProtocolException", b"", 4),
    (0x0100, "BadCredentials", b"", 4),
    (0x1000, "UnavailableErrorMessage", short(4) + int32(3) + int32(1), 4),
    (0x1001, "OverloadedErrorMessage", b"", 4),
    (0x1002, "IsBootstrappingErrorMessage", b"", 4),
    (0x1003, "TruncateError", b"", 4),
    (0x1100, "WriteTimeoutErrorMessage", short(1) + int32(0) + int32(1) + string("BATCH_LOG"), 4),
    (0x1200, "ReadTimeoutErrorMessage", short(6) + int32(1) + int32(2) + b"\x01", 4),
    (0x1300, "ReadFailureMessage", short(5) + int32(1) + int32(3) + int32(2) + b"\x00", 4),
    (0x1300, "ReadFailureMessage", short(5) + int32(1) + int32(3) + int32(2)
     + inetaddr("127.0.0.2") + short(1) + inetaddr("::1") + short(2) + b"\x01", 5),
    (0x1400, "FunctionFailureMessage", string("ks") + string("fn") + string_list(["int", "text"]), 4),
    (0x1500, "WriteFailureMessage", short(1) + int32(0) + int32(1) + int32(1) + string("SIMPLE"), 4),
    (0x1500, "WriteFailureMessage", short(1) + int32(0) + int32(1) + int32(1)
     + inetaddr("10.0.0.1") + short(0) + string("COUNTER"), 5),
    (0x1600, "CDCWriteException", b"", 4),
    (0x2000, "SyntaxException", b"", 4),
    (0x2100, "UnauthorizedErrorMessage", b"", 4),
    (0x2200, "InvalidRequestException", b"", 4),
    (0x2300, "ConfigurationException", b"", 4),
    (0x2400, "AlreadyExistsException", string("ks") + string("tbl"), 4),
    (0x2500, "PreparedQueryNotFound", short(3) + b"\x01\x02\x03", 4),
]


@pytest.mark.parametrize("code,name,extra,pv", ERRORS, ids=lambda x: hex(x) if isinstance(x, int) else None)
def test_error_decodes_like_the_reference_driver(code, name, extra, pv):
    body = error_body(code, "boom", extra)
    mine, theirs = decode(0x00, body, pv), ref_decode(0x00, body, pv)
    assert type(mine).__name__ == type(theirs).__name__ == name
    assert (mine.code, mine.message, mine.info) == (theirs.code, theirs.message, theirs.info)
    assert str(mine) == str(theirs)
    mine_exc, their_exc = mine.to_exception(), theirs.to_exception()
    assert type(mine_exc).__name__ == type(their_exc).__name__
    assert str(mine_exc) == str(their_exc)


def test_every_error_message_is_an_exception():
    msg = decode(0x00, error_body(0x2000, "line 1:0 no viable alternative"))
    assert isinstance(msg, Exception) and msg.to_exception() is msg


def test_unavailable_maps_to_the_root_exception_with_fields():
    exc = decode(0x00, error_body(0x1000, "x", short(4) + int32(3) + int32(1))).to_exception()
    assert isinstance(exc, cassfast.Unavailable)
    assert (exc.consistency, exc.required_replicas, exc.alive_replicas) == (4, 3, 1)


def test_write_timeout_carries_a_write_type_value():
    body = error_body(0x1100, "x", short(1) + int32(0) + int32(1) + string("UNLOGGED_BATCH"))
    exc = decode(0x00, body).to_exception()
    assert isinstance(exc, cassfast.WriteTimeout)
    assert exc.write_type == cassfast.WriteType.UNLOGGED_BATCH == "UNLOGGED_BATCH"


def test_write_timeout_with_v5_cas_contentions_ignores_the_trailing_short():
    body = error_body(0x1100, "x", short(9) + int32(0) + int32(1) + string("CAS") + short(2))
    assert decode(0x00, body, pv=5).info["write_type"] == cassfast.WriteType.CAS


def test_unknown_write_type_is_kept_as_text():
    body = error_body(0x1100, "x", short(1) + int32(0) + int32(1) + string("NEW_KIND"))
    assert decode(0x00, body).info["write_type"] == "NEW_KIND"


def test_read_timeout_data_retrieved_is_a_bool():
    exc = decode(0x00, error_body(0x1200, "x", short(6) + int32(1) + int32(2) + b"\x00")).to_exception()
    assert isinstance(exc, cassfast.ReadTimeout) and exc.data_retrieved is False


def test_v5_read_failure_has_an_error_code_map_per_replica():
    extra = (short(5) + int32(1) + int32(3) + int32(2) + inetaddr("127.0.0.2") + short(1)
             + inetaddr("::1") + short(2) + b"\x01")
    exc = decode(0x00, error_body(0x1300, "x", extra), pv=5).to_exception()
    assert isinstance(exc, cassfast.ReadFailure)
    assert exc.error_code_map == {"127.0.0.2": 1, "::1": 2} and exc.failures == 2
    assert exc.data_retrieved is True


def test_v4_read_failure_has_a_failure_count_and_no_map():
    extra = short(5) + int32(1) + int32(3) + int32(7) + b"\x00"
    exc = decode(0x00, error_body(0x1300, "x", extra)).to_exception()
    assert exc.failures == 7 and exc.error_code_map is None


def test_cas_write_unknown_is_decoded_with_its_fields():
    msg = decode(0x00, error_body(0x1700, "x", short(9) + int32(0) + int32(2)), pv=5)
    assert type(msg).__name__ == "CASWriteUnknownErrorMessage"
    assert msg.info == {"consistency": 9, "received_responses": 0, "required_responses": 2}


def test_unprepared_carries_the_unknown_query_id():
    msg = decode(0x00, error_body(0x2500, "x", short(2) + b"\xbe\xef"))
    assert isinstance(msg, protocol.PreparedQueryNotFound) and msg.info == b"\xbe\xef"


def test_already_exists_maps_to_the_root_exception():
    exc = decode(0x00, error_body(0x2400, "x", string("ks") + string(""))).to_exception()
    assert isinstance(exc, cassfast.AlreadyExists) and (exc.keyspace, exc.table) == ("ks", "")


def test_function_failure_maps_to_the_root_exception():
    exc = decode(0x00, error_body(0x1400, "x", string("ks") + string("f") + string_list(["int"]))).to_exception()
    assert isinstance(exc, cassfast.FunctionFailure) and exc.arg_types == ["int"]


def test_unknown_error_code_decodes_as_a_plain_error_message():
    msg = decode(0x00, error_body(0x7777, "odd"))
    assert type(msg) is protocol.ErrorMessage and msg.code == 0x7777 and msg.message == "odd"


def test_beta_protocol_error_is_recognised():
    msg = decode(0x00, error_body(0x000A, "Beta version of the protocol used (6/v6-beta), but USE_BETA flag is unset"))
    assert msg.is_beta_protocol_error


def test_ready_authenticate_and_auth_messages():
    assert isinstance(decode(0x02, b""), protocol.ReadyMessage)
    auth = decode(0x03, string("org.apache.cassandra.auth.PasswordAuthenticator"))
    assert auth.authenticator == "org.apache.cassandra.auth.PasswordAuthenticator"
    assert decode(0x0E, int32(3) + b"\x00\x01\x02").challenge == b"\x00\x01\x02"
    # spec 4.2.8: the AUTH_SUCCESS token is [bytes] and may be null.
    assert decode(0x10, int32(-1)).token is None
    assert decode(0x10, int32(2) + b"\xff\x00").token == b"\xff\x00"


def test_supported_splits_out_cql_versions():
    body = short(2) + string("CQL_VERSION") + string_list(["3.4.7"]) + string(
        "COMPRESSION") + string_list(["snappy", "lz4"])
    mine, theirs = decode(0x06, body), ref_decode(0x06, body)
    assert mine.cql_versions == theirs.cql_versions == ["3.4.7"]
    assert mine.options == theirs.options == {"COMPRESSION": ["snappy", "lz4"]}


@pytest.mark.parametrize("event_type,change,addr", [
    ("TOPOLOGY_CHANGE", "NEW_NODE", "127.0.0.3"), ("TOPOLOGY_CHANGE", "REMOVED_NODE", "::1"),
    ("STATUS_CHANGE", "UP", "10.1.2.3"), ("STATUS_CHANGE", "DOWN", "fe80::1")])
def test_node_events_decode_like_the_reference(event_type, change, addr):
    body = string(event_type) + string(change) + inetaddr(addr) + int32(9042)
    mine, theirs = decode(0x0C, body, stream=-1), ref_decode(0x0C, body, stream=-1)
    assert mine.event_type == event_type and mine.stream_id == -1
    assert mine.event_args == theirs.event_args == {"change_type": change, "address": (addr, 9042)}


SCHEMA_CHANGES = [
    ("CREATED", "KEYSPACE", string("ks")),
    ("UPDATED", "TABLE", string("ks") + string("t")),
    ("DROPPED", "TYPE", string("ks") + string("udt")),
    ("CREATED", "FUNCTION", string("ks") + string("f") + string_list(["int", "text"])),
    ("DROPPED", "AGGREGATE", string("ks") + string("agg") + string_list(["bigint"])),
]


def _comparable(event):
    out = dict(event)
    for key in ("function", "aggregate"):
        if key in out:
            out[key] = (type(out[key]).__name__, out[key].name, list(out[key].argument_types))
    return out


@pytest.mark.parametrize("change,target,options", SCHEMA_CHANGES)
def test_schema_change_event_and_result_decode_like_the_reference(change, target, options):
    args = string(change) + string(target) + options
    mine, theirs = decode(0x0C, string("SCHEMA_CHANGE") + args), ref_decode(0x0C, string("SCHEMA_CHANGE") + args)
    assert _comparable(mine.event_args) == _comparable(theirs.event_args)
    assert mine.event_args["target_type"] == target and mine.event_args["keyspace"] == "ks"
    result = decode(0x08, int32(5) + args)
    assert result.kind == protocol.RESULT_KIND_SCHEMA_CHANGE
    assert _comparable(result.schema_change_event) == _comparable(mine.event_args)


def test_unknown_event_type_is_not_supported():
    with pytest.raises(protocol.NotSupportedError):
        decode(0x0C, string("SOMETHING_NEW"))


def test_void_and_set_keyspace_results():
    assert decode(0x08, int32(1)).kind == protocol.RESULT_KIND_VOID
    res = decode(0x08, int32(3) + string("my_ks"))
    assert res.kind == protocol.RESULT_KIND_SET_KEYSPACE and res.new_keyspace == "my_ks"


def test_unknown_result_kind_is_not_supported():
    with pytest.raises(protocol.NotSupportedError):
        decode(0x08, int32(42))


def test_prelude_tracing_warnings_and_custom_payload_are_read_in_spec_order():
    trace = uuid.uuid1()
    prelude = (trace.bytes + string_list(["too many tombstones"]) + short(1) + string("k")
               + int32(2) + b"v!")
    flags = 0x02 | 0x08 | 0x04
    mine = decode(0x02, prelude, flags=flags)
    theirs = ref_decode(0x02, prelude, flags=flags)
    assert mine.trace_id == theirs.trace_id == trace
    assert mine.warnings == theirs.warnings == ["too many tombstones"]
    assert mine.custom_payload == theirs.custom_payload == {"k": b"v!"}
    assert mine.stream_id == 3


def test_messages_without_prelude_flags_have_no_trace_warnings_or_payload():
    msg = decode(0x02, b"")
    assert (msg.trace_id, msg.warnings, msg.custom_payload) == (None, None, None)


@pytest.mark.parametrize("name", sorted(locally_supported_compressions))
def test_compressed_v4_bodies_are_decompressed(name):
    body = error_body(0x2200, "bad query " * 20)
    packed = ref_compressions[name][0](body)
    msg = ProtocolHandler.decode_message(4, {}, 1, 0x01, 0x00, packed, locally_supported_compressions[name][1], None)
    assert msg.message == "bad query " * 20


def test_compressed_frame_without_a_decompressor_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="compress"):
        ProtocolHandler.decode_message(4, {}, 1, 0x01, 0x02, b"\x00", None, None)


def test_lz4_body_claiming_a_huge_size_is_rejected_before_allocating():
    _, decompress = locally_supported_compressions["lz4"]
    with pytest.raises(ProtocolError, match="uncompressed"):
        decompress(struct.pack(">I", 0xFFFFFFF0) + b"\x00")
    # 100 MB is under the frame limit but impossible from a 20-byte LZ4 block.
    with pytest.raises(ProtocolError, match="uncompressed"):
        decompress(struct.pack(">I", 100_000_000) + b"\x00" * 16)


def test_lz4_and_snappy_highly_compressible_bodies_still_decompress():
    body = b"\x00" * 1_000_000
    for name, (compress, decompress) in locally_supported_compressions.items():
        assert decompress(compress(body)) == body, name


def test_snappy_body_claiming_an_impossible_size_is_rejected():
    _, decompress = locally_supported_compressions["snappy"]
    # Varint 100_000_000 (little-endian base 128) followed by a few bytes.
    with pytest.raises(ProtocolError, match="uncompressed"):
        decompress(bytes([0x80, 0xC2, 0xD7, 0x2F]) + b"\x00" * 8)


def test_unknown_opcode_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="opcode"):
        decode(0x42, b"")


def test_request_opcode_in_a_response_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="request"):
        decode(0x07, b"")


GOLDEN_RESPONSES = (
    [(0x00, error_body(code, "m", extra), pv) for code, _, extra, pv in ERRORS]
    + [(0x03, string("Auth"), 4), (0x0E, int32(2) + b"ab", 4), (0x10, int32(1) + b"t", 4),
       (0x06, short(1) + string("CQL_VERSION") + string_list(["3.4.7"]), 4),
       (0x0C, string("STATUS_CHANGE") + string("UP") + inetaddr("::1") + int32(1), 4),
       (0x08, int32(3) + string("ks"), 4)]
    + [(0x08, int32(5) + string(c) + string(t) + o, 4) for c, t, o in SCHEMA_CHANGES]
)


@pytest.mark.parametrize("opcode,body,pv", GOLDEN_RESPONSES)
def test_every_truncation_of_a_response_body_is_a_protocol_error(opcode, body, pv):
    for cut in range(len(body)):
        with pytest.raises(ProtocolError):
            decode(opcode, body[:cut], pv)


def test_invalid_utf8_in_a_string_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="UTF-8"):
        decode(0x03, short(2) + b"\xff\xfe")


def test_inetaddr_of_an_impossible_size_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="inetaddr"):
        decode(0x0C, string("STATUS_CHANGE") + string("UP") + b"\x05" + b"\x00" * 9)
