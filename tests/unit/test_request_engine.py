"""The request engine (cassfast._engine): every decision of a request, without a server.

The engine is given real protocol messages (the classes the message layer decodes into) and
real retry policies, and each test checks the action it returns and what it recorded.
"""
from __future__ import annotations

import types

import pytest

from cassfast import (ConsistencyLevel, DriverException, OperationTimedOut, ReadTimeout,
                      Unavailable, WriteTimeout, WriteType)
from cassfast import _engine as E
from cassfast._errors import NoHostAvailable
from cassfast.connection import ConnectionException, ConnectionShutdown
from cassfast.policies import (DowngradingConsistencyRetryPolicy, FallthroughRetryPolicy,
                               NeverRetryPolicy, RetryPolicy)
from cassfast.protocol import (ExecuteMessage, PrepareMessage, QueryMessage, ResultMessage,
                               error_classes)
from cassfast.query import SimpleStatement
from cassfast import _wire

H1, H2, H3 = "h1", "h2", "h3"


def error(code, message="boom", info=None):
    return error_classes[code](code=code, message=message, info=info)


def read_timeout(received=1, required=1, data=False, cl=ConsistencyLevel.QUORUM):
    return error(_wire.ERR_READ_TIMEOUT, info={"consistency": cl, "received_responses": received,
                                               "required_responses": required,
                                               "data_retrieved": data})


def write_timeout(write_type=WriteType.SIMPLE, received=0, required=2, cl=ConsistencyLevel.QUORUM):
    return error(_wire.ERR_WRITE_TIMEOUT, info={"consistency": cl, "received_responses": received,
                                                "required_responses": required,
                                                "write_type": write_type})


def unavailable(alive=1, required=2, cl=ConsistencyLevel.QUORUM):
    return error(_wire.ERR_UNAVAILABLE, info={"consistency": cl, "required_replicas": required,
                                              "alive_replicas": alive})


def result(kind, **attrs):
    msg = ResultMessage(kind)
    for name, value in attrs.items():
        setattr(msg, name, value)
    return msg


class Calls:
    """A retry policy that records its calls and answers from a script."""

    def __init__(self, *decisions):
        self.decisions = list(decisions)
        self.calls = []

    def _next(self, name, args):
        self.calls.append((name,) + tuple(args))
        return self.decisions.pop(0)

    def on_read_timeout(self, *args):
        return self._next("read", args)

    def on_write_timeout(self, *args):
        return self._next("write", args)

    def on_unavailable(self, *args):
        return self._next("unavailable", args)

    def on_request_error(self, *args):
        return self._next("request_error", args)


class Counters:
    def __init__(self):
        self.counts = {}

    def __getattr__(self, name):
        if not name.startswith("on_"):
            raise AttributeError(name)

        def bump():
            self.counts[name] = self.counts.get(name, 0) + 1
        return bump


def engine(policy=None, idempotent=False, cl=ConsistencyLevel.QUORUM, prepared=None,
           lookup=None, metrics=None, protocol_version=5, plan=(H1, H2, H3)):
    query = SimpleStatement("SELECT * FROM t", is_idempotent=idempotent)
    message = QueryMessage("SELECT * FROM t", cl)
    eng = E.RequestEngine(query, message, policy or RetryPolicy(), prepared, metrics, lookup,
                          protocol_version)
    eng.start(plan)
    return eng


# ------------------------------------------------------------------------------------ results

def test_rows_complete_with_the_message():
    eng = engine()
    rows = result(_wire.RESULT_KIND_ROWS, parsed_rows=[(1,)])
    assert eng.on_answer(H1, rows) == E.COMPLETE_ROWS
    assert eng.payload is rows


def test_void_completes_with_none():
    eng = engine()
    assert eng.on_answer(H1, result(_wire.RESULT_KIND_VOID)) == E.COMPLETE
    assert eng.payload is None


