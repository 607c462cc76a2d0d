"""Per-host connection pools: sizing by distance, stream back-pressure, reconnection.

A session keeps one :class:`HostConnectionPool` per host that its load-balancing policy does not
ignore.  A pool holds ``core_connections`` multiplexed connections (each carries up to 32,768
requests, so one is usually plenty for protocol v3+).  A request borrows the least-loaded
connection; when every stream id of every connection is taken, it parks in the pool's wait list and
is resumed as soon as an answer frees a stream: there is no sleep and no polling, and the wait is
bounded by the request's own timeout.  A lost connection is replaced on the cluster's reconnection
policy schedule; when the last one is lost the cluster hears about it (conviction, host down) and
when one comes back it hears that too (host up).

Everything except construction and ``shutdown`` runs on the I/O loop thread.  ``Host`` is
re-exported from ``cassfast.host``, where the reference driver's ``cassandra.pool.Host`` lives here.
"""
from __future__ import annotations

import asyncio
import collections
import logging
from typing import Callable

from cassfast._lanes import LaneSet
from cassfast.connection import Connection, ConnectionException
from cassfast.host import Host  # noqa: F401  (public re-export, as cassandra.pool.Host)

log = logging.getLogger(__name__)


class NoConnectionsAvailable(ConnectionException):
    """The pool has no open connection (all failed or the pool is shut down)."""


