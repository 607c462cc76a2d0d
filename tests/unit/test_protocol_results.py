"""RESULT Rows and Prepared decoding (native protocol v4/v5 spec 4.2.5.2 and 4.2.5.4) through
``ProtocolHandler.decode_message``, with the metadata and rows read by cassfast._types.  Bodies
are written from the spec with ``struct`` and decoded by cassandra-driver as the oracle."""
import struct

import pytest
from cassandra import protocol as ref

from cassfast import DriverException, protocol
from cassfast._core import ProtocolError
from cassfast.protocol import ProtocolHandler
from cassfast.rows import dict_factory, named_tuple_factory

INT, VARCHAR, LIST = 0x0009, 0x000D, 0x0020


def short(n):
    return struct.pack(">H", n)


def int32(n):
    return struct.pack(">i", n)


def string(s):
    b = s.encode()
    return short(len(b)) + b


def cell(b):
    return int32(-1) if b is None else int32(len(b)) + b


def decode(body, pv=4, result_metadata=None, row_factory=None):
    return ProtocolHandler.decode_message(pv, {}, 1, 0, 0x08, body, None, result_metadata,
                                          row_factory)


def ref_decode(body, pv=4):
    return ref.ProtocolHandler.decode_message(pv, {}, 1, 0, 0x08, body, None, None)


# <metadata> with Global_tables_spec (0x0001): ks.t, columns k int, v text, tags list<int>.
GLOBAL_META = (int32(0x0001) + int32(3) + string("ks") + string("t")
               + string("k") + short(INT) + string("v") + short(VARCHAR)
               + string("tags") + short(LIST) + short(INT))
ROWS = (int32(2)
        + cell(int32(7)) + cell(b"hi") + cell(int32(1) + cell(int32(5)))
        + cell(int32(-3)) + cell(None) + cell(None))


def test_rows_result_decodes_like_the_reference():
    body = int32(2) + GLOBAL_META + ROWS
    mine, theirs = decode(body), ref_decode(body)
    assert mine.kind == protocol.RESULT_KIND_ROWS
    assert mine.column_names == theirs.column_names == ["k", "v", "tags"]
    assert [t.cql_parameterized_type() for t in mine.column_types] == [
        t.cql_parameterized_type() for t in theirs.column_types]
    assert mine.parsed_rows == theirs.parsed_rows == [(7, "hi", [5]), (-3, None, None)]
    assert mine.paging_state is None


def test_rows_with_per_column_table_specs():
    meta = (int32(0) + int32(1) + string("ks") + string("t1") + string("a") + short(INT))
    body = int32(2) + meta + int32(1) + cell(int32(42))
    mine, theirs = decode(body), ref_decode(body)
    assert mine.parsed_rows == theirs.parsed_rows == [(42,)]
    assert mine.column_metadata.col_specs[0][:3] == ("ks", "t1", "a")


def test_rows_has_more_pages_carries_the_paging_state():
    meta = int32(0x0001 | 0x0002) + int32(1) + cell(b"\xca\xfe") + string("ks") + string("t") + string("a") + short(INT)
    body = int32(2) + meta + int32(0)
    mine, theirs = decode(body), ref_decode(body)
    assert mine.paging_state == theirs.paging_state == b"\xca\xfe"
    assert mine.parsed_rows == []


def test_row_factory_is_applied_while_decoding():
    body = int32(2) + GLOBAL_META + ROWS
    rows = decode(body, row_factory=named_tuple_factory).parsed_rows
    assert rows[0].k == 7 and rows[0].v == "hi" and rows[1].tags is None
    assert decode(body, row_factory=dict_factory).parsed_rows[0] == {"k": 7, "v": "hi", "tags": [5]}


def test_no_metadata_rows_use_the_given_prepared_result_metadata():
    full = decode(int32(2) + GLOBAL_META + ROWS)
    body = int32(2) + int32(0x0004) + int32(3) + ROWS
    skipped = decode(body, result_metadata=full.result_metadata)
    assert skipped.column_metadata is None
    assert skipped.parsed_rows == full.parsed_rows
    assert skipped.column_names == ["k", "v", "tags"]


