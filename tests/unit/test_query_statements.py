"""Unit tests of cassfast.query statements: binding, routing keys, statement options, batches.

Prepared statements are built the way the session builds them: from the bind-variable
``<metadata>`` of a RESULT Prepared body (native protocol v5 spec section 4.2.5.4), written byte by
byte here from the spec.  The same bytes are parsed by cassandra-driver 3.30, whose
``PreparedStatement`` / ``BoundStatement`` serve as the oracle for serialized values, routing keys
and batch contents.  No network.
"""
import io
import struct
import uuid
from datetime import date, datetime
from decimal import Decimal

import pytest

import cassandra.policies as ref_policies
import cassandra.protocol as ref_protocol
import cassandra.query as ref_query

from cassfast import ConsistencyLevel
from cassfast import _types
from cassfast import query as cf_query
from cassfast.query import (UNSET_VALUE, BatchStatement, BatchType, BoundStatement,
                            PreparedStatement, SimpleStatement, Statement)

# --- RESULT Prepared metadata, built from the spec -------------------------------------------

# [option] ids, spec section 4.2.5.2.
TYPE_IDS = {"ascii": 0x01, "bigint": 0x02, "blob": 0x03, "boolean": 0x04, "counter": 0x05,
            "decimal": 0x06, "double": 0x07, "float": 0x08, "int": 0x09, "timestamp": 0x0B,
            "uuid": 0x0C, "varchar": 0x0D, "varint": 0x0E, "timeuuid": 0x0F, "inet": 0x10,
            "date": 0x11, "time": 0x12, "smallint": 0x13, "tinyint": 0x14, "duration": 0x15}
GLOBAL_TABLES_SPEC = 0x0001
NO_METADATA = 0x0004


def _string(s):
    b = s.encode("utf-8")
    return struct.pack(">H", len(b)) + b


def _option(t):
    if isinstance(t, str):
        return struct.pack(">H", TYPE_IDS[t])
    kind, *args = t
    if kind == "list":
        return struct.pack(">H", 0x20) + _option(args[0])
    if kind == "set":
        return struct.pack(">H", 0x22) + _option(args[0])
    if kind == "map":
        return struct.pack(">H", 0x21) + _option(args[0]) + _option(args[1])
    if kind == "tuple":
        return struct.pack(">HH", 0x31, len(args)) + b"".join(_option(a) for a in args)
    if kind == "udt":
        ks, name, fields = args
        return (struct.pack(">H", 0x30) + _string(ks) + _string(name)
                + struct.pack(">H", len(fields))
                + b"".join(_string(f) + _option(ft) for f, ft in fields))
    raise ValueError(kind)


def prepared_body(columns, pk_indexes, protocol_version, ks="ks", table="tbl"):
    """``<metadata>`` of bind variables then an empty ``<result_metadata>`` (4.2.5.4)."""
    body = struct.pack(">ii", GLOBAL_TABLES_SPEC, len(columns))
    if protocol_version >= 4:
        body += struct.pack(">i", len(pk_indexes))
        body += b"".join(struct.pack(">H", i) for i in pk_indexes)
    body += _string(ks) + _string(table)
    for name, t in columns:
        body += _string(name) + _option(t)
    return body + struct.pack(">ii", NO_METADATA, 0)


class _Schema:
    """Cluster metadata shape that ``from_message`` reads (``keyspaces[ks].tables[t]``)."""

    class _Col:
        def __init__(self, name):
            self.name = name

    def __init__(self, tables=None):
        self.keyspaces = {}
        for (ks, table), pk in (tables or {}).items():
            ks_meta = self.keyspaces.setdefault(ks, type("KS", (), {"tables": {}})())
            ks_meta.tables[table] = type("T", (), {"partition_key": [self._Col(c) for c in pk]})()


