"""Connection draining and orphan accounting, without a network: the handshake between a pool
retiring a connection (loop thread) and a thread sending on it (``Connection.send_request``),
``close_drained``, and the orphaned-stream threshold.

The connection is built without a socket: its encoder is replaced by a stub, and its loop
identity is set to another thread's, so ``send_request`` takes the path of a thread sending
directly (with no socket to write to, the bytes go nowhere, which is all these tests need).
"""
import asyncio

import pytest

from cassfast.connection import Connection, ConnectionBusy, ConnectionDraining
from cassfast.host import DefaultEndPoint


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def off_loop_connection(loop, encode=None):
    connection = Connection(DefaultEndPoint("127.0.0.1"), loop, 5)
    connection._encode = encode or (lambda *args: b"frame")
    connection._loop_ident = -1  # not this thread: the direct-send path
    return connection


def test_draining_connection_refuses_before_registering(loop):
    connection = off_loop_connection(loop)
    connection.draining = True
    with pytest.raises(ConnectionDraining):
        connection.send_request(object(), lambda response: None)
    assert connection.in_flight == 0
    assert isinstance(ConnectionDraining("x"), ConnectionBusy)  # callers that only know Busy


def test_sender_that_registers_after_the_pool_retired_it_takes_its_entry_back(loop):
    # The pool sets ``draining`` while this thread is between its first check and registering
    # (simulated inside the encoder): the second check must see it, remove the entry, give the
    # stream id back and ask the loop to re-check whether the connection can close.
    connection = off_loop_connection(loop)
    callbacks = []

    def encode(*args):
        connection.draining = True
        return b"frame"
    connection._encode = encode
    freed = []
    connection.on_streams_freed = lambda: freed.append(True)
    with pytest.raises(ConnectionDraining):
        connection.send_request(object(), callbacks.append)
    assert connection.in_flight == 0 and connection.is_drained
    assert connection._free_ids == [1]  # the id it took is reusable
    assert callbacks == []  # never called: the request was not sent and may go elsewhere
    loop.call_soon(loop.stop)
    loop.run_forever()  # runs what the sender queued with call_soon_threadsafe
    assert freed == [True]


def test_close_drained_leaves_entries_to_their_senders_and_connection_lost_fails_nothing(loop):
    connection = off_loop_connection(loop)
    calls = []
    connection.send_request(object(), calls.append)
    connection.orphan(1)  # timed out: only an orphan is left
    assert connection.is_drained
    closed = []
    connection.add_close_callback(closed.append)
    connection.close_drained()
    assert connection.is_closed and not connection.is_defunct
    assert closed == [connection]
    connection.connection_lost(None)
    assert calls == []


def test_connection_with_live_requests_is_not_drained(loop):
    connection = off_loop_connection(loop)
    connection.send_request(object(), lambda response: None)
    connection.send_request(object(), lambda response: None)
    connection.orphan(1)
    assert connection.in_flight == 2 and connection.orphaned == 1
    assert not connection.is_drained


def test_orphan_threshold_reports_once(loop, monkeypatch):
    monkeypatch.setattr(Connection, "orphaned_threshold", 3)
    connection = off_loop_connection(loop)
    reported = []
    connection.on_orphaned_threshold = reported.append
    for _ in range(5):
        connection.send_request(object(), lambda response: None)
    for stream_id in (1, 2):
        connection.orphan(stream_id)
    assert reported == [] and not connection.orphaned_threshold_reached
    for stream_id in (3, 4, 5):
        connection.orphan(stream_id)
    assert reported == [connection] and connection.orphaned_threshold_reached
    assert connection.orphaned_request_ids == {1, 2, 3, 4, 5}


def test_default_orphan_threshold_is_the_references():
    from cassandra.connection import Connection as ReferenceConnection
    assert Connection.orphaned_threshold == ReferenceConnection.orphaned_threshold
