"""cqlengine models and query building, without a server: model definitions (keys, table names,
exceptions), the CQL of sync_table, and the statements querysets build.  The reference's cqlengine
(cassandra-driver 3.30) is the oracle for names and key layout."""
import uuid

import pytest
from hypothesis import given, settings, strategies as st

from cassandra.cqlengine import columns as rc, models as rm

from cassfast.cqlengine import CQLEngineException, ValidationError, columns, management, statements
from cassfast.cqlengine.functions import MaxTimeUUID, MinTimeUUID, Token
from cassfast.cqlengine.operators import EqualsOperator
from cassfast.cqlengine.models import Model, ModelDefinitionException
from cassfast.cqlengine.query import QueryException, _Statement


class Reading(Model):
    __keyspace__ = "ks"
    sensor = columns.UUID(partition_key=True)
    day = columns.Date(partition_key=True)
    at = columns.DateTime(primary_key=True, clustering_order="DESC")
    seq = columns.Integer(primary_key=True)
    value = columns.Double()
    unit = columns.Text(static=True)
    tags = columns.Set(columns.Text, index=True)
    attrs = columns.Map(columns.Text, columns.Text)
    label = columns.Text(db_field="Label")


class Counted(Model):
    __keyspace__ = "ks"
    __table_name__ = "Hits"
    k = columns.Text(primary_key=True)
    n = columns.Counter()


def _reference_model(name):
    attrs = {"__keyspace__": "ks", "a": rc.Integer(primary_key=True), "b": rc.Integer(primary_key=True),
             "c": rc.Integer(partition_key=True), "d": rc.Text()}
    return type(name, (rm.Model,), attrs)


def _mine(name):
    attrs = {"__keyspace__": "ks", "a": columns.Integer(primary_key=True), "b": columns.Integer(primary_key=True),
             "c": columns.Integer(partition_key=True), "d": columns.Text()}
    return type(name, (Model,), attrs)


@pytest.mark.parametrize("class_name", ["Reading", "HTTPRequestLog", "userProfile", "_Private", "A" * 60,
                                        "ModelWithAVeryLongNameThatGoesOnAndOnAndOnForeverXyz"])
def test_default_table_name_matches_reference(class_name):
    assert _mine(class_name).column_family_name(include_keyspace=False).strip('"') == \
        _reference_model(class_name).column_family_name(include_keyspace=False).strip('"')


def test_key_layout_matches_reference():
    mine, ref = _mine("Layout"), _reference_model("Layout")
    assert list(mine._partition_keys) == list(ref._partition_keys)
    assert list(mine._clustering_keys) == list(ref._clustering_keys)
    assert list(mine._primary_keys) == list(ref._primary_keys)
    assert mine._pk_name == ref._pk_name


def test_first_primary_key_becomes_partition_key():
    class Implicit(Model):
        __keyspace__ = "ks"
        a = columns.Integer(primary_key=True)
        b = columns.Integer(primary_key=True)
    assert list(Implicit._partition_keys) == ["a"]
    assert list(Implicit._clustering_keys) == ["b"]


def test_model_definition_errors():
    with pytest.raises(ModelDefinitionException, match="primary key"):
        type("NoKey", (Model,), {"v": columns.Text()})
    with pytest.raises(ModelDefinitionException, match="counter"):
        type("Mixed", (Model,), {"k": columns.Integer(primary_key=True), "n": columns.Counter(),
                                 "t": columns.Text()})
    with pytest.raises(ModelDefinitionException, match="static"):
        type("StaticNoClustering", (Model,), {"k": columns.Integer(primary_key=True),
                                              "s": columns.Text(static=True)})
    with pytest.raises(ModelDefinitionException, match="conflicts"):
        type("Shadow", (Model,), {"k": columns.Integer(primary_key=True), "save": columns.Text()})
    with pytest.raises(ModelDefinitionException, match="more than once"):
        type("Dup", (Model,), {"k": columns.Integer(primary_key=True), "v": columns.Text(db_field="k")})