def prepare_both(columns, pk_indexes=(), protocol_version=4, schema=None, query="Q"):
    """The cassfast and the reference prepared statement for the same RESULT Prepared bytes."""
    body = prepared_body(columns, list(pk_indexes), protocol_version)
    bind_md, pks, _ = _types.parse_prepared_metadata(body, 0, protocol_version, {})
    ours = PreparedStatement.from_message(b"\x07id", bind_md, pks, schema or _Schema(), query,
                                          "ks", protocol_version, None, None)
    msg = ref_protocol.ResultMessage(4)
    msg.recv_prepared_metadata(io.BytesIO(body), protocol_version, {})
    ref = ref_query.PreparedStatement.from_message(b"\x07id", msg.bind_metadata, msg.pk_indexes,
                                                   schema or _Schema(), query, "ks",
                                                   protocol_version, None, None)
    return ours, ref


def _norm(values):
    """Serialized values with both drivers' UNSET markers mapped to one token."""
    return ["UNSET" if v is UNSET_VALUE or v is ref_query.UNSET_VALUE else v for v in values]


SCALARS = [
    ("a", "int"), ("b", "varchar"), ("c", "bigint"), ("d", "double"), ("e", "boolean"),
    ("f", "uuid"), ("g", "timestamp"), ("h", "decimal"), ("i", "blob"), ("j", "date"),
    ("k", ("list", "int")), ("l", ("map", "varchar", "int")), ("m", ("set", "varchar")),
    ("n", ("tuple", "int", "varchar")), ("o", "smallint"), ("p", "tinyint"), ("q", "varint"),
    ("r", "inet"), ("s", "float"), ("t", "ascii"),
]
SCALAR_VALUES = [
    -2 ** 31, "h\u00e9llo \u65e5\u672c", 2 ** 63 - 1, -0.5, True,
    uuid.UUID("12345678-1234-5678-1234-567812345678"), datetime(1969, 7, 20, 20, 17, 40),
    Decimal("-123456789.000000001"), b"\x00\xff", date(1, 1, 1), [1, 2, 3], {"x": 1}, {"b", "a"},
    (7, "seven"), -32768, 127, -(2 ** 100), "2001:db8::1", 1.5, "ascii",
]


# --- binding ---------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol_version", [3, 4, 5])
def test_bind_by_position_serializes_like_the_reference(protocol_version):
    ours, ref = prepare_both(SCALARS, [0], protocol_version)
    assert ours.bind(SCALAR_VALUES).values == ref.bind(SCALAR_VALUES).values


def test_bind_by_name_orders_values_by_bind_variable_and_ignores_extra_keys():
    ours, ref = prepare_both([("a", "int"), ("b", "varchar"), ("c", "bigint")], [0])
    values = {"c": 3, "zzz": "extra", "a": 1, "b": "two"}
    bound = ours.bind(values)
    assert bound.values == ref.bind(values).values
    assert bound.values == [struct.pack(">i", 1), b"two", struct.pack(">q", 3)]


def test_bind_by_name_leaves_missing_names_unset_on_v4():
    ours, ref = prepare_both([("a", "int"), ("b", "varchar"), ("c", "bigint")], [0])
    bound = ours.bind({"a": 1})
    assert bound.values[1] is UNSET_VALUE and bound.values[2] is UNSET_VALUE
    assert _norm(bound.values) == _norm(ref.bind({"a": 1}).values)


def test_bind_by_name_requires_every_name_on_v3():
    ours, _ = prepare_both([("a", "int"), ("b", "varchar")], [], protocol_version=3)
    with pytest.raises(KeyError, match="b"):
        ours.bind({"a": 1})


def test_bind_short_sequence_is_padded_with_unset_on_v4():
    ours, ref = prepare_both([("a", "int"), ("b", "varchar"), ("c", "bigint")], [0])
    bound = ours.bind((5,))
    assert _norm(bound.values) == _norm(ref.bind((5,)).values) == [struct.pack(">i", 5),
                                                                     "UNSET", "UNSET"]


def test_bind_short_sequence_is_rejected_on_v3():
    ours, _ = prepare_both([("a", "int"), ("b", "varchar")], [], protocol_version=3)
    with pytest.raises(ValueError, match="Too few arguments"):
        ours.bind((5,))


def test_bind_too_many_values_raises_value_error_with_counts():
    ours, ref = prepare_both([("a", "int"), ("b", "varchar")], [0])
    with pytest.raises(ValueError, match=r"got 3, expected 2"):
        ours.bind((1, "x", 3))
    with pytest.raises(ValueError):
        ref.bind((1, "x", 3))


