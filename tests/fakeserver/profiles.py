"""What a kind of server has: protocol versions, system tables and their columns, error wording.

``cassandra-3.11``: protocol v4 at most (v5 only as a beta, which the fake server does not serve:
a v5 frame gets the PROTOCOL_ERROR 3.11 sends without the USE_BETA flag), no ``system.peers_v2``,
no virtual tables (``system_views``, ``system_virtual_schema``), the 3.x ``system_schema.tables``
columns (``read_repair_chance``, ``dclocal_read_repair_chance``; no ``read_repair`` or
``additional_write_policy``), ``unconfigured table x`` for unknown tables.

``scylladb``: the same 3.x-shaped schema and protocol v4, plus what ScyllaDB documents beyond
Cassandra: the ``SCYLLA_*`` options in SUPPORTED (docs/dev/protocol-extensions.md: sharding,
LWT metadata bit), a ``supported_features`` column in ``system.local``/``system.peers``, and the
``system_schema.scylla_tables`` table.

COMPRESSION is never offered: the fake server reads and writes uncompressed frames only.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from .wire import Table, parse_type

SCHEMA_VERSION = uuid.UUID("5a1e5a1e-0000-4000-8000-000000000001")

_SCHEMA_COLUMNS = {
    "keyspaces": [("keyspace_name", "text"), ("durable_writes", "boolean"),
                  ("replication", "map<text, text>")],
    "columns": [("keyspace_name", "text"), ("table_name", "text"), ("column_name", "text"),
                ("clustering_order", "text"), ("column_name_bytes", "blob"), ("kind", "text"),
                ("position", "int"), ("type", "text")],
    "types": [("keyspace_name", "text"), ("type_name", "text"), ("field_names", "list<text>"),
              ("field_types", "list<text>")],
    "functions": [("keyspace_name", "text"), ("function_name", "text"), ("argument_types", "list<text>"),
                  ("argument_names", "list<text>"), ("body", "text"), ("called_on_null_input", "boolean"),
                  ("language", "text"), ("return_type", "text")],
    "aggregates": [("keyspace_name", "text"), ("aggregate_name", "text"), ("argument_types", "list<text>"),
                   ("final_func", "text"), ("initcond", "text"), ("return_type", "text"),
                   ("state_func", "text"), ("state_type", "text")],
    "indexes": [("keyspace_name", "text"), ("table_name", "text"), ("index_name", "text"),
                ("kind", "text"), ("options", "map<text, text>")],
    "views": [("keyspace_name", "text"), ("view_name", "text"), ("base_table_id", "uuid"),
              ("base_table_name", "text"), ("include_all_columns", "boolean"), ("where_clause", "text")],
    "triggers": [("keyspace_name", "text"), ("table_name", "text"), ("trigger_name", "text"),
                 ("options", "map<text, text>")],
    "dropped_columns": [("keyspace_name", "text"), ("table_name", "text"), ("column_name", "text"),
                        ("dropped_time", "timestamp"), ("type", "text")],
}

# system_schema.tables of Cassandra 3.0-3.11 (CASSANDRA-13910 removed the two read-repair
# chances in 4.0), with the values a table created without options gets.
_TABLES_3X = [
    ("keyspace_name", "text", None), ("table_name", "text", None),
    ("bloom_filter_fp_chance", "double", 0.01),
    ("caching", "map<text, text>", {"keys": "ALL", "rows_per_partition": "NONE"}),
    ("cdc", "boolean", None),
    ("comment", "text", ""),
    ("compaction", "map<text, text>", {
        "class": "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
        "max_threshold": "32", "min_threshold": "4"}),
    ("compression", "map<text, text>", {
        "chunk_length_in_kb": "64", "class": "org.apache.cassandra.io.compress.LZ4Compressor"}),
    ("crc_check_chance", "double", 1.0),
    ("dclocal_read_repair_chance", "double", 0.1),
    ("default_time_to_live", "int", 0),
    ("extensions", "map<text, blob>", {}),
    ("flags", "set<text>", {"compound"}),
    ("gc_grace_seconds", "int", 864000),
    ("id", "uuid", None),
    ("max_index_interval", "int", 2048),
    ("memtable_flush_period_in_ms", "int", 0),
    ("min_index_interval", "int", 128),
    ("read_repair_chance", "double", 0.0),
    ("speculative_retry", "text", "99PERCENTILE"),
]

_LOCAL = [("key", "text"), ("bootstrapped", "text"), ("broadcast_address", "inet"),
          ("cluster_name", "text"), ("cql_version", "text"), ("data_center", "text"),
          ("host_id", "uuid"), ("listen_address", "inet"), ("native_protocol_version", "text"),
          ("partitioner", "text"), ("rack", "text"), ("release_version", "text"),
          ("rpc_address", "inet"), ("schema_version", "uuid"), ("tokens", "set<text>")]
_PEERS = [("peer", "inet"), ("data_center", "text"), ("host_id", "uuid"), ("preferred_ip", "inet"),
          ("rack", "text"), ("release_version", "text"), ("rpc_address", "inet"),
          ("schema_version", "uuid"), ("tokens", "set<text>")]


@dataclass
class Profile:
    name: str
    release_version: str
    cql_version: str
    max_protocol_version: int = 4
    cluster_name: str = "Fake Cluster"
    datacenter: str = "datacenter1"
    rack: str = "rack1"
    supported_extra: dict = field(default_factory=dict)
    extra_node_columns: list = field(default_factory=list)   # [(name, type, value)] in local and peers
    extra_schema_tables: dict = field(default_factory=dict)  # name -> [(column, type)], no rows
    beta_version: int | None = 5
    tables_columns: list = field(default_factory=lambda: list(_TABLES_3X))

    # --- protocol

    def supported(self, version: int) -> dict:
        versions = ["%d/v%d" % (v, v) for v in range(3, self.max_protocol_version + 1)]
        if self.beta_version:
            versions.append("%d/v%d-beta" % (self.beta_version, self.beta_version))
        options = {"CQL_VERSION": [self.cql_version], "COMPRESSION": [], "PROTOCOL_VERSIONS": versions}
        options.update(self.supported_extra)
        return options

    def version_rejection(self, version: int) -> str:
        if version == self.beta_version:
            return "Beta version of the protocol used (%d/v%d-beta), but USE_BETA flag is unset" % (
                version, version)
        return "Invalid or unsupported protocol version (%d); supported versions are (%s)" % (
            version, ", ".join(self.supported(4)["PROTOCOL_VERSIONS"]))

    # --- errors as the server words them

    def unknown_table(self, keyspace: str, table: str) -> str:
        return "unconfigured table %s" % table

    def unknown_keyspace(self, keyspace: str) -> str:
        return "Keyspace %s does not exist" % keyspace

    def has_keyspace(self, keyspace: str) -> bool:
        return keyspace in ("system", "system_schema", "system_auth", "system_distributed", "system_traces")

    # --- topology

    @staticmethod
    def balanced_tokens(n: int) -> list:
        return [str(-(2 ** 63) + i * (2 ** 64 // n)) for i in range(n)]

    @staticmethod
    def host_ids(n: int) -> list:
        return [uuid.UUID(int=(0x1D << 120) + i + 1) for i in range(n)]

    # --- system tables

    def system_table(self, cluster, node, keyspace: str, name: str):
        """The Table answering ``keyspace.name`` on ``node``, or None if it is not a system table
        of this server (the caller then words the error)."""
        if keyspace == "system" and name == "local":
            return self._node_table("local", _LOCAL, [self._local_row(cluster, node.index)])
        if keyspace == "system" and name == "peers":
            rows = [self._peer_row(cluster, i) for i in range(len(cluster.nodes)) if i != node.index]
            return self._node_table("peers", _PEERS, rows)
        if keyspace != "system_schema":
            return None
        if name == "keyspaces":
            rows = [{"keyspace_name": k, "durable_writes": True, "replication": r}
                    for k, r in cluster.keyspaces.items()]
            return _table("system_schema", name, _SCHEMA_COLUMNS[name], rows)
        if name == "tables":
            return _table("system_schema", name, [(c, t) for c, t, _ in self.tables_columns],
                          [self._table_row(t) for t in cluster.tables.values()])
        if name == "columns":
            rows = []
            for t in cluster.tables.values():
                positions: dict = {}
                for cname, _type, kind in t.columns:
                    position = positions.get(kind, 0)
                    positions[kind] = position + 1
                    rows.append({"keyspace_name": t.keyspace, "table_name": t.name, "column_name": cname,
                                 "clustering_order": "asc" if kind == "clustering" else "none",
                                 "column_name_bytes": cname.encode(), "kind": kind,
                                 "position": position if kind != "regular" else -1,
                                 "type": t.cql_types[cname]})
            return _table("system_schema", name, _SCHEMA_COLUMNS[name], rows)
        if name in _SCHEMA_COLUMNS:
            return _table("system_schema", name, _SCHEMA_COLUMNS[name], [])
        if name in self.extra_schema_tables:
            return _table("system_schema", name, self.extra_schema_tables[name], [])
        return None

    def _node_table(self, name, columns, rows):
        columns = list(columns) + [(c, t) for c, t, _ in self.extra_node_columns]
        for row in rows:
            row.update({c: v for c, _, v in self.extra_node_columns})
        return _table("system", name, columns, rows)

    def _local_row(self, cluster, i: int) -> dict:
        address = cluster.addresses[i]
        return {"key": "local", "bootstrapped": "COMPLETED", "broadcast_address": address,
                "cluster_name": self.cluster_name, "cql_version": self.cql_version,
                "data_center": self.datacenter, "host_id": cluster.host_ids[i], "listen_address": address,
                "native_protocol_version": str(self.max_protocol_version),
                "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner", "rack": self.rack,
                "release_version": self.release_version, "rpc_address": address,
                "schema_version": SCHEMA_VERSION, "tokens": {cluster.tokens[i]}}

    def _peer_row(self, cluster, i: int) -> dict:
        address = cluster.addresses[i]
        return {"peer": address, "data_center": self.datacenter, "host_id": cluster.host_ids[i],
                "preferred_ip": None, "rack": self.rack, "release_version": self.release_version,
                "rpc_address": address, "schema_version": SCHEMA_VERSION, "tokens": {cluster.tokens[i]}}

    def _table_row(self, table) -> dict:
        row = {"keyspace_name": table.keyspace, "table_name": table.name,
               "id": uuid.uuid5(uuid.NAMESPACE_OID, "%s.%s" % (table.keyspace, table.name))}
        for column, _type, default in self.tables_columns:
            row.setdefault(column, default)
        row.update(table.options)
        return row


def _table(keyspace, name, columns, rows):
    return Table(keyspace, name, [(c, parse_type(t), "regular") for c, t in columns], rows,
                 cql_types=dict(columns))


def _scylla() -> Profile:
    return Profile(
        name="scylladb", release_version="3.0.8", cql_version="3.3.1", beta_version=None,
        supported_extra={
            "SCYLLA_SHARD": ["0"], "SCYLLA_NR_SHARDS": ["1"],
            "SCYLLA_PARTITIONER": ["org.apache.cassandra.dht.Murmur3Partitioner"],
            "SCYLLA_SHARDING_ALGORITHM": ["biased-token-round-robin"],
            "SCYLLA_SHARDING_IGNORE_MSB": ["12"],
            "SCYLLA_LWT_ADD_METADATA_MARK": ["LWT_OPTIMIZATION_META_BIT_MASK=2147483648"],
        },
        extra_node_columns=[("supported_features", "text", "CDC,LWT,PER_TABLE_PARTITIONERS")],
        extra_schema_tables={"scylla_tables": [("keyspace_name", "text"), ("table_name", "text"),
                                               ("version", "uuid"), ("partitioner", "text")]},
        tables_columns=[c for c in _TABLES_3X if c[0] != "cdc"],
    )


PROFILES = {
    "cassandra-3.11": lambda: Profile(name="cassandra-3.11", release_version="3.11.19", cql_version="3.4.4"),
    "scylladb": _scylla,
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]()
    except KeyError:
        raise ValueError("unknown fake server profile %r (have %s)" % (name, sorted(PROFILES))) from None


__all__ = ["Profile", "PROFILES", "get_profile", "SCHEMA_VERSION"]