def test_per_model_exceptions_are_distinct_and_inherit():
    assert Reading.DoesNotExist is not Counted.DoesNotExist
    from cassfast.cqlengine.query import DoesNotExist, MultipleObjectsReturned
    assert issubclass(Reading.DoesNotExist, DoesNotExist)
    assert issubclass(Counted.MultipleObjectsReturned, MultipleObjectsReturned)


def test_abstract_models_share_columns_without_sharing_objects():
    class Base(Model):
        __abstract__ = True
        id = columns.Integer(primary_key=True)
        created = columns.DateTime()

    class A(Base):
        __keyspace__ = "ks"
        a = columns.Text()

    class B(Base):
        __keyspace__ = "ks"
        b = columns.Text()
    assert list(A._columns) == ["id", "created", "a"]
    assert list(B._columns) == ["id", "created", "b"]
    assert A._columns["id"] is not B._columns["id"]
    with pytest.raises(CQLEngineException):
        Base.objects.all()


def test_instances_track_changes_and_reject_unknown_columns():
    r = Reading(sensor=uuid.uuid4(), value=1.0)
    assert r.tags == set() and r.attrs == {}
    with pytest.raises(ValidationError, match="nope"):
        Reading(nope=1)
    loaded = Reading._construct_instance({"sensor": uuid.UUID(int=1), "value": 2.0, "Label": "x"})
    assert loaded.label == "x" and loaded.get_changed_columns() == []
    loaded.value = 3.0
    loaded.tags.add("t")  # in-place mutation of a collection counts as a change
    assert sorted(loaded.get_changed_columns()) == ["tags", "value"]


def test_create_table_cql_has_keys_order_static_and_options():
    class Opts(Model):
        __keyspace__ = "ks"
        __options__ = {"comment": "it's here", "default_time_to_live": 60,
                       "compaction": {"class": "LeveledCompactionStrategy"}}
        p = columns.Integer(partition_key=True)
        c = columns.Text(primary_key=True, clustering_order="desc")
        s = columns.Text(static=True)
    cql = management.get_create_table(Opts)
    assert cql.startswith('CREATE TABLE IF NOT EXISTS "ks"."opts" (')
    assert '"s" text static' in cql
    assert 'PRIMARY KEY (("p"), "c")' in cql or 'PRIMARY KEY ("p", "c")' in cql
    assert 'CLUSTERING ORDER BY ("c" DESC)' in cql
    assert "comment = 'it''s here'" in cql
    assert "default_time_to_live = 60" in cql
    assert "compaction = {'class': 'LeveledCompactionStrategy'}" in cql


def test_composite_partition_key_is_parenthesised():
    cql = management.get_create_table(Reading)
    assert 'PRIMARY KEY (("sensor", "day"), "at", "seq")' in cql
    assert 'CLUSTERING ORDER BY ("at" DESC, "seq" ASC)' in cql
    assert '"Label" text' in cql


def test_filter_builds_bind_markers_in_order():
    qs = Reading.objects.filter(sensor=uuid.UUID(int=3), day__in=["2020-01-01"], at__gte=5, seq__lt=9)
    stmt = qs._select_statement()
    assert stmt.cql == ('SELECT "sensor", "day", "at", "seq", "value", "unit", "tags", "attrs", "Label" '
                        'FROM "ks"."reading" WHERE "sensor" = ? AND "day" IN ? AND "at" >= ? AND "seq" < ? LIMIT ?')
    assert stmt.values[0] == uuid.UUID(int=3)
    assert stmt.values[-2:] == [9, 10000]