def test_bind_unset_value_is_refused_before_v4():
    ours, _ = prepare_both([("a", "int"), ("b", "varchar")], [], protocol_version=3)
    with pytest.raises(ValueError, match="UNSET_VALUE"):
        ours.bind((1, UNSET_VALUE))


def test_bind_unset_value_in_the_partition_key_is_refused_naming_the_column():
    ours, _ = prepare_both([("v", "varchar"), ("pk", "int")], [1])
    with pytest.raises(ValueError, match="routing key 'pk'"):
        ours.bind(("x", UNSET_VALUE))
    with pytest.raises(ValueError, match="routing key 'pk'"):
        ours.bind({"v": "x"})


def test_bind_none_serializes_to_null_and_unset_passes_through():
    ours, _ = prepare_both([("a", "int"), ("b", "varchar"), ("c", "bigint")], [0])
    bound = ours.bind((1, None, UNSET_VALUE))
    assert bound.values[1] is None
    assert bound.values[2] is UNSET_VALUE


def test_bind_wrong_python_type_raises_type_error_naming_column_and_cql_type():
    ours, _ = prepare_both([("a", "int"), ("name", "varchar")], [0])
    with pytest.raises(TypeError) as info:
        ours.bind((1, 12345))
    message = str(info.value)
    assert "name" in message and ("text" in message.lower() or "varchar" in message.lower()
                                  or "utf8" in message.lower())


def test_bind_out_of_range_int_raises_naming_the_column():
    ours, _ = prepare_both([("small", "smallint")], [])
    with pytest.raises((TypeError, ValueError, OverflowError)) as info:
        ours.bind((40000,))
    assert "small" in str(info.value)


def test_bind_rejects_a_string_as_the_value_sequence():
    ours, _ = prepare_both([("a", "varchar")], [])
    with pytest.raises(TypeError, match="sequence"):
        ours.bind("abc")


def test_bind_accepts_none_as_no_values_for_a_statement_without_variables():
    ours, ref = prepare_both([], [])
    assert ours.bind(None).values == ref.bind(None).values == []


def test_rebinding_a_bound_statement_recomputes_its_routing_key():
    ours, _ = prepare_both([("pk", "int")], [0])
    bound = ours.bind((1,))
    assert bound.routing_key == struct.pack(">i", 1)
    bound.bind((2,))
    assert bound.routing_key == struct.pack(">i", 2)


# --- routing keys ----------------------------------------------------------------------------

def test_routing_key_of_a_single_column_partition_key_is_its_serialized_value():
    ours, ref = prepare_both([("v", "varchar"), ("pk", "bigint")], [1])
    bound = ours.bind(("x", 42))
    assert bound.routing_key == struct.pack(">q", 42) == ref.bind(("x", 42)).routing_key


@pytest.mark.parametrize("protocol_version", [4, 5])
def test_routing_key_of_a_composite_partition_key_matches_the_reference(protocol_version):
    columns = [("v", "varchar"), ("p2", "varchar"), ("p1", "int"), ("p3", "uuid")]
    # The partition key order (p1, p2, p3) differs from the bind order.
    ours, ref = prepare_both(columns, [2, 1, 3], protocol_version)
    values = ("v", "\u00e9t\u00e9", -7, uuid.UUID(int=1))
    key = ours.bind(values).routing_key
    assert key == ref.bind(values).routing_key
    # CompositeType layout: per component [unsigned short length][bytes][0x00].
    assert key == (b"\x00\x04" + struct.pack(">i", -7) + b"\x00"
                   + b"\x00\x05" + "\u00e9t\u00e9".encode() + b"\x00"
                   + b"\x00\x10" + uuid.UUID(int=1).bytes + b"\x00")


def test_routing_key_indexes_come_from_the_schema_when_the_server_sends_none():
    schema = _Schema({("ks", "tbl"): ["p1", "p2"]})
    ours, ref = prepare_both([("v", "varchar"), ("p2", "int"), ("p1", "int")], [],
                             protocol_version=3, schema=schema)
    assert ours.routing_key_indexes == ref.routing_key_indexes == [2, 1]
    values = ("v", 2, 1)
    assert ours.bind(values).routing_key == ref.bind(values).routing_key


