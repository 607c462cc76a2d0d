from typing import Any, Callable, Dict, Iterator, Optional

from cassfast import OperationTimedOut
from cassfast._errors import NoHostAvailable

NOTHING: int
COMPLETE_ROWS: int
COMPLETE: int
FAIL: int
RESEND: int
NEXT_HOST: int
REPREPARE: int
SET_KEYSPACE: int
SCHEMA_CHANGE: int
ACTION_NAMES: Dict[int, str]
TIMEOUT_MESSAGE: str

class RequestEngine:
    query: Any
    message: Any
    retry_policy: Any
    prepared: Any
    metrics: Any
    prepared_lookup: Optional[Callable[[bytes], Any]]
    protocol_version: int
    result_metadata: Any
    errors: Dict[Any, Any]
    retries: int
    payload: Any
    defunct: Optional[BaseException]
    plan: Iterator[Any]
    def __init__(self, query: Any, message: Any, retry_policy: Any, prepared: Any = ...,
                 metrics: Any = ..., prepared_lookup: Optional[Callable[[bytes], Any]] = ...,
                 protocol_version: Optional[int] = ...) -> None: ...
    def start(self, plan: Any) -> None: ...
    def next_host(self) -> Any: ...
    def host_failed(self, host: Any, exc: Any, keep_first: bool = ...) -> None: ...
    def no_host_available(self) -> NoHostAvailable: ...
    def timed_out(self, host: Any) -> OperationTimedOut: ...
    def reset_for_page(self) -> None: ...
    def on_answer(self, host: Any, answer: Any) -> int: ...
    def speculative_answer_wins(self, host: Any, answer: Any) -> bool: ...
    def on_result(self, response: Any) -> int: ...
    def on_reprepared(self, host: Any, answer: Any) -> int: ...
