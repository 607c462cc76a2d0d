"""Result metadata parsing, row decoding with each row factory, and bind-value encoding.

RESULT bodies are built by the spec oracle (tests/oracle) and decoded both by cassfast
(``parse_result_metadata`` + ``decode_rows``) and by cassandra-driver 3.30's
``ProtocolHandler.decode_message`` followed by its own row factories; the rows must agree.
"""
import struct
import sys
import uuid
from collections import OrderedDict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from oracle import cql_oracle as oracle  # noqa: E402
from oracle import strategies as S  # noqa: E402

import cassandra.protocol as ref_protocol  # noqa: E402
import cassandra.query as ref_query  # noqa: E402

from cassfast import _types, cqltypes, rows, util  # noqa: E402

FACTORIES = [
    (rows.tuple_factory, ref_query.tuple_factory),
    (rows.named_tuple_factory, ref_query.named_tuple_factory),
    (rows.dict_factory, ref_query.dict_factory),
    (rows.ordered_dict_factory, ref_query.ordered_dict_factory),
]


def decode_with_cassfast(body, factory, protocol_version=4, user_type_map=None):
    meta, paging, new_id, count, pos = _types.parse_result_metadata(body, 4, protocol_version,
                                                                    user_type_map)
    return meta, paging, _types.decode_rows(body, pos, meta, factory, protocol_version)


def decode_with_reference(body, factory, protocol_version=4, user_type_map=None):
    msg = ref_protocol.ProtocolHandler.decode_message(protocol_version, user_type_map or {}, 0, 0,
                                                      0x08, body, None, None)
    return msg, factory(msg.column_names, msg.parsed_rows)


def columns_and_rows():
    col_types = st.lists(S.cql_types(max_leaves=3), min_size=1, max_size=5)

    def rows_for(types):
        row = st.tuples(*[st.one_of(st.none(), S.values(t, wide_timestamps=False, nulls=False))
                          for t in types])
        return st.tuples(st.just(types), st.lists(row, max_size=6))
    return col_types.flatmap(rows_for)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(columns_and_rows(), st.sampled_from(range(len(FACTORIES))))
def test_rows_match_the_reference_driver_for_every_factory(data, factory_index):
    types, row_values = data
    columns = [("c%d" % i, t) for i, t in enumerate(types)]
    body = oracle.rows_body(columns, row_values)
    mine_factory, ref_factory = FACTORIES[factory_index]
    meta, _, mine = decode_with_cassfast(body, mine_factory)
    msg, theirs = decode_with_reference(body, ref_factory)
    assert list(meta.column_names) == list(msg.column_names)
    assert len(mine) == len(theirs) == len(row_values)
    for my_row, ref_row, expected in zip(mine, theirs, row_values):
        assert type(my_row).__name__ == type(ref_row).__name__
        if isinstance(my_row, dict):
            assert list(my_row) == list(ref_row)
            my_row, ref_row = list(my_row.values()), list(ref_row.values())
        for t, a, b, e in zip(types, my_row, ref_row, expected):
            assert S.normalize(t, a) == S.normalize(t, b) == S.normalize(t, e)


def test_named_tuple_rows_expose_fields_and_reuse_one_class_per_metadata():
    columns = [("id", ("int",)), ("name", ("varchar",))]
    body = oracle.rows_body(columns, [(1, "a"), (2, None)])
    meta, _, page1 = decode_with_cassfast(body, rows.named_tuple_factory)
    meta2, _, page2 = decode_with_cassfast(body, rows.named_tuple_factory)
    assert meta is meta2  # metadata (and its codecs) is cached across pages
    assert type(page1[0]) is type(page2[0])
    assert page1[0].id == 1 and page1[0].name == "a" and page1[1].name is None
    assert page1[0] == (1, "a") and tuple(page1[1]) == (2, None)
    assert type(page1[0])._fields == ("id", "name")


@pytest.mark.parametrize("names", [["count(*)", "a b"], ["x", "x"], ["_hidden", "1st"],
                                   ["class", "ok"], ["system.now()", "ttl(v)"]])
def test_named_tuple_field_names_match_the_reference_for_awkward_column_names(names):
    columns = [(n, ("int",)) for n in names]
    body = oracle.rows_body(columns, [tuple(range(len(names)))])
    _, _, mine = decode_with_cassfast(body, rows.named_tuple_factory)
    _, theirs = decode_with_reference(body, ref_query.named_tuple_factory)
    assert mine[0]._fields == theirs[0]._fields
    assert tuple(mine[0]) == tuple(theirs[0])