def test_statement_without_every_partition_key_column_has_no_routing_key():
    schema = _Schema({("ks", "tbl"): ["p1", "p2"]})
    ours, ref = prepare_both([("p1", "int")], [], protocol_version=3, schema=schema)
    assert ours.routing_key_indexes is None and ref.routing_key_indexes is None
    assert ours.bind((1,)).routing_key is None


def test_routing_key_is_none_when_a_composite_component_is_null():
    ours, _ = prepare_both([("p1", "int"), ("p2", "int")], [0, 1])
    assert ours.bind((1, None)).routing_key is None


def test_statement_routing_key_setter_packs_components_like_the_reference():
    parts = [b"abc", b"", b"\x00" * 300]
    ours, ref = SimpleStatement("q"), ref_query.SimpleStatement("q")
    ours.routing_key, ref.routing_key = parts, parts
    assert ours.routing_key == ref.routing_key
    ours.routing_key = (b"single",)
    assert ours.routing_key == b"single"
    ours.routing_key = b"raw"
    assert ours.routing_key == b"raw"
    del ours.routing_key
    assert ours.routing_key is None


def test_statement_routing_key_component_longer_than_a_short_is_refused():
    stmt = SimpleStatement("q")
    with pytest.raises(ValueError, match="65535"):
        stmt.routing_key = [b"a", b"x" * 65536]


# --- statement options -----------------------------------------------------------------------

def test_bound_statement_inherits_the_prepared_statements_options():
    ours, _ = prepare_both([("pk", "int")], [0])
    policy = ref_policies.FallthroughRetryPolicy()
    ours.consistency_level = ConsistencyLevel.QUORUM
    ours.serial_consistency_level = ConsistencyLevel.LOCAL_SERIAL
    ours.fetch_size = 77
    ours.retry_policy = policy
    ours.is_idempotent = True
    ours.custom_payload = {"k": b"v"}
    bound = ours.bind((1,))
    assert (bound.consistency_level, bound.serial_consistency_level, bound.fetch_size,
            bound.retry_policy, bound.is_idempotent, bound.custom_payload) == (
        ConsistencyLevel.QUORUM, ConsistencyLevel.LOCAL_SERIAL, 77, policy, True, {"k": b"v"})
    assert (bound.keyspace, bound.table) == ("ks", "tbl")


def test_bound_statement_constructor_arguments_override_the_prepared_options():
    ours, _ = prepare_both([("pk", "int")], [0])
    ours.consistency_level = ConsistencyLevel.QUORUM
    bound = BoundStatement(ours, consistency_level=ConsistencyLevel.ONE, fetch_size=None,
                           keyspace="other").bind((1,))
    assert (bound.consistency_level, bound.fetch_size, bound.keyspace) == (
        ConsistencyLevel.ONE, None, "other")


def test_statement_defaults_match_the_reference():
    ours, ref = SimpleStatement("SELECT 1"), ref_query.SimpleStatement("SELECT 1")
    for attr in ("consistency_level", "serial_consistency_level", "retry_policy", "keyspace",
                 "custom_payload", "is_idempotent", "routing_key", "query_string"):
        assert getattr(ours, attr) == getattr(ref, attr), attr
    assert ours.fetch_size is cf_query.FETCH_SIZE_UNSET
    assert str(ours) == str(ref)


def test_serial_consistency_level_accepts_only_serial_levels():
    stmt = SimpleStatement("q", serial_consistency_level=ConsistencyLevel.SERIAL)
    assert stmt.serial_consistency_level == ConsistencyLevel.SERIAL
    with pytest.raises(ValueError, match="SERIAL"):
        stmt.serial_consistency_level = ConsistencyLevel.QUORUM
    with pytest.raises(ValueError):
        SimpleStatement("q", serial_consistency_level=ConsistencyLevel.ONE)


def test_statement_rejects_a_retry_policy_that_is_not_one():
    with pytest.raises(ValueError, match="RetryPolicy"):
        SimpleStatement("q", ConsistencyLevel.ONE)


