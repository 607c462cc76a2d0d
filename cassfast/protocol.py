"""Native protocol messages with cassandra-driver's ``cassandra.protocol`` API.

The request classes (``StartupMessage``, ``QueryMessage``, ``ExecuteMessage``, ``BatchMessage``,
...) keep the reference driver's constructor signatures; the response classes (``ResultMessage``,
``ErrorMessage`` and one subclass per error code of spec section 9, ``EventMessage``, ...) carry
the reference's attributes plus ``stream_id``, ``trace_id``, ``warnings`` and ``custom_payload``
from the frame.  ``ProtocolHandler.encode_message`` / ``decode_message`` have the reference's
signatures, so both drivers can be run over the same bytes.  The bytes themselves are produced
and read by the compiled core (``cassfast._core`` for frames and segments,
``cassfast._core_messages`` for bodies); this module only maps them to objects.

Row factory (the contract the connection layer follows): ``decode_message`` takes an optional
keyword argument ``row_factory``.  For a Rows result the rows are decoded by
``cassfast._types.decode_rows`` and passed through that factory in the same pass, and
``ResultMessage.parsed_rows`` holds the factory's output.  Without ``row_factory`` it is
``tuple_factory``, so ``parsed_rows`` is a list of tuples exactly as in the reference driver and a
caller may still apply ``row_factory(column_names, parsed_rows)`` itself.  A caller that knows its
factory up front (``ResponseFuture``) should pass it and skip that second pass.

Hot-path entry points that need no message object: ``cassfast._core_messages.encode_execute_frame``,
``encode_query_frame`` and ``encode_batch_frame`` build a complete frame from plain arguments
(``ProtocolHandler.encode_message`` delegates to them), and ``decode_result`` below decodes a
RESULT body without going through the opcode table.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, Optional
from uuid import UUID

from cassfast import (AlreadyExists, DriverException, FunctionFailure, InvalidRequest,
                      ProtocolVersion, ReadFailure, ReadTimeout, SchemaTargetType, Unauthorized,
                      Unavailable, UnsupportedOperation, UserAggregateDescriptor,
                      UserFunctionDescriptor, WriteFailure, WriteTimeout, WriteType)
from cassfast import _core_messages as _m
from cassfast import _wire
from cassfast import _types as _types_module
from cassfast._core import FrameDecoder, ProtocolError, SegmentEncoder
from cassfast._core_messages import BodyReader, read_response_prelude
from cassfast._types import UNSET_VALUE
from cassfast.compression import locally_supported_compressions
from cassfast.rows import tuple_factory as _tuple_factory
from cassfast import _logger_for

log = _logger_for(__name__)

__all__ = [
    "ProtocolHandler", "ProtocolError", "FrameDecoder", "SegmentEncoder",
    "locally_supported_compressions", "ErrorMessage", "ResultMessage", "EventMessage",
    "StartupMessage", "ReadyMessage", "AuthenticateMessage", "OptionsMessage",
    "SupportedMessage", "QueryMessage", "PrepareMessage", "ExecuteMessage", "BatchMessage",
    "RegisterMessage", "AuthChallengeMessage", "AuthResponseMessage", "AuthSuccessMessage",
    "RESULT_KIND_VOID", "RESULT_KIND_ROWS", "RESULT_KIND_SET_KEYSPACE", "RESULT_KIND_PREPARED",
    "RESULT_KIND_SCHEMA_CHANGE", "decode_result",
]


class NotSupportedError(ProtocolError):
    """A response uses a feature (event type, result kind) this driver does not know."""


class ResultDecodeError(ProtocolError):
    """A RESULT body's metadata or cells are malformed (wraps ``cassfast._types.DecodeError``)."""


class InternalError(Exception):
    pass


# Frame header byte 0 (spec 2.1), under the reference's names.
from cassfast._wire import HEADER_DIRECTION_MASK, HEADER_DIRECTION_TO_CLIENT  # noqa: E402,F401

# Frame flags, spec section 2.2.
from cassfast._wire import (COMPRESSED_FLAG, CUSTOM_PAYLOAD_FLAG, TRACING_FLAG,  # noqa: E402,F401
                            USE_BETA_FLAG, WARNING_FLAG)
USE_BETA_MASK = ~USE_BETA_FLAG
_PRELUDE_FLAGS = TRACING_FLAG | CUSTOM_PAYLOAD_FLAG | WARNING_FLAG

