"""Type stubs for the compiled cassfast._types (result metadata, rows, bind values)."""
from typing import Any, Callable, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from cassfast._types_codecs import Codec as Codec
from cassfast._types_codecs import DecodeError as DecodeError
from cassfast._types_codecs import codec_for as codec_for

class _UnsetValue:
    def __bool__(self) -> bool: ...

UNSET_VALUE: _UnsetValue

class ColumnMetadata(NamedTuple):
    keyspace_name: Optional[str]
    table_name: Optional[str]
    name: str
    type: Any

UserTypeMap = Optional[Mapping[str, Mapping[str, type]]]
RowFactory = Callable[[List[str], List[tuple]], Any]

class ResultMetadata:
    column_names: Tuple[str, ...]
    column_types: Tuple[Any, ...]
    col_specs: Tuple[ColumnMetadata, ...]
    keyspace: Optional[str]
    table: Optional[str]
    column_count: int
    def __init__(self, col_specs: Sequence[Tuple[Optional[str], Optional[str], str, Any]]) -> None: ...
    @property
    def row_class(self) -> type: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[ColumnMetadata]: ...
    def __getitem__(self, index: int) -> ColumnMetadata: ...

def read_type_option(body: bytes, pos: int, user_type_map: UserTypeMap = ...) -> Tuple[Any, int]: ...
def parse_result_metadata(
    body: bytes, pos: int, protocol_version: int, user_type_map: UserTypeMap = ...
) -> Tuple[Optional[ResultMetadata], Optional[bytes], Optional[bytes], int, int]: ...
def parse_prepared_metadata(
    body: bytes, pos: int, protocol_version: int, user_type_map: UserTypeMap = ...
) -> Tuple[ResultMetadata, Optional[List[int]], int]: ...
def decode_rows(body: bytes, pos: int, metadata: ResultMetadata, row_factory: RowFactory,
                protocol_version: int) -> Any: ...
def encode_values(bind_metadata: ResultMetadata, values: Union[Sequence[Any], Mapping[str, Any], None],
                  protocol_version: int) -> List[Union[bytes, None, _UnsetValue]]: ...
def clear_caches() -> None: ...