def test_statement_is_the_common_base_of_every_executable_kind():
    ours, _ = prepare_both([("pk", "int")], [0])
    for stmt in (SimpleStatement("q"), ours.bind((1,)), BatchStatement()):
        assert isinstance(stmt, Statement)


# --- batches ---------------------------------------------------------------------------------

def _batch_contents(batch, unset):
    return [(p, q, ["UNSET" if v is unset else v for v in vals])
            for p, q, vals in batch._statements_and_parameters]


def test_batch_accumulates_every_statement_kind_like_the_reference():
    ours_ps, ref_ps = prepare_both([("pk", "int"), ("v", "varchar")], [0])
    ours = BatchStatement(BatchType.UNLOGGED)
    ref = ref_query.BatchStatement(ref_query.BatchType.UNLOGGED)
    for batch, ps, simple in ((ours, ours_ps, SimpleStatement),
                              (ref, ref_ps, ref_query.SimpleStatement)):
        batch.add("INSERT INTO t (a) VALUES (1)")
        batch.add("INSERT INTO t (a, b) VALUES (%s, %s)", (2, "it's"))
        batch.add(simple("INSERT INTO t (a, b) VALUES (%(a)s, %(b)s)"), {"a": 3, "b": None})
        batch.add(ps, (4, "four"))
        batch.add(ps.bind({"pk": 5}))
    assert _batch_contents(ours, UNSET_VALUE) == _batch_contents(ref, ref_query.UNSET_VALUE)
    assert ours._statements_and_parameters[1] == (
        False, "INSERT INTO t (a, b) VALUES (2, 'it''s')", ())
    assert ours._statements_and_parameters[3][:2] == (True, b"\x07id")
    assert len(ours) == 5 and ours.batch_type is BatchType.UNLOGGED


def test_batch_add_all_pairs_statements_with_parameters():
    ours_ps, _ = prepare_both([("pk", "int")], [0])
    batch = BatchStatement()
    batch.add_all([ours_ps, ours_ps, "DELETE FROM t WHERE a = 1"], [(1,), (2,), None])
    assert [v for _, _, v in batch._statements_and_parameters] == [
        [struct.pack(">i", 1)], [struct.pack(">i", 2)], ()]


def test_batch_takes_routing_attributes_from_the_first_routable_statement():
    ours_ps, _ = prepare_both([("pk", "int")], [0])
    batch = BatchStatement()
    batch.add("INSERT INTO t (a) VALUES (0)")
    batch.add(ours_ps, (9,))
    batch.add(ours_ps, (10,))
    assert (batch.keyspace, batch.routing_key) == ("ks", struct.pack(">i", 9))


def test_batch_merges_custom_payloads_of_added_statements_and_clear_resets_it():
    ours_ps, _ = prepare_both([("pk", "int")], [0])
    bound = ours_ps.bind((1,))
    bound.custom_payload = {"a": b"1"}
    batch = BatchStatement(custom_payload={"b": b"2"})
    batch.add(bound)
    assert batch.custom_payload == {"a": b"1", "b": b"2"}
    batch.clear()
    assert (len(batch), batch.keyspace, batch.routing_key, batch.custom_payload) == (
        0, None, None, {})


def test_batch_refuses_parameters_with_a_bound_statement():
    ours_ps, _ = prepare_both([("pk", "int")], [0])
    with pytest.raises(ValueError, match="BoundStatement"):
        BatchStatement().add(ours_ps.bind((1,)), (2,))


def test_batch_refuses_an_object_that_is_not_a_statement():
    with pytest.raises(TypeError, match="int"):
        BatchStatement().add(42)


def test_batch_holds_at_most_65535_statements():
    batch = BatchStatement()
    batch._statements_and_parameters.extend([(False, "q", ())] * 0xFFFF)
    with pytest.raises(ValueError, match="65535"):
        batch.add("q")


def test_batch_type_values_are_the_protocol_codes():
    # BATCH <type>: 0 logged, 1 unlogged, 2 counter (spec section 4.1.7).
    assert [(t.name, t.value) for t in (BatchType.LOGGED, BatchType.UNLOGGED, BatchType.COUNTER)
            ] == [("LOGGED", 0), ("UNLOGGED", 1), ("COUNTER", 2)]
    assert repr(BatchType.COUNTER) == repr(ref_query.BatchType.COUNTER)


