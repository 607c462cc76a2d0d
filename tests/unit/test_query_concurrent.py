"""Unit tests of cassfast.concurrent's scheduling: ordering, the concurrency bound, fail-fast,
generators, and freedom from recursion however futures complete.

A small in-process session stands in for the network: its futures complete either at once inside
``execute_async`` / ``add_callbacks`` (the worst case for recursion) or on a background thread in
a shuffled order (the worst case for ordering).  ``ResultSet`` is replaced by a plain record of what
it was built from, since paging needs a real server (tests/integration/test_concurrent_*.py cover
that against Cassandra).  No network.
"""
import random
import threading
import time

import pytest

import cassfast.concurrent as cf_concurrent
from cassfast.concurrent import (ExecutionResult, execute_concurrent, execute_concurrent_async,
                                 execute_concurrent_with_args)


class _Record:
    def __init__(self, future, rows):
        self.future, self.rows = future, rows


@pytest.fixture(autouse=True)
def plain_result_sets(monkeypatch):
    monkeypatch.setattr(cf_concurrent, "ResultSet", _Record)


class Boom(Exception):
    pass


class _Future:
    def __init__(self, session, outcome):
        self.session, self.outcome = session, outcome
        self.callbacks = None
        self.done = False
        self.cleared = False
        self.lock = threading.Lock()

    def add_callbacks(self, callback, errback, callback_args=(), errback_args=()):
        with self.lock:
            self.callbacks = (callback, callback_args, errback, errback_args)
            run_now = self.done
        if run_now:
            self._fire()

    def clear_callbacks(self):
        self.cleared = True

    def complete(self):
        with self.lock:
            self.done = True
            ready = self.callbacks is not None
        self.session.finished()
        if ready:
            self._fire()

    def _fire(self):
        callback, cargs, errback, eargs = self.callbacks
        if isinstance(self.outcome, Exception):
            errback(self.outcome, *eargs)
        else:
            callback(self.outcome, *cargs)


class FakeSession:
    """``execute_async(statement, params)``: statement "ok" returns ``[params]`` as rows, "fail"
    fails the future with Boom(params), "raise" raises Boom from execute_async itself."""

    def __init__(self, mode="sync", seed=0):
        self.mode = mode
        self.lock = threading.Lock()
        self.in_flight = self.max_in_flight = self.submitted = 0
        self.profiles = set()
        self.pending = []
        self.rng = random.Random(seed)
        self.stop = False
        if mode == "threaded":
            self.thread = threading.Thread(target=self._complete_loop, daemon=True)
            self.thread.start()

    def execute_async(self, statement, params, execution_profile=None):
        self.profiles.add(execution_profile)
        if statement == "raise":
            raise Boom(params)
        outcome = Boom(params) if statement == "fail" else [params]
        future = _Future(self, outcome)
        with self.lock:
            self.submitted += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.mode == "threaded":
                self.pending.append(future)
                return future
        future.complete()
        return future

    def finished(self):
        with self.lock:
            self.in_flight -= 1

    def _complete_loop(self):
        while not self.stop:
            with self.lock:
                batch, self.pending = self.pending, []
            if not batch:
                time.sleep(0.0005)
                continue
            self.rng.shuffle(batch)
            for future in batch:
                future.complete()

    def close(self):
        self.stop = True


@pytest.fixture
def threaded():
    session = FakeSession("threaded")
    yield session
    session.close()


def _payloads(results):
    return [r.result_or_exc.rows[0] for r in results]


def test_results_come_back_in_input_order_when_completions_are_shuffled(threaded):
    results = execute_concurrent(threaded, [("ok", i) for i in range(2000)], concurrency=50)
    assert all(r.success for r in results)
    assert _payloads(results) == list(range(2000))


def test_no_more_than_concurrency_requests_are_in_flight(threaded):
    execute_concurrent(threaded, [("ok", i) for i in range(3000)], concurrency=7)
    assert threaded.submitted == 3000
    assert 1 <= threaded.max_in_flight <= 7


def test_immediate_completions_do_not_recurse():
    session = FakeSession("sync")
    # 20,000 futures that complete inside execute_async: a recursive design would overflow.
    results = execute_concurrent(session, [("ok", i) for i in range(20000)], concurrency=1)
    assert _payloads(results) == list(range(20000))


def test_synchronous_execute_async_errors_are_reported_at_their_index():
    session = FakeSession("sync")
    stmts = [("ok", 0), ("raise", 1), ("fail", 2), ("ok", 3)] * 3000
    results = execute_concurrent(session, stmts, concurrency=3, raise_on_first_error=False)
    assert [r.success for r in results] == [True, False, False, True] * 3000
    assert [type(r.result_or_exc) for r in results[:4]] == [_Record, Boom, Boom, _Record]
    assert results[1].result_or_exc.args == (1,)


