"""Option ids of the CQL types in RESULT metadata (``cassandra.type_codes``).

The values are the ``[option]`` ids of native_protocol_v5.spec section 6 ("Type codes";
section 4.2.5.2 of the v4 spec), named after the reference driver's type descriptors.  cassfast's
compiled decoder has its own copy (``_types.read_type_option``); this module is for code that
imports the reference's names.
"""

CUSTOM_TYPE = 0x0000
AsciiType = 0x0001
LongType = 0x0002
BytesType = 0x0003
BooleanType = 0x0004
CounterColumnType = 0x0005
DecimalType = 0x0006
DoubleType = 0x0007
FloatType = 0x0008
Int32Type = 0x0009
UTF8Type = 0x000A
DateType = 0x000B
UUIDType = 0x000C
VarcharType = 0x000D  # Cassandra sends text columns as UTF8Type (0x000A)
IntegerType = 0x000E
TimeUUIDType = 0x000F
InetAddressType = 0x0010
SimpleDateType = 0x0011
TimeType = 0x0012
ShortType = 0x0013
ByteType = 0x0014
DurationType = 0x0015
ListType = 0x0020
MapType = 0x0021
SetType = 0x0022
UserType = 0x0030
TupleType = 0x0031
