"""Run many statements with bounded concurrency and collect their results in order.

Keeps cassandra-driver's ``cassandra.concurrent`` API: ``execute_concurrent``,
``execute_concurrent_with_args``, ``execute_concurrent_async`` and the ``ExecutionResult``
namedtuple.  Requests go out through ``Session.execute_async``; each completion callback (run on the
driver's event-loop thread) records its result and frees a slot for the next statement, so at most
``concurrency`` requests are in flight and no thread is spent per request.  Submission is a
trampoline: a callback that fires while statements are being submitted (because a request failed
synchronously or completed at once) only frees a slot, and the thread already submitting picks it
up, so deep recursion cannot happen however the futures complete.  A successful result is wrapped
in a ``ResultSet``, which fetches further pages synchronously when iterated, as in the reference.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from itertools import cycle
from typing import TYPE_CHECKING, Any, Iterable, Iterator, List, NamedTuple, Union

from cassfast import DriverException
from cassfast._profiles import EXEC_PROFILE_DEFAULT
from cassfast._resultset import ResultSet

__all__ = ["ExecutionResult", "execute_concurrent", "execute_concurrent_with_args",
           "execute_concurrent_async"]

if TYPE_CHECKING:
    # Typing only (allowlisted in tests/unit/test_layering.py): _session imports this module.
    from cassfast._session import Session


class ExecutionResult(NamedTuple):
    """The outcome of one statement: ``success`` is True with a ``ResultSet``