def test_raise_on_first_error_raises_it_and_stops_submitting():
    session = FakeSession("sync")
    stmts = [("ok", 0), ("ok", 1), ("fail", 2)] + [("ok", i) for i in range(3, 100)]
    with pytest.raises(Boom) as info:
        execute_concurrent(session, stmts, concurrency=1)
    assert info.value.args == (2,)
    assert session.submitted == 3


def test_raise_on_first_error_with_requests_in_flight(threaded):
    stmts = [("ok", i) for i in range(500)] + [("fail", 500)] + [("ok", i) for i in range(501, 5000)]
    with pytest.raises(Boom):
        execute_concurrent(threaded, stmts, concurrency=20)
    assert threaded.submitted < 5000


def test_results_generator_yields_in_order_and_reads_the_input_lazily(threaded):
    consumed = []

    def statements():
        for i in range(1000):
            consumed.append(i)
            yield ("ok", i)

    gen = execute_concurrent(threaded, statements(), concurrency=10, results_generator=True)
    first = next(gen)
    assert first.success and first.result_or_exc.rows == [0]
    rest = list(gen)
    assert _payloads([first] + rest) == list(range(1000))
    assert consumed == list(range(1000))


def test_results_generator_with_fail_fast_raises_when_it_reaches_the_failure(threaded):
    stmts = [("ok", 0), ("ok", 1), ("fail", 2), ("ok", 3)]
    gen = execute_concurrent(threaded, stmts, concurrency=2, results_generator=True)
    assert _payloads([next(gen), next(gen)]) == [0, 1]
    with pytest.raises(Boom):
        next(gen)


def test_results_generator_without_fail_fast_yields_failures_in_place(threaded):
    stmts = [("ok", 0), ("fail", 1), ("raise", 2), ("ok", 3)]
    results = list(execute_concurrent(threaded, stmts, concurrency=4, results_generator=True,
                                      raise_on_first_error=False))
    assert [r.success for r in results] == [True, False, False, True]


def test_an_error_raised_by_the_input_iterable_reaches_the_caller(threaded):
    def statements():
        yield ("ok", 0)
        yield ("ok", 1)
        raise RuntimeError("input broke")

    with pytest.raises(RuntimeError, match="input broke"):
        execute_concurrent(threaded, statements(), concurrency=1)


def test_a_malformed_input_item_is_an_error_for_the_caller():
    with pytest.raises(ValueError):
        execute_concurrent(FakeSession("sync"), [("ok", 0), ("only-one-element",)])


def test_with_args_pairs_the_statement_with_each_parameter_set(threaded):
    results = execute_concurrent_with_args(threaded, "ok", [(i, i) for i in range(100)],
                                           concurrency=5)
    assert _payloads(results) == [(i, i) for i in range(100)]
    assert isinstance(results[0], ExecutionResult)


def test_execution_profile_is_passed_to_every_request():
    session = FakeSession("sync")
    execute_concurrent(session, [("ok", 1), ("ok", 2)], execution_profile="analytics")
    assert session.profiles == {"analytics"}


def test_success_clears_the_future_callbacks_so_paging_does_not_fire_them_again():
    session = FakeSession("sync")
    results = execute_concurrent(session, [("ok", 1)])
    assert results[0].result_or_exc.future.cleared


def test_empty_input_returns_an_empty_list_and_bad_concurrency_is_refused():
    assert execute_concurrent(FakeSession(), []) == []
    with pytest.raises(ValueError, match="concurrency"):
        execute_concurrent(FakeSession(), [("ok", 1)], concurrency=0)


def test_async_variant_resolves_to_ordered_results(threaded):
    future = execute_concurrent_async(threaded, [("ok", i) for i in range(300)], concurrency=9)
    assert _payloads(future.result(timeout=10)) == list(range(300))


def test_async_variant_with_fail_fast_resolves_to_the_error(threaded):
    future = execute_concurrent_async(threaded, [("ok", 0), ("fail", 1), ("ok", 2)],
                                      concurrency=1, raise_on_first_error=True)
    with pytest.raises(Boom):
        future.result(timeout=10)


def test_async_variant_resolves_for_empty_input():
    assert execute_concurrent_async(FakeSession(), []).result(timeout=1) == []


def test_waiting_on_the_drivers_io_thread_is_refused_instead_of_hanging():
    from cassfast import DriverException

    class OnIOThread:
        @staticmethod
        def in_loop_thread():
            return True

    session = FakeSession("sync")
    session._loop_thread = OnIOThread()
    with pytest.raises(DriverException, match="I/O thread"):
        execute_concurrent(session, [("ok", 1)])
    assert session.submitted == 0
    # The non-blocking variant is the way to run them from there.
    assert _payloads(execute_concurrent_async(session, [("ok", 1)]).result(timeout=1)) == [1]