# <query_parameters> flags (spec 4.1.4) and the PREPARE flag (v5 4.1.5) under the reference's
# names; defined once in cassfast._wire, encoded by cassfast._core_messages.
from cassfast._wire import (  # noqa: E402,F401
    PREPARE_FLAG_WITH_KEYSPACE as _PREPARED_WITH_KEYSPACE_FLAG,
    QUERY_FLAG_PAGE_SIZE as _PAGE_SIZE_FLAG,
    QUERY_FLAG_SKIP_METADATA as _SKIP_METADATA_FLAG,
    QUERY_FLAG_VALUES as _VALUES_FLAG,
    QUERY_FLAG_WITH_DEFAULT_TIMESTAMP as _PROTOCOL_TIMESTAMP_FLAG,
    QUERY_FLAG_WITH_KEYSPACE as _WITH_KEYSPACE_FLAG,
    QUERY_FLAG_WITH_NAMES_FOR_VALUES as _NAMES_FOR_VALUES_FLAG,
    QUERY_FLAG_WITH_PAGING_STATE as _WITH_PAGING_STATE_FLAG,
    QUERY_FLAG_WITH_SERIAL_CONSISTENCY as _WITH_SERIAL_CONSISTENCY_FLAG,
)

ColumnMetadata = namedtuple("ColumnMetadata", ["keyspace_name", "table_name", "name", "type"])

# RESULT kinds, spec 4.2.5.
from cassfast._wire import (RESULT_KIND_PREPARED, RESULT_KIND_ROWS,  # noqa: E402,F401
                            RESULT_KIND_SCHEMA_CHANGE, RESULT_KIND_SET_KEYSPACE, RESULT_KIND_VOID)

_message_types_by_opcode: dict[int, type] = {}


def register_class(cls) -> None:
    _message_types_by_opcode[cls.opcode] = cls


def get_registered_classes() -> dict[int, type]:
    return _message_types_by_opcode.copy()


class _RegisterMessageType(type):
    def __init__(cls, name, bases, dct):
        super().__init__(name, bases, dct)
        if not name.startswith("_") and dct.get("opcode") is not None:
            register_class(cls)


class _MessageType(metaclass=_RegisterMessageType):
    opcode: Optional[int] = None
    name = "UNKNOWN"
    tracing = False
    custom_payload: Optional[dict] = None
    warnings: Optional[list] = None
    trace_id: Optional[UUID] = None
    stream_id: Optional[int] = None

    def update_custom_payload(self, other: Optional[dict]) -> None:
        if other:
            if not self.custom_payload:
                self.custom_payload = {}
            self.custom_payload.update(other)
            if len(self.custom_payload) > 65535:
                raise ValueError("Custom payload map exceeds max count allowed by protocol (65535)")

    def __repr__(self):
        params = ", ".join("%s=%r" % (k, v) for k, v in self.__dict__.items()
                           if not k.startswith("_") and not callable(v))
        return "<%s(%s)>" % (self.__class__.__name__, params)

    def _check_payload(self, protocol_version: int) -> None:
        if self.custom_payload and protocol_version < 4:
            raise UnsupportedOperation(
                "Custom key/value payloads can only be used with protocol version 4 or higher")


# ---------------------------------------------------------------------------------------------
# Errors (spec 4.2.1 and section 9).  As in the reference, each error message is itself an
# exception; ``to_exception()`` maps the common ones to the exceptions of ``cassfast``.

error_classes: dict[int, type] = {}


class ErrorMessage(_MessageType, Exception):
    opcode = _wire.OPCODE_ERROR
    name = "ERROR"
    summary = "Unknown"
    error_code: Optional[int] = None

    def __init__(self, code: int, message: str, info: Any):
        self.code = code
        self.message = message
        self.info = info

    @classmethod
    def recv_body(cls, reader: BodyReader, protocol_version: int, *args):
        code = reader.read_int()
        message = reader.read_string()
        subcls = error_classes.get(code, cls)
        return subcls(code=code, message=message,
                      info=subcls.recv_error_info(reader, protocol_version))

    def summary_msg(self) -> str:
        return 'Error from server: code=%04x [%s] message="%s"' % (self.code, self.summary,
                                                                    self.message)

    def __str__(self):
        return "<%s>" % self.summary_msg()

    __repr__ = __str__

    @staticmethod
    def recv_error_info(reader: BodyReader, protocol_version: int):
        return None

    def to_exception(self) -> Exception:
        return self


class ErrorMessageSubclass(_RegisterMessageType):
    def __init__(cls, name, bases, dct):
        super().__init__(name, bases, dct)
        if dct.get("error_code") is not None:
            error_classes[cls.error_code] = cls


class ErrorMessageSub(ErrorMessage, metaclass=ErrorMessageSubclass):
    error_code = None


class RequestExecutionException(ErrorMessageSub):
    pass


