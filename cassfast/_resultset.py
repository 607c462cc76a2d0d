"""``ResultSet``: the rows of a result, page by page (public as ``cassfast.cluster.ResultSet``).

It wraps a finished ``ResponseFuture`` (``cassfast._request``) and its first page; further pages
come from that future (``_fetch_next_page_and_wait`` blocking, ``start_fetching_next_page`` and
``await`` for ``async for``).  It sits below ``_request`` and only reads the future's
attributes, so ``ResponseFuture.result()`` builds one without importing ``cluster``.
"""
from __future__ import annotations

import logging
import warnings
from typing import Iterator

from cassfast import query as _query

log = logging.getLogger(__name__)


class ResultSet:
    """The rows of a result, page by page.  Iterating fetches further pages transparently."""

    def __init__(self, response_future: ResponseFuture, initial_response) -> None:
        self.response_future = response_future
        self.column_names = response_future._col_names
        self.column_types = response_future._col_types
        self._raw = initial_response
        if initial_response.__class__ is list:  # decoded rows: the common case
            self._current_rows = initial_response
        else:
            self._set_current_rows(initial_response)
        self._page_iter = None
        self._list_mode = False

    def _set_current_rows(self, result) -> None:
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
    def current_rows(self) -> list:
        return self._current_rows or []

    @property
    def paging_state(self):
        return self.response_future._paging_state

    def all(self) -> list:
        return list(self)

    def one(self):
        rows = self.current_rows
        return rows[0] if rows else None

    def __iter__(self) -> Iterator:
        if self._list_mode:
            return iter(self._current_rows)
        self._page_iter = iter(self._current_rows)
        return self

    def next(self):
        try:
            return next(self._page_iter)
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

    def __aiter__(self):
        return _AsyncRowIterator(self)

    def _fetch_all(self) -> None:
        self._current_rows = list(self)
        self._page_iter = None

    def __eq__(self, other) -> bool:
        self._enter_list_mode("equality operator")
        return self._current_rows == other

    __hash__ = object.__hash__

    def __getitem__(self, i):
        if i == 0:
            # The reference's deprecation, kept so that code and tests watching for it see it.
            warnings.warn("ResultSet indexing support will be removed in 4.0 (as in cassandra-driver); "
                          "use ResultSet.one() to get a single row", DeprecationWarning, stacklevel=2)
        self._enter_list_mode("index operator")
        return self._current_rows[i]

    def __nonzero__(self) -> bool:
        return bool(self._current_rows)

    __bool__ = __nonzero__

    def _enter_list_mode(self, operator) -> None:
        if self._list_mode:
            return
        if self._page_iter is not None:
            raise RuntimeError("Cannot use %s when results have been iterated." % operator)
        if self.response_future.has_more_pages:
            log.warning("Using %s on paged results causes entire result set to be materialized.", operator)
        self._fetch_all()
        self._list_mode = True

    def get_query_trace(self, max_wait_sec=None):
        return self.response_future.get_query_trace(max_wait_sec)

    def get_all_query_traces(self, max_wait_sec_per=None):
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


class _AsyncRowIterator:
    """``async for row in result_set``: awaits each further page instead of blocking."""

    def __init__(self, result_set: ResultSet) -> None:
        self._rs = result_set
        self._iter = iter(result_set.current_rows)

    def __aiter__(self):
        return self

    async def __anext__(self):
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
