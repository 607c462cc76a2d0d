"""ResponseFuture driving the request engine over in-memory pools and connections (no server).

The fakes stand in for the I/O layer only (a pool hands out connections, a connection records
what it was asked to send); answers are real protocol messages, delivered by the test through
the callback the future registered, in whatever order and timing each test needs: late answers,
timeouts, speculative executions, a host lost mid-request, re-preparing, paging.
"""
from __future__ import annotations

import threading
import time
import types

import pytest

from cassfast import ConsistencyLevel, OperationTimedOut, Unavailable, WriteType
from cassfast._errors import NoHostAvailable
from cassfast._future import ResponseFutureCore
from cassfast._request import ResponseFuture
from cassfast.connection import ConnectionBusy, ConnectionException
from cassfast.policies import ConstantSpeculativeExecutionPolicy, FallthroughRetryPolicy, RetryPolicy
from cassfast.protocol import ExecuteMessage, PrepareMessage, QueryMessage, ResultMessage, error_classes
from cassfast.query import SimpleStatement
from cassfast import _wire


class FakeLoop:
    def __init__(self):
        self.later = []

    def call_later(self, delay, fn, *args):
        self.later.append((delay, fn, args))


class FakeDeadlines:
    def __init__(self):
        self.armed = []

    def add(self, timeout, callback):
        entry = [time.monotonic() + timeout, callback]
        self.armed.append(entry)
        return entry


class FakeLoopThread:
    """The test's own thread plays the I/O thread."""

    def __init__(self):
        self.ident = threading.get_ident()
        self.loop = FakeLoop()
        self.deadlines = FakeDeadlines()
        self.submitted = []

    def in_loop_thread(self):
        return True

    def submit(self, fn, *args):
        fn(*args)


class FakeConnection:
    def __init__(self, name, fail_send=None):
        self.name = name
        self.sent = []      # (message, callback)
        self.orphaned = []
        self.defuncted = []
        self.fail_send = fail_send
        self.is_defunct = False
        self.is_closed = False

    def send_request(self, message, callback, result_metadata=None, row_factory=None):
        if self.fail_send is not None:
            raise self.fail_send
        self.sent.append((message, callback))
        return len(self.sent)

    def answer(self, response, index=-1):
        self.sent[index][1](response)

    def orphan(self, stream_id, callback=None):
        self.orphaned.append(stream_id)

    def defunct(self, exc):
        self.is_defunct = True
        self.defuncted.append(exc)


class FakePool:
    lanes = None

    def __init__(self, connection=None, borrow_error=None):
        self.connection = connection
        self.borrow_error = borrow_error
        self.is_shutdown = False
        self.waiting = []

    def borrow_connection(self):
        if self.borrow_error is not None:
            raise self.borrow_error
        return self.connection

    def wait_for_stream(self, callback):
        self.waiting.append(callback)


class Plan:
    def __init__(self, hosts):
        self.hosts = hosts

    def make_query_plan(self, keyspace, query):
        return list(self.hosts)


def make_session(pools, prepared=None):
    loop_thread = FakeLoopThread()
    session = types.SimpleNamespace(
        _loop_thread=loop_thread, _pools=pools, keyspace=None,
        _prepared_lookup=(prepared or {}).get, _protocol_version=5,
        cluster=types.SimpleNamespace())
    return session


def rows(values, paging_state=None):
    msg = ResultMessage(_wire.RESULT_KIND_ROWS)
    msg.parsed_rows = values
    msg.column_names = ["a"]
    msg.paging_state = paging_state
    return msg


def void():
    return ResultMessage(_wire.RESULT_KIND_VOID)


def error(code, info=None):
    return error_classes[code](code=code, message="boom", info=info)


def unavailable():
    return error(_wire.ERR_UNAVAILABLE, {"consistency": ConsistencyLevel.QUORUM,
                                         "required_replicas": 2, "alive_replicas": 1})


def make_future(hosts, pools, policy=None, idempotent=False, timeout=10.0, prepared=None,
                message=None, spec_plan=None, lookup=None):
    session = make_session(pools, lookup)
    query = SimpleStatement("SELECT a FROM t", is_idempotent=idempotent)
    message = message or QueryMessage("SELECT a FROM t", ConsistencyLevel.QUORUM)
    future = ResponseFuture(session, message, query, timeout, None, prepared,
                            policy or RetryPolicy(), None, Plan(hosts), None, spec_plan)
    return future, session


def outcome(future):
    assert future.done()
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc


def test_rows_complete_the_future_with_the_coordinator_and_paging_state():
    conn = FakeConnection("c1")
    future, _ = make_future(["h1"], {"h1": FakePool(conn)})
    future._start()
    assert not future.done()
    conn.answer(rows([(1,), (2,)], paging_state=b"next"))
    result = outcome(future)
    assert list(result.current_rows) == [(1,), (2,)]
    assert future.coordinator_host == "h1"
    assert future.has_more_pages
    assert future.attempted_hosts == ["h1"]


def test_unavailable_moves_to_the_next_host_and_its_answer_wins():
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    future, _ = make_future(["h1", "h2"], {"h1": FakePool(c1), "h2": FakePool(c2)})
    future._start()
    c1.answer(unavailable())
    assert len(c2.sent) == 1          # RETRY_NEXT_HOST: sent to h2
    c2.answer(void())
    assert outcome(future) is not None and future.coordinator_host == "h2"
    assert future.attempted_hosts == ["h1", "h2"]
    assert future._query_retries == 1


def test_retry_resends_on_the_same_host_at_the_new_consistency():
    conn = FakeConnection("c1")

    class Downgrade(RetryPolicy):
        def on_write_timeout(self, *args):
            return self.RETRY, ConsistencyLevel.ONE

    future, _ = make_future(["h1", "h2"], {"h1": FakePool(conn)}, policy=Downgrade())
    future._start()
    conn.answer(error(_wire.ERR_WRITE_TIMEOUT, {"consistency": 4, "received_responses": 0,
                                                  "required_responses": 2,
                                                  "write_type": WriteType.SIMPLE}))
    assert len(conn.sent) == 2
    assert conn.sent[1][0].consistency_level == ConsistencyLevel.ONE
    conn.answer(void())
    assert outcome(future) is not None


def test_every_host_failing_gives_no_host_available_with_each_hosts_error():
    busy = FakeConnection("c2", fail_send=ConnectionBusy("no stream"))
    future, _ = make_future(["h1", "h2", "h3"], {
        "h1": FakePool(borrow_error=ConnectionException("pool is down")),
        "h2": FakePool(busy)})
    future._start()
    exc = outcome(future)
    assert isinstance(exc, NoHostAvailable)
    assert set(exc.errors) == {"h1", "h2", "h3"}
    assert "No pool for host" in str(exc.errors["h3"])


def test_timeout_orphans_the_stream_and_a_late_answer_is_ignored():
    conn = FakeConnection("c1")
    future, session = make_future(["h1"], {"h1": FakePool(conn)}, timeout=1.0)
    future._start()
    deadline = session._loop_thread.deadlines.armed[0]
    deadline[1]()                     # the loop's timer fires
    exc = outcome(future)
    assert isinstance(exc, OperationTimedOut)
    assert conn.orphaned == [1]
    conn.answer(void())               # the answer arrives after all
    assert outcome(future) is exc


def test_an_answer_after_the_deadline_is_a_timeout_even_before_the_timer_ran():
    conn = FakeConnection("c1")
    future, session = make_future(["h1"], {"h1": FakePool(conn)}, timeout=1.0)
    future._start()
    session._loop_thread.deadlines.armed[0][0] = time.monotonic() - 1  # deadline passed
    conn.answer(void())
    assert isinstance(outcome(future), OperationTimedOut)


def test_host_lost_mid_request_fails_a_non_idempotent_write_and_defuncts():
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    future, _ = make_future(["h1", "h2"], {"h1": FakePool(c1), "h2": FakePool(c2)},
                            idempotent=False)
    future._start()
    lost = ConnectionException("connection reset")
    c1.answer(lost)
    assert outcome(future) is lost
    assert c1.defuncted == [lost]
    assert c2.sent == []              # never re-sent: it may have been applied


def test_host_lost_mid_request_moves_an_idempotent_statement_on():
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    future, _ = make_future(["h1", "h2"], {"h1": FakePool(c1), "h2": FakePool(c2)},
                            idempotent=True)
    future._start()
    c1.answer(ConnectionException("connection reset"))
    assert len(c2.sent) == 1
    c2.answer(rows([(7,)]))
    assert list(outcome(future)) == [(7,)]