class RequestValidationException(ErrorMessageSub):
    pass


class ServerError(ErrorMessageSub):
    summary = "Server error"
    error_code = _wire.ERR_SERVER_ERROR


class ProtocolException(ErrorMessageSub):
    summary = "Protocol error"
    error_code = _wire.ERR_PROTOCOL_ERROR

    @property
    def is_beta_protocol_error(self) -> bool:
        return "USE_BETA flag is unset" in str(self)


class BadCredentials(ErrorMessageSub):
    summary = "Bad credentials"
    error_code = _wire.ERR_BAD_CREDENTIALS


def _write_type(name: str):
    # Unknown names (a newer server) are kept as text rather than failing the whole decode.
    try:
        return WriteType.from_name(name)
    except ValueError:
        return name


def _failures(reader: BodyReader, protocol_version: int):
    # v5 section 9: <reasonmap> is an [int] n then n (<endpoint> [inetaddr], <failurecode>
    # [short]); v4 section 9: a single [int] <numfailures>.
    if ProtocolVersion.uses_error_code_map(protocol_version):
        count = reader.read_int()
        if count < 0:
            raise ProtocolError("negative failure count %d" % count)
        code_map = {}
        for _ in range(count):
            address = reader.read_inetaddr()
            code_map[address] = reader.read_short()
        return len(code_map), code_map
    return reader.read_int(), None


def _coordination_failure_info(reader: BodyReader, protocol_version: int) -> dict:
    # The prefix READ_FAILURE and WRITE_FAILURE share: <cl><received><blockfor><failures>.
    consistency = reader.read_short()
    received = reader.read_int()
    required = reader.read_int()
    failures, code_map = _failures(reader, protocol_version)
    return {"consistency": consistency, "received_responses": received,
            "required_responses": required, "failures": failures, "error_code_map": code_map}


class UnavailableErrorMessage(RequestExecutionException):
    summary = "Unavailable exception"
    error_code = _wire.ERR_UNAVAILABLE

    @staticmethod
    def recv_error_info(reader, protocol_version):
        return {"consistency": reader.read_short(), "required_replicas": reader.read_int(),
                "alive_replicas": reader.read_int()}

    def to_exception(self):
        return Unavailable(self.summary_msg(), **self.info)


class OverloadedErrorMessage(RequestExecutionException):
    summary = "Coordinator node overloaded"
    error_code = _wire.ERR_OVERLOADED


class IsBootstrappingErrorMessage(RequestExecutionException):
    summary = "Coordinator node is bootstrapping"
    error_code = _wire.ERR_IS_BOOTSTRAPPING


class TruncateError(RequestExecutionException):
    summary = "Error during truncate"
    error_code = _wire.ERR_TRUNCATE_ERROR


class WriteTimeoutErrorMessage(RequestExecutionException):
    summary = "Coordinator node timed out waiting for replica nodes' responses"
    error_code = _wire.ERR_WRITE_TIMEOUT

    @staticmethod
    def recv_error_info(reader, protocol_version):
        # v5 appends <contentions> for CAS writes; like any trailing field it is ignored.
        return {"consistency": reader.read_short(), "received_responses": reader.read_int(),
                "required_responses": reader.read_int(),
                "write_type": _write_type(reader.read_string())}

    def to_exception(self):
        return WriteTimeout(self.summary_msg(), **self.info)


class ReadTimeoutErrorMessage(RequestExecutionException):
    summary = "Coordinator node timed out waiting for replica nodes' responses"
    error_code = _wire.ERR_READ_TIMEOUT

    @staticmethod
    def recv_error_info(reader, protocol_version):
        return {"consistency": reader.read_short(), "received_responses": reader.read_int(),
                "required_responses": reader.read_int(),
                "data_retrieved": bool(reader.read_byte())}

    def to_exception(self):
        return ReadTimeout(self.summary_msg(), **self.info)


class ReadFailureMessage(RequestExecutionException):
    summary = "Replica(s) failed to execute read"
    error_code = _wire.ERR_READ_FAILURE

    @staticmethod
    def recv_error_info(reader, protocol_version):
        info = _coordination_failure_info(reader, protocol_version)
        info["data_retrieved"] = bool(reader.read_byte())
        return info

    def to_exception(self):
        return ReadFailure(self.summary_msg(), **self.info)


class FunctionFailureMessage(RequestExecutionException):
    summary = "User Defined Function failure"
    error_code = _wire.ERR_FUNCTION_FAILURE

    @staticmethod
    def recv_error_info(reader, protocol_version):
        return {"keyspace": reader.read_string(), "function": reader.read_string(),
                "arg_types": reader.read_string_list()}

    def to_exception(self):
        return FunctionFailure(self.summary_msg(), **self.info)


