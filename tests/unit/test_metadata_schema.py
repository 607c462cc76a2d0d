"""Schema metadata from system_schema rows, and its CQL export.

The rows follow the Cassandra 5.0 ``system_schema`` layout.  Oracle: cassandra-driver 3.30.1's
``SchemaParserV4`` fed the same rows (its query step replaced), compared on the CQL it exports.
Ran against: cassfast.metadata / cassfast._schema; no server.
"""
import copy
import uuid

import pytest
from cassandra.metadata import SchemaParserV4

from cassfast.metadata import (
    Metadata, NetworkTopologyStrategy, SimpleStrategy, protect_name, strip_frozen,
)

TABLE_OPTIONS = {
    "additional_write_policy": "99p", "bloom_filter_fp_chance": 0.01,
    "caching": {"keys": "ALL", "rows_per_partition": "NONE"}, "cdc": None, "comment": "",
    "compaction": {"class": "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                   "max_threshold": "32", "min_threshold": "4"},
    "compression": {"chunk_length_in_kb": "16",
                    "class": "org.apache.cassandra.io.compress.LZ4Compressor"},
    "crc_check_chance": 1.0, "default_time_to_live": 0, "extensions": {},
    "gc_grace_seconds": 864000, "max_index_interval": 2048, "memtable_flush_period_in_ms": 0,
    "min_index_interval": 128, "read_repair": "BLOCKING", "speculative_retry": "99p",
}


def table_row(ks, name, **extra):
    row = dict(TABLE_OPTIONS, keyspace_name=ks, table_name=name, flags={"compound"},
               id=uuid.uuid4())
    row.update(extra)
    return row


def col(ks, table, name, type_, kind="regular", position=-1, order="none"):
    return {"keyspace_name": ks, "table_name": table, "column_name": name, "type": type_,
            "kind": kind, "position": position, "clustering_order": order,
            "column_name_bytes": name.encode()}


ROWS = {
    "keyspaces": [
        {"keyspace_name": "app", "durable_writes": True,
         "replication": {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy",
                         "dc1": "3", "dc2": "1"}},
        {"keyspace_name": "simple", "durable_writes": False,
         "replication": {"class": "org.apache.cassandra.locator.SimpleStrategy",
                         "replication_factor": "2"}},
    ],
    "tables": [
        table_row("app", "users"),
        table_row("app", "events", comment="it's events", default_time_to_live=3600),
        table_row("app", "MixedCase"),
        table_row("simple", "kv"),
    ],
    "columns": [
        col("app", "users", "id", "uuid", "partition_key", 0),
        col("app", "users", "name", "text"),
        col("app", "users", "emails", "set<text>"),
        col("app", "users", "address", "frozen<address>"),
        col("app", "events", "day", "date", "partition_key", 1),
        col("app", "events", "source", "text", "partition_key", 0),
        col("app", "events", "ts", "timestamp", "clustering", 0, "desc"),
        col("app", "events", "seq", "int", "clustering", 1, "asc"),
        col("app", "events", "payload", "blob"),
        col("app", "events", "owner", "text", "static"),
        col("app", "MixedCase", "Key", "int", "partition_key", 0),
        col("app", "MixedCase", "select", "text"),
        col("simple", "kv", "k", "text", "partition_key", 0),
        col("simple", "kv", "v", "frozen<map<text, frozen<list<int>>>>"),
        col("app", "by_name", "name", "text", "partition_key", 0),
        col("app", "by_name", "id", "uuid", "clustering", 0, "asc"),
    ],
    "types": [
        {"keyspace_name": "app", "type_name": "phone", "field_names": ["kind", "number"],
         "field_types": ["text", "text"]},
        {"keyspace_name": "app", "type_name": "address", "field_names": ["street", "phones"],
         "field_types": ["text", "frozen<list<frozen<phone>>>"]},
    ],
    "functions": [
        {"keyspace_name": "app", "function_name": "twice", "argument_types": ["int"],
         "argument_names": ["x"], "return_type": "int", "language": "java",
         "body": "return x * 2;", "called_on_null_input": False},
        {"keyspace_name": "app", "function_name": "acc", "argument_types": ["frozen<list<int>>", "int"],
         "argument_names": ["s", "v"], "return_type": "list<int>", "language": "java",
         "body": "s.add(v); return s;", "called_on_null_input": True},
    ],
    "aggregates": [
        {"keyspace_name": "app", "aggregate_name": "collect", "argument_types": ["int"],
         "state_func": "acc", "state_type": "frozen<list<int>>", "final_func": None,
         "initcond": "[]", "return_type": "list<int>"},
    ],
    "indexes": [
        {"keyspace_name": "app", "table_name": "users", "index_name": "users_name_idx",
         "kind": "COMPOSITES", "options": {"target": "name"}},
        {"keyspace_name": "app", "table_name": "users", "index_name": "users_emails_sai",
         "kind": "CUSTOM", "options": {"target": "values(emails)",
                                       "class_name": "StorageAttachedIndex"}},
    ],
    "views": [
        dict(TABLE_OPTIONS, keyspace_name="app", view_name="by_name", base_table_name="users",
             base_table_id=uuid.uuid4(), include_all_columns=False,
             where_clause="name IS NOT NULL AND id IS NOT NULL"),
    ],
    "triggers": [],
}


class _RowsParser(SchemaParserV4):
    """The reference parser with its queries replaced by the rows above."""

    def __init__(self, rows):
        super().__init__(None, 1)
        self._rows = rows

    def _query_all(self):
        r = copy.deepcopy(self._rows)
        self.keyspaces_result = r["keyspaces"]
        self.tables_result = r["tables"]
        self.columns_result = r["columns"]
        self.types_result = r["types"]
        self.functions_result = r["functions"]
        self.aggregates_result = r["aggregates"]
        self.indexes_result = r["indexes"]
        self.views_result = r["views"]
        self.triggers_result = r["triggers"]
        self.virtual_keyspaces_result = []
        self.virtual_tables_result = []
        self.virtual_columns_result = []
        self._aggregate_results()


def reference_keyspaces(rows):
    return {ks.name: ks for ks in _RowsParser(rows).get_all_keyspaces()}


def ours(rows):
    md = Metadata()
    md.refresh_schema(**copy.deepcopy(rows))
    return md


@pytest.mark.parametrize("ks", ["app", "simple"])
def test_keyspace_export_equals_reference_driver(ks):
    assert ours(ROWS).keyspaces[ks].export_as_string() == \
        reference_keyspaces(ROWS)[ks].export_as_string()


@pytest.mark.parametrize("table", ["users", "events", "MixedCase"])
def test_table_as_cql_query_equals_reference_driver(table):
    ref = reference_keyspaces(ROWS)["app"].tables[table]
    mine = ours(ROWS).keyspaces["app"].tables[table]
    assert mine.as_cql_query() == ref.as_cql_query()
    assert mine.as_cql_query(formatted=True) == ref.as_cql_query(formatted=True)


def test_table_keys_and_columns_follow_positions():
    t = ours(ROWS).keyspaces["app"].tables["events"]
    assert [c.name for c in t.partition_key] == ["source", "day"]
    assert [c.name for c in t.clustering_key] == ["ts", "seq"]
    assert [c.is_reversed for c in t.clustering_key] == [True, False]
    assert t.columns["owner"].is_static
    assert [c.name for c in t.primary_key] == ["source", "day", "ts", "seq"]


def test_keyspace_holds_types_functions_aggregates_indexes_views():
    ks = ours(ROWS).keyspaces["app"]
    assert set(ks.user_types) == {"phone", "address"}
    assert set(ks.functions) == {"twice(int)", "acc(frozen<list<int>>,int)"}
    assert set(ks.aggregates) == {"collect(int)"}
    assert set(ks.indexes) == {"users_name_idx", "users_emails_sai"}
    assert set(ks.views) == {"by_name"} and "by_name" in ks.tables["users"].views
    # Types are exported after the types they use.
    export = ks.export_as_string()
    assert export.index("CREATE TYPE app.phone") < export.index("CREATE TYPE app.address")


def test_replication_strategies_are_parsed():
    md = ours(ROWS)
    app, simple = md.keyspaces["app"].replication_strategy, md.keyspaces["simple"].replication_strategy
    assert isinstance(app, NetworkTopologyStrategy)
    assert app.dc_replication_factors == {"dc1": 3, "dc2": 1}
    assert isinstance(simple, SimpleStrategy) and simple.replication_factor == 2


def test_cassandra5_table_options_are_exported():
    rows = copy.deepcopy(ROWS)
    rows["tables"][3].update(memtable="default", allow_auto_snapshot=True,
                             incremental_backups=False)
    cql = ours(rows).keyspaces["simple"].tables["kv"].as_cql_query()
    assert "memtable = 'default'" in cql
    assert "allow_auto_snapshot = true" in cql and "incremental_backups = false" in cql


@pytest.mark.parametrize("release_version,read_repair_chance", [
    ("3.11.19", True), ("3.0.8", True), ("4.0.19", False), ("5.0.9", False), (None, False)])
def test_table_options_follow_the_servers_version(release_version, read_repair_chance):
    # 5.0's system_schema.tables still has the 3.x read-repair chances (always 0.0) beside
    # read_repair; like the reference's parsers, only 3.x servers get them as options.
    rows = copy.deepcopy(ROWS)
    rows["tables"][3].update(read_repair_chance=0.25, dclocal_read_repair_chance=0.5, read_repair="BLOCKING")
    md = Metadata()
    md.refresh_schema(release_version=release_version, **rows)
    table = md.keyspaces["simple"].tables["kv"]
    cql = table.as_cql_query()
    assert ("read_repair_chance" in table.options) is read_repair_chance
    assert ("dclocal_read_repair_chance = 0.5" in cql) is read_repair_chance
    assert ("read_repair = 'BLOCKING'" in cql) is not read_repair_chance
    md.refresh_keyspace("simple", release_version=release_version,
                        **{k: [r for r in v if r["keyspace_name"] == "simple"] for k, v in rows.items()})
    assert ("read_repair_chance" in md.keyspaces["simple"].tables["kv"].options) is read_repair_chance


def test_refresh_keyspace_replaces_one_keyspace_and_drops_missing_one():
    md = ours(ROWS)
    simple_before = md.keyspaces["simple"]
    rows = copy.deepcopy(ROWS)
    rows["tables"].append(table_row("app", "extra"))
    rows["columns"].append(col("app", "extra", "k", "int", "partition_key", 0))
    md.refresh_keyspace("app", **{k: [r for r in v if r["keyspace_name"] == "app"]
                                  for k, v in rows.items()})
    assert "extra" in md.keyspaces["app"].tables
    assert md.keyspaces["simple"] is simple_before
    md.refresh_keyspace("simple", keyspaces=[])
    assert "simple" not in md.keyspaces
    md.remove_keyspace("app")
    assert md.keyspaces == {}


def test_virtual_keyspaces_are_marked_and_exported_as_comment():
    md = Metadata()
    md.refresh_schema(
        virtual_keyspaces=[{"keyspace_name": "system_views"}],
        virtual_tables=[{"keyspace_name": "system_views", "table_name": "clients",
                         "comment": "connected clients"}],
        virtual_columns=[col("system_views", "clients", "address", "inet", "partition_key", 0)])
    ks = md.keyspaces["system_views"]
    assert ks.virtual and ks.tables["clients"].virtual
    assert ks.export_as_string().startswith("/*\nWarning: Keyspace system_views is a virtual")


def test_protect_name_quotes_reserved_and_mixed_case_names():
    assert protect_name("users") == "users"
    assert protect_name("select") == '"select"'
    assert protect_name("MixedCase") == '"MixedCase"'
    assert protect_name('we"ird') == '"we""ird"'


@pytest.mark.parametrize("given,expected", [
    ("int", "int"), ("frozen<list<int>>", "list<int>"),
    ("map<text, frozen<set<frozen<tuple<int, text>>>>>", "map<text, set<tuple<int, text>>>"),
    ("frozen<unfrozen_udt>", "unfrozen_udt"),
])
def test_strip_frozen(given, expected):
    assert strip_frozen(given) == expected