def test_custom_row_factory_receives_column_names_and_row_tuples():
    seen = {}

    def factory(colnames, rows_in):
        seen["names"], seen["rows"] = colnames, rows_in
        return ["custom"] * len(rows_in)
    body = oracle.rows_body([("a", ("int",)), ("b", ("varchar",))], [(1, "x")])
    _, _, result = decode_with_cassfast(body, factory)
    assert result == ["custom"]
    assert seen == {"names": ["a", "b"], "rows": [(1, "x")]}


def test_metadata_flags_paging_state_no_metadata_and_new_metadata_id():
    columns = [("k", ("int",))]
    with_paging = oracle.pack_int(2) + oracle.rows_metadata(columns, paging_state=b"\x01\x02")
    meta, paging, new_id, count, pos = _types.parse_result_metadata(with_paging, 4, 4, None)
    assert paging == b"\x01\x02" and new_id is None and count == 1 and pos == len(with_paging)
    assert meta.col_specs == (("ks", "tbl", "k", cqltypes.Int32Type),)
    assert (meta.keyspace, meta.table) == ("ks", "tbl")

    skipped = oracle.pack_int(2) + oracle.rows_metadata(columns, no_metadata=True,
                                                        paging_state=b"p")
    assert _types.parse_result_metadata(skipped, 4, 4, None) == (None, b"p", None, 1, len(skipped))

    changed = oracle.pack_int(2) + oracle.rows_metadata(columns, new_metadata_id=b"\xaa\xbb")
    meta, _, new_id, _, pos = _types.parse_result_metadata(changed, 4, 5, None)
    assert new_id == b"\xaa\xbb" and pos == len(changed) and meta.column_names == ("k",)


def test_per_column_table_specs_are_read_when_the_global_flag_is_absent():
    columns = [("a", ("int",)), ("b", ("list", ("varchar",)))]
    body = oracle.pack_int(2) + oracle.rows_metadata(columns, keyspace="k1", table="t1",
                                                     global_spec=False)
    meta, *_ = _types.parse_result_metadata(body, 4, 4, None)
    assert [spec[:3] for spec in meta.col_specs] == [("k1", "t1", "a"), ("k1", "t1", "b")]
    assert meta.column_types[1].cql_parameterized_type() == "list<varchar>"  # option 0x000D
    assert meta[1].name == "b" and meta[1].keyspace_name == "k1" and len(meta) == 2


@pytest.mark.parametrize("protocol_version", [3, 4, 5])
def test_prepared_metadata_gives_bind_columns_and_partition_key_indexes(protocol_version):
    columns = [("a", ("int",)), ("b", ("varchar",)), ("c", ("uuid",))]
    body = oracle.prepared_metadata(columns, [2, 0], protocol_version=protocol_version)
    meta, pk, pos = _types.parse_prepared_metadata(body, 0, protocol_version, None)
    assert pos == len(body)
    assert meta.column_names == ("a", "b", "c")
    assert pk == ([2, 0] if protocol_version >= 4 else None)


def test_udt_columns_use_the_registered_user_class_from_user_type_map():
    class Address:
        def __init__(self, street=None, zip=None):
            self.street, self.zip = street, zip
    udt = ("udt", "shop", "address", [("street", ("varchar",)), ("zip", ("int",))])
    body = oracle.rows_body([("addr", udt)], [(("Main St", 12345),)])
    _, _, mapped = decode_with_cassfast(body, rows.tuple_factory,
                                        user_type_map={"shop": {"address": Address}})
    assert isinstance(mapped[0][0], Address)
    assert (mapped[0][0].street, mapped[0][0].zip) == ("Main St", 12345)
    _, _, plain = decode_with_cassfast(body, rows.tuple_factory, user_type_map={})
    assert plain[0][0].street == "Main St" and plain[0][0] == ("Main St", 12345)


def test_maps_with_unhashable_keys_decode_to_ordered_map_serialized_key():
    t = ("map", ("list", ("int",)), ("varchar",))
    data = oracle.encode(t, [([1, 2], "a"), ([3], "b")])
    desc = S.descriptor(t, cqltypes)
    value = desc.deserialize(data, 4)
    assert isinstance(value, util.OrderedMapSerializedKey)
    assert value[[1, 2]] == "a" and value[[3]] == "b" and list(value) == [[1, 2], [3]]


def test_sets_decode_to_sorted_sets_in_python_order():
    t = ("set", ("timeuuid",))
    ids = [uuid.uuid1() for _ in range(5)]
    value = S.descriptor(t, cqltypes).deserialize(oracle.encode(t, list(reversed(ids))), 4)
    assert isinstance(value, util.SortedSet)
    assert list(value) == sorted(ids)