def test_set_keyspace_and_schema_change_have_follow_ups():
    eng = engine()
    assert eng.on_answer(H1, result(_wire.RESULT_KIND_SET_KEYSPACE, new_keyspace="ks")) == E.SET_KEYSPACE
    assert eng.payload == "ks"
    change = result(_wire.RESULT_KIND_SCHEMA_CHANGE)
    assert eng.on_answer(H1, change) == E.SCHEMA_CHANGE
    assert eng.payload is change


def test_prepared_result_completes_with_the_message():
    eng = engine()
    prepared = result(_wire.RESULT_KIND_PREPARED, query_id=b"id")
    assert eng.on_answer(H1, prepared) == E.COMPLETE
    assert eng.payload is prepared


def test_v5_metadata_change_updates_the_prepared_statement_and_the_message():
    prepared = types.SimpleNamespace(result_metadata="old", result_metadata_id=b"m1",
                                     query_id=b"q", query_string="SELECT", keyspace="ks")
    eng = engine(prepared=prepared)
    eng.message = ExecuteMessage(b"q", [], ConsistencyLevel.ONE, result_metadata_id=b"m1")
    rows = result(_wire.RESULT_KIND_ROWS, result_metadata="new", result_metadata_id=b"m2")
    assert eng.result_metadata == "old"
    assert eng.on_answer(H1, rows) == E.COMPLETE_ROWS
    assert (prepared.result_metadata, prepared.result_metadata_id) == ("new", b"m2")
    assert eng.result_metadata == "new"
    assert eng.message.result_metadata_id == b"m2"


def test_metadata_id_without_a_prepared_statement_changes_nothing():
    eng = engine()
    rows = result(_wire.RESULT_KIND_ROWS, result_metadata="new", result_metadata_id=b"m2")
    assert eng.on_answer(H1, rows) == E.COMPLETE_ROWS
    assert eng.result_metadata is None


# ------------------------------------------------------------------ server errors: retry policy

def test_read_timeout_goes_to_the_policy_with_the_servers_fields():
    policy = Calls((RetryPolicy.RETHROW, None))
    eng = engine(policy)
    answer = read_timeout(received=2, required=3, data=True, cl=ConsistencyLevel.LOCAL_QUORUM)
    assert eng.on_answer(H1, answer) == E.FAIL
    assert isinstance(eng.payload, ReadTimeout)
    assert policy.calls == [("read", eng.query, ConsistencyLevel.LOCAL_QUORUM, 3, 2, True, 0)]


def test_write_timeout_goes_to_the_policy_with_the_write_type():
    policy = Calls((RetryPolicy.RETHROW, None))
    eng = engine(policy)
    assert eng.on_answer(H1, write_timeout(WriteType.BATCH_LOG, 1, 2)) == E.FAIL
    assert isinstance(eng.payload, WriteTimeout)
    assert policy.calls == [("write", eng.query, ConsistencyLevel.QUORUM, WriteType.BATCH_LOG, 2, 1, 0)]


def test_unavailable_goes_to_the_policy():
    policy = Calls((RetryPolicy.RETHROW, None))
    eng = engine(policy)
    assert eng.on_answer(H1, unavailable(alive=1, required=2)) == E.FAIL
    assert isinstance(eng.payload, Unavailable)
    assert policy.calls == [("unavailable", eng.query, ConsistencyLevel.QUORUM, 2, 1, 0)]


@pytest.mark.parametrize("code", [_wire.ERR_OVERLOADED, _wire.ERR_IS_BOOTSTRAPPING,
                                  _wire.ERR_TRUNCATE_ERROR, _wire.ERR_SERVER_ERROR])
def test_request_errors_go_to_on_request_error(code):
    policy = Calls((RetryPolicy.RETRY_NEXT_HOST, None))
    eng = engine(policy)
    answer = error(code)
    assert eng.on_answer(H1, answer) == E.NEXT_HOST
    name, query, cl, exc, retry_num = policy.calls[0]
    assert (name, query, cl, retry_num) == ("request_error", eng.query, ConsistencyLevel.QUORUM, 0)
    assert exc is answer
    assert eng.errors == {H1: answer}
    assert eng.retries == 1