class WriteFailureMessage(RequestExecutionException):
    summary = "Replica(s) failed to execute write"
    error_code = _wire.ERR_WRITE_FAILURE

    @staticmethod
    def recv_error_info(reader, protocol_version):
        info = _coordination_failure_info(reader, protocol_version)
        info["write_type"] = _write_type(reader.read_string())
        return info

    def to_exception(self):
        return WriteFailure(self.summary_msg(), **self.info)


class CDCWriteException(RequestExecutionException):
    summary = "Failed to execute write due to CDC space exhaustion."
    error_code = _wire.ERR_CDC_WRITE_FAILURE


class CASWriteUnknownErrorMessage(RequestExecutionException):
    """CAS_WRITE_UNKNOWN (v5 section 9): the outcome of a conditional write is unknown."""
    summary = "Unknown outcome of a conditional (CAS) write"
    error_code = _wire.ERR_CAS_WRITE_UNKNOWN

    @staticmethod
    def recv_error_info(reader, protocol_version):
        return {"consistency": reader.read_short(), "received_responses": reader.read_int(),
                "required_responses": reader.read_int()}


class SyntaxException(RequestValidationException):
    summary = "Syntax error in CQL query"
    error_code = _wire.ERR_SYNTAX_ERROR


class UnauthorizedErrorMessage(RequestValidationException):
    summary = "Unauthorized"
    error_code = _wire.ERR_UNAUTHORIZED

    def to_exception(self):
        return Unauthorized(self.summary_msg())


class InvalidRequestException(RequestValidationException):
    summary = "Invalid query"
    error_code = _wire.ERR_INVALID

    def to_exception(self):
        return InvalidRequest(self.summary_msg())


class ConfigurationException(RequestValidationException):
    summary = "Query invalid because of configuration issue"
    error_code = _wire.ERR_CONFIG_ERROR


class AlreadyExistsException(ConfigurationException):
    summary = "Item already exists"
    error_code = _wire.ERR_ALREADY_EXISTS

    @staticmethod
    def recv_error_info(reader, protocol_version):
        return {"keyspace": reader.read_string(), "table": reader.read_string()}

    def to_exception(self):
        return AlreadyExists(**self.info)


class PreparedQueryNotFound(RequestValidationException):
    summary = "Matching prepared statement not found on this node"
    error_code = _wire.ERR_UNPREPARED

    @staticmethod
    def recv_error_info(reader, protocol_version):
        return reader.read_short_bytes()  # the unknown query id


class ClientWriteError(RequestExecutionException):
    summary = "Client write failure."
    error_code = 0x8000


# ---------------------------------------------------------------------------------------------
# Requests (spec 4.1).  Each encodes itself into a complete frame through the compiled core.

class StartupMessage(_MessageType):
    opcode = _wire.OPCODE_STARTUP
    name = "STARTUP"
    KNOWN_OPTION_KEYS = {"CQL_VERSION", "COMPRESSION", "NO_COMPACT"}

    def __init__(self, cqlversion: str, options: dict):
        self.cqlversion = cqlversion
        self.options = options

    def encode_frame(self, stream_id: int, protocol_version: int, beta: bool) -> bytes:
        options = dict(self.options)
        options["CQL_VERSION"] = self.cqlversion
        return _m.encode_startup_frame(stream_id, protocol_version, options, beta)


class CredentialsMessage(_MessageType):
    """CREDENTIALS (protocol v1 only): kept for API compatibility; cassfast speaks v3+."""
    opcode = _wire.OPCODE_CREDENTIALS
    name = "CREDENTIALS"

    def __init__(self, creds: dict):
        self.creds = creds

    def encode_frame(self, stream_id, protocol_version, beta):
        raise UnsupportedOperation(
            "Credentials-based authentication is not supported with protocol version 2 or "
            "higher.  Use the SASL authentication mechanism instead.")


class ReadyMessage(_MessageType):
    opcode = _wire.OPCODE_READY
    name = "READY"

    @classmethod
    def recv_body(cls, *args):
        return cls()


class AuthenticateMessage(_MessageType):
    opcode = _wire.OPCODE_AUTHENTICATE
    name = "AUTHENTICATE"

    def __init__(self, authenticator: str):
        self.authenticator = authenticator

    @classmethod
    def recv_body(cls, reader, *args):
        return cls(authenticator=reader.read_string())


class OptionsMessage(_MessageType):
    opcode = _wire.OPCODE_OPTIONS
    name = "OPTIONS"

    def encode_frame(self, stream_id, protocol_version, beta):
        return _m.encode_options_frame(stream_id, protocol_version, beta)


