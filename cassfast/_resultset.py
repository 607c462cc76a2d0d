"""``ResultSet``: the rows of a result, page by page (public as ``cassfast.cluster.ResultSet``).

It wraps a finished ``ResponseFuture`` (``cassfast._request``) and its first page; further pages
come from that future (``_fetch_next_page_and_wait`` blocking, ``start_fetching_next_page`` and
``await`` for ``async for``).  It sits below ``_request`` and only reads the future's
attributes, so ``ResponseFuture.result()`` builds one without importing ``cluster``.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, AsyncIterator, Generic, Iterator, List, TypeVar

from cassfast import _logger_for
from cassfast import query as _query
from cassfast.query import QueryTrace

if TYPE_CHECKING:
    # Typing only (allowlisted in tests/unit/test_layering.py): _request imports this module.
    from cassfast._request import ResponseFuture

log = _logger_for(__name__)

_RowT = TypeVar("_RowT")


class ResultSet(Generic[_RowT]):
    """The rows of a result, page by page.  Iterating fetches further pages transparently.

    For type checkers a ``ResultSet[R]`` holds rows of type ``R``, decided by the row factory of
    the execution profile (see ``ExecutionProfile``); ``ResultSet[Any]`` otherwise."""

    def __init__(self, response_future: ResponseFuture[_RowT], initial_response: Any) -> None:
        self.response_future = response_future
        self.column_names = response_future._col_names
        self.column_types = response_future._col_types
        self._raw = initial_response
        if initial_response.__class__ is list:  # decoded rows: the common case
            self._current_rows = initial_response
        elif initial_response is None:  # a write
            self._current_rows = []
        else:
            self._set_current_rows(initial_response)

    # Set per instance once the rows are iterated or listed.
    _page_iter = None
    _list_mode = False

    def _set_current_rows(self, result: Any) -> None:
        if isinstance(result, (list, tuple)):
            self._current_rows = result
        elif result is None or not hasattr(result, "__iter__") or hasattr(result, "kind"):
            self._current_rows = []
        else:
            self._current_rows = list(result)

    @property
    def has_more_pages(self) -> bool:
        return self.response_future.has_more_pages

    @property
    def current_rows(self) -> List[_RowT]:
        return self._current_rows or []

    @property
    def paging_state(self) -> bytes | None:
        return self.response_future._paging_state

    def all(self) -> List[_RowT]:
        return list(self)

    def one(self) -> _RowT | None:
        rows = self.current_rows
        return rows[0] if rows else None

    def __iter__(self) -> Iterator[_RowT]:
        if self._list_mode:
            return iter(self._current_rows)
        self._page_iter = iter(self._current_rows)
        return self

    def next(self) -> _RowT:
        try:
            return next(self._page_iter)  # type: ignore[call-overload]
        except StopIteration:
            if not self.response_future.has_more_pages:
                if not self._list_mode:
                    self._current_rows = []
                raise
        if not self.response_future._paging_state:
            raise StopIteration
        self.fetch_next_page()
        self._page_iter = iter(self._current_rows)
        return self.next()

    __next__ = next

    def fetch_next_page(self) -> None:
        if self.response_future.has_more_pages:
            result = self.response_future._fetch_next_page_and_wait()
            self._current_rows = result._current_rows
        else:
            self._current_rows = []

    def __aiter__(self) -> AsyncIterator[_RowT]:
        return _AsyncRowIterator(self)

    def _fetch_all(self) -> None:
        self._current_rows = list(self)
        self._page_iter = None

    def __eq__(self, other: object) -> bool:
        self._enter_list_mode("equality operator")
        return self._current_rows == other

    __hash__ = object.__hash__

    def __getitem__(self, i: int) -> _RowT:
        if i == 0:
            # The reference's deprecation, kept so that code and tests watching for it see it.
            warnings.warn("ResultSet indexing support will be removed in 4.0 (as in cassandra-driver); "
                          "use ResultSet.one() to get a single row", DeprecationWarning, stacklevel=2)
        self._enter_list_mode("index operator")
        return self._current_rows[i]

    def __nonzero__(self) -> bool:
        return bool(self._current_rows)

    __bool__ = __nonzero__

    def _enter_list_mode(self, operator: str) -> None:
        if self._list_mode:
            return
        if self._page_iter is not None:
            raise RuntimeError("Cannot use %s when results have been iterated." % operator)
        if self.response_future.has_more_pages:
            log.warning("Using %s on paged results causes entire result set to be materialized.", operator)
        self._fetch_all()
        self._list_mode = True

    def get_query_trace(self, max_wait_sec: float | None = None) -> QueryTrace | None:
        return self.response_future.get_query_trace(max_wait_sec)

    def get_all_query_traces(self, max_wait_sec_per: float | None = None) -> List[QueryTrace]:
        return self.response_future.get_all_query_traces(max_wait_sec_per)

    @property
    def was_applied(self) -> bool:
        """For a conditional (LWT) statement: whether the write was applied (``[applied]`` column)."""
        q = _query
        if self.response_future.row_factory not in (q.named_tuple_factory, q.dict_factory, q.tuple_factory,
                                                     q.ordered_dict_factory):
            raise RuntimeError("Cannot determine LWT result with row factory %s"
                               % (self.response_future.row_factory,))
        is_batch = isinstance(self.response_future.query, q.BatchStatement)
        if is_batch and (not self.column_names or self.column_names[0] != "[applied]"):
            return True
        rows = self.current_rows
        if len(rows) != 1 and not is_batch:
            raise RuntimeError("LWT result should have exactly one row. This has %d." % len(rows))
        if not rows:
            return True
        row = rows[0]
        if isinstance(row, tuple):
            return row[0]
        return row["[applied]"]

    def cancel_continuous_paging(self) -> None:
        pass

    def __repr__(self) -> str:
        return "<ResultSet rows=%d has_more_pages=%s>" % (len(self._current_rows or []), self.has_more_pages)


class _AsyncRowIterator(Generic[_RowT]):
    """``async for row in result_set``: awaits each further page instead of blocking."""

    def __init__(self, result_set: ResultSet[_RowT]) -> None:
        self._rs = result_set
        self._iter = iter(result_set.current_rows)

    def __aiter__(self) -> _AsyncRowIterator[_RowT]:
        return self

    async def __anext__(self) -> _RowT:
        while True:
            try:
                return next(self._iter)
            except StopIteration:
                pass
            future = self._rs.response_future
            if not future.has_more_pages:
                raise StopAsyncIteration
            future.start_fetching_next_page()
            page = await future
            self._rs._current_rows = page._current_rows
            self._iter = iter(page._current_rows)