@pytest.mark.parametrize("code", sorted(
    c for c in error_classes
    if c not in (_wire.ERR_READ_TIMEOUT, _wire.ERR_WRITE_TIMEOUT, _wire.ERR_UNAVAILABLE,
                 _wire.ERR_OVERLOADED, _wire.ERR_IS_BOOTSTRAPPING, _wire.ERR_TRUNCATE_ERROR,
                 _wire.ERR_SERVER_ERROR, _wire.ERR_UNPREPARED)))
def test_every_other_error_code_fails_at_once_without_asking_the_policy(code):
    policy = Calls()
    eng = engine(policy, idempotent=True)
    info = None
    if code in (_wire.ERR_READ_FAILURE, _wire.ERR_WRITE_FAILURE):
        info = {"consistency": 1, "received_responses": 0, "required_responses": 1,
                "failures": 1, "error_code_map": None}
        if code == _wire.ERR_READ_FAILURE:
            info["data_retrieved"] = False
        else:
            info["write_type"] = WriteType.SIMPLE
    elif code == _wire.ERR_FUNCTION_FAILURE:
        info = {"keyspace": "ks", "function": "f", "arg_types": []}
    elif code == _wire.ERR_ALREADY_EXISTS:
        info = {"keyspace": "ks", "table": "t"}
    elif code == _wire.ERR_CAS_WRITE_UNKNOWN:
        info = {"consistency": 1, "received_responses": 0, "required_responses": 1}
    answer = error(code, info=info)
    assert eng.on_answer(H1, answer) == E.FAIL
    assert eng.payload.__class__ is answer.to_exception().__class__
    assert policy.calls == []
    assert eng.retries == 0


def test_retry_resends_at_the_consistency_the_policy_returned():
    eng = engine(Calls((RetryPolicy.RETRY, ConsistencyLevel.ONE)))
    answer = read_timeout()
    assert eng.on_answer(H1, answer) == E.RESEND
    assert eng.message.consistency_level == ConsistencyLevel.ONE
    assert eng.retries == 1
    assert eng.errors[H1].__class__ is ReadTimeout


def test_retry_with_no_consistency_keeps_the_statements():
    eng = engine(Calls((RetryPolicy.RETRY, None)), cl=ConsistencyLevel.LOCAL_QUORUM)
    assert eng.on_answer(H1, read_timeout()) == E.RESEND
    assert eng.message.consistency_level == ConsistencyLevel.LOCAL_QUORUM


def test_ignore_completes_with_no_rows():
    metrics = Counters()
    eng = engine(Calls((RetryPolicy.IGNORE, None)), metrics=metrics)
    assert eng.on_answer(H1, write_timeout()) == E.COMPLETE
    assert eng.payload is None
    assert metrics.counts == {"on_write_timeout": 1, "on_ignore": 1}


def test_retry_num_counts_up_and_the_policy_sees_it():
    policy = Calls((RetryPolicy.RETRY, None), (RetryPolicy.RETRY_NEXT_HOST, None),
                   (RetryPolicy.RETHROW, None))
    eng = engine(policy)
    assert eng.on_answer(H1, read_timeout()) == E.RESEND
    assert eng.on_answer(H1, read_timeout()) == E.NEXT_HOST
    assert eng.on_answer(H2, read_timeout()) == E.FAIL
    assert [call[-1] for call in policy.calls] == [0, 1, 2]


@pytest.mark.parametrize("bad", [None, (), (7, None), "RETRY", 1])
def test_a_decision_that_is_not_one_fails_with_a_clear_error(bad):
    eng = engine(Calls(bad))
    assert eng.on_answer(H1, read_timeout()) == E.FAIL
    assert isinstance(eng.payload, DriverException)
    assert "not a (RetryDecision, consistency) pair" in str(eng.payload)