def test_unprepared_reprepares_on_the_same_connection_then_resends():
    conn = FakeConnection("c1")
    prepared = types.SimpleNamespace(query_id=b"q1", query_string="SELECT a FROM t WHERE k=?",
                                     keyspace="ks", result_metadata=None, result_metadata_id=None)
    message = ExecuteMessage(b"q1", [b"\x00"], ConsistencyLevel.ONE)
    future, _ = make_future(["h1"], {"h1": FakePool(conn)}, prepared=prepared, message=message)
    future._start()
    conn.answer(error(_wire.ERR_UNPREPARED, b"q1"))
    prepare = conn.sent[1][0]
    assert isinstance(prepare, PrepareMessage) and prepare.keyspace == "ks"
    answer = ResultMessage(_wire.RESULT_KIND_PREPARED)
    answer.query_id = b"q1"
    answer.result_metadata = "md"
    conn.answer(answer)               # the PREPARE's answer
    assert conn.sent[2][0] is message  # the EXECUTE again
    conn.answer(rows([(1,)]))
    assert list(outcome(future)) == [(1,)]
    assert prepared.result_metadata == "md"


def test_speculative_execution_goes_to_the_next_host_and_the_first_result_wins():
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    spec = ConstantSpeculativeExecutionPolicy(0.05, 1).new_plan(None, None)
    future, session = make_future(["h1", "h2"], {"h1": FakePool(c1), "h2": FakePool(c2)},
                                  idempotent=True, spec_plan=spec)
    future._start()
    (delay, speculate, _), = session._loop_thread.loop.later
    assert delay == 0.05
    speculate()                        # the delay passed with no answer
    assert len(c2.sent) == 1 and future.attempted_hosts == ["h1", "h2"]
    c2.answer(rows([("fast",)]))
    assert list(outcome(future)) == [("fast",)]
    assert future.coordinator_host == "h2"
    c1.answer(rows([("slow",)]))       # the original attempt's answer is ignored
    assert list(outcome(future)) == [("fast",)]
    assert future._speculative_executions == 1


def test_a_speculative_error_does_not_fail_the_request():
    c1, c2 = FakeConnection("c1"), FakeConnection("c2")
    spec = ConstantSpeculativeExecutionPolicy(0.01, 1).new_plan(None, None)
    future, session = make_future(["h1", "h2"], {"h1": FakePool(c1), "h2": FakePool(c2)},
                                  idempotent=True, spec_plan=spec)
    future._start()
    session._loop_thread.loop.later[0][1]()
    c2.answer(unavailable())
    assert not future.done()
    c1.answer(void())
    assert not isinstance(outcome(future), Exception)


def test_saturated_pool_parks_the_request_until_a_stream_frees():
    conn = FakeConnection("c1")
    pool = FakePool(None)
    future, _ = make_future(["h1"], {"h1": pool})
    future._start()
    assert pool.waiting and not future.done()
    pool.connection = conn
    pool.waiting.pop()()               # a stream is free
    conn.answer(void())
    assert future.done()


def test_next_page_is_a_new_attempt_with_its_own_retries():
    conn = FakeConnection("c1")
    future, _ = make_future(["h1", "h2"], {"h1": FakePool(conn)})
    future._start()
    conn.answer(rows([(1,)], paging_state=b"p1"))
    first = outcome(future)
    assert first.has_more_pages
    future.start_fetching_next_page()
    assert conn.sent[1][0].paging_state == b"p1"
    conn.answer(rows([(2,)]))
    assert list(outcome(future).current_rows) == [(2,)]
    assert not future.has_more_pages
    with pytest.raises(Exception):
        future.start_fetching_next_page()


def test_a_bad_request_fails_at_send_time_with_its_own_error():
    conn = FakeConnection("c1", fail_send=TypeError("cannot encode 'x' as int"))
    future, _ = make_future(["h1", "h2"], {"h1": FakePool(conn), "h2": FakePool(FakeConnection("c2"))})
    future._start()
    exc = outcome(future)
    assert isinstance(exc, TypeError) and "cannot encode" in str(exc)


def test_callbacks_see_the_final_result_once():
    conn = FakeConnection("c1")
    future, _ = make_future(["h1"], {"h1": FakePool(conn)})
    seen = []
    future.add_callbacks(lambda r: seen.append(("ok", r)), lambda e: seen.append(("err", e)))
    future._start()
    conn.answer(rows([(1,)]))
    conn.answer(rows([(2,)]))
    assert seen == [("ok", [(1,)])]


