import threading
from typing import Any, Callable, Dict, List, Optional

from cassfast._resultset import ResultSet

NOT_DONE: object
LANE_MOVE_ON: object
LANE_HANDLED: object
callback_lock: threading.Lock

def _allocate_lock() -> threading.Lock: ...
def _resolve_aio(loop: Any, afut: Any, future: Any) -> None: ...

class ResponseFutureCore:
    query: Any
    session: Any
    row_factory: Any
    message: Any
    prepared_statement: Any
    coordinator_host: Any
    attempted_hosts: List[Any]
    timeout: Optional[float]
    default_timeout: Optional[float]
    is_schema_agreed: bool
    _final_result: Any
    _final_exception: Optional[BaseException]
    _callbacks: Optional[list]
    _errbacks: Optional[list]
    _waiters: Optional[list]
    _aio_waiters: Optional[list]
    _engine: Any
    _load_balancer: Any
    _host: Any
    _loop_thread: Any
    _timer: Any
    _current_host: Any
    _current_pool: Any
    _current_connection: Any
    _current_stream: Optional[int]
    _paging_state: Optional[bytes]
    _col_names: Optional[List[str]]
    _col_types: Optional[list]
    _warnings: Optional[List[str]]
    _custom_payload: Optional[Dict[str, bytes]]
    _query_traces: Optional[list]
    _spec_plan: Any
    _sync_lanes: bool
    _lane_deadline: Optional[float]
    _metrics: Any
    _tracker: Any
    _throttler: Any
    _metrics_start: float
    _queued_at: float
    _speculative_executions: int
    _page: int
    _page_first_attempt: int

    def __init__(self, session: Any, message: Any, query: Any, timeout: Optional[float],
                 metrics: Any = ..., prepared_statement: Any = ..., retry_policy: Any = ...,
                 row_factory: Any = ..., load_balancer: Any = ..., start_time: Any = ...,
                 speculative_execution_plan: Any = ..., continuous_paging_state: Any = ...,
                 host: Any = ...) -> None: ...
    @property
    def _errors(self) -> dict: ...
    @property
    def _query_retries(self) -> int: ...
    def _start(self) -> None: ...
    def _run_blocking(self, use_lanes: bool) -> ResultSet[Any]: ...
    def send_request(self, error_no_hosts: bool = ...) -> bool: ...
    def _submit(self, fn: Callable[[], object]) -> None: ...
    def _send_next(self) -> None: ...
    def _send_to(self, host: Any, pool: Any) -> bool: ...
    def _on_timeout(self) -> None: ...
    def _on_response(self, response: Any) -> None: ...
    def _handle_response(self, host: Any, connection: Any, response: Any) -> None: ...
    def _finish(self, result: Any, exc: Optional[BaseException]) -> None: ...
    def _reset_for_next_page(self) -> None: ...
    def _wait_on(self, lock: threading.Lock) -> None: ...
    def done(self) -> bool: ...
    def result(self) -> ResultSet[Any]: ...
    def add_callback(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Any: ...
    def add_errback(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Any: ...
    def add_callbacks(self, callback: Callable[..., object], errback: Callable[..., object],
                      callback_args: tuple = ..., callback_kwargs: Optional[Dict[str, Any]] = ...,
                      errback_args: tuple = ...,
                      errback_kwargs: Optional[Dict[str, Any]] = ...) -> None: ...
    def clear_callbacks(self) -> None: ...
    @property
    def has_more_pages(self) -> bool: ...
    @property
    def warnings(self) -> Optional[List[str]]: ...
    @property
    def custom_payload(self) -> Optional[Dict[str, bytes]]: ...
