"""Request encoding (native protocol v4/v5 spec section 4.1) through cassfast.protocol: golden
bytes written from the spec with ``struct``, and byte-for-byte agreement with cassandra-driver's
``ProtocolHandler.encode_message`` for the same messages."""
import struct

import pytest
from cassandra import protocol as ref
from cassandra.connection import locally_supported_compressions as ref_compressions
from cassandra.query import BatchType as RefBatchType
from hypothesis import given, settings, strategies as st

from cassfast import UnsupportedOperation
from cassfast import _core_messages
from cassfast.protocol import (AuthResponseMessage, BatchMessage, ExecuteMessage, OptionsMessage,
                               PrepareMessage, ProtocolHandler, QueryMessage, RegisterMessage,
                               StartupMessage, locally_supported_compressions)

encode = ProtocolHandler.encode_message


def header(version, flags, stream, opcode, length):
    return struct.pack(">BBhBi", version, flags, stream, opcode, length)


def string(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def long_string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack(">i", len(b)) + b


def value(v):
    return struct.pack(">i", -1) if v is None else struct.pack(">i", len(v)) + v


def frame(version, flags, stream, opcode, body):
    return header(version, flags, stream, opcode, len(body)) + body


def test_options_is_an_empty_body():
    assert encode(OptionsMessage(), 1, 4, None, False) == frame(4, 0, 1, 0x05, b"")


def test_startup_is_a_string_map_with_cql_version():
    msg = StartupMessage("3.0.0", {"COMPRESSION": "lz4"})
    body = struct.pack(">H", 2) + string("COMPRESSION") + string("lz4") + string(
        "CQL_VERSION") + string("3.0.0")
    assert encode(msg, 0, 5, None, False) == frame(5, 0, 0, 0x01, body)


def test_register_is_a_string_list():
    msg = RegisterMessage(["TOPOLOGY_CHANGE", "STATUS_CHANGE"])
    body = struct.pack(">H", 2) + string("TOPOLOGY_CHANGE") + string("STATUS_CHANGE")
    assert encode(msg, 2, 4, None, False) == frame(4, 0, 2, 0x0B, body)


def test_auth_response_is_a_bytes_token():
    msg = AuthResponseMessage(b"\x00user\x00pass")
    assert encode(msg, 3, 4, None, False) == frame(4, 0, 3, 0x0F, long_string(b"\x00user\x00pass"))


def test_query_v4_has_byte_flags_and_v5_int_flags():
    v4 = encode(QueryMessage("SELECT 1", 1), 7, 4, None, False)
    v5 = encode(QueryMessage("SELECT 1", 1), 7, 5, None, False)
    assert v4 == frame(4, 0, 7, 0x07, long_string("SELECT 1") + b"\x00\x01" + b"\x00")
    assert v5 == frame(5, 0, 7, 0x07, long_string("SELECT 1") + b"\x00\x01" + b"\x00\x00\x00\x00")


def test_query_with_every_v5_option_in_spec_order():
    msg = QueryMessage("SELECT x", 6, serial_consistency_level=9, fetch_size=5000,
                       paging_state=b"\x01\x02", timestamp=1234567890123, keyspace="ks")
    body = (long_string("SELECT x") + struct.pack(">H", 6)
            + struct.pack(">I", 0x04 | 0x08 | 0x10 | 0x20 | 0x80)
            + struct.pack(">i", 5000) + value(b"\x01\x02") + struct.pack(">H", 9)
            + struct.pack(">q", 1234567890123) + string("ks"))
    assert encode(msg, 1, 5, None, False) == frame(5, 0, 1, 0x07, body)


def test_query_now_in_seconds_is_the_last_v5_field():
    out = _core_messages.encode_query_frame(1, 5, "SELECT 1", 1, now_in_seconds=42)
    assert out == frame(5, 0, 1, 0x07, long_string("SELECT 1") + b"\x00\x01"
                        + struct.pack(">I", 0x100) + struct.pack(">i", 42))


def test_query_keyspace_on_v4_is_unsupported():
    with pytest.raises(UnsupportedOperation):
        encode(QueryMessage("SELECT 1", 1, keyspace="ks"), 1, 4, None, False)


def test_execute_v4_layout():
    msg = ExecuteMessage(b"\xab\xcd", [b"\x00\x00\x00\x01", None, b""], 1)
    body = (struct.pack(">H", 2) + b"\xab\xcd" + b"\x00\x01" + b"\x01" + struct.pack(">H", 3)
            + value(b"\x00\x00\x00\x01") + value(None) + value(b""))
    assert encode(msg, 10, 4, None, False) == frame(4, 0, 10, 0x0A, body)


def test_execute_v5_carries_the_result_metadata_id():
    msg = ExecuteMessage(b"\x01", [], 4, result_metadata_id=b"\x02\x03")
    body = (b"\x00\x01\x01" + b"\x00\x02\x02\x03" + b"\x00\x04" + struct.pack(">I", 1)
            + b"\x00\x00")
    assert encode(msg, 0, 5, None, False) == frame(5, 0, 0, 0x0A, body)


def test_execute_v5_without_result_metadata_id_is_refused():
    with pytest.raises(ValueError, match="result_metadata_id"):
        encode(ExecuteMessage(b"\x01", [], 4), 0, 5, None, False)


def test_execute_skip_meta_sets_the_skip_metadata_flag():
    # Spec 4.1.4 flag 0x02.  (cassandra-driver 3.30 stores skip_meta but never sends it.)
    out = encode(ExecuteMessage(b"\x01", None, 1, skip_meta=True), 0, 4, None, False)
    assert out[9 + 3 + 2] == 0x02


def test_unset_values_are_length_minus_two():
    types = pytest.importorskip("cassfast._types")
    msg = ExecuteMessage(b"\x01", [types.UNSET_VALUE], 1)
    assert encode(msg, 0, 4, None, False)[-4:] == struct.pack(">i", -2)


def test_values_must_be_serialized_bytes():
    with pytest.raises(TypeError, match="bound value 1"):
        encode(ExecuteMessage(b"\x01", [b"", 5], 1), 0, 4, None, False)


def test_bytearray_values_are_accepted_and_the_callers_list_is_not_modified():
    values = [bytearray(b"ab")]
    out = encode(ExecuteMessage(b"\x01", values, 1), 0, 4, None, False)
    assert out.endswith(value(b"ab")) and type(values[0]) is bytearray


def test_prepare_v4_is_a_long_string_and_v5_adds_flags_and_keyspace():
    assert encode(PrepareMessage("SELECT 1"), 1, 4, None, False) == frame(
        4, 0, 1, 0x09, long_string("SELECT 1"))
    assert encode(PrepareMessage("SELECT 1"), 1, 5, None, False) == frame(
        5, 0, 1, 0x09, long_string("SELECT 1") + struct.pack(">I", 0))
    assert encode(PrepareMessage("SELECT 1", keyspace="ks"), 1, 5, None, False) == frame(
        5, 0, 1, 0x09, long_string("SELECT 1") + struct.pack(">I", 1) + string("ks"))


def test_batch_layout_with_simple_and_prepared_statements():
    msg = BatchMessage(RefBatchType.UNLOGGED,
                       [(False, "INSERT x", [b"\x01"]), (True, b"\x09\x08", [None])], 4,
                       serial_consistency_level=9, timestamp=77)
    body = (b"\x01" + struct.pack(">H", 2)
            + b"\x00" + long_string("INSERT x") + struct.pack(">H", 1) + value(b"\x01")
            + b"\x01" + struct.pack(">H", 2) + b"\x09\x08" + struct.pack(">H", 1) + value(None)
            + struct.pack(">H", 4) + b"\x30" + struct.pack(">H", 9) + struct.pack(">q", 77))
    assert encode(msg, 5, 4, None, False) == frame(4, 0, 5, 0x0D, body)


def test_batch_accepts_an_integer_batch_type():
    out = _core_messages.encode_batch_frame(0, 4, 2, [], 1)
    assert out[9] == 2


def test_tracing_custom_payload_and_beta_set_frame_flags():
    msg = QueryMessage("SELECT 1", 1)
    msg.tracing = True
    msg.custom_payload = {"k": b"v"}
    out = encode(msg, 0, 4, None, True)
    assert out[1] == 0x02 | 0x04 | 0x10
    # Spec 2.2: the [bytes map] custom payload precedes the message body.
    assert out[9:9 + 2 + 3 + 5] == struct.pack(">H", 1) + string("k") + value(b"v")


@pytest.mark.parametrize("make", [lambda: QueryMessage("SELECT 1", 1),
                                  lambda: ExecuteMessage(b"\x01", [], 1)], ids=["query", "execute"])
def test_custom_payload_needs_protocol_v4(make):
    msg = make()
    msg.custom_payload = {"k": b"v"}
    with pytest.raises(UnsupportedOperation):
        encode(msg, 0, 3, None, False)


def test_execute_custom_payload_on_v4_precedes_the_body():
    msg = ExecuteMessage(b"\x01", [], 1)
    msg.custom_payload = {"k": None}
    out = encode(msg, 0, 4, None, False)
    assert out[1] == 0x04 and out[9:9 + 2 + 3 + 4] == struct.pack(">H", 1) + string("k") + value(None)


def test_continuous_paging_is_refused_as_a_dse_feature():
    msg = ExecuteMessage(b"\x01", [], 1, continuous_paging_options=object())
    with pytest.raises(UnsupportedOperation, match="DSE"):
        encode(msg, 0, 4, None, False)


def test_execute_subclass_is_encoded_like_its_base():
    class Traced(ExecuteMessage):
        tracing = True

    out = encode(Traced(b"\x01", [b"x"], 1), 0, 4, None, False)
    plain = encode(ExecuteMessage(b"\x01", [b"x"], 1), 0, 4, None, False)
    assert out[1] == 0x02 and out[2:] == plain[2:]


@pytest.mark.parametrize("name", sorted(locally_supported_compressions))
def test_v4_compression_compresses_the_body_and_sets_the_flag(name):
    compress, decompress = locally_supported_compressions[name]
    plain = encode(QueryMessage("SELECT * FROM t WHERE k = 1", 1), 3, 4, None, False)
    packed = encode(QueryMessage("SELECT * FROM t WHERE k = 1", 1), 3, 4, compress, False)
    assert packed[1] == 0x01 and packed[:1] == plain[:1] and packed[2:5] == plain[2:5]
    assert struct.unpack(">i", packed[5:9])[0] == len(packed) - 9
    assert decompress(packed[9:]) == plain[9:]
    # And the reference driver's decompressor for the same algorithm reads it too.
    assert ref_compressions[name][1](packed[9:]) == plain[9:]


def test_v5_ignores_the_body_compressor():
    compress = locally_supported_compressions["lz4"][0]
    assert encode(OptionsMessage(), 0, 5, compress, False) == frame(5, 0, 0, 0x05, b"")


# --- byte-for-byte agreement with cassandra-driver -------------------------------------------

blobs = st.one_of(st.none(), st.binary(max_size=40))


@settings(max_examples=300, deadline=None)
@given(pv=st.sampled_from([3, 4, 5]), values=st.lists(blobs, max_size=8),
       cl=st.integers(0, 10), serial=st.sampled_from([None, 8, 9]),
       fetch=st.one_of(st.none(), st.integers(1, 2**31 - 1)),
       paging=st.one_of(st.none(), st.binary(min_size=1, max_size=30)),
       ts=st.one_of(st.none(), st.integers(0, 2**63 - 1)),
       stream=st.integers(0, 32767), qid=st.binary(min_size=1, max_size=16))
def test_execute_matches_the_reference_encoder(pv, values, cl, serial, fetch, paging, ts,
                                               stream, qid):
    rmid = b"\x05\x06" if pv >= 5 else None
    mine = encode(ExecuteMessage(qid, values, cl, serial, fetch, paging, ts,
                                 result_metadata_id=rmid), stream, pv, None, False)
    theirs = ref.ProtocolHandler.encode_message(
        ref.ExecuteMessage(qid, values, cl, serial, fetch, paging, ts, result_metadata_id=rmid),
        stream, pv, None, False)
    assert mine == theirs


@settings(max_examples=200, deadline=None)
@given(pv=st.sampled_from([3, 4, 5]), query=st.text(max_size=60), cl=st.integers(0, 10),
       serial=st.sampled_from([None, 8, 9]), fetch=st.one_of(st.none(), st.integers(1, 10**6)),
       ts=st.one_of(st.none(), st.integers(0, 2**62)), ks=st.sampled_from([None, "ks", "ü"]),
       beta=st.booleans())
def test_query_matches_the_reference_encoder(pv, query, cl, serial, fetch, ts, ks, beta):
    ks = ks if pv >= 5 else None
    mine = encode(QueryMessage(query, cl, serial, fetch, None, ts, keyspace=ks), 1, pv, None, beta)
    theirs = ref.ProtocolHandler.encode_message(
        ref.QueryMessage(query, cl, serial, fetch, None, ts, keyspace=ks), 1, pv, None, beta)
    assert mine == theirs


@settings(max_examples=200, deadline=None)
@given(pv=st.sampled_from([3, 4, 5]),
       stmts=st.lists(st.tuples(st.booleans(), st.binary(min_size=1, max_size=12),
                                st.lists(blobs, max_size=4)), max_size=6),
       btype=st.sampled_from([RefBatchType.LOGGED, RefBatchType.UNLOGGED, RefBatchType.COUNTER]),
       serial=st.sampled_from([None, 9]), ts=st.one_of(st.none(), st.integers(0, 2**62)),
       ks=st.sampled_from([None, "ks"]))
def test_batch_matches_the_reference_encoder(pv, stmts, btype, serial, ts, ks):
    ks = ks if pv >= 5 else None
    queries = [(p, s if p else s.decode("latin-1"), v) for p, s, v in stmts]
    mine = encode(BatchMessage(btype, queries, 1, serial, ts, ks), 2, pv, None, False)
    theirs = ref.ProtocolHandler.encode_message(
        ref.BatchMessage(btype, queries, 1, serial, ts, ks), 2, pv, None, False)
    assert mine == theirs


@pytest.mark.parametrize("pv", [3, 4, 5])
def test_cold_messages_match_the_reference_encoder(pv):
    pairs = [
        (OptionsMessage(), ref.OptionsMessage()),
        (StartupMessage("3.0.0", {"COMPRESSION": "lz4", "DRIVER_NAME": "x"}),
         ref.StartupMessage("3.0.0", {"COMPRESSION": "lz4", "DRIVER_NAME": "x"})),
        (RegisterMessage(["SCHEMA_CHANGE"]), ref.RegisterMessage(["SCHEMA_CHANGE"])),
        (AuthResponseMessage(b"\x00a\x00b"), ref.AuthResponseMessage(b"\x00a\x00b")),
        (PrepareMessage("SELECT * FROM t"), ref.PrepareMessage("SELECT * FROM t")),
    ]
    if pv >= 5:
        pairs.append((PrepareMessage("SELECT 1", "ks"), ref.PrepareMessage("SELECT 1", "ks")))
    for mine, theirs in pairs:
        assert encode(mine, 9, pv, None, False) == ref.ProtocolHandler.encode_message(
            theirs, 9, pv, None, False), type(mine).__name__


def test_values_given_as_a_mapping_are_sent_by_name():
    # Spec 4.1.4 flag 0x40: each [value] is preceded by its marker's [string] name.
    out = _core_messages.encode_query_frame(1, 4, "INSERT", 1, {"a": b"\x01", "bb": None})
    body = (long_string("INSERT") + b"\x00\x01" + bytes([0x01 | 0x40]) + struct.pack(">H", 2)
            + string("a") + value(b"\x01") + string("bb") + value(None))
    assert out == frame(4, 0, 1, 0x07, body)


def test_execute_accepts_named_values_on_v5():
    out = _core_messages.encode_execute_frame(1, 5, b"\x07", {"k": b"v"}, 1,
                                              result_metadata_id=b"\x08")
    body = (b"\x00\x01\x07" + b"\x00\x01\x08" + b"\x00\x01" + struct.pack(">I", 0x41)
            + struct.pack(">H", 1) + string("k") + value(b"v"))
    assert out == frame(5, 0, 1, 0x0A, body)


def test_batch_refuses_named_values():
    with pytest.raises(ValueError, match="positional"):
        _core_messages.encode_batch_frame(0, 4, 0, [(False, "INSERT", {"a": b"x"})], 1)


def test_reference_message_classes_and_constants_exist_with_the_same_values():
    import cassfast.protocol as mine
    for name in ("StartupMessage", "ReadyMessage", "AuthenticateMessage", "CredentialsMessage",
                 "OptionsMessage", "SupportedMessage", "QueryMessage", "ResultMessage",
                 "PrepareMessage", "ExecuteMessage", "RegisterMessage", "EventMessage",
                 "BatchMessage", "AuthChallengeMessage", "AuthResponseMessage",
                 "AuthSuccessMessage", "ErrorMessage"):
        assert getattr(mine, name).opcode == getattr(ref, name).opcode, name
    for name in ("_VALUES_FLAG", "_SKIP_METADATA_FLAG", "_PAGE_SIZE_FLAG",
                 "_WITH_PAGING_STATE_FLAG", "_WITH_SERIAL_CONSISTENCY_FLAG",
                 "_PROTOCOL_TIMESTAMP_FLAG", "_NAMES_FOR_VALUES_FLAG", "_WITH_KEYSPACE_FLAG",
                 "RESULT_KIND_VOID", "RESULT_KIND_ROWS", "RESULT_KIND_SET_KEYSPACE",
                 "RESULT_KIND_PREPARED", "RESULT_KIND_SCHEMA_CHANGE", "COMPRESSED_FLAG",
                 "TRACING_FLAG", "CUSTOM_PAYLOAD_FLAG", "WARNING_FLAG", "USE_BETA_FLAG"):
        assert getattr(mine, name) == getattr(ref, name), name
    assert {c.error_code for c in mine.error_classes.values()} >= set(ref.error_classes)


def test_unset_value_is_the_value_layers_singleton():
    import cassfast.protocol as mine
    types = pytest.importorskip("cassfast._types")
    assert mine._UNSET_VALUE is types.UNSET_VALUE


def test_credentials_message_is_unsupported_after_protocol_v1():
    from cassfast.protocol import CredentialsMessage
    with pytest.raises(UnsupportedOperation):
        encode(CredentialsMessage({"username": "u"}), 0, 4, None, False)


def test_custom_payload_values_must_be_bytes():
    msg = QueryMessage("SELECT 1", 1)
    msg.custom_payload = {"k": 5}
    with pytest.raises(TypeError, match="custom payload value"):
        encode(msg, 0, 4, None, False)


def test_paging_state_must_be_bytes():
    with pytest.raises(TypeError, match="paging state"):
        encode(QueryMessage("SELECT 1", 1, fetch_size=10, paging_state=7), 0, 4, None, False)


def test_execute_fields_set_after_construction_reach_the_compiled_encoder():
    # ExecuteMessage keeps its fields in the compiled ExecuteFields base; what the session sets
    # after construction (tracing, a custom payload, a paging state) must reach the frame.
    msg = ExecuteMessage(b"\x01", [b"x"], 1, fetch_size=100)
    msg.tracing = True
    msg.custom_payload = {"k": b"v"}
    msg.paging_state = b"\x07"
    fast = encode(msg, 3, 4, None, False)
    general = msg.encode_frame(3, 4, False)
    assert fast == general
    assert fast[1] == 0x02 | 0x04  # TRACING and CUSTOM_PAYLOAD flags
    assert b"\x00\x00\x00\x01\x07" in fast  # the paging state as [bytes]


def test_execute_repr_names_its_fields_and_extra_attributes():
    msg = ExecuteMessage(b"\x01", [b"x"], 1)
    msg.stream_id = 9
    text = repr(msg)
    assert text.startswith("<ExecuteMessage(query_id=b'\\x01', query_params=[b'x'], consistency_level=1")
    assert text.endswith("stream_id=9)>")