def test_metrics_count_each_error_kind_and_retries():
    metrics = Counters()
    eng = engine(Calls(*[(RetryPolicy.RETRY_NEXT_HOST, None)] * 4), idempotent=True, metrics=metrics)
    eng.on_answer(H1, read_timeout())
    eng.on_answer(H1, write_timeout())
    eng.on_answer(H1, unavailable())
    eng.on_answer(H1, error(_wire.ERR_OVERLOADED))
    assert metrics.counts == {"on_read_timeout": 1, "on_write_timeout": 1, "on_unavailable": 1,
                              "on_other_error": 1, "on_retry": 4}


# ------------------------------------------------------------------ the seed's retry policies

def test_default_policy_retries_a_digest_only_read_timeout_once():
    eng = engine(RetryPolicy())
    assert eng.on_answer(H1, read_timeout(received=2, required=2, data=False)) == E.RESEND
    assert eng.on_answer(H1, read_timeout(received=2, required=2, data=False)) == E.FAIL


def test_default_policy_rethrows_a_read_timeout_with_data_or_too_few_replies():
    assert engine(RetryPolicy()).on_answer(H1, read_timeout(2, 2, data=True)) == E.FAIL
    assert engine(RetryPolicy()).on_answer(H1, read_timeout(1, 2, data=False)) == E.FAIL


def test_default_policy_retries_only_batch_log_write_timeouts():
    assert engine(RetryPolicy()).on_answer(H1, write_timeout(WriteType.BATCH_LOG)) == E.RESEND
    for write_type in (WriteType.SIMPLE, WriteType.BATCH, WriteType.UNLOGGED_BATCH,
                       WriteType.COUNTER, WriteType.CAS):
        assert engine(RetryPolicy()).on_answer(H1, write_timeout(write_type)) == E.FAIL


def test_default_policy_tries_the_next_host_once_on_unavailable():
    eng = engine(RetryPolicy())
    assert eng.on_answer(H1, unavailable()) == E.NEXT_HOST
    assert eng.on_answer(H2, unavailable()) == E.FAIL


def test_fallthrough_policy_rethrows_everything():
    for answer in (read_timeout(2, 2), write_timeout(WriteType.BATCH_LOG), unavailable(),
                   error(_wire.ERR_OVERLOADED)):
        eng = engine(FallthroughRetryPolicy(), idempotent=True)
        assert eng.on_answer(H1, answer) == E.FAIL
        assert eng.retries == 0
    eng = engine(FallthroughRetryPolicy(), idempotent=True)
    assert eng.on_answer(H1, ConnectionException("reset")) == E.FAIL


def test_never_retry_policy_rethrows_timeouts_but_moves_on_after_request_errors():
    assert engine(NeverRetryPolicy()).on_answer(H1, read_timeout(2, 2)) == E.FAIL
    assert engine(NeverRetryPolicy()).on_answer(H1, unavailable()) == E.FAIL
    assert engine(NeverRetryPolicy()).on_answer(H1, error(_wire.ERR_IS_BOOTSTRAPPING)) == E.NEXT_HOST


def test_downgrading_policy_retries_at_a_lower_consistency():
    eng = engine(DowngradingConsistencyRetryPolicy())
    assert eng.on_answer(H1, read_timeout(received=1, required=2)) == E.RESEND
    assert eng.message.consistency_level == ConsistencyLevel.ONE
    eng = engine(DowngradingConsistencyRetryPolicy())
    assert eng.on_answer(H1, unavailable(alive=2, required=3)) == E.RESEND
    assert eng.message.consistency_level == ConsistencyLevel.TWO
    eng = engine(DowngradingConsistencyRetryPolicy())
    assert eng.on_answer(H1, write_timeout(WriteType.SIMPLE, received=1)) == E.COMPLETE
    eng = engine(DowngradingConsistencyRetryPolicy())
    assert eng.on_answer(H1, unavailable(cl=ConsistencyLevel.SERIAL)) == E.NEXT_HOST