def test_no_metadata_rows_without_prepared_metadata_raise_a_driver_exception():
    with pytest.raises(DriverException, match="NO_METADATA"):
        decode(int32(2) + int32(0x0004) + int32(3) + ROWS)


def test_v5_metadata_changed_reports_the_new_result_metadata_id():
    meta = (int32(0x0001 | 0x0008) + int32(1) + short(2) + b"\x0a\x0b" + string("ks")
            + string("t") + string("a") + short(INT))
    msg = decode(int32(2) + meta + int32(0), pv=5)
    assert msg.result_metadata_id == b"\x0a\x0b"


def prepared_body(pv):
    # <id>[<result_metadata_id>]<metadata><result_metadata> (spec 4.2.5.4); the bind metadata
    # has <flags><columns_count><pk_count><pk_index_1>... from v4.
    bind = (int32(0x0001) + int32(2) + int32(1) + short(0) + string("ks") + string("t")
            + string("k") + short(INT) + string("v") + short(VARCHAR))
    out = int32(4) + short(2) + b"\x01\x02"
    if pv >= 5:
        out += short(1) + b"\x99"
    return out + bind + GLOBAL_META


@pytest.mark.parametrize("pv", [4, 5])
def test_prepared_result_decodes_like_the_reference(pv):
    body = prepared_body(pv)
    mine, theirs = decode(body, pv), ref_decode(body, pv)
    assert mine.kind == protocol.RESULT_KIND_PREPARED
    assert mine.query_id == theirs.query_id == b"\x01\x02"
    assert mine.result_metadata_id == theirs.result_metadata_id
    assert mine.pk_indexes == theirs.pk_indexes == [0]
    assert mine.bind_metadata.column_names == tuple(c.name for c in theirs.bind_metadata)
    assert mine.result_metadata.column_names == tuple(c[2] for c in theirs.column_metadata)
    assert mine.column_metadata is mine.result_metadata


@pytest.mark.parametrize("body", [int32(2) + GLOBAL_META + ROWS, prepared_body(4)],
                         ids=["rows", "prepared"])
def test_every_truncation_of_a_result_is_a_protocol_error(body):
    for cut in range(len(body)):
        with pytest.raises(ProtocolError):
            decode(body[:cut])


# decode_message's direct path (a RESULT without prelude or compression) against its general path.

def test_void_result_without_prelude_and_with_a_warning_decode_alike():
    plain = ProtocolHandler.decode_message(4, {}, 3, 0, 0x08, int32(1), None, None)
    # WARNING flag (0x08): a [string list] prelude before the same body takes the general path.
    warned = ProtocolHandler.decode_message(4, {}, 3, 0x08, 0x08, short(1) + string("w") + int32(1),
                                            None, None)
    for msg in (plain, warned):
        assert type(msg) is protocol.ResultMessage
        assert msg.kind == 1 and msg.stream_id == 3 and msg.parsed_rows is None
    assert plain.warnings is None and warned.warnings == ["w"]


def test_rows_from_a_memoryview_body_decode_like_bytes():
    body = int32(2) + GLOBAL_META + ROWS
    from_view = ProtocolHandler.decode_message(4, {}, 1, 0, 0x08, memoryview(body), None, None)
    assert from_view.parsed_rows == decode(body).parsed_rows == [(7, "hi", [5]), (-3, None, None)]


def test_a_handler_mapping_result_to_its_own_class_is_honoured():
    class MyResult(protocol.ResultMessage):
        @classmethod
        def recv_body(cls, reader, *args, **kwargs):
            msg = cls(reader.read_int())
            msg.mine = True
            return msg

    class MyHandler(ProtocolHandler):
        message_types_by_opcode = {**ProtocolHandler.message_types_by_opcode, 0x08: MyResult}

    msg = MyHandler.decode_message(4, {}, 1, 0, 0x08, int32(1), None, None)
    assert type(msg) is MyResult and msg.mine and msg.kind == 1
