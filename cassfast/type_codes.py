"""Option ids of the CQL types in RESULT metadata (``cassandra.type_codes``).

The values are the ``[option]`` ids of native_protocol_v5.spec section 6 ("Type codes";
section 4.2.5.2 of the v4 spec), named after the reference driver's type descriptors.  The values
are defined once, in ``cassfast/_wire.pxd`` (the compiled metadata decoder cimports them from
there; ``cassfast._wire`` is its Python mirror); this module gives them the reference's names.
"""
from cassfast import _wire

CUSTOM_TYPE = _wire.OPTION_CUSTOM
AsciiType = _wire.OPTION_ASCII
LongType = _wire.OPTION_BIGINT
BytesType = _wire.OPTION_BLOB
BooleanType = _wire.OPTION_BOOLEAN
CounterColumnType = _wire.OPTION_COUNTER
DecimalType = _wire.OPTION_DECIMAL
DoubleType = _wire.OPTION_DOUBLE
FloatType = _wire.OPTION_FLOAT
Int32Type = _wire.OPTION_INT
UTF8Type = _wire.OPTION_TEXT
DateType = _wire.OPTION_TIMESTAMP
UUIDType = _wire.OPTION_UUID
VarcharType = _wire.OPTION_VARCHAR  # v4/v5's text; UTF8Type (0x000A) is the Text of v1/v2
IntegerType = _wire.OPTION_VARINT
TimeUUIDType = _wire.OPTION_TIMEUUID
InetAddressType = _wire.OPTION_INET
SimpleDateType = _wire.OPTION_DATE
TimeType = _wire.OPTION_TIME
ShortType = _wire.OPTION_SMALLINT
ByteType = _wire.OPTION_TINYINT
DurationType = _wire.OPTION_DURATION
ListType = _wire.OPTION_LIST
MapType = _wire.OPTION_MAP
SetType = _wire.OPTION_SET
UserType = _wire.OPTION_UDT
TupleType = _wire.OPTION_TUPLE