class SupportedMessage(_MessageType):
    opcode = _wire.OPCODE_SUPPORTED
    name = "SUPPORTED"

    def __init__(self, cql_versions: list, options: dict):
        self.cql_versions = cql_versions
        self.options = options

    @classmethod
    def recv_body(cls, reader, *args):
        options = reader.read_string_multimap()
        return cls(cql_versions=options.pop("CQL_VERSION", []), options=options)


class AuthChallengeMessage(_MessageType):
    opcode = _wire.OPCODE_AUTH_CHALLENGE
    name = "AUTH_CHALLENGE"

    def __init__(self, challenge: Optional[bytes]):
        self.challenge = challenge

    @classmethod
    def recv_body(cls, reader, *args):
        return cls(reader.read_bytes())


class AuthResponseMessage(_MessageType):
    opcode = _wire.OPCODE_AUTH_RESPONSE
    name = "AUTH_RESPONSE"

    def __init__(self, response: Optional[bytes]):
        self.response = response

    def encode_frame(self, stream_id, protocol_version, beta):
        return _m.encode_auth_response_frame(stream_id, protocol_version, self.response, beta)

    def __repr__(self):
        # The token is the credentials (PLAIN: NUL, user, NUL, password): never print it.
        size = "null" if self.response is None else "%d bytes" % len(self.response)
        return "<AuthResponseMessage(response=<%s>)>" % size


class AuthSuccessMessage(_MessageType):
    opcode = _wire.OPCODE_AUTH_SUCCESS
    name = "AUTH_SUCCESS"

    def __init__(self, token: Optional[bytes]):
        self.token = token

    @classmethod
    def recv_body(cls, reader, *args):
        # spec 4.2.8: a [bytes] token, possibly null.
        return cls(reader.read_bytes())


class _QueryMessage(_MessageType):
    def __init__(self, query_params, consistency_level, serial_consistency_level=None,
                 fetch_size=None, paging_state=None, timestamp=None, skip_meta=False,
                 continuous_paging_options=None, keyspace=None):
        self.query_params = query_params
        self.consistency_level = consistency_level
        self.serial_consistency_level = serial_consistency_level
        self.fetch_size = fetch_size
        self.paging_state = paging_state
        self.timestamp = timestamp
        self.skip_meta = skip_meta
        self.continuous_paging_options = continuous_paging_options
        self.keyspace = keyspace

    def _check(self, protocol_version):
        self._check_payload(protocol_version)
        if self.continuous_paging_options:
            raise UnsupportedOperation("Continuous paging is a DSE feature; Apache Cassandra "
                                       "does not support it")
        if self.keyspace is not None and not ProtocolVersion.uses_keyspace_flag(protocol_version):
            raise UnsupportedOperation(
                "Keyspaces may only be set on queries with protocol version 5 or higher. "
                "Consider setting Cluster.protocol_version.")


class QueryMessage(_QueryMessage):
    opcode = _wire.OPCODE_QUERY
    name = "QUERY"

    def __init__(self, query, consistency_level, serial_consistency_level=None, fetch_size=None,
                 paging_state=None, timestamp=None, continuous_paging_options=None,
                 keyspace=None):
        self.query = query
        super().__init__(None, consistency_level, serial_consistency_level, fetch_size,
                         paging_state, timestamp, False, continuous_paging_options, keyspace)

    def encode_frame(self, stream_id, protocol_version, beta):
        self._check(protocol_version)
        return _m.encode_query_frame(
            stream_id, protocol_version, self.query, self.consistency_level, self.query_params,
            self.serial_consistency_level, self.fetch_size, self.paging_state, self.timestamp,
            False, self.keyspace, None, self.tracing, self.custom_payload, beta)


class ExecuteMessage(_m.ExecuteFields, _QueryMessage):
    """EXECUTE (spec 4.1.6).  Its fields live in the compiled ``ExecuteFields`` base (the
    encoder reads them at C level); the constructor is the reference's."""
    opcode = _wire.OPCODE_EXECUTE
    name = "EXECUTE"

    def encode_frame(self, stream_id, protocol_version, beta):
        # The general path (ProtocolHandler takes the compiled one for an exact ExecuteMessage):
        # attributes are read in Python, so a subclass's class-level overrides count.
        self._check(protocol_version)
        return _m.encode_execute_frame(
            stream_id, protocol_version, self.query_id, self.query_params, self.consistency_level,
            self.serial_consistency_level, self.fetch_size, self.paging_state, self.timestamp,
            self.skip_meta, self.result_metadata_id, None, self.tracing, self.custom_payload, beta)

    def __repr__(self):
        fields = ("query_id", "query_params", "consistency_level", "serial_consistency_level",
                  "fetch_size", "paging_state", "timestamp", "skip_meta",
                  "continuous_paging_options", "result_metadata_id", "tracing", "custom_payload")
        params = ", ".join("%s=%r" % (name, getattr(self, name)) for name in fields)
        rest = _MessageType.__repr__(self)  # what else was set on this message (stream_id...)
        rest = rest[rest.index("(") + 1:-2]
        return "<%s(%s%s)>" % (self.__class__.__name__, params, ", " + rest if rest else "")