def test_add_callbacks_pass_their_args_and_kwargs_and_later_registrations_run_at_once():
    conn = FakeConnection("c1")
    future, _ = make_future(["h1"], {"h1": FakePool(conn)})
    seen = []
    kwargs = {"tag": "first"}
    future.add_callbacks(lambda r, a, tag: seen.append(("ok", r, a, tag)),
                         lambda e, a, tag: seen.append(("err", e, a, tag)),
                         callback_args=(1,), callback_kwargs=kwargs,
                         errback_args=(2,), errback_kwargs={"tag": "e"})
    kwargs["tag"] = "changed after registering"  # the registration keeps what it was given
    future._start()
    conn.answer(rows([(1,)]))
    assert seen == [("ok", [(1,)], 1, "first")]
    # Registered after completion: the callback runs at once, the errback never.
    future.add_callbacks(lambda r: seen.append(("late ok", r)), lambda e: seen.append(("late err", e)))
    assert seen[-1] == ("late ok", [(1,)]) and len(seen) == 2


def test_errbacks_registered_before_and_after_a_failure_each_run_once():
    conn = FakeConnection("c1")
    future, _ = make_future(["h1"], {"h1": FakePool(conn)})
    seen = []
    future.add_errback(lambda e: seen.append(("errback", type(e))))
    future.add_callback(lambda r: seen.append(("callback", r)))
    future._start()
    conn.answer(error(_wire.ERR_INVALID))
    future.add_errback(lambda e: seen.append(("late errback", type(e))))
    future.add_callback(lambda r: seen.append(("late callback", r)))
    kinds = [k for k, _ in seen]
    assert kinds == ["errback", "late errback"]


def test_cleared_callbacks_do_not_run():
    conn = FakeConnection("c1")
    future, _ = make_future(["h1"], {"h1": FakePool(conn)})
    seen = []
    future.add_callbacks(lambda r: seen.append(r), lambda e: seen.append(e))
    future.clear_callbacks()
    future.add_callback(lambda r: seen.append(("after clear", r)))
    future._start()
    conn.answer(rows([(1,)]))
    assert seen == [("after clear", [(1,)])]


def test_completion_wrappers_on_the_class_and_on_one_future_see_the_compiled_driver_finish(monkeypatch):
    # The driver is compiled (cassfast._future); tracing integrations wrap the completion hooks
    # on the public class (OpenTelemetry style) or on one future (ddtrace style), and both must
    # see every completion the compiled code makes.
    seen = []
    original = ResponseFuture._set_final_result

    def on_class(self, result):
        seen.append(("class", result))
        original(self, result)

    monkeypatch.setattr(ResponseFuture, "_set_final_result", on_class)
    conn = FakeConnection("c1")
    future, _ = make_future(["h1"], {"h1": FakePool(conn)})
    plain = future._set_final_result

    def on_instance(result):
        seen.append(("instance", result))
        plain(result)

    future._set_final_result = on_instance
    future._start()
    conn.answer(rows([(1,)]))
    assert list(outcome(future).current_rows) == [(1,)]
    assert seen == [("instance", [(1,)]), ("class", [(1,)])]


def test_the_public_future_is_the_compiled_core_plus_its_python_face():
    assert issubclass(ResponseFuture, ResponseFutureCore)
    future, _ = make_future(["h1"], {"h1": FakePool(FakeConnection("c1"))})
    future.any_attribute = 1  # instances keep a __dict__, as the reference's do
    assert future.any_attribute == 1
    assert ResponseFuture[int].__origin__ is ResponseFuture  # still generic for type checkers


def test_callbacks_and_errbacks_added_before_and_after_completion_run_once_each():
    conn, other = FakeConnection("c1"), FakeConnection("c2")
    done, errors = [], []
    future, _ = make_future(["h1"], {"h1": FakePool(conn)})
    future.add_callback(lambda rows, tag: done.append((tag, rows)), "before")
    future.add_errback(lambda exc: errors.append(exc))
    future._start()
    conn.answer(rows([(1,)]))
    future.add_callback(lambda rows, tag=None: done.append((tag, rows)), tag="after")
    future.add_errback(lambda exc: errors.append(exc))  # a success: never called
    assert done == [("before", [(1,)]), ("after", [(1,)])] and errors == []

    failing, _ = make_future(["h1"], {"h1": FakePool(other)}, policy=FallthroughRetryPolicy())
    failing.add_errback(lambda exc: errors.append(("before", type(exc))))
    failing._start()
    other.answer(unavailable())
    failing.add_errback(lambda exc: errors.append(("after", type(exc))))
    failing.add_callback(lambda rows: done.append("never"))
    assert errors == [("before", Unavailable), ("after", Unavailable)]
    assert "never" not in done