def test_filter_operators_and_functions():
    qs = (Reading.objects.filter(tags__contains="a", attrs__contains_key="k")
          .filter(Reading.value > 2.5).allow_filtering().limit(3).order_by("-at"))
    stmt = qs._select_statement()
    assert '"tags" CONTAINS ? AND "attrs" CONTAINS KEY ? AND "value" > ?' in stmt.cql
    assert stmt.cql.endswith('ORDER BY "at" DESC LIMIT ? ALLOW FILTERING')
    assert stmt.values == ["a", "k", 2.5, 3]

    import datetime
    t = datetime.datetime(2020, 1, 1)
    stmt = Reading.objects.filter(at__gt=MinTimeUUID(t), seq__lt=MaxTimeUUID(t))._select_statement()
    assert '"at" > minTimeuuid(?) AND "seq" < maxTimeuuid(?)' in stmt.cql
    assert stmt.values[:2] == [1577836800000, 1577836800000]

    stmt = Reading.objects.filter(pk__token__gt=Token(uuid.UUID(int=1), "2020-01-01"))._select_statement()
    assert 'token("sensor", "day") > token(?, ?)' in stmt.cql


def test_filter_errors_are_query_exceptions():
    with pytest.raises(QueryException, match="resolve"):
        Reading.objects.filter(missing=1)
    with pytest.raises(QueryException):
        Reading.objects.filter(value__near=1)
    with pytest.raises(QueryException, match="None"):
        Reading.objects.filter(value=None)
    with pytest.raises(QueryException, match="clustering"):
        Reading.objects.order_by("value")
    with pytest.raises(QueryException):
        Reading.objects.limit(0)
    with pytest.raises(QueryException, match="token"):
        Reading.objects.filter(pk__token__gt=Token(1))  # two partition key columns
    with pytest.raises(QueryException, match="allow_filtering"):
        Reading.objects.filter(value=1.0)._validate_select_where()


def test_only_defer_values_list_and_distinct_select_lists():
    assert Reading.objects.only(["value"])._select_fields() == ["value"]
    assert "value" not in Reading.objects.defer(["value"])._select_fields()
    assert "sensor" in Reading.objects.defer(["sensor"])._select_fields()  # keys are always read
    assert Reading.objects.values_list("label", "seq")._select_fields() == ["Label", "seq"]
    with pytest.raises(TypeError):
        Reading.objects.values_list("label", "seq", flat=True)
    assert Reading.objects.distinct()._select_statement().cql.startswith('SELECT DISTINCT "sensor", "day" FROM')


def test_counter_and_collection_update_statements():
    cql, values = statements.update('"ks"."t"', [(Counted._columns["n"], statements.INCREMENT, -3)],
                                    [statements.WhereClause.build(Counted._columns["k"],
                                                                  EqualsOperator(), "a")])
    assert cql == 'UPDATE "ks"."t" SET "n" = "n" + ? WHERE "k" = ?'
    assert values == [-3, "a"]
    cql, values = statements.update('"t"', [(Reading._columns["tags"], statements.APPEND, {"x"}),
                                            (Reading._columns["attrs"], statements.REMOVE, {"k"})], [],
                                    ttl=5, timestamp=7, if_exists=True)
    assert cql == 'UPDATE "t" USING TTL ? AND TIMESTAMP ? SET "tags" = "tags" + ?, "attrs" = "attrs" - ? IF EXISTS'
    assert values == [5, 7, {"x"}, {"k"}]


def test_batch_timestamp_applies_only_to_statements_without_their_own():
    from functools import partial
    where = [statements.WhereClause.build(Counted._columns["k"], EqualsOperator(), "a")]
    plain = _Statement.from_builder(partial(statements.delete, '"t"', [], where), None)
    assert plain.with_default_timestamp(99) == ('DELETE FROM "t" USING TIMESTAMP ? WHERE "k" = ?', [99, "a"])
    own = _Statement.from_builder(partial(statements.update, '"t"', [(Counted._columns["n"], statements.INCREMENT, 1)],
                                          where, ttl=3), 7)
    assert own.with_default_timestamp(99) == ('UPDATE "t" USING TTL ? AND TIMESTAMP ? SET "n" = "n" + ? WHERE "k" = ?',
                                              [3, 7, 1, "a"])
    ins = _Statement.from_builder(partial(statements.insert, '"t"', [(Counted._columns["k"], "a")]), None)
    assert ins.with_default_timestamp(99) == ('INSERT INTO "t" ("k") VALUES (?) USING TIMESTAMP ?', ["a", 99])


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1))
def test_user_values_never_reach_the_cql_text(value):
    marker = "\x00" + value + "\x00"  # cannot appear in generated CQL by accident
    for qs in (Reading.objects.filter(label=marker).allow_filtering(),
               Reading.objects.filter(tags__contains=marker).allow_filtering(),
               Reading.objects.filter(attrs__contains_key=marker).allow_filtering()):
        stmt = qs._select_statement()
        assert marker not in stmt.cql
        assert marker in stmt.values
    cql, values = statements.insert('"t"', [(Reading._columns["label"], marker)], if_not_exists=True)
    assert marker not in cql and values == [marker]


