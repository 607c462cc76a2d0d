# Native protocol constants: THE one definition (native_protocol_v4.spec / v5.spec sections
# cited).  The compiled core cimports them from here; cassfast/_wire.py is their Python mirror,
# checked value for value against this file by tests/unit/test_wire_constants.py.

# Opcodes (spec 2.4).
cdef enum:
    OPCODE_ERROR = 0x00
    OPCODE_STARTUP = 0x01
    OPCODE_READY = 0x02
    OPCODE_AUTHENTICATE = 0x03
    OPCODE_CREDENTIALS = 0x04
    OPCODE_OPTIONS = 0x05
    OPCODE_SUPPORTED = 0x06
    OPCODE_QUERY = 0x07
    OPCODE_RESULT = 0x08
    OPCODE_PREPARE = 0x09
    OPCODE_EXECUTE = 0x0A
    OPCODE_REGISTER = 0x0B
    OPCODE_EVENT = 0x0C
    OPCODE_BATCH = 0x0D
    OPCODE_AUTH_CHALLENGE = 0x0E
    OPCODE_AUTH_RESPONSE = 0x0F
    OPCODE_AUTH_SUCCESS = 0x10

# Frame header flags (spec 2.2).
cdef enum:
    COMPRESSED_FLAG = 0x01
    TRACING_FLAG = 0x02
    CUSTOM_PAYLOAD_FLAG = 0x04
    WARNING_FLAG = 0x08
    USE_BETA_FLAG = 0x10

# RESULT kinds (spec 4.2.5).
cdef enum:
    RESULT_KIND_VOID = 0x0001
    RESULT_KIND_ROWS = 0x0002
    RESULT_KIND_SET_KEYSPACE = 0x0003
    RESULT_KIND_PREPARED = 0x0004
    RESULT_KIND_SCHEMA_CHANGE = 0x0005

# ERROR codes (spec 9).
cdef enum:
    ERR_SERVER_ERROR = 0x0000
    ERR_PROTOCOL_ERROR = 0x000A
    ERR_BAD_CREDENTIALS = 0x0100
    ERR_UNAVAILABLE = 0x1000
    ERR_OVERLOADED = 0x1001
    ERR_IS_BOOTSTRAPPING = 0x1002
    ERR_TRUNCATE_ERROR = 0x1003
    ERR_WRITE_TIMEOUT = 0x1100
    ERR_READ_TIMEOUT = 0x1200
    ERR_READ_FAILURE = 0x1300
    ERR_FUNCTION_FAILURE = 0x1400
    ERR_WRITE_FAILURE = 0x1500
    ERR_CDC_WRITE_FAILURE = 0x1600
    ERR_CAS_WRITE_UNKNOWN = 0x1700
    ERR_SYNTAX_ERROR = 0x2000
    ERR_UNAUTHORIZED = 0x2100
    ERR_INVALID = 0x2200
    ERR_CONFIG_ERROR = 0x2300
    ERR_ALREADY_EXISTS = 0x2400
    ERR_UNPREPARED = 0x2500

# Stream ids (spec 2.3): a signed [short]; a client uses 0..MAX_STREAM_ID, the server's events
# come on negative ids (EVENT_STREAM_ID).
cdef enum:
    MAX_STREAM_ID = 32767
    MIN_STREAM_ID = -32768
    EVENT_STREAM_ID = -1

# Frame header, byte 0 (spec 2.1): the direction bit and the protocol version.
cdef enum:
    HEADER_DIRECTION_FROM_CLIENT = 0x00
    HEADER_DIRECTION_TO_CLIENT = 0x80
    HEADER_DIRECTION_MASK = 0x80
    PROTOCOL_VERSION_MASK = 0x7F

# <query_parameters> flags of QUERY and EXECUTE (v4 spec 4.1.4, a [byte]; v5 spec 4.1.4, an
# [int]); BATCH (4.1.7) uses those from WITH_SERIAL_CONSISTENCY on, at the same values.
cdef enum:
    QUERY_FLAG_VALUES = 0x01
    QUERY_FLAG_SKIP_METADATA = 0x02
    QUERY_FLAG_PAGE_SIZE = 0x04
    QUERY_FLAG_WITH_PAGING_STATE = 0x08
    QUERY_FLAG_WITH_SERIAL_CONSISTENCY = 0x10
    QUERY_FLAG_WITH_DEFAULT_TIMESTAMP = 0x20
    QUERY_FLAG_WITH_NAMES_FOR_VALUES = 0x40
    QUERY_FLAG_WITH_KEYSPACE = 0x80
    QUERY_FLAG_WITH_NOW_IN_SECONDS = 0x100

# PREPARE <flags> (v5 spec 4.1.5).
cdef enum:
    PREPARE_FLAG_WITH_KEYSPACE = 0x01

# BATCH <type> (spec 4.1.7).
cdef enum:
    BATCH_TYPE_LOGGED = 0
    BATCH_TYPE_UNLOGGED = 1
    BATCH_TYPE_COUNTER = 2

# RESULT Rows and Prepared <metadata> <flags> (v5 spec 4.2.5.2, 4.2.5.4).
cdef enum:
    ROWS_FLAG_GLOBAL_TABLES_SPEC = 0x0001
    ROWS_FLAG_HAS_MORE_PAGES = 0x0002
    ROWS_FLAG_NO_METADATA = 0x0004
    ROWS_FLAG_METADATA_CHANGED = 0x0008

# [option] ids of the CQL types in result and prepared metadata (v5 spec 4.2.5.2; 0x000A is the
# Text of protocols v1/v2, absent from the v4/v5 list, still read as UTF8Type).
cdef enum:
    OPTION_CUSTOM = 0x0000
    OPTION_ASCII = 0x0001
    OPTION_BIGINT = 0x0002
    OPTION_BLOB = 0x0003
    OPTION_BOOLEAN = 0x0004
    OPTION_COUNTER = 0x0005
    OPTION_DECIMAL = 0x0006
    OPTION_DOUBLE = 0x0007
    OPTION_FLOAT = 0x0008
    OPTION_INT = 0x0009
    OPTION_TEXT = 0x000A
    OPTION_TIMESTAMP = 0x000B
    OPTION_UUID = 0x000C
    OPTION_VARCHAR = 0x000D
    OPTION_VARINT = 0x000E
    OPTION_TIMEUUID = 0x000F
    OPTION_INET = 0x0010
    OPTION_DATE = 0x0011
    OPTION_TIME = 0x0012
    OPTION_SMALLINT = 0x0013
    OPTION_TINYINT = 0x0014
    OPTION_DURATION = 0x0015
    OPTION_LIST = 0x0020
    OPTION_MAP = 0x0021
    OPTION_SET = 0x0022
    OPTION_UDT = 0x0030
    OPTION_TUPLE = 0x0031