as ``result_or_exc``, or False with the exception the statement failed with."""

    success: bool
    result_or_exc: Any


class _ConcurrentExecutor:
    """Feeds statements to ``execute_async`` while fewer than ``concurrency`` are in flight.

    Subclasses decide how results are stored and when the caller is woken (``_record``).  All
    counters are guarded by ``_lock``; the statement iterator is only advanced by the thread that
    holds the submitting role (``_submitting``), so a user's generator is never entered twice.
    """

    def __init__(self, session, statements_and_params: Iterable, execution_profile) -> None:
        self.session = session
        self._statements = iter(statements_and_params)
        self._execution_profile = execution_profile
        self._lock = threading.Lock()
        self._fail_fast = False
        self._stopped = False        # no statement is submitted after this is set
        self._exhausted = False      # the statement iterator is finished
        self._submitting = False     # one thread is in _submit_loop
        self._free_slots = 0
        self._next_index = 0         # index of the next statement to submit
        self._completed = 0
        self._iteration_error = None

    def start(self, concurrency: int, fail_fast: bool) -> None:
        self._fail_fast = fail_fast
        with self._lock:
            self._free_slots = concurrency
            self._submitting = True
        self._submit_loop()

    def _submit_loop(self) -> None:
        while True:
            with self._lock:
                if self._free_slots == 0 or self._stopped:
                    self._submitting = False
                    self._check_done_locked()
                    return
                self._free_slots -= 1
                index = self._next_index
                self._next_index += 1
            try:
                statement, params = next(self._statements)
            except StopIteration:
                with self._lock:
                    self._next_index -= 1
                    self._exhausted = True
                    self._stopped = True
                    self._submitting = False
                    self._check_done_locked()
                return
            except Exception as exc:
                # The caller's iterable raised: nothing more can be submitted.  The requests in
                # flight finish, then the error is raised to the caller (not here: this may be a
                # completion callback on the event-loop thread).
                with self._lock:
                    self._next_index -= 1
                    self._iteration_error = exc
                    self._exhausted = True
                    self._stopped = True
                    self._submitting = False
                    self._check_done_locked()
                return
            self._submit(index, statement, params)

    def _submit(self, index: int, statement, params) -> None:
        try:
            future = self.session.execute_async(statement, params,
                                                execution_profile=self._execution_profile)
        except Exception as exc:
            self._complete(index, False, exc)
            return
        future.add_callbacks(callback=self._on_success, callback_args=(future, index),
                             errback=self._on_error, errback_args=(future, index))

    def _on_success(self, rows, future, index: int) -> None:
        # Paging through the ResultSet re-arms the future; its callbacks must not fire again.
        future.clear_callbacks()
        try:
            result = ResultSet(future, rows)
        except Exception as exc:  # a ResultSet that cannot be built is this statement's failure
            self._complete(index, False, exc)
        else:
            self._complete(index, True, result)

    def _on_error(self, exc, future, index: int) -> None:
        self._complete(index, False, exc)

    def _complete(self, index: int, success: bool, result: Any) -> None:
        resume = False
        with self._lock:
            self._completed += 1
            self._record(index, ExecutionResult(success, result))
            if not self._stopped:
                self._free_slots += 1
                if not self._submitting:
                    self._submitting = resume = True
            self._check_done_locked()
        if resume:
            self._submit_loop()

    def _check_done_locked(self) -> None:
        if self._exhausted and not self._submitting and self._completed == self._next_index:
            self._on_all_done()

    # Hooks, called with _lock held.
    def _record(self, index: int, result: ExecutionResult) -> None:
        raise NotImplementedError

    def _on_all_done(self) -> None:
        raise NotImplementedError


class _ListResults(_ConcurrentExecutor):
    """Collects every result, then returns them in statement order; with fail-fast, the first
    failure stops submission and is raised at once (requests in flight are left to finish)."""

    def __init__(self, session, statements_and_params, execution_profile) -> None:
        super().__init__(session, statements_and_params, execution_profile)
        self._results: dict = {}
        self._exception = None
        self._done = threading.Event()

    def _record(self, index: int, result: ExecutionResult) -> None:
        self._results[index] = result
        if not result.success and self._fail_fast:
            if self._exception is None:
                self._exception = result.result_or_exc
            self._stopped = True
            self._done.set()

    def _on_all_done(self) -> None:
        self._done.set()

    def wait(self) -> List[ExecutionResult]:
        self._done.wait()
        if self._exception is not None:
            raise self._exception
        if self._iteration_error is not None:
            raise self._iteration_error
        results = self._results
        return [results[i] for i in range(len(results))]


class _GeneratorResults(_ConcurrentExecutor):
    """Yields results in statement order as soon as each one and all before it are in.

    Submission does not wait for the consumer (as in the reference), so a slow consumer lets
    results accumulate.  With fail-fast, iteration raises the failure when it reaches it.
    """

    def __init__(self, session, statements_and_params, execution_profile) -> None:
        super().__init__(session, statements_and_params, execution_profile)
        self._results: dict = {}
        self._ready = threading.Condition(self._lock)

    def _record(self, index: int, result: ExecutionResult) -> None:
        self._results[index] = result
        self._ready.notify()

    def _on_all_done(self) -> None:
        self._ready.notify()

    def results(self) -> Iterator[ExecutionResult]:
        current = 0
        while True:
            with self._ready:
                while current not in self._results:
                    if self._stopped and not self._submitting and current >= self._next_index:
                        if self._iteration_error is not None:
                            raise self._iteration_error
                        return
                    self._ready.wait()
                result = self._results.pop(current)
            current += 1
            if self._fail_fast and not result.success:
                raise result.result_or_exc
            yield result


class _FutureResults(_ListResults):
    """Completes a ``concurrent.futures.Future`` with the ordered results (or the first error
    under fail-fast) instead of blocking a caller."""

    def __init__(self, session, statements_and_params, execution_profile, future: Future) -> None:
        super().__init__(session, statements_and_params, execution_profile)
        self.future = future

    def _record(self, index: int, result: ExecutionResult) -> None:
        first_failure = self._exception is None
        super()._record(index, result)
        if self._exception is not None and first_failure:
            self.future.set_exception(self._exception)

    def _on_all_done(self) -> None:
        super()._on_all_done()
        if self.future.done():
            return
        if self._iteration_error is not None:
            self.future.set_exception(self._iteration_error)
        elif self._exception is None:
            results = self._results
            self.future.set_result([results[i] for i in range(len(results))])


def _check_concurrency(concurrency: int) -> None:
    if concurrency <= 0:
        raise ValueError("concurrency must be greater than 0")


def _check_may_block(session) -> None:
    """Refuse to wait on the session's I/O thread (from a completion callback, say): the results
    arrive on that very thread, so waiting there would hang forever."""
    io_thread = getattr(session, "_loop_thread", None)
    if io_thread is not None and io_thread.in_loop_thread():
        raise DriverException(
            "execute_concurrent cannot wait for results on the driver's I/O thread (was it "
            "called from a callback?); use execute_concurrent_async there")


def execute_concurrent(session: Session, statements_and_parameters: Iterable[Any], concurrency: int = 100,
                       raise_on_first_error: bool = True, results_generator: bool = False,
                       execution_profile: Any = EXEC_PROFILE_DEFAULT
                       ) -> Union[List[ExecutionResult], Iterator[ExecutionResult]]:
    """Execute ``(statement, parameters)`` pairs with at most ``concurrency`` in flight.

    Returns a list of ``ExecutionResult(success, result_or_exc)`` in the order of the input, or,
    with ``results_generator=True``, a generator yielding them in that order as they become
    available (less memory for long inputs; submission starts before the first ``next``).  With
    ``raise_on_first_error`` (the default) the first failure is raised instead of being returned
    and no further statement is submitted (list mode), or it is raised when iteration reaches it
    (generator mode).  ``statements_and_parameters`` may be any iterable, including a generator;
    each statement is anything ``Session.execute_async`` accepts.
    """
    _check_concurrency(concurrency)
    if not statements_and_parameters:
        return []
    _check_may_block(session)
    if results_generator:
        executor = _GeneratorResults(session, statements_and_parameters, execution_profile)
        executor.start(concurrency, raise_on_first_error)
        return executor.results()
    executor = _ListResults(session, statements_and_parameters, execution_profile)
    executor.start(concurrency, raise_on_first_error)
    return executor.wait()


def execute_concurrent_with_args(session: Session, statement: Any, parameters: Iterable[Any], *args: Any,
                                 **kwargs: Any) -> Union[List[ExecutionResult], Iterator[ExecutionResult]]:
    """``execute_concurrent`` of one statement with each parameter set of ``parameters``.

    Example::

        insert = session.prepare("INSERT INTO users (id, name) VALUES (?, ?)")
        execute_concurrent_with_args(session, insert, [(1, "a"), (2, "b")], concurrency=50)
    """
    return execute_concurrent(session, zip(cycle((statement,)), parameters), *args, **kwargs)


def execute_concurrent_async(session: Session, statements_and_parameters: Iterable[Any],
                             concurrency: int = 100, raise_on_first_error: bool = False,
                             execution_profile: Any = EXEC_PROFILE_DEFAULT) -> Future[Any]:
    """Like ``execute_concurrent``, but returns at once with a ``concurrent.futures.Future`` that
    resolves to the ordered list of ``ExecutionResult`` (or to the first error, when
    ``raise_on_first_error`` is set; it defaults to False here, as in the reference)."""
    _check_concurrency(concurrency)
    future: Future = Future()
    executor = _FutureResults(session, statements_and_parameters, execution_profile, future)
    try:
        executor.start(concurrency, raise_on_first_error)
    except Exception as exc:
        if not future.done():
            future.set_exception(exc)
    return future
