"""Unit tests of cassfast.query's tracing: ``TraceEvent`` against cassandra-driver 3.30's, and
``QueryTrace.populate``'s polling, back-off and deadline against an in-process stand-in for the
session that answers the ``system_traces`` queries (the real thing is exercised by
tests/integration/test_crossdriver_statements.py).  No network.
"""
import time as time_module
import uuid
from datetime import datetime

import pytest

import cassandra.query as ref_query

from cassfast import query as cf_query


def test_trace_event_time_and_elapsed_match_the_reference():
    event_id = uuid.UUID("8a9b0d30-5f4e-11ee-8c99-0242ac120002")  # a version-1 (time) UUID
    ours = cf_query.TraceEvent("Parsing", event_id, "127.0.0.1", 1234, "Native-Transport-1")
    ref = ref_query.TraceEvent("Parsing", event_id, "127.0.0.1", 1234, "Native-Transport-1")
    assert (ours.datetime, ours.source_elapsed, str(ours)) == (
        ref.datetime, ref.source_elapsed, str(ref))
    assert ours.datetime.tzinfo is not None
    assert cf_query.TraceEvent("x", event_id, None, None, "t").source_elapsed is None


class _TraceSession:
    """Answers the two trace queries the way ``system_traces`` does while a trace is being
    written: the session row appears first without ``duration``, complete after ``ready_after``
    polls."""

    def __init__(self, ready_after):
        from collections import namedtuple
        self.polls = []
        self.ready_after = ready_after
        self.Session = namedtuple("Row", "request duration started_at coordinator parameters "
                                         "client")
        self.Event = namedtuple("Row", "activity event_id source source_elapsed thread")

    def _create_response_future(self, statement, params, trace, custom_payload, timeout):
        session = self

        class Future:
            row_factory = None

            def send_request(self):
                session.polls.append((statement.query_string, params, timeout,
                                      statement.consistency_level))

            def result(self):
                if "sessions" in statement.query_string:
                    n = sum("sessions" in q for q, _, _, _ in session.polls)
                    complete = n > session.ready_after
                    return [session.Session("Execute CQL3 query", 1234 if complete else None,
                                            datetime(2024, 1, 1), "127.0.0.1", {"q": "x"},
                                            "127.0.0.2")]
                return [session.Event("Parsing", uuid.UUID("8a9b0d30-5f4e-11ee-8c99-0242ac120002"),
                                      "127.0.0.1", 10, "worker-1")]

        return Future()


def test_trace_populate_polls_until_the_session_row_is_complete():
    session = _TraceSession(ready_after=3)
    trace = cf_query.QueryTrace(uuid.UUID(int=9), session)
    trace.populate(max_wait=10, query_cl=1)
    assert [q for q, _, _, _ in session.polls].count(
        cf_query.QueryTrace._SELECT_SESSIONS_FORMAT) == 4
    assert session.polls[0][1] == (uuid.UUID(int=9),) and session.polls[0][3] == 1
    assert (trace.request_type, trace.coordinator, trace.client, trace.started_at) == (
        "Execute CQL3 query", "127.0.0.1", "127.0.0.2", datetime(2024, 1, 1))
    assert trace.duration.total_seconds() == 0.001234
    assert [(e.description, e.thread_name) for e in trace.events] == [("Parsing", "worker-1")]


def test_trace_populate_gives_up_after_max_wait_with_trace_unavailable():
    session = _TraceSession(ready_after=10 ** 9)
    t0 = time_module.monotonic()
    with pytest.raises(cf_query.TraceUnavailable, match="0.200000 seconds"):
        cf_query.QueryTrace(uuid.UUID(int=9), session).populate(max_wait=0.2)
    # The back-off never sleeps past the deadline.
    assert time_module.monotonic() - t0 < 1.0


def test_trace_populate_accepts_a_partial_trace_when_asked():
    session = _TraceSession(ready_after=10 ** 9)
    trace = cf_query.QueryTrace(uuid.UUID(int=9), session)
    trace.populate(max_wait=5, wait_for_complete=False)
    assert trace.duration is None and trace.request_type == "Execute CQL3 query"
    assert len(session.polls) == 2