def test_batch_default_type_is_logged_and_str_matches_the_reference():
    assert BatchStatement().batch_type is BatchType.LOGGED
    assert str(BatchStatement(consistency_level=ConsistencyLevel.TWO)) == str(
        ref_query.BatchStatement(consistency_level=ConsistencyLevel.TWO))


# --- column encryption -----------------------------------------------------------------------

class _XorPolicy:
    """A deterministic column encryption policy (the real ones use a random IV): XOR with 0x5A
    for the columns it covers, which are serialized as blobs of their UTF-8 text."""

    def __init__(self, covered, blob_type):
        self.covered, self.blob_type = covered, blob_type

    def contains_column(self, desc):
        return desc.col in self.covered

    def column_type(self, desc):
        return self.blob_type

    def encrypt(self, desc, data):
        return bytes(b ^ 0x5A for b in data)


def test_bind_encrypts_the_columns_the_policy_covers_like_the_reference():
    import cassandra.cqltypes as ref_cqltypes
    from cassfast import cqltypes as cf_cqltypes

    ours, ref = prepare_both([("pk", "int"), ("secret", "blob"), ("plain", "varchar")], [0])
    ours.column_encryption_policy = _XorPolicy({"secret"}, cf_cqltypes.BytesType)
    ref.column_encryption_policy = _XorPolicy({"secret"}, ref_cqltypes.BytesType)
    values = (1, b"\x00\x01hidden", "visible")
    bound = ours.bind(values)
    assert bound.values == ref.bind(values).values
    assert bound.values[1] == bytes(b ^ 0x5A for b in b"\x00\x01hidden")
    assert _norm(ours.bind((2,)).values)[1:] == ["UNSET", "UNSET"]


def test_prepared_statement_metadata_reads_like_the_references():
    ours, ref = prepare_both([("pk", "int"), ("v", ("list", "varchar"))], [0])
    assert [(c.keyspace_name, c.table_name, c.name) for c in ours.column_metadata] == [
        (c.keyspace_name, c.table_name, c.name) for c in ref.column_metadata]
    assert [c.type.cql_parameterized_type() for c in ours.column_metadata] == [
        c.type.cql_parameterized_type() for c in ref.column_metadata]
    assert (ours.query_id, ours.query_string, ours.keyspace, ours.routing_key_indexes,
            ours.is_idempotent, str(ours)) == (ref.query_id, ref.query_string, ref.keyspace,
                                               ref.routing_key_indexes, ref.is_idempotent,
                                               str(ref))


# --- host targeting --------------------------------------------------------------------------

def test_host_targeting_statement_is_a_copy_of_its_statement_with_a_target():
    ours, _ = prepare_both([("pk", "int")], [0])
    bound = ours.bind((5,))
    simple = SimpleStatement("SELECT 1", consistency_level=ConsistencyLevel.TWO)
    for inner in (bound, simple):
        targeted = cf_query.HostTargetingStatement(inner, "127.0.0.9")
        assert isinstance(targeted, type(inner)) and isinstance(targeted,
                                                                cf_query.HostTargetingStatement)
        assert targeted.target_host == "127.0.0.9"
        assert not hasattr(inner, "target_host") or inner.target_host is None
        assert (targeted.routing_key, targeted.consistency_level) == (inner.routing_key,
                                                                      inner.consistency_level)
    assert cf_query.HostTargetingStatement(bound, "h").values == bound.values
    assert type(cf_query.HostTargetingStatement(simple, "a")) is type(
        cf_query.HostTargetingStatement(simple, "b"))


def test_replacing_the_bind_metadata_rebinds_by_the_new_names():
    ours, _ = prepare_both([("a", "int")], [])
    other, _ = prepare_both([("b", "varchar"), ("a", "int")], [])
    ours.column_metadata = other.column_metadata
    assert ours.bind({"a": 1, "b": "x"}).values == [b"x", struct.pack(">i", 1)]
    assert ours.is_routing_key_index(0) is False
    ours.routing_key_indexes = [1]
    assert ours.is_routing_key_index(1) and ours.bind(("x", 2)).routing_key == struct.pack(">i", 2)