def test_the_seeds_custom_policy_example_is_called_positionally():
    # The seed's AggressiveRetryPolicy names its parameters ``consistency_level``.
    class Aggressive(RetryPolicy):
        def on_read_timeout(self, query, consistency_level, required_responses,
                            received_responses, data_retrieved, retry_num):
            if retry_num < 3 and (data_retrieved or received_responses > 0):
                return (self.RETRY, ConsistencyLevel.ONE)
            return (self.RETHROW, None)

    eng = engine(Aggressive())
    for _ in range(3):
        assert eng.on_answer(H1, read_timeout(received=1, required=2)) == E.RESEND
    assert eng.on_answer(H1, read_timeout(received=1, required=2)) == E.FAIL
    assert eng.retries == 3


# ------------------------------------------------------------------ connection errors

def test_connection_error_fails_a_statement_that_is_not_idempotent():
    policy = Calls()
    eng = engine(policy, idempotent=False)
    exc = ConnectionException("reset by peer")
    assert eng.on_answer(H1, exc) == E.FAIL
    assert eng.payload is exc
    assert eng.defunct is exc          # the connection that failed is unusable
    assert policy.calls == []
    assert eng.errors == {H1: exc}


def test_connection_error_of_an_idempotent_statement_asks_the_policy():
    policy = Calls((RetryPolicy.RETRY_NEXT_HOST, None))
    eng = engine(policy, idempotent=True)
    exc = ConnectionException("reset by peer")
    assert eng.on_answer(H1, exc) == E.NEXT_HOST
    assert policy.calls[0][0] == "request_error" and policy.calls[0][3] is exc


def test_a_shutdown_connection_is_not_defuncted_again():
    eng = engine(idempotent=True)
    assert eng.on_answer(H1, ConnectionShutdown("closed")) == E.NEXT_HOST
    assert eng.defunct is None


def test_os_errors_count_as_connection_errors():
    eng = engine(idempotent=True)
    assert eng.on_answer(H1, ConnectionResetError()) == E.NEXT_HOST
    assert eng.defunct is None


def test_a_body_that_did_not_decode_fails_the_request_only():
    eng = engine(idempotent=True)
    exc = ValueError("bad varint")
    assert eng.on_answer(H1, exc) == E.FAIL
    assert eng.payload is exc and eng.defunct is None


def test_an_unexpected_object_fails_and_defuncts():
    eng = engine()
    assert eng.on_answer(H1, object()) == E.FAIL
    assert isinstance(eng.payload, ConnectionException)
    assert eng.defunct is eng.payload


# ------------------------------------------------------------------ unprepared: re-prepare

def _prepared(query_id=b"q1", keyspace="ks"):
    return types.SimpleNamespace(query_id=query_id, query_string="INSERT INTO t (a) VALUES (?)",
                                 keyspace=keyspace, result_metadata=None, result_metadata_id=None)


def test_unprepared_reprepares_the_statement_with_its_keyspace_on_v5():
    eng = engine(prepared=_prepared(), protocol_version=5)
    assert eng.on_answer(H1, error(_wire.ERR_UNPREPARED, info=b"q1")) == E.REPREPARE
    assert isinstance(eng.payload, PrepareMessage)
    assert eng.payload.query == "INSERT INTO t (a) VALUES (?)"
    assert eng.payload.keyspace == "ks"


def test_unprepared_on_v4_prepares_without_the_keyspace_flag():
    eng = engine(prepared=_prepared(), protocol_version=4)
    assert eng.on_answer(H1, error(_wire.ERR_UNPREPARED, info=b"q1")) == E.REPREPARE
    assert eng.payload.keyspace is None