def test_missing_keyspace_is_a_clear_error():
    class NoKs(Model):
        k = columns.Integer(primary_key=True)
    import cassfast.cqlengine.models as models_module
    if models_module.DEFAULT_KEYSPACE is None:
        with pytest.raises(CQLEngineException, match="keyspace"):
            NoKs.objects.filter(k=1)._select_statement()


def test_polymorphic_definition_rules():
    from cassfast.cqlengine.models import PolymorphicModelException

    class Base(Model):
        __keyspace__ = "ks"
        k = columns.Integer(primary_key=True)
        kind = columns.Text(discriminator_column=True)

    class Sub(Base):
        __discriminator_value__ = "s"
        extra = columns.Text()

    assert Base._is_polymorphic_base and not Sub._is_polymorphic_base and Sub._polymorphic_base is Base
    assert Base._discriminator_map == {"s": Sub}
    assert Sub.column_family_name() == Base.column_family_name()
    assert Sub.__discriminator_value__ == "s" and Base.__discriminator_value__ is None
    assert isinstance(Base._construct_instance({"k": 1, "kind": "s", "extra": "e"}), Sub)
    with pytest.raises(PolymorphicModelException, match="unrecognized"):
        Base._construct_instance({"k": 1, "kind": "zzz"})
    with pytest.raises(ModelDefinitionException, match="no base columns"):
        type("Bad", (Model,), {"k": columns.Integer(primary_key=True), "__discriminator_value__": "x"})
    with pytest.raises(ModelDefinitionException, match="only one"):
        type("Two", (Model,), {"k": columns.Integer(primary_key=True),
                               "a": columns.Text(discriminator_column=True),
                               "b": columns.Text(discriminator_column=True)})
    with pytest.raises(ModelDefinitionException, match="container"):
        type("Coll", (Model,), {"k": columns.Integer(primary_key=True),
                                "a": columns.Set(columns.Text, discriminator_column=True)})


def test_batch_types_accept_the_reference_names_and_driver_values():
    from cassfast.query import BatchType as DriverBatchType
    from cassfast.cqlengine.query import BatchQuery, BatchType
    assert BatchQuery(batch_type=BatchType.Unlogged)._driver_batch_type is DriverBatchType.UNLOGGED
    assert BatchQuery(batch_type=BatchType.Counter)._driver_batch_type is DriverBatchType.COUNTER
    assert BatchQuery(batch_type=DriverBatchType.LOGGED)._driver_batch_type is DriverBatchType.LOGGED
    assert BatchQuery()._driver_batch_type is None  # chosen at execute(): COUNTER if all counters
    with pytest.raises(CQLEngineException, match="batch type"):
        BatchQuery(batch_type="SIDEWAYS")


def test_context_query_clones_models_onto_another_keyspace():
    from cassfast.cqlengine.query import ContextQuery
    with ContextQuery(Counted, Reading, keyspace="other") as (C, R):
        assert C.column_family_name() == '"other"."hits"' and R._table_cql() == '"other"."reading"'
        assert issubclass(C.DoesNotExist, Counted.DoesNotExist)
    assert Counted.column_family_name() == '"ks"."hits"'
    with pytest.raises(CQLEngineException):
        ContextQuery(Counted, shard="x")
