"""Every public name of cassandra-driver 3.30 exists in cassfast, or is a listed, deliberate omission.

The oracle is the installed reference driver itself: for each of its public modules, the names
``dir()`` shows that it defines or re-exports from another ``cassandra`` module (classes,
functions, constants; not the standard-library helpers it happens to import) must be attributes
of the cassfast module at the same path.  For classes and functions present in both, every
parameter of the reference's signature must be accepted by cassfast's, and a default both give
must be the same.  A reference module that needs an optional dependency to import (gevent,
eventlet, twisted; asyncore, gone from Python 3.12) is read with ``ast`` instead.

What cassfast deliberately leaves out is listed below with the reason; the README's compatibility
section says the same to users.  A listed name that cassfast has since gained fails too, so the
lists stay true.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pathlib

import pytest

import cassandra as reference_root

# Reason strings, shared by the entries below.
DSE = "DataStax Enterprise only (graph, geo types, DateRange, DSE auth, continuous paging, insights)"
INTERNAL = "reference internals (connection/pool/reactor machinery with no counterpart in cassfast)"
V1V2 = "protocol v1/v2 only; cassfast speaks v3 and later"
REEXPORT = "re-export only; import it from the module that defines it"
CQLENGINE = "cqlengine's CQL statement builders: internal to cqlengine, cassfast's is its own"

# Modules that cassfast does not provide at all.  Importing the first group raises an
# ImportError naming the alternative (tested below); the rest do not exist.
MODULES_NOT_PROVIDED = {
    "cassandra.graph": DSE,
    "cassandra.datastax": DSE,
    "cassandra.column_encryption.policies": "client-side column encryption is not implemented",
    "cassandra.segment": INTERNAL + " (v5 segments are framed by cassfast._core)",
}
IMPORT_ERROR_MODULES = ("cassandra.graph", "cassandra.datastax.graph", "cassandra.datastax.cloud",
                        "cassandra.datastax.insights", "cassandra.column_encryption.policies")

MODULES = (
    "cassandra", "cassandra.cluster", "cassandra.query", "cassandra.policies", "cassandra.auth",
    "cassandra.metadata", "cassandra.pool", "cassandra.connection", "cassandra.protocol",
    "cassandra.cqltypes", "cassandra.util", "cassandra.encoder", "cassandra.marshal",
    "cassandra.concurrent", "cassandra.timestamps", "cassandra.murmur3", "cassandra.type_codes",
    "cassandra.metrics",
    "cassandra.io", "cassandra.io.asyncorereactor", "cassandra.io.libevreactor",
    "cassandra.io.asyncioreactor", "cassandra.io.geventreactor", "cassandra.io.eventletreactor",
    "cassandra.io.twistedreactor", "cassandra.cqlengine", "cassandra.cqlengine.columns",
    "cassandra.cqlengine.connection", "cassandra.cqlengine.functions",
    "cassandra.cqlengine.management", "cassandra.cqlengine.models", "cassandra.cqlengine.named",
    "cassandra.cqlengine.operators", "cassandra.cqlengine.query", "cassandra.cqlengine.statements",
    "cassandra.cqlengine.usertype",
)

# What each reactor module defines or imports besides its connection class.
_REACTOR_INTERNALS = {
    "asyncorereactor": ("AsyncoreLoop", "WaitableTimer", "Connection", "ConnectionShutdown",
                        "DependencyException", "NONBLOCKING", "Timer", "TimerManager"),
    "libevreactor": ("LibevLoop", "Connection", "ConnectionShutdown", "DependencyException",
                     "NONBLOCKING", "Timer", "TimerManager"),
    "asyncioreactor": ("AsyncioTimer", "Connection", "ConnectionShutdown"),
    # Read from source (gevent, eventlet and twisted are not installed): what they import.
    "geventreactor": ("Connection", "ConnectionShutdown", "Timer", "TimerManager"),
    "eventletreactor": ("Connection", "ConnectionShutdown", "Timer", "TimerManager"),
    "twistedreactor": ("TwistedConnectionProtocol", "TwistedLoop", "Connection", "ConnectionException",
                       "ConnectionShutdown", "Timer", "TimerManager"),
}

# module -> {name: reason}
ALLOWED_MISSING: dict[str, dict[str, str]] = {
    "cassandra.cluster": {
        **dict.fromkeys(("ContinuousPagingOptions", "ContinuousPagingState", "GraphOptions",
                         "GraphProtocol", "GraphSON1Serializer", "GraphSON2Serializer",
                         "GraphSON3Serializer", "GraphStatement", "SimpleGraphStatement",
                         "GraphExecutionProfile", "GraphAnalyticsExecutionProfile",
                         "EXEC_PROFILE_GRAPH_DEFAULT", "EXEC_PROFILE_GRAPH_SYSTEM_DEFAULT",
                         "EXEC_PROFILE_GRAPH_ANALYTICS_DEFAULT", "graph_object_row_factory",
                         "graph_graphson2_row_factory", "graph_graphson3_row_factory",
                         "MonitorReporter", "version_supports_insights"), DSE),
        **dict.fromkeys(("ConnectionHeartbeat", "ControlConnection", "HostConnection",
                         "NoConnectionsAvailable", "ProfileManager", "conn_class", "conn_fns",
                         "excs"), INTERNAL),
        **dict.fromkeys(("DEFAULT_MIN_CONNECTIONS_PER_LOCAL_HOST",
                         "DEFAULT_MAX_CONNECTIONS_PER_LOCAL_HOST",
                         "DEFAULT_MIN_CONNECTIONS_PER_REMOTE_HOST",
                         "DEFAULT_MAX_CONNECTIONS_PER_REMOTE_HOST"), V1V2),
        "FIRST_COMPLETED": "concurrent.futures' constant; import it from there",
        "refresh_schema_and_set_result": INTERNAL, "run_in_executor": INTERNAL,
    },
    "cassandra.query": {"ColDesc": REEXPORT + " (cassfast.policies)"},
    "cassandra.protocol": {
        "ColDesc": REEXPORT + " (cassfast.policies)",
        "LazyParser": INTERNAL, "ListParser": INTERNAL, "cython_protocol_handler": INTERNAL,
        "ReviseRequestMessage": DSE,
        # The reference's pure-Python body codec; cassfast's is compiled (_core_messages).
        **dict.fromkeys(("read_binary_longstring", "read_binary_string", "read_byte",
                         "read_bytesmap", "read_consistency_level", "read_error_code_map",
                         "read_inet", "read_inet_addr_only", "read_int", "read_longstring",
                         "read_short", "read_string", "read_stringlist", "read_stringmap",
                         "read_stringmultimap", "read_uint_le", "read_value", "write_byte",
                         "write_bytesmap", "write_consistency_level", "write_inet", "write_int",
                         "write_long", "write_longstring", "write_short", "write_string",
                         "write_stringlist", "write_stringmap", "write_stringmultimap",
                         "write_uint", "write_uint_le", "write_value"), INTERNAL),
    },
    "cassandra.auth": dict.fromkeys(
        ("BaseDSEAuthenticator", "DSEGSSAPIAuthProvider", "DSEPlainTextAuthProvider",
         "GSSAPIAuthenticator", "TransitionalModePlainTextAuthProvider",
         "TransitionalModePlainTextAuthenticator"), DSE + "; SaslAuthProvider covers GSSAPI"),
    "cassandra.metadata": {
        **dict.fromkeys(("EdgeMetadata", "VertexMetadata", "TableMetadataDSE68",
                         "RLACTableExtension", "RegisteredTableExtension",
                         "TableExtensionInterface", "SchemaParserDSE60", "SchemaParserDSE67",
                         "SchemaParserDSE68"), DSE),
        **dict.fromkeys(("SchemaParserV22", "SchemaParserV3", "SchemaParserV4",
                         "ReplicationStrategyTypeType"),
                        INTERNAL + " (cassfast reads system_schema in cassfast._schema)"),
        "get_schema_parser": INTERNAL, "trim_if_startswith": INTERNAL,
        "cql_keywords": "cassfast keeps cql_keywords_reserved, the set quoting needs",
        "cql_keywords_unreserved": "cassfast keeps cql_keywords_reserved, the set quoting needs",
    },
    "cassandra.pool": {"HostConnection": INTERNAL + " (cassfast.pool.HostConnectionPool)"},
    "cassandra.connection": {
        **dict.fromkeys(("ConnectionHeartbeat", "HeartbeatFuture", "ResponseWaiter", "Timer",
                         "TimerManager", "NONBLOCKING", "SegmentCodec", "CrcException",
                         "segment_codec_lz4", "segment_codec_no_compression", "decompress",
                         "lz4_compress", "lz4_decompress", "defunct_on_error"), INTERNAL),
        **dict.fromkeys(("ContinuousPagingSession", "ContinuousPagingState",
                         "ReviseRequestMessage"), DSE),
    },
    "cassandra.cqltypes": {
        **dict.fromkeys(("BoundKind", "DateRangeType", "LineStringType", "PointType",
                         "PolygonType", "WKBGeometryType"), DSE),
        "cql_timestamp_formats": INTERNAL + " (the formats DateType parses are cassfast.util's)",
        "cqltype_to_python": INTERNAL + " (cassfast.cqltypes.parse_cql_type reads CQL types)",
        "python_to_cqltype": INTERNAL,
    },
    "cassandra.util": dict.fromkeys(("DateRange", "DateRangeBound", "DateRangePrecision",
                                     "Distance", "LineString", "OPEN_BOUND", "Point", "Polygon"),
                                    DSE),
    "cassandra.encoder": dict.fromkeys(("LineString", "Point", "Polygon"), DSE),
    "cassandra.concurrent": dict.fromkeys(("ConcurrentExecutorFutureResults",
                                           "ConcurrentExecutorGenResults",
                                           "ConcurrentExecutorListResults"), INTERNAL),
    "cassandra.murmur3": dict.fromkeys(("INT64_MAX", "INT64_MIN", "INT64_OVF_DIV",
                                        "INT64_OVF_OFFSET", "body_and_tail", "fmix", "rotl64",
                                        "truncate_int64"),
                                       "helpers of the reference's pure-Python Murmur3; "
                                       "cassfast's is compiled (_routing)"),
    **{"cassandra.io." + reactor: dict.fromkeys(names, INTERNAL)
       for reactor, names in _REACTOR_INTERNALS.items()},
    "cassandra.cqlengine.columns": {
        "CounterValueManager": CQLENGINE, "UDTValueManager": CQLENGINE,
        "SimpleDateType": REEXPORT + " (cassfast.cqltypes)",
        "UserType": REEXPORT + " (cassfast.cqltypes)",
        "get_total_seconds": "Python 2 helper; use timedelta.total_seconds()",
    },
    "cassandra.cqlengine.connection": {
        "BaseCQLStatement": CQLENGINE, "NoHostAvailable": REEXPORT + " (cassfast.cluster)",
        "UserTypeDoesNotExist": REEXPORT + " (cassfast.cluster)",
    },
    "cassandra.cqlengine.functions": {"UnicodeMixin": "Python 2 helper",
                                      "get_total_seconds": "Python 2 helper"},
    "cassandra.cqlengine.management": {
        **dict.fromkeys(("Field", "Model", "NamedTable", "execute", "format_log_context",
                         "get_cluster"), REEXPORT),
        "schema_columnfamilies": "pre-3.0 schema table name (system.schema_columnfamilies)",
    },
    "cassandra.cqlengine.models": {
        **dict.fromkeys(("ConditionalDescriptor", "ConsistencyDescriptor", "IfExistsDescriptor",
                         "IfNotExistsDescriptor", "TTLDescriptor", "TimestampDescriptor",
                         "UsingDescriptor"),
                        CQLENGINE + " (the model/queryset methods they back exist)"),
        "protect_name": REEXPORT + " (cassfast.metadata)",
    },
    "cassandra.cqlengine.named": dict.fromkeys(
        ("AbstractQueryableColumn", "BaseModel", "Column", "QuerySetDescriptor",
         "UsingDescriptor", "get_cluster"), REEXPORT),
    "cassandra.cqlengine.operators": {"IsNotNullOperator": CQLENGINE, "OpMapMeta": CQLENGINE,
                                      "UnicodeMixin": "Python 2 helper"},
    "cassandra.cqlengine.query": dict.fromkeys(
        ("AbstractQueryableColumn", "BaseCQLStatement", "BaseQueryFunction", "BaseWhereOperator",
         "ConditionalClause", "ContainsOperator", "DeleteStatement", "GreaterThanOperator",
         "GreaterThanOrEqualOperator", "InOperator", "InsertStatement", "LessThanOperator",
         "LessThanOrEqualOperator", "MapDeleteClause", "QueryValue", "SelectStatement",
         "SimpleStatement", "Token", "UnicodeMixin", "UpdateStatement"), REEXPORT),
    "cassandra.cqlengine.statements": dict.fromkeys(
        ("AssignmentClause", "AssignmentStatement", "BaseCQLStatement", "BaseClause",
         "BaseDeleteClause", "ContainerUpdateClause", "ContainerUpdateTypeMapMeta",
         "CounterUpdateClause", "DeleteStatement", "EqualsOperator", "FETCH_SIZE_UNSET",
         "FieldDeleteClause", "InQuoter", "InsertStatement", "IsNotNull", "IsNotNullClause",
         "IsNotNullOperator", "ListUpdateClause", "MapDeleteClause", "MapUpdateClause",
         "SelectStatement", "SetUpdateClause", "UnicodeMixin", "UpdateStatement", "ValueQuoter"),
        CQLENGINE),
}

# (module, name, parameter) -> reason, for signatures that deliberately differ.
ALLOWED_SIGNATURE = {
    ("cassandra.policies", "TokenAwarePolicy", "shuffle_replicas"):
        "seed: shuffle_replicas defaults to True (README, policy spec differences)",
    ("cassandra.policies", "DCAwareRoundRobinPolicy", "local_dc"):
        "seed: local_dc defaults to None, not '' (both mean: the first contact point's DC)",
    ("cassandra.policies", "ConstantReconnectionPolicy", "max_attempts"):
        "seed: unbounded by default (README)",
    ("cassandra.policies", "ExponentialReconnectionPolicy", "max_attempts"):
        "seed: unbounded by default (README)",
    ("cassandra.cluster", "Session", "hosts"):
        "Sessions are made by Cluster.connect(), which knows the hosts",
    ("cassandra.connection", "Connection", "*"):
        "cassfast's connections are asyncio protocols opened by the Cluster, never by user code",
    ("cassandra.cluster", "ResponseFuture", "retry_policy"):
        "built by the session; the default is resolved per request (statement, profile, cluster)",
    ("cassandra.auth", "SaslAuthenticator", "mechanism"):
        "the SASL mechanism comes from the provider's sasl_kwargs",
    ("cassandra.cqlengine.columns", "resolve_udts", "*"): CQLENGINE,
    ("cassandra.cqlengine.query", "WhereClause", "*"): CQLENGINE,
    ("cassandra.cqlengine.statements", "WhereClause", "*"): CQLENGINE,
    ("cassandra.cqlengine.statements", "ConditionalClause", "*"): CQLENGINE,
}


# Methods and properties of the reference's classes (driver modules; cqlengine's model classes
# are dynamic).  (module, class) -> {member: reason}
MEMBER_MODULES = ("cassandra", "cassandra.cluster", "cassandra.query", "cassandra.policies",
                  "cassandra.auth", "cassandra.metadata", "cassandra.pool", "cassandra.connection",
                  "cassandra.protocol", "cassandra.cqltypes", "cassandra.util", "cassandra.encoder",
                  "cassandra.concurrent", "cassandra.timestamps")
_SAFE_HOOKS = dict.fromkeys(("serialize_safe", "deserialize_safe"),
                            INTERNAL + " (the reference's codec hooks; cassfast's codecs are compiled)")
ALLOWED_MISSING_MEMBERS: dict[tuple[str, str], dict[str, str]] = {
    ("cassandra.cluster", "Cluster"): {
        **dict.fromkeys(("add_host", "remove_host", "on_add", "on_down", "on_remove", "on_up",
                         "signal_connection_failure", "connection_factory",
                         "get_connection_holders", "protocol_downgrade"),
                        INTERNAL + " (host lifecycle is driven by cassfast's control connection)"),
        "schema_metadata_enabled": "an instance attribute in cassfast",
        "token_metadata_enabled": "an instance attribute in cassfast",
    },
    ("cassandra.cluster", "Session"): {
        **dict.fromkeys(("add_or_renew_pool", "remove_pool", "on_down",
                         "on_remove", "prepare_on_all_hosts"), INTERNAL),
        "execute_graph": DSE, "execute_graph_async": DSE,
        "submit": "cassfast has no executor thread pool; use concurrent.futures",
    },
    ("cassandra.metadata", "Metadata"): {"refresh": INTERNAL},
    ("cassandra.metadata", "KeyspaceMetadata"): {"resolve_user_types": INTERNAL},
    ("cassandra.pool", "HostConnectionPool"): dict.fromkeys(
        ("ensure_core_connections", "get_connections", "get_state", "on_orphaned_stream_released",
         "return_connection"), INTERNAL),
    ("cassandra.connection", "Connection"): {"*": INTERNAL},
    **{("cassandra.protocol", name): {"*": INTERNAL + " (message bodies are encoded and decoded "
                                           "by cassfast._core_messages)"}
       for name in ("AuthResponseMessage", "BatchMessage", "CredentialsMessage", "EventMessage",
                    "ExecuteMessage", "OptionsMessage", "PrepareMessage", "QueryMessage",
                    "RegisterMessage", "ResultMessage", "StartupMessage")},
    ("cassandra.cqltypes", "CompositeType"): {"deserialize_safe": _SAFE_HOOKS["deserialize_safe"]},
    **{("cassandra.cqltypes", name): _SAFE_HOOKS
       for name in ("FrozenType", "ListType", "MapType", "ReversedType", "SetType", "TupleType",
                    "UserType")},
    ("cassandra.cqltypes", "DateType"): {"interpret_datestring": INTERNAL},
    ("cassandra.cqltypes", "TimestampType"): {"interpret_datestring": INTERNAL},
    ("cassandra.cqltypes", "TimeUUIDType"): {"interpret_datestring": INTERNAL, "my_timestamp": INTERNAL},
}


def _counterpart(module_name: str) -> str:
    return "cassfast" + module_name[len("cassandra"):]


def _public_names(module) -> dict[str, object]:
    """Names a user of the reference module can rely on (see the module docstring)."""
    names = {}
    for name in dir(module):
        if name.startswith("_"):
            continue
        value = getattr(module, name)
        if inspect.ismodule(value):
            continue
        if inspect.isclass(value) or inspect.isroutine(value):
            if not (getattr(value, "__module__", None) or "").startswith("cassandra"):
                continue
        elif not (type(value).__module__ == "builtins" or type(value).__module__.startswith("cassandra")):
            continue
        names[name] = value
    return names


def _source_names(module_name: str) -> set[str]:
    """Top-level public classes and functions of a reference module that cannot be imported here,
    and the names it imports from other ``cassandra`` modules (what ``_public_names`` would see
    as re-exports)."""
    path = pathlib.Path(reference_root.__file__).parent.joinpath(*module_name.split(".")[1:])
    tree = ast.parse(path.with_suffix(".py").read_text())
    names = {node.name for node in tree.body
             if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and not node.name.startswith("_")}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("cassandra"):
            names.update(a.asname or a.name for a in node.names if not (a.asname or a.name).startswith("_"))
    return names


# What a reference module raises when an optional dependency is missing: ImportError (gevent,
# eventlet, twisted are not test dependencies), or the reference's DependencyException, which
# its asyncore reactor raises on Python 3.12+ where asyncore is gone (not an ImportError).
_MISSING_DEPENDENCY = (ImportError, reference_root.DependencyException)


def _reference_names(module_name: str) -> dict[str, object]:
    try:
        return _public_names(importlib.import_module(module_name))
    except _MISSING_DEPENDENCY:
        return dict.fromkeys(_source_names(module_name))


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_reference_name_exists_in_cassfast_or_is_listed(module_name):
    ours = importlib.import_module(_counterpart(module_name))
    allowed = ALLOWED_MISSING.get(module_name, {})
    reference = _reference_names(module_name)
    missing = sorted(name for name in reference if not hasattr(ours, name) and name not in allowed)
    assert not missing, "%s lacks reference names: %s" % (_counterpart(module_name), missing)
    stale = sorted(name for name in allowed if name in reference and hasattr(ours, name))
    assert not stale, "%s now has these; remove them from ALLOWED_MISSING: %s" % (module_name, stale)
    unknown = sorted(name for name in allowed if name not in reference)
    assert not unknown, "ALLOWED_MISSING lists names the reference lacks: %s" % unknown


def _parameters(obj):
    try:
        return inspect.signature(obj).parameters
    except (TypeError, ValueError):  # builtins without a signature
        return None


_LITERALS = (type(None), bool, int, float, str, bytes, tuple)


def _signature_problems(module_name, name, ref_obj, our_obj) -> list[str]:
    ref_params, our_params = _parameters(ref_obj), _parameters(our_obj)
    if ref_params is None or our_params is None:
        return []
    # Re-exports are judged (and allowed) once, under the module that defines them.
    module_name = getattr(ref_obj, "__module__", None) or module_name
    if (module_name, name, "*") in ALLOWED_SIGNATURE:
        return []
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in our_params.values())
    problems = []
    for param in ref_params.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if (module_name, name, param.name) in ALLOWED_SIGNATURE:
            continue
        ours = our_params.get(param.name)
        if ours is None:
            if not takes_kwargs:
                problems.append("%s.%s: no parameter %r" % (module_name, name, param.name))
            continue
        if param.default is not param.empty:
            if ours.default is ours.empty:
                problems.append("%s.%s(%s): the reference has a default, cassfast requires it"
                                % (module_name, name, param.name))
            elif (isinstance(param.default, _LITERALS) and isinstance(ours.default, _LITERALS)
                  and param.default != ours.default):
                problems.append("%s.%s(%s=%r): cassfast's default is %r"
                                % (module_name, name, param.name, param.default, ours.default))
    return problems


def _importable(module_name: str) -> bool:
    try:
        importlib.import_module(module_name)
    except _MISSING_DEPENDENCY:
        return False
    return True


# Signatures need the live reference objects: the reactor modules that need gevent, eventlet or
# twisted (not installed), or asyncore (Python 3.12+), are left out here; their names are
# checked from source above.
@pytest.mark.parametrize("module_name", [m for m in MODULES if _importable(m)])
def test_reference_signatures_are_accepted_by_cassfast(module_name):
    reference = importlib.import_module(module_name)
    ours = importlib.import_module(_counterpart(module_name))
    problems = []
    for name, ref_obj in _public_names(reference).items():
        if not (inspect.isclass(ref_obj) or inspect.isfunction(ref_obj)) or not hasattr(ours, name):
            continue
        problems += _signature_problems(module_name, name, ref_obj, getattr(ours, name))
    assert not problems, "\n".join(problems)


def _is_method_or_property(static) -> bool:
    if isinstance(static, (staticmethod, classmethod, property)):
        return True
    # Python functions, and the Cython functions and descriptors of the compiled reference.
    return inspect.isfunction(static) or inspect.ismethoddescriptor(static) or type(static).__name__ in (
        "cython_function_or_method", "getset_descriptor")


@pytest.mark.parametrize("module_name", MEMBER_MODULES)
def test_reference_classes_methods_and_properties_exist_in_cassfast(module_name):
    reference = importlib.import_module(module_name)
    ours = importlib.import_module(_counterpart(module_name))
    problems = []
    for name, ref_class in _public_names(reference).items():
        if not inspect.isclass(ref_class) or ref_class.__module__ != module_name:
            continue  # re-exports are judged in their own module
        our_class = getattr(ours, name, None)
        if not inspect.isclass(our_class):
            continue  # a missing class fails the name test
        allowed = ALLOWED_MISSING_MEMBERS.get((module_name, name), {})
        if "*" in allowed:
            continue
        for member in dir(ref_class):
            if member.startswith("_") or member in allowed or hasattr(our_class, member):
                continue
            if _is_method_or_property(inspect.getattr_static(ref_class, member)):
                problems.append("%s.%s.%s" % (module_name, name, member))
    assert not problems, "cassfast lacks: %s" % problems


def test_member_allowlist_names_real_reference_members():
    for (module_name, name), members in ALLOWED_MISSING_MEMBERS.items():
        ref_class = getattr(importlib.import_module(module_name), name)
        our_class = getattr(importlib.import_module(_counterpart(module_name)), name)
        for member in members:
            if member != "*":
                assert hasattr(ref_class, member), (module_name, name, member)
                assert not hasattr(our_class, member), "%s.%s.%s exists now: unlist it" % (
                    module_name, name, member)


@pytest.mark.parametrize("module_name", sorted(MODULES_NOT_PROVIDED))
def test_modules_not_provided_are_absent_or_refuse_to_import(module_name):
    importlib.import_module(module_name)  # the reference has it
    with pytest.raises(ImportError):
        importlib.import_module(_counterpart(module_name))


@pytest.mark.parametrize("module_name", IMPORT_ERROR_MODULES)
def test_unsupported_dse_modules_say_what_to_use_instead(module_name):
    with pytest.raises(ImportError) as excinfo:
        importlib.import_module(_counterpart(module_name))
    assert "not supported" in str(excinfo.value) or "not implemented" in str(excinfo.value)
    assert "cassandra-driver" in str(excinfo.value)


def test_allowed_signature_entries_name_real_reference_parameters():
    for (module_name, name, param) in ALLOWED_SIGNATURE:
        obj = getattr(importlib.import_module(module_name), name)
        if param != "*":
            assert param in inspect.signature(obj).parameters, (module_name, name, param)


# Attributes an unconnected reference Cluster has that cassfast's lacks, besides the methods
# listed in ALLOWED_MISSING_MEMBERS.
ALLOWED_MISSING_CLUSTER_ATTRIBUTES = {
    "executor": "cassfast has no executor thread pool; its loop thread does that work",
    "scheduler": "cassfast has no scheduler thread; timers run on its loop thread",
    "endpoints_resolved": "set by connect(), when the contact points are resolved",
}


def test_an_unconnected_cluster_has_the_reference_public_attributes():
    import cassandra.cluster

    from cassfast.cluster import Cluster
    reference, ours = cassandra.cluster.Cluster(["127.0.0.1"]), Cluster(["127.0.0.1"])
    allowed = {**ALLOWED_MISSING_MEMBERS[("cassandra.cluster", "Cluster")], **ALLOWED_MISSING_CLUSTER_ATTRIBUTES}
    missing = sorted(name for name in dir(reference)
                     if not name.startswith("_") and not hasattr(ours, name) and name not in allowed)
    assert not missing, "cassfast's Cluster lacks: %s" % missing
    assert not [name for name in ALLOWED_MISSING_CLUSTER_ATTRIBUTES if hasattr(ours, name)]