class PrepareMessage(_MessageType):
    opcode = _wire.OPCODE_PREPARE
    name = "PREPARE"

    def __init__(self, query, keyspace=None):
        self.query = query
        self.keyspace = keyspace

    def encode_frame(self, stream_id, protocol_version, beta):
        self._check_payload(protocol_version)
        if self.keyspace is not None and not ProtocolVersion.uses_keyspace_flag(protocol_version):
            raise UnsupportedOperation(
                "Keyspaces may only be set on queries with protocol version 5 or higher. "
                "Consider setting Cluster.protocol_version.")
        return _m.encode_prepare_frame(stream_id, protocol_version, self.query, self.keyspace,
                                       self.tracing, self.custom_payload, beta)


class BatchMessage(_MessageType):
    opcode = _wire.OPCODE_BATCH
    name = "BATCH"

    def __init__(self, batch_type, queries, consistency_level, serial_consistency_level=None,
                 timestamp=None, keyspace=None):
        self.batch_type = batch_type
        self.queries = queries
        self.consistency_level = consistency_level
        self.serial_consistency_level = serial_consistency_level
        self.timestamp = timestamp
        self.keyspace = keyspace

    def encode_frame(self, stream_id, protocol_version, beta):
        self._check_payload(protocol_version)
        if self.keyspace and not ProtocolVersion.uses_keyspace_flag(protocol_version):
            raise UnsupportedOperation(
                "Keyspaces may only be set on queries with protocol version 5 or higher. "
                "Consider setting Cluster.protocol_version to 5.")
        return _m.encode_batch_frame(
            stream_id, protocol_version, self.batch_type, self.queries, self.consistency_level,
            self.serial_consistency_level, self.timestamp, self.keyspace, None, self.tracing,
            self.custom_payload, beta)


known_event_types = frozenset((_wire.EVENT_TOPOLOGY_CHANGE, _wire.EVENT_STATUS_CHANGE,
                               _wire.EVENT_SCHEMA_CHANGE))


class RegisterMessage(_MessageType):
    opcode = _wire.OPCODE_REGISTER
    name = "REGISTER"

    def __init__(self, event_list):
        self.event_list = event_list

    def encode_frame(self, stream_id, protocol_version, beta):
        return _m.encode_register_frame(stream_id, protocol_version, self.event_list, beta)


def _read_schema_change(reader: BodyReader) -> dict:
    # spec 4.2.6: <change_type><target><options>; <options> is <keyspace> for KEYSPACE,
    # <keyspace><name> for TABLE and TYPE, <keyspace><name><argument types> for FUNCTION and
    # AGGREGATE.
    change_type = reader.read_string()
    target = reader.read_string()
    event = {"target_type": target, "change_type": change_type,
             "keyspace": reader.read_string()}
    if target != SchemaTargetType.KEYSPACE:
        target_name = reader.read_string()
        if target == SchemaTargetType.FUNCTION:
            event["function"] = UserFunctionDescriptor(target_name, reader.read_string_list())
        elif target == SchemaTargetType.AGGREGATE:
            event["aggregate"] = UserAggregateDescriptor(target_name, reader.read_string_list())
        else:
            event[target.lower()] = target_name
    return event


class EventMessage(_MessageType):
    opcode = _wire.OPCODE_EVENT
    name = "EVENT"

    def __init__(self, event_type: str, event_args: dict):
        self.event_type = event_type
        self.event_args = event_args

    @classmethod
    def recv_body(cls, reader, protocol_version, *args):
        event_type = reader.read_string().upper()
        if event_type == _wire.EVENT_SCHEMA_CHANGE:
            return cls(event_type, _read_schema_change(reader))
        if event_type in (_wire.EVENT_TOPOLOGY_CHANGE, _wire.EVENT_STATUS_CHANGE):
            change_type = reader.read_string()
            return cls(event_type, {"change_type": change_type, "address": reader.read_inet()})
        raise NotSupportedError("Unknown event type %r" % event_type)

    @classmethod
    def recv_schema_change(cls, reader, protocol_version):
        return _read_schema_change(reader)


