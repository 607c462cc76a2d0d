"""Reconnection on the real node: the control connection and the pool, through cassfast._reconnect.

Server: the harness's single Apache Cassandra node (5.0 by default), reached through ``Gate``, a
plain TCP forwarder on a fixed loopback port of its own that can stop accepting (connections are
refused and the open ones reset) and accept again on the same port: while it is shut the
driver's attempts fail for real (ECONNREFUSED), so the schedule, the logged next delays, the
give-up and the recovery are the driver's own against a real server.  The loggers are
``cassfast._control.log`` and ``cassfast.pool.log`` themselves (their names depend on
``install_as_cassandra``, which other tests of the session may have called).
"""
from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import pytest

from cassfast import _control, pool as pool_module
from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.policies import ConstantReconnectionPolicy, WhiteListRoundRobinPolicy


class Gate:
    """Forward 127.0.0.1:<port> to the node; ``shut()`` refuses and resets, ``open()`` accepts."""

    def __init__(self, upstream) -> None:
        self.upstream = upstream
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.address = probe.getsockname()
        probe.close()
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.writers: set = set()
        self.thread = threading.Thread(target=self.loop.run_forever, name="gate", daemon=True)
        self.thread.start()

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _accept(self, client_reader, client_writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.close()
            return
        self.writers.update((client_writer, upstream_writer))
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        self.writers.difference_update((client_writer, upstream_writer))

    async def _open(self) -> None:
        self.server = await asyncio.start_server(self._accept, *self.address, reuse_address=True)

    async def _shut(self) -> None:
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.writers):
            writer.transport.abort()

    def open(self) -> None:
        self._call(self._open())

    def shut(self) -> None:
        self._call(self._shut())

    def close(self) -> None:
        if self.server is not None and self.server.is_serving():
            self.shut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list = []

    def emit(self, record) -> None:
        self.records.append(record)

    def messages(self, level, text) -> list:
        return [r.getMessage() for r in list(self.records) if r.levelno == level and text in r.getMessage()]


@pytest.fixture
def gate(cassandra_single):
    gate = Gate((cassandra_single.contact_points[0], cassandra_single.port))
    gate.open()
    yield gate
    gate.close()


@pytest.fixture
def records():
    handler = Records()
    loggers = [_control.log, pool_module.log]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield handler
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


def _cluster(gate, policy) -> Cluster:
    host, port = gate.address
    return Cluster([host], port=port, reconnection_policy=policy, connect_timeout=2,
                   control_connection_timeout=2, load_balancing_policy=WhiteListRoundRobinPolicy([host]))


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not within %.0f s: %s" % (timeout, what))
        time.sleep(0.05)


def test_the_control_connection_and_the_pool_reconnect_on_the_schedule_once_the_node_is_reachable(
        gate, records):
    with _cluster(gate, ConstantReconnectionPolicy(0.3, None)) as cluster:
        session = cluster.connect()
        assert session.execute("SELECT release_version FROM system.local").one()
        first_control = cluster.control_connection.connection

        gate.shut()
        _wait_for(lambda: len(records.messages(logging.WARNING, "Reconnecting the control connection failed")) >= 2,
                  15, "two failed control connection attempts")
        _wait_for(lambda: len(records.messages(logging.DEBUG, "failed, next attempt in 0.30s")) >= 4, 15,
                  "the pool's failed attempts too")
        with pytest.raises(NoHostAvailable):
            session.execute("SELECT release_version FROM system.local")

        gate.open()
        _wait_for(lambda: cluster.control_connection.connection is not None, 15, "the control connection back")
        _wait_for(lambda: all(p.connections for p in session.get_pools()), 15, "the pool back")
        assert cluster.control_connection.connection is not first_control
        assert session.execute("SELECT release_version FROM system.local").one()
        # The new control connection serves the cluster's metadata queries.
        assert cluster.control_connection.wait_for_schema_agreement(wait_time=10) is True
        host = cluster.metadata.all_hosts()[0]
        assert host.is_up is True

    control_failures = records.messages(logging.WARNING, "Reconnecting the control connection failed")
    assert all("next attempt in 0.30s" in m for m in control_failures), control_failures
    assert not records.messages(logging.ERROR, "Giving up"), "an infinite schedule never gives up"


def test_an_exhausted_schedule_gives_up_and_reconnect_now_brings_the_pool_and_control_connection_back(gate, records):
    with _cluster(gate, ConstantReconnectionPolicy(0.2, max_attempts=2)) as cluster:
        session = cluster.connect()
        (pool,) = session.get_pools()
        gate.shut()
        _wait_for(lambda: records.messages(logging.ERROR, "Giving up reconnecting the control connection"), 15,
                  "the control connection giving up")
        _wait_for(lambda: records.messages(logging.WARNING, "Giving up reconnecting to"), 15,
                  "the pool giving up")
        gate.open()
        time.sleep(1.0)  # nothing is scheduled any more: the pool stays empty
        assert pool.connections == [] and not pool._reconnector.running
        started = time.monotonic()
        with pytest.raises(NoHostAvailable):
            session.execute("SELECT release_version FROM system.local")
        assert time.monotonic() - started < 2, "a request to a host given up on fails at once"

        # What an UP event does (Cluster._on_status_event): attempt at once on a fresh schedule.
        cluster._loop_thread.submit(pool.reconnect_now)
        _wait_for(lambda: pool.connections, 10, "the pool reconnected by reconnect_now")
        _wait_for(lambda: cluster.metadata.all_hosts()[0].is_up is True, 10, "the host marked up")
        assert session.execute("SELECT release_version FROM system.local").one()
        # The host coming back revives the control connection that had given up too.
        _wait_for(lambda: cluster.control_connection.connection is not None, 10,
                  "the control connection revived by the host coming up")
        assert cluster.control_connection.wait_for_schema_agreement(wait_time=10) is True

    (control_give_up,) = records.messages(logging.ERROR, "Giving up reconnecting the control connection")
    assert "the reconnection schedule is exhausted; last error:" in control_give_up
    # Two delays of 0.2 s after the immediate attempt: three control attempts, two logged with
    # their next delay, the third as the give-up.
    assert len(records.messages(logging.WARNING, "Reconnecting the control connection failed")) == 2