def test_unprepared_finds_other_statements_through_the_lookup():
    known = {b"q9": _prepared(b"q9")}
    eng = engine(lookup=known.get)
    assert eng.on_answer(H1, error(_wire.ERR_UNPREPARED, info=b"q9")) == E.REPREPARE
    eng = engine(lookup=known.get)
    assert eng.on_answer(H1, error(_wire.ERR_UNPREPARED, info=b"nope")) == E.FAIL
    assert eng.payload.__class__.__name__ == "PreparedQueryNotFound"


def test_reprepared_resends_and_takes_the_new_result_metadata():
    prepared = _prepared()
    eng = engine(prepared=prepared)
    eng.message = ExecuteMessage(b"q1", [], ConsistencyLevel.ONE)
    answer = result(_wire.RESULT_KIND_PREPARED, query_id=b"q1", result_metadata="md",
                    result_metadata_id=b"m")
    assert eng.on_reprepared(H1, answer) == E.RESEND
    assert prepared.result_metadata == "md" and eng.result_metadata == "md"
    assert prepared.result_metadata_id == b"m" and eng.message.result_metadata_id == b"m"
    assert eng.retries == 0  # a re-prepare is not a retry


def test_reprepared_with_another_id_fails():
    eng = engine(prepared=_prepared(b"q1"))
    answer = result(_wire.RESULT_KIND_PREPARED, query_id=b"q2")
    assert eng.on_reprepared(H1, answer) == E.FAIL
    assert "ID mismatch while re-preparing" in str(eng.payload)


def test_reprepare_that_lost_its_connection_moves_on():
    eng = engine(prepared=_prepared())
    exc = ConnectionException("gone")
    assert eng.on_reprepared(H1, exc) == E.NEXT_HOST
    assert eng.errors == {H1: exc}


def test_reprepare_refused_by_the_server_fails_with_its_error():
    eng = engine(prepared=_prepared())
    assert eng.on_reprepared(H1, error(_wire.ERR_INVALID, "no such table")) == E.FAIL
    assert "no such table" in str(eng.payload)
    assert engine().on_reprepared(H1, "junk") == E.FAIL


# ------------------------------------------------------------------ plan, timeouts, speculation

def test_plan_is_walked_once_and_no_host_available_carries_every_error():
    eng = engine(plan=[H1, H2])
    assert eng.next_host() == H1
    eng.host_failed(H1, ConnectionException("no pool"), keep_first=True)
    eng.host_failed(H1, ConnectionException("second"), keep_first=True)
    assert eng.next_host() == H2
    eng.host_failed(H2, ConnectionException("busy"))
    assert eng.next_host() is None
    exc = eng.no_host_available()
    assert isinstance(exc, NoHostAvailable)
    assert [str(e) for e in exc.errors.values()] == ["no pool", "busy"]


def test_timeout_names_the_host_and_keeps_earlier_errors():
    eng = engine()
    eng.on_answer(H1, unavailable())  # NEXT_HOST, recorded
    exc = eng.timed_out(H2)
    assert isinstance(exc, OperationTimedOut)
    assert set(exc.errors) == {H1, H2}
    assert "Client request timeout" in exc.errors[H2]
    assert H2 not in eng.errors  # the engine's own record is unchanged


def test_speculative_result_wins_and_errors_are_only_recorded():
    eng = engine()
    assert eng.speculative_answer_wins(H2, result(_wire.RESULT_KIND_VOID))
    err = unavailable()
    assert not eng.speculative_answer_wins(H3, err)
    assert eng.errors == {H3: err}
    assert eng.retries == 0


def test_a_new_page_starts_with_no_retries_or_errors():
    eng = engine()
    eng.on_answer(H1, unavailable())
    assert eng.retries == 1 and eng.errors
    eng.reset_for_page()
    assert eng.retries == 0 and eng.errors == {}


def test_action_names_cover_every_action():
    actions = {value for name, value in vars(E).items() if name.isupper() and isinstance(value, int)
               and not name.startswith("_") and name not in ("TIMEOUT_MESSAGE",)}
    assert set(E.ACTION_NAMES) == actions