# ---------------------------------------------------------------------------------------------
# RESULT (spec 4.2.5)



class ResultMessage(_MessageType):
    opcode = _wire.OPCODE_RESULT
    name = "RESULT"

    kind = None
    column_names = None
    column_types = None
    parsed_rows = None
    paging_state = None
    continuous_paging_seq = None
    continuous_paging_last = None
    new_keyspace = None
    column_metadata = None
    result_metadata = None
    result_metadata_id = None
    query_id = None
    bind_metadata = None
    pk_indexes = None
    schema_change_event = None

    def __init__(self, kind: int):
        self.kind = kind

    @classmethod
    def recv_body(cls, reader, protocol_version, user_type_map, result_metadata, *args,
                  row_factory=None):
        return decode_result(reader.body, reader.pos, protocol_version, user_type_map,
                             result_metadata, row_factory)


def decode_result(body: bytes, pos: int, protocol_version: int, user_type_map: Optional[dict],
                  result_metadata=None, row_factory: Optional[Callable] = None) -> ResultMessage:
    """Decode the RESULT body that starts at ``pos`` (after the frame prelude)."""
    reader = BodyReader(body, pos)
    kind = reader.read_int()
    if kind == RESULT_KIND_ROWS or kind == RESULT_KIND_PREPARED:
        types = _types_module
        try:
            return _decode_typed_result(types, kind, reader, protocol_version, user_type_map,
                                        result_metadata, row_factory)
        except types.DecodeError as exc:
            # Malformed metadata or cell bytes from the server: a protocol error like any other.
            raise ResultDecodeError("RESULT body could not be decoded: %s" % (exc,)) from exc
    msg = ResultMessage(kind)
    if kind == RESULT_KIND_VOID:
        return msg
    if kind == RESULT_KIND_SET_KEYSPACE:
        msg.new_keyspace = reader.read_string()
        return msg
    if kind == RESULT_KIND_SCHEMA_CHANGE:
        msg.schema_change_event = _read_schema_change(reader)
        return msg
    raise NotSupportedError("Unknown RESULT kind: %d" % kind)


def _decode_typed_result(types, kind, reader, protocol_version, user_type_map, result_metadata,
                         row_factory):
    body = reader.body
    msg = ResultMessage(kind)
    if kind == RESULT_KIND_ROWS:
        metadata, paging_state, new_id, _count, pos = types.parse_result_metadata(
            body, reader.pos, protocol_version, user_type_map)
        msg.paging_state = paging_state
        msg.column_metadata = metadata
        if new_id is not None:
            msg.result_metadata_id = new_id
        if metadata is None:
            if result_metadata is None:
                raise DriverException("the server skipped the result metadata (NO_METADATA) but "
                                      "no prepared result metadata was given to decode the rows")
            metadata = result_metadata
        msg.result_metadata = metadata
        msg.column_names = list(metadata.column_names)
        msg.column_types = list(metadata.column_types)
        msg.parsed_rows = types.decode_rows(body, pos, metadata, row_factory or _tuple_factory,
                                            protocol_version)
        return msg
    # spec 4.2.5.4: <id>[<result_metadata_id> (v5)]<metadata><result_metadata>
    msg.query_id = reader.read_short_bytes()
    if ProtocolVersion.uses_prepared_metadata(protocol_version):
        msg.result_metadata_id = reader.read_short_bytes()
    msg.bind_metadata, msg.pk_indexes, pos = types.parse_prepared_metadata(
        body, reader.pos, protocol_version, user_type_map)
    metadata, _paging, _new_id, _count, pos = types.parse_result_metadata(
        body, pos, protocol_version, user_type_map)
    msg.column_metadata = msg.result_metadata = metadata
    return msg


# ---------------------------------------------------------------------------------------------
# Compression for v3/v4 frame bodies lives in cassfast.compression (re-exported here, as
# the reference's connection module exports it).


# ---------------------------------------------------------------------------------------------