def test_null_and_empty_cells_inside_rows_and_collections():
    body = oracle.pack_int(2) + oracle.rows_metadata(
        [("i", ("int",)), ("t", ("varchar",)), ("l", ("list", ("int",)))])
    body += oracle.pack_int(1) + oracle.pack_int(0) + oracle.pack_int(0) + oracle.pack_int(-1)
    _, _, result = decode_with_cassfast(body, rows.tuple_factory)
    # Empty int is no value (None), empty text is "", a null list is None (reference rules).
    assert result == [(None, "", None)]
    list_with_null = struct.pack(">ii", 2, -1) + oracle.pack_bytes(struct.pack(">i", 7))
    assert S.descriptor(("list", ("int",)), cqltypes).deserialize(list_with_null, 4) == [None, 7]


# -- encode_values -------------------------------------------------------------------------------

def bind_meta(protocol_version=4):
    columns = [("id", ("int",)), ("name", ("varchar",)), ("tags", ("set", ("varchar",)))]
    meta, _, _ = _types.parse_prepared_metadata(
        oracle.prepared_metadata(columns, [0]), 0, protocol_version, None)
    return meta


def test_encode_values_by_position_and_by_name_give_the_oracle_bytes():
    meta = bind_meta()
    expected = [struct.pack(">i", 5), b"bob", oracle.encode(("set", ("varchar",)), ["a", "b"])]
    assert _types.encode_values(meta, (5, "bob", ["a", "b"]), 4) == expected
    assert _types.encode_values(meta, {"tags": ["a", "b"], "name": "bob", "id": 5}, 4) == expected


def test_missing_values_are_unset_on_v4_and_rejected_on_v3():
    meta = bind_meta()
    assert _types.encode_values(meta, (1, None), 4) == [struct.pack(">i", 1), None,
                                                        _types.UNSET_VALUE]
    assert _types.encode_values(meta, {"id": 1}, 4)[1:] == [_types.UNSET_VALUE] * 2
    with pytest.raises(ValueError, match="tags"):
        _types.encode_values(meta, (1, None), 3)
    with pytest.raises(ValueError, match="Too many"):
        _types.encode_values(meta, (1, "a", [], 4), 4)


def test_unset_value_is_a_distinct_falsy_singleton_that_pickles_to_itself():
    import pickle
    assert _types.UNSET_VALUE is not None and not _types.UNSET_VALUE
    assert pickle.loads(pickle.dumps(_types.UNSET_VALUE)) is _types.UNSET_VALUE


@pytest.mark.parametrize("values, exc, column, cqltype", [
    (("x", "n", []), TypeError, "id", "int"),
    ((2 ** 31, "n", []), ValueError, "id", "int"),
    ((1, 5, []), TypeError, "name", "varchar"),
    ((1, "n", "abc"), TypeError, "tags", "set<varchar>"),
    ((1, "n", [None]), ValueError, "tags", "set<varchar>"),
])
def test_encode_values_errors_name_the_column_and_cql_type(values, exc, column, cqltype):
    with pytest.raises(exc) as info:
        _types.encode_values(bind_meta(), values, 4)
    assert 'column "%s"' % column in str(info.value)
    assert "Expected: %s," % cqltype in str(info.value)


@pytest.mark.parametrize("mine, ref", FACTORIES, ids=lambda f: f.__name__)
def test_row_factories_called_directly_match_the_reference(mine, ref):
    colnames = ["id", "count(*)", "value"]
    row_tuples = [(1, 2, "a"), (3, 4, None)]
    got, expected = mine(colnames, list(row_tuples)), ref(colnames, list(row_tuples))
    assert [type(r).__name__ for r in got] == [type(r).__name__ for r in expected]
    assert [list(r.items()) if isinstance(r, dict) else tuple(r) for r in got] == \
        [list(r.items()) if isinstance(r, dict) else tuple(r) for r in expected]
    if mine is rows.named_tuple_factory:
        assert got[0]._fields == expected[0]._fields


def test_rows_of_atomic_values_are_untracked_by_the_gc_and_rows_with_containers_are_not():
    import gc
    atomic = oracle.rows_body([("n", ("int",)), ("t", ("varchar",)), ("ts", ("timestamp",)),
                               ("id", ("uuid",))], [(1, "a", None, uuid.UUID(int=5))])
    nested = oracle.rows_body([("n", ("int",)), ("m", ("map", ("varchar",), ("int",)))],
                              [(1, {"a": 1})])
    for factory in (rows.named_tuple_factory, rows.tuple_factory):
        _, _, plain = decode_with_cassfast(atomic, factory)
        _, _, with_map = decode_with_cassfast(nested, factory)
        assert not gc.is_tracked(plain[0])
        assert not gc.is_tracked(plain[0][3]) and plain[0][3] == uuid.UUID(int=5)
        # The map is an untracked dict now but may gain references later: the row stays tracked,
        # as CPython's own tuple untracking rule requires.
        assert not gc.is_tracked(with_map[0][1]) and gc.is_tracked(with_map[0])
