"""cassfast: a fast Python driver for Apache Cassandra with cassandra-driver's public API.

This root module holds what the reference driver keeps in ``cassandra/__init__.py``: the
consistency levels, protocol versions, write types, schema-change constants and the exception
hierarchy that every other layer raises.  It imports nothing else from the package at import time
(only the compiled core, to fail early when it is missing), so any module may depend on it; the
compiled modules themselves import only each other and the value layer (see docs/architecture.md).

``install_as_cassandra()`` registers cassfast under the ``cassandra`` name so that unmodified
code written for cassandra-driver imports cassfast instead.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import logging
import sys

__version__ = "0.1.0"
__version_info__ = tuple(int(p) for p in __version__.split("."))

logging.getLogger("cassfast").addHandler(logging.NullHandler())
NullHandler = logging.NullHandler  # the reference exports one (a Python 2 leftover)

# Logger names.  Each module logs to the logger of the public module whose behaviour it
# implements: the reference's Session, ResponseFuture and ControlConnection live in
# cassandra/cluster.py and log there, its schema parser in metadata.py, its connections (and
# their reactor) in connection.py.  The names start with "cassfast" until install_as_cassandra()
# switches every logger, those of modules already imported included, to "cassandra", so that a
# logging configuration written for cassandra-driver (levels, handlers, filters on
# "cassandra.cluster", "cassandra.pool", ...) governs cassfast's records, which then carry the
# reference's logger names too.
_LOGGER_NAMESPACE = "cassfast"
_LOGGER_OF_INTERNAL_MODULE = {
    "_request": "cluster",
    "_future": "cluster",
    "_engine": "cluster",
    "_resultset": "cluster",
    "_session": "cluster",
    "_control": "cluster",
    "_schema": "metadata",
    "_replication": "metadata",
    "_lanes": "connection",
    "_loop": "connection",
    "_deadlines": "connection",
    "_lane": "connection",
    "_failure_policies": "policies",
}


def _logger_name(module_name: str, namespace: str) -> str:
    """``cassfast._request`` -> ``<namespace>.cluster``; ``cassfast.cqlengine.query`` -> ``<namespace>.cqlengine.query``."""
    tail = module_name.partition(".")[2]
    return namespace + "." + _LOGGER_OF_INTERNAL_MODULE.get(tail, tail)


def _logger_for(module_name: str) -> logging.Logger:
    """The logger of a cassfast module (``log = _logger_for(__name__)``), in the current namespace."""
    return logging.getLogger(_logger_name(module_name, _LOGGER_NAMESPACE))


def _switch_loggers_to_cassandra() -> None:
    global _LOGGER_NAMESPACE
    _LOGGER_NAMESPACE = "cassandra"
    logging.getLogger("cassandra").addHandler(logging.NullHandler())  # as the reference does
    for name, module in list(sys.modules.items()):
        if not name.startswith("cassfast.") or module is None:
            continue
        current = getattr(module, "log", None)
        if isinstance(current, logging.Logger) and current.name == _logger_name(name, "cassfast"):
            module.log = logging.getLogger(_logger_name(name, "cassandra"))


class ConsistencyLevel:
    """How many replicas must answer before an operation counts as done (protocol spec 3.1)."""

    ANY = 0
    ONE = 1
    TWO = 2
    THREE = 3
    QUORUM = 4
    ALL = 5
    LOCAL_QUORUM = 6
    EACH_QUORUM = 7
    SERIAL = 8
    LOCAL_SERIAL = 9
    LOCAL_ONE = 10

    value_to_name: dict[int, str] = {}
    name_to_value: dict[str, int] = {}

    @staticmethod
    def is_serial(cl: int) -> bool:
        return cl == ConsistencyLevel.SERIAL or cl == ConsistencyLevel.LOCAL_SERIAL


ConsistencyLevel.name_to_value = {
    k: v for k, v in vars(ConsistencyLevel).items() if k.isupper() and isinstance(v, int)
}
ConsistencyLevel.value_to_name = {v: k for k, v in ConsistencyLevel.name_to_value.items()}


def consistency_value_to_name(value):
    return ConsistencyLevel.value_to_name[value] if value is not None else "Not Set"


class ProtocolVersion:
    """Native protocol versions.  cassfast speaks v3, v4 and v5 (v5 with checksummed segments)."""

    V1 = 1
    V2 = 2
    V3 = 3
    V4 = 4
    V5 = 5
    V6 = 6
    DSE_V1 = 0x41
    DSE_V2 = 0x42

    # What this driver implements, newest first.  v6 is beta in Cassandra 5.0 and not offered.
    SUPPORTED_VERSIONS = (V5, V4, V3)
    BETA_VERSIONS = (V6,)
    MIN_SUPPORTED = min(SUPPORTED_VERSIONS)
    MAX_SUPPORTED = max(SUPPORTED_VERSIONS)

    @classmethod
    def get_lower_supported(cls, previous_version):
        """The next lower non-beta version this driver supports, or 0 when there is none."""
        lower = [v for v in cls.SUPPORTED_VERSIONS if v < previous_version and v not in cls.BETA_VERSIONS]
        return max(lower) if lower else 0

    @classmethod
    def uses_int_query_flags(cls, version):
        return version >= cls.V5

    @classmethod
    def uses_prepare_flags(cls, version):
        return version >= cls.V5

    @classmethod
    def uses_prepared_metadata(cls, version):
        return version >= cls.V5

    @classmethod
    def uses_error_code_map(cls, version):
        return version >= cls.V5

    @classmethod
    def uses_keyspace_flag(cls, version):
        return version >= cls.V5

    @classmethod
    def has_continuous_paging_support(cls, version):
        return False

    @classmethod
    def has_continuous_paging_next_pages(cls, version):
        return False

    @classmethod
    def has_checksumming_support(cls, version):
        return version >= cls.V5


class _WriteTypeValue(int):
    """A write type: an ``int`` (0-5, as the seed specifies) that also equals its name.

    The seed's example retry policy compares ``write_type == 'SIMPLE'`` while its ``WriteType``
    constants are integers; both comparisons hold for the value the driver passes to retry
    policies.  ``hash`` stays the integer's, so these values key dicts exactly as ints do.
    """

    __slots__ = ()
    _names: dict[int, str] = {}

    def __new__(cls, value: int, name: str):
        self = int.__new__(cls, value)
        cls._names[value] = name
        return self

    @property
    def name(self) -> str:
        return self._names[int(self)]

    def __eq__(self, other):
        if isinstance(other, str):
            return self._names[int(self)] == other
        return int.__eq__(self, other)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = int.__hash__

    def __repr__(self):
        return f"WriteType.{self.name}"

    __str__ = __repr__


class WriteType:
    """The kind of write that timed out or failed (carried by WRITE_TIMEOUT/WRITE_FAILURE)."""

    SIMPLE = _WriteTypeValue(0, "SIMPLE")
    BATCH = _WriteTypeValue(1, "BATCH")
    UNLOGGED_BATCH = _WriteTypeValue(2, "UNLOGGED_BATCH")
    COUNTER = _WriteTypeValue(3, "COUNTER")
    BATCH_LOG = _WriteTypeValue(4, "BATCH_LOG")
    CAS = _WriteTypeValue(5, "CAS")
    VIEW = _WriteTypeValue(6, "VIEW")
    CDC = _WriteTypeValue(7, "CDC")

    name_to_value: dict[str, _WriteTypeValue] = {}
    value_to_name: dict[int, str] = {}

    @classmethod
    def from_name(cls, name: str) -> _WriteTypeValue:
        """The write type for the name the server sends; unknown names raise ValueError."""
        try:
            return cls.name_to_value[name]
        except KeyError:
            raise ValueError(f"unknown write type {name!r}") from None


WriteType.name_to_value = {k: v for k, v in vars(WriteType).items() if isinstance(v, _WriteTypeValue)}
WriteType.value_to_name = {int(v): k for k, v in WriteType.name_to_value.items()}


class SchemaChangeType:
    CREATED = "CREATED"
    UPDATED = "UPDATED"
    DROPPED = "DROPPED"


class SchemaTargetType:
    KEYSPACE = "KEYSPACE"
    TABLE = "TABLE"
    TYPE = "TYPE"
    FUNCTION = "FUNCTION"
    AGGREGATE = "AGGREGATE"


class SignatureDescriptor:
    def __init__(self, name, argument_types):
        self.name = name
        self.argument_types = argument_types

    @property
    def signature(self):
        return self.format_signature(self.name, self.argument_types)

    @staticmethod
    def format_signature(name, argument_types):
        return "%s(%s)" % (name, ",".join(t for t in argument_types))

    def __repr__(self):
        return "%s(%s, %s)" % (self.__class__.__name__, self.name, self.argument_types)


class UserFunctionDescriptor(SignatureDescriptor):
    """Describes a user-defined function by name and argument signature."""


class UserAggregateDescriptor(SignatureDescriptor):
    """Describes a user-defined aggregate by name and argument signature."""


# ---------------------------------------------------------------------------------------------
# Exceptions.  Names, bases and attributes follow cassandra-driver so that ``except`` clauses
# written for it keep working.


class DriverException(Exception):
    """Base class for exceptions raised by this driver."""


class RequestExecutionException(DriverException):
    """Base class for errors the coordinator returns while executing a request."""


class Unavailable(RequestExecutionException):
    """Too few replicas were alive to attempt the request at the requested consistency."""

    consistency = None
    required_replicas = None
    alive_replicas = None

    def __init__(self, summary_message, consistency=None, required_replicas=None, alive_replicas=None):
        self.consistency = consistency
        self.required_replicas = required_replicas
        self.alive_replicas = alive_replicas
        Exception.__init__(self, summary_message + " info=" + repr({
            "consistency": consistency_value_to_name(consistency),
            "required_replicas": required_replicas,
            "alive_replicas": alive_replicas}))


class Timeout(RequestExecutionException):
    """Replicas did not answer the coordinator within the server-side timeout."""

    consistency = None
    required_responses = None
    received_responses = None

    def __init__(self, summary_message, consistency=None, required_responses=None,
                 received_responses=None, **kwargs):
        self.consistency = consistency
        self.required_responses = required_responses
        self.received_responses = received_responses
        if "write_type" in kwargs:
            kwargs["write_type"] = WriteType.value_to_name.get(kwargs["write_type"], kwargs["write_type"])
        info = {"consistency": consistency_value_to_name(consistency),
                "required_responses": required_responses,
                "received_responses": received_responses}
        info.update(kwargs)
        Exception.__init__(self, summary_message + " info=" + repr(info))


class ReadTimeout(Timeout):
    """A read timed out on the replicas; ``data_retrieved`` says whether the data replica answered."""

    data_retrieved = None

    def __init__(self, message, data_retrieved=None, **kwargs):
        Timeout.__init__(self, message, **kwargs)
        self.data_retrieved = data_retrieved


class WriteTimeout(Timeout):
    """A write timed out on the replicas; ``write_type`` is a :class:`WriteType` value."""

    write_type = None

    def __init__(self, message, write_type=None, **kwargs):
        kwargs["write_type"] = write_type
        Timeout.__init__(self, message, **kwargs)
        self.write_type = write_type


class CDCWriteFailure(RequestExecutionException):
    """A write was rejected because the CDC space was full."""

    def __init__(self, message):
        Exception.__init__(self, message)


class CoordinationFailure(RequestExecutionException):
    """Replicas answered the coordinator with failures (READ_FAILURE/WRITE_FAILURE)."""

    consistency = None
    required_responses = None
    received_responses = None
    failures = None
    error_code_map = None

    def __init__(self, summary_message, consistency=None, required_responses=None,
                 received_responses=None, failures=None, error_code_map=None):
        self.consistency = consistency
        self.required_responses = required_responses
        self.received_responses = received_responses
        self.failures = failures
        self.error_code_map = error_code_map
        info = {"consistency": consistency_value_to_name(consistency),
                "required_responses": required_responses,
                "received_responses": received_responses,
                "failures": failures}
        if error_code_map is not None:
            # v5 sends one reason code per failing replica (spec 9, READ_FAILURE/WRITE_FAILURE).
            info["error_code_map"] = {addr: "0x%04X" % code for addr, code in error_code_map.items()}
        Exception.__init__(self, summary_message + " info=" + repr(info))


class ReadFailure(CoordinationFailure):
    data_retrieved = None

    def __init__(self, message, data_retrieved=None, **kwargs):
        CoordinationFailure.__init__(self, message, **kwargs)
        self.data_retrieved = data_retrieved


class WriteFailure(CoordinationFailure):
    write_type = None

    def __init__(self, message, write_type=None, **kwargs):
        CoordinationFailure.__init__(self, message, **kwargs)
        self.write_type = write_type


class FunctionFailure(RequestExecutionException):
    """A user-defined function raised an error on the server."""

    keyspace = None
    function = None
    arg_types = None

    def __init__(self, summary_message, keyspace, function, arg_types):
        self.keyspace = keyspace
        self.function = function
        self.arg_types = arg_types
        Exception.__init__(self, summary_message)


class RequestValidationException(DriverException):
    """The server rejected the request as invalid before executing it."""


class ConfigurationException(RequestValidationException):
    """A schema or configuration change was invalid."""


class AlreadyExists(ConfigurationException):
    """A keyspace or table already exists."""

    keyspace = None
    table = None

    def __init__(self, keyspace=None, table=None):
        if table:
            message = "Table '%s.%s' already exists" % (keyspace, table)
        else:
            message = "Keyspace '%s' already exists" % (keyspace,)
        Exception.__init__(self, message)
        self.keyspace = keyspace
        self.table = table


class InvalidRequest(RequestValidationException):
    """A syntactically valid request that the server considers invalid."""


class Unauthorized(RequestValidationException):
    """The logged-in user lacks a permission the request needs."""


class AuthenticationFailed(DriverException):
    """Authentication with a host failed (wrong credentials or mechanism)."""


class OperationTimedOut(DriverException):
    """The client-side request timeout expired before the host answered."""

    errors = None
    last_host = None

    def __init__(self, errors=None, last_host=None):
        self.errors = errors
        self.last_host = last_host
        message = "errors=%s, last_host=%s" % (self.errors, self.last_host)
        Exception.__init__(self, message)


class UnsupportedOperation(DriverException):
    """An operation that the negotiated protocol version or server does not support."""


class UnresolvableContactPoints(DriverException):
    """None of the contact points could be resolved to an address."""


class DependencyException(Exception):
    """An optional dependency (lz4, pure-sasl, ...) that a feature needs is missing."""

    def __init__(self, msg, excs=()):
        complete_msg = msg
        if excs:
            complete_msg += "\nThe following exceptions were observed: \n - " + "\n - ".join(str(e) for e in excs)
        Exception.__init__(self, complete_msg)


def install_as_cassandra() -> None:
    """Make ``import cassandra`` (and its submodules) load cassfast.

    Modelled on PyMySQL's ``install_as_MySQLdb()``: call it once, before the application imports
    ``cassandra``; every ``cassandra.X`` submodule name then resolves to ``cassfast.X``, and
    cassfast logs under the reference's logger names (``cassandra.cluster``, ``cassandra.pool``,
    ...), so that logging configured for ``cassandra`` applies.  Raises
    RuntimeError if the real cassandra-driver was already imported, because two drivers sharing
    one module name would silently mix classes.
    """
    existing = sys.modules.get("cassandra")
    if existing is not None:
        if existing is sys.modules[__name__]:
            return
        raise RuntimeError(
            "install_as_cassandra() must run before 'cassandra' is imported: "
            "cassandra-driver is already loaded in this process")

    class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "cassandra" or fullname.startswith("cassandra."):
                real = "cassfast" + fullname[len("cassandra"):]
                try:
                    importlib.import_module(real)
                except ModuleNotFoundError as exc:
                    if exc.name == real:
                        return None
                    raise
                return importlib.util.spec_from_loader(fullname, self)
            return None

        def create_module(self, spec):
            return importlib.import_module("cassfast" + spec.name[len("cassandra"):])

        def exec_module(self, module):
            pass

    _switch_loggers_to_cassandra()
    sys.meta_path.insert(0, _Alias())
    sys.modules["cassandra"] = sys.modules[__name__]
    # Loaded now, so that "cassandra.cluster" is in sys.modules from here on: import hooks keyed
    # by that name (ddtrace's patch(cassandra=True) waits for it) then fire at once; through the
    # alias the module's own name stays "cassfast.cluster", which such hooks would never see.
    importlib.import_module("cassfast.cluster")
    for name, module in list(sys.modules.items()):
        if name.startswith("cassfast."):
            sys.modules["cassandra" + name[len("cassfast"):]] = module


try:
    from cassfast import _core as _compiled_core  # noqa: E402
    from cassfast import _types as _compiled_types  # noqa: E402  (codecs, collections included)
except ImportError as _exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "cassfast's compiled core (cassfast._core, cassfast._types) is missing or failed to load: %s. "
        "Build it with 'pip install .' (or 'pip install -e .' in a checkout); "
        "cassfast never runs without it." % (_exc,)) from _exc

# The value layer's type descriptors serialize through the compiled codecs (see
# cassfast.cqltypes._codec_lookup): connected here so that cqltypes never imports the core.
from cassfast import cqltypes as _cqltypes  # noqa: E402
_cqltypes._codec_lookup = _compiled_types.codec_for
_cqltypes._builtin_codec_lookup = _compiled_types.builtin_codec_for