class HostConnectionPool:
    """The connections of one session to one host."""

    def __init__(self, host, host_distance, session) -> None:
        self.host = host
        self.host_distance = host_distance
        self.session = session
        cluster = session.cluster
        self.core_connections = max(1, cluster.get_core_connections_per_host(host_distance))
        self.connections: list[Connection] = []
        self.is_shutdown = False
        self._waiters: collections.deque = collections.deque()
        self._reconnect_task: asyncio.Task | None = None
        self._opening = 0
        self.last_error: BaseException | None = None
        # Extra connections that threads blocked in Session.execute drive themselves.
        self.lanes = LaneSet(self, cluster.sync_lanes_per_host) if cluster.sync_lanes_per_host else None

    # ------------------------------------------------------------------ opening

    async def open(self) -> None:
        """Open the core connections; raises the last error when none could be opened."""
        results = await asyncio.gather(*[self._open_one() for _ in range(self.core_connections)],
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if not self.connections:
            raise errors[-1] if errors else NoConnectionsAvailable(
                "No connection to %s could be opened" % self.host, self.host.endpoint)
        if errors:
            self._ensure_reconnecting()

    async def _open_one(self) -> Connection:
        self._opening += 1
        try:
            connection = await self.session.cluster._open_connection(
                self.host.endpoint, owner=self, keyspace=self.session.keyspace)
        finally:
            self._opening -= 1
        if self.is_shutdown:
            connection.close()
            raise NoConnectionsAvailable("Pool for %s was shut down" % self.host, self.host.endpoint)
        connection.on_streams_freed = self._on_streams_freed
        connection.add_close_callback(self._on_connection_closed)
        self.connections.append(connection)
        self._on_streams_freed()
        return connection

    # ------------------------------------------------------------------ borrowing

    def borrow_connection(self) -> Connection | None:
        """The least-loaded open connection, None when all are saturated (wait), or raise."""
        connections = self.connections
        if len(connections) == 1:
            connection = connections[0]
            if connection.available_streams > 0:
                return connection
            return None
        if not connections:
            if self.is_shutdown:
                raise NoConnectionsAvailable("Pool for %s is shut down" % self.host, self.host.endpoint)
            raise NoConnectionsAvailable(
                "No open connection to %s%s" % (self.host, ": %s" % self.last_error if self.last_error else ""),
                self.host.endpoint)
        best = max(connections, key=_available)
        return best if best.available_streams > 0 else None

    def wait_for_stream(self, resume: Callable[[], None]) -> None:
        """Park a request until a stream frees up; ``resume`` retries the borrow."""
        self._waiters.append(resume)

    def _on_streams_freed(self) -> None:
        waiters = self._waiters
        while waiters:
            if self.connections and self.borrow_connection() is None:
                return
            waiters.popleft()()

    @property
    def in_flight(self) -> int:
        return sum(c.in_flight for c in self.connections)

    @property
    def open_count(self) -> int:
        return len(self.connections)

    # ------------------------------------------------------------------ failures and reconnection

    def _on_connection_closed(self, connection: Connection) -> None:
        try:
            self.connections.remove(connection)
        except ValueError:
            return
        if self.is_shutdown:
            return
        self.last_error = connection.last_error
        log.debug("Connection to %s lost: %s", self.host, connection.last_error)
        if not self.connections:
            # Waiting requests move on to their next host rather than wait for a reconnect.
            self._on_streams_freed()
            self.session.cluster._on_pool_lost_all(self.host, connection.last_error)
        self._ensure_reconnecting()

    def _ensure_reconnecting(self) -> None:
        if self.is_shutdown or (self._reconnect_task is not None and not self._reconnect_task.done()):
            return
        self._reconnect_task = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        schedule = iter(self.session.cluster.reconnection_policy.new_schedule())
        while not self.is_shutdown and len(self.connections) + self._opening < self.core_connections:
            delay = next(schedule, None)
            if delay is None:
                log.warning("Giving up reconnecting to %s: the reconnection schedule is exhausted", self.host)
                return
            await asyncio.sleep(delay)
            if self.is_shutdown:
                return
            was_empty = not self.connections
            try:
                await self._open_one()
            except Exception as exc:
                self.last_error = exc
                log.debug("Reconnecting to %s failed (next attempt on schedule): %s", self.host, exc)
                continue
            if was_empty:
                self.session.cluster._on_pool_reconnected(self.host)

    def reconnect_now(self) -> None:
        """Skip the remaining delay (the server said the host is UP)."""
        if self.is_shutdown or len(self.connections) >= self.core_connections:
            return
        if self._reconnect_task is not None and not self._reconnect_task.done():
            self._reconnect_task.cancel()
        self._reconnect_task = asyncio.ensure_future(self._reconnect_immediately())

    async def _reconnect_immediately(self) -> None:
        was_empty = not self.connections
        try:
            await self._open_one()
        except Exception as exc:
            self.last_error = exc
            self._reconnect_task = None
            self._ensure_reconnecting()
            return
        if was_empty:
            self.session.cluster._on_pool_reconnected(self.host)
        self._reconnect_task = None
        if len(self.connections) < self.core_connections:
            self._ensure_reconnecting()

    # ------------------------------------------------------------------ keyspace and shutdown

    async def set_keyspace(self, keyspace: str) -> None:
        await asyncio.gather(*[c.set_keyspace(keyspace) for c in list(self.connections)])

    def shutdown(self) -> None:
        """Close every connection (loop thread); parked requests move on to other hosts."""
        if self.is_shutdown:
            return
        self.is_shutdown = True
        if self._reconnect_task is not None:
            self._reconnect_task.cancel()
        for connection in list(self.connections):
            connection.close()
        self.connections = []
        if self.lanes is not None:
            self.lanes.close()
        waiters, self._waiters = self._waiters, collections.deque()
        for resume in waiters:
            resume()

    def __repr__(self) -> str:
        return "<HostConnectionPool %s connections=%d in_flight=%d%s>" % (
            self.host, len(self.connections), self.in_flight, " shutdown" if self.is_shutdown else "")


def _available(connection: Connection) -> int:
    return connection.available_streams


# Names the reference's cassandra.pool exposes by importing them.
from cassfast import AuthenticationFailed  # noqa: E402,F401
from cassfast.host import DefaultEndPoint, EndPoint  # noqa: E402,F401
from cassfast.policies import HostDistance  # noqa: E402,F401