class _ProtocolHandler:
    """Encodes request messages to frames and decodes response frames to messages.

    ``message_types_by_opcode`` maps response opcodes to classes with a ``recv_body(reader,
    protocol_version, user_type_map, result_metadata, column_encryption_policy)`` classmethod,
    as in the reference, so a subclass can swap one in.
    """

    message_types_by_opcode = _message_types_by_opcode.copy()
    # Kept for API compatibility; client-side column encryption is not implemented, so it must
    # stay None.
    column_encryption_policy = None

    @classmethod
    def encode_message(cls, msg, stream_id: int, protocol_version: int,
                       compressor: Optional[Callable], allow_beta_protocol_version: bool) -> bytes:
        """The complete frame for ``msg``; the body is compressed with ``compressor`` on v3/v4
        (on v5 compression happens per segment, so ``compressor`` is ignored)."""
        frame = None
        if type(msg) is ExecuteMessage:
            frame = _encode_execute_message(msg, stream_id, protocol_version,
                                            allow_beta_protocol_version)
        if frame is None:
            frame = msg.encode_frame(stream_id, protocol_version, allow_beta_protocol_version)
        if compressor is not None and not ProtocolVersion.has_checksumming_support(protocol_version):
            frame = _m.compress_frame(frame, compressor)
        return frame

    @classmethod
    def decode_message(cls, protocol_version: int, user_type_map: Optional[dict],
                       stream_id: int, flags: int, opcode: int, body: bytes,
                       decompressor: Optional[Callable], result_metadata,
                       row_factory: Optional[Callable] = None):
        """The message for one response frame (see the module docstring for ``row_factory``)."""
        if not flags and cls.message_types_by_opcode.get(opcode) is ResultMessage:
            # The common answer (a RESULT without prelude or compression): straight to the body.
            if body == _VOID_BODY:
                msg = ResultMessage(RESULT_KIND_VOID)
            else:
                msg = decode_result(body if type(body) is bytes else bytes(body), 0,
                                    protocol_version, user_type_map, result_metadata, row_factory)
            msg.stream_id = stream_id
            return msg
        if flags & COMPRESSED_FLAG and not ProtocolVersion.has_checksumming_support(protocol_version):
            if decompressor is None:
                raise ProtocolError("received a compressed frame but no compression was "
                                    "negotiated")
            body = decompressor(body)
            flags ^= COMPRESSED_FLAG
        if type(body) is not bytes:
            body = bytes(body)
        if flags & _PRELUDE_FLAGS:
            trace, warnings, custom_payload, pos = read_response_prelude(flags, body)
        else:
            trace = warnings = custom_payload = None
            pos = 0
        try:
            msg_class = cls.message_types_by_opcode[opcode]
        except KeyError:
            raise ProtocolError("unknown response opcode 0x%02x" % opcode) from None
        if msg_class is ResultMessage:
            msg = decode_result(body, pos, protocol_version, user_type_map, result_metadata,
                                row_factory)
        else:
            reader = BodyReader(body, pos)
            if not hasattr(msg_class, "recv_body"):
                raise ProtocolError("opcode 0x%02x (%s) is a request, not a response"
                                    % (opcode, msg_class.name))
            msg = msg_class.recv_body(reader, protocol_version, user_type_map, result_metadata,
                                      cls.column_encryption_policy)
        msg.stream_id = stream_id
        # trace_id, custom_payload and warnings default to None on the class; set when present.
        if trace is not None:
            msg.trace_id = UUID(bytes=trace)
        if custom_payload is not None:
            msg.custom_payload = custom_payload
        if warnings is not None:
            msg.warnings = warnings
            for w in warnings:
                log.warning("Server warning: %s", w)
        return msg


_encode_execute_message = _m.encode_execute_message
_VOID_BODY = RESULT_KIND_VOID.to_bytes(4, "big")  # a VOID RESULT's whole body: its [int] kind
ProtocolHandler = _ProtocolHandler
# The reference's alternative handlers (lazy and NumPy row parsers) do not exist here; like the
# reference when they are unavailable, the names are None.
LazyProtocolHandler = None
NumpyProtocolHandler = None


# cassandra.query.UNSET_VALUE is cassandra.protocol._UNSET_VALUE in the reference.
_UNSET_VALUE = UNSET_VALUE


# The reference's cassandra.protocol exposes the type descriptors and byte helpers it imports.
HAVE_CYTHON = True  # cassfast's codecs are always compiled
HAVE_NUMPY = False  # no NumpyProtocolHandler (see the README's compatibility section)
from cassfast.type_codes import CUSTOM_TYPE  # noqa: E402,F401
from cassfast.cqltypes import (  # noqa: E402,F401
    AsciiType, BooleanType, ByteType, BytesType, CounterColumnType, DateType, DecimalType,
    DoubleType, DurationType, FloatType, InetAddressType, Int32Type, IntegerType, ListType,
    LongType, MapType, SetType, ShortType, SimpleDateType, TimeType, TimeUUIDType, TupleType,
    UserType, UTF8Type, UUIDType, VarcharType, lookup_casstype)
from cassfast.marshal import int8_unpack, int32_unpack, uint16_unpack, uint32_le_unpack  # noqa: E402,F401
