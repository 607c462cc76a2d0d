"""Per-host connection pools: sizing by distance, growth under load, stream back-pressure,
draining, orphaned-stream replacement and reconnection.

A session keeps one :class:`HostConnectionPool` per host that its load-balancing policy does not
ignore.  Sizing follows the cluster's settings for the host's ``HostDistance``:

* ``core_connections`` are opened with the pool and kept open (reopened on the reconnection
  policy's schedule when lost).  With protocol v3+ one multiplexed connection carries up to
  32,768 requests, so the default is 1 for LOCAL and REMOTE hosts, which is what the reference's
  v3+ ``HostConnection`` opens.
* The pool grows by real load only: when a request borrows the least-loaded connection and even
  that one has ``max_requests_per_connection`` live (not orphaned) requests in flight, one more
  connection is opened, up to ``max_connections`` (no timers; one opening at a time).
* It shrinks back towards ``core_connections`` when the pool carries at most
  ``min_requests_per_connection`` live requests per remaining connection, at the earliest
  ``_MIN_TRASH_INTERVAL`` seconds after the last growth (the reference's hysteresis, so a bursty
  load does not open and close connections in a loop).  A settings change
  (``Cluster.set_core_connections_per_host`` / ``set_max_connections_per_host``) or a new
  distance resizes the pool at once.

Shrinking never fails a request: a retired connection is *draining*: it is no longer handed out,
its requests complete normally, and it closes once only orphaned streams are left.  A connection
whose orphaned streams (requests that timed out on the client, whose ids stay reserved until the
server answers) reach ``Connection.orphaned_threshold`` is replaced the same way: a fresh one is
opened, then the old one drains.

A request borrows the least-loaded connection; when every stream id of every connection is taken
it parks in the pool's wait list and is resumed as soon as an answer frees a stream: there is no
sleep and no polling, and the wait is bounded by the request's own timeout.  When the last
connection is lost the cluster hears about it (conviction, host down) and when one comes back it
hears that too (host up).

``borrow_connection`` may run on any thread (a synchronous ``execute`` sends its own request);
everything else runs on the I/O loop thread.  ``connections`` is replaced, never mutated, so a
borrowing thread always iterates a consistent list.  ``Host`` is re-exported from
``cassfast.host``, where the reference driver's ``cassandra.pool.Host`` lives here.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import logging
import time
from typing import Callable

from cassfast._interfaces import Connector, HostEvents, PoolSettings
from cassfast._lanes import LaneSet
from cassfast._reconnect import Reconnector
from cassfast.connection import Connection, ConnectionException
from cassfast.host import Host  # noqa: F401  (public re-export, as cassandra.pool.Host)
from cassfast import _logger_for

log = _logger_for(__name__)

# Seconds after a growth during which load-based shrinking waits (reference: _MIN_TRASH_INTERVAL).
_MIN_TRASH_INTERVAL = 10.0


class NoConnectionsAvailable(ConnectionException):
    """The pool has no open connection (all failed or the pool is shut down)."""


class HostConnectionPool:
    """The connections of one session to one host."""

    def __init__(self, host, host_distance, session, connector: Connector, host_events: HostEvents,
                 settings: PoolSettings) -> None:
        # ``session`` is read for its keyspace only; the cluster is reached through the three
        # narrow interfaces (cassfast._interfaces), never through its private methods.
        self.host = host
        self.host_distance = host_distance
        self.session = session
        self.connector = connector
        self.host_events = host_events
        self.settings = settings
        self.connections: list[Connection] = []
        self.is_shutdown = False
        self._waiters: collections.deque = collections.deque()
        # Core connections lost (or never opened) are reopened on the reconnection schedule,
        # the first attempt after its first delay.
        self._reconnector = Reconnector(
            self._new_schedule, self._reconnect_attempt, is_needed=self._below_core, log=log,
            what="reconnecting to %s" % (host,), failure_level=logging.DEBUG,
            give_up_level=logging.WARNING)
        self._opening = 0
        self.last_error: BaseException | None = None
        # Extra connections that threads blocked in Session.execute drive themselves.
        self.lanes = LaneSet(self, settings.sync_lanes_per_host) if settings.sync_lanes_per_host else None
        # Retired connections, draining: closed once only orphans are left on them.
        self._trash: list[Connection] = []
        self._last_growth = 0.0
        # Connections past their orphan threshold -> the Reconnector opening their successor.
        self._replacing: dict = {}
        # Set when opening a connection for load failed: no further growth until a connection
        # opens or the pool is resized (a down host must not be hammered on every borrow).
        self._growth_blocked = False
        self._read_settings()

    def _read_settings(self) -> None:
        settings = self.settings
        distance = self.host_distance
        self.core_connections = max(1, settings.get_core_connections_per_host(distance))
        # A max below core is read as core: core connections are always kept.
        self.max_connections = max(self.core_connections, settings.get_max_connections_per_host(distance))
        self.min_requests_per_connection = settings.get_min_requests_per_connection(distance)
        self.max_requests_per_connection = settings.get_max_requests_per_connection(distance)
        self._update_may_grow()

    def _update_may_grow(self) -> None:
        # Read without a lock by borrowing threads; a stale value costs at most one extra check.
        self._may_grow = (not self.is_shutdown and not self._growth_blocked
                          and len(self.connections) + self._opening < self.max_connections)

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
        self._update_may_grow()
        try:
            connection = await self.connector.open_connection(
                self.host.endpoint, owner=self, keyspace=self.session.keyspace)
        finally:
            self._opening -= 1
            self._update_may_grow()
        if self.is_shutdown:
            connection.close()
            raise NoConnectionsAvailable("Pool for %s was shut down" % self.host, self.host.endpoint)
        connection.on_streams_freed = self._on_streams_freed
        connection.on_orphaned_threshold = self._on_orphaned_threshold
        connection.add_close_callback(self._on_connection_closed)
        self.connections = self.connections + [connection]
        self._growth_blocked = False
        self._update_may_grow()
        self._resume_waiters()
        return connection

    async def _open_extra(self, reason: str) -> None:
        """One connection beyond what is open (growth, or back up to a raised core size)."""
        try:
            await self._open_one()
        except Exception as exc:
            # The existing connections keep serving.
            log.warning("Failed to open an additional connection to %s (%s): %s", self.host, reason, exc)
            self._growth_blocked = True
            self._update_may_grow()

    # ------------------------------------------------------------------ borrowing

    def borrow_connection(self) -> Connection | None:
        """The least-loaded open connection, None when all are saturated (wait), or raise.

        Any thread.  Asks for one more connection when even the least-loaded one carries
        ``max_requests_per_connection`` live requests and the pool may still grow.
        """
        connections = self.connections
        if len(connections) == 1:
            best = connections[0]
        elif not connections:
            if self.is_shutdown:
                raise NoConnectionsAvailable("Pool for %s is shut down" % self.host, self.host.endpoint)
            raise NoConnectionsAvailable(
                "No open connection to %s%s" % (self.host, ": %s" % self.last_error if self.last_error else ""),
                self.host.endpoint)
        else:
            best = max(connections, key=_available)
        if self._may_grow and best.in_flight - best.orphaned >= self.max_requests_per_connection:
            self._may_grow = False
            self._call_on_loop(self._grow)
        return best if best.available_streams > 0 else None

    def _call_on_loop(self, fn: Callable[[], None]) -> None:
        loop_thread = self.connector.loop_thread
        if loop_thread.in_loop_thread():
            fn()
        else:
            loop_thread.submit(fn)

    def _grow(self) -> None:
        if self.is_shutdown or len(self.connections) + self._opening >= self.max_connections:
            self._update_may_grow()
            return
        self._last_growth = time.monotonic()
        log.debug("Growing the pool for %s to %d connections", self.host, len(self.connections) + 1)
        asyncio.ensure_future(self._open_extra("load"))

    def wait_for_stream(self, resume: Callable[[], None]) -> None:
        """Park a request until a stream frees up; ``resume`` retries the borrow."""
        self._waiters.append(resume)

    def _resume_waiters(self) -> None:
        waiters = self._waiters
        while waiters:
            if self.connections and self.borrow_connection() is None:
                return
            waiters.popleft()()

    def _on_streams_freed(self) -> None:
        if self._waiters:
            self._resume_waiters()
        if self._trash:
            self._close_drained()
        if len(self.connections) > self.core_connections:
            self._shrink_by_load()

    @property
    def in_flight(self) -> int:
        return sum(c.in_flight for c in self.connections) + sum(c.in_flight for c in self._trash)

    @property
    def open_count(self) -> int:
        return len(self.connections)

    # ------------------------------------------------------------------ resizing and draining

    def resize(self, host_distance=None) -> None:
        """Apply the cluster's current sizing for ``host_distance`` (default: unchanged).

        Opens connections up to core, retires those above max, and retires idle ones above core.
        """
        if self.is_shutdown:
            return
        if host_distance is not None:
            self.host_distance = host_distance
        self._growth_blocked = False
        self._read_settings()
        missing = self.core_connections - len(self.connections) - self._opening
        for _ in range(max(0, missing)):
            self._opening += 1  # counted now, so that a second resize does not open them twice
            asyncio.ensure_future(self._open_counted("core size"))
        self._update_may_grow()
        by_load = sorted(self.connections, key=_live)
        while len(self.connections) > self.max_connections:
            self._retire(by_load.pop(0))
        self._shrink_idle(by_load)

    async def _open_counted(self, reason: str) -> None:
        self._opening -= 1  # _open_one counts it again for the time it takes
        await self._open_extra(reason)
        # A core connection that failed to open is reopened on the reconnection schedule, as
        # one lost later would be (growth stays blocked meanwhile).
        if self._below_core():
            self._ensure_reconnecting()

    def _shrink_by_load(self) -> None:
        if time.monotonic() - self._last_growth < _MIN_TRASH_INTERVAL:
            return
        self._shrink_idle(sorted(self.connections, key=_live))

    def _shrink_idle(self, by_load: list) -> None:
        # The pool as a whole must be nearly idle (at most min_requests live requests per
        # remaining connection): right after growth the new connection is idle but the others
        # are not, and retiring it then would only open it again.
        floor = self.min_requests_per_connection
        candidates = [c for c in by_load if c not in self._replacing]
        while len(self.connections) > self.core_connections and candidates:
            if sum(_live(c) for c in self.connections) > floor * (len(self.connections) - 1):
                return
            self._retire(candidates.pop(0))

    def _retire(self, connection: Connection) -> None:
        """Stop handing ``connection`` out; close it once only orphans are left on it."""
        self.connections = [c for c in self.connections if c is not connection]
        self._update_may_grow()
        # ``draining`` is set before in-flight requests are counted: see Connection.send_request.
        connection.draining = True
        self._trash.append(connection)
        log.debug("Retiring a connection to %s (%d requests in flight, %d orphaned)",
                  self.host, connection.in_flight, connection.orphaned)
        self._close_drained()

    def _close_drained(self) -> None:
        for connection in [c for c in self._trash if c.is_drained]:
            self._trash.remove(connection)
            connection.close_drained()

    def _on_orphaned_threshold(self, connection: Connection) -> None:
        if self.is_shutdown or connection in self._replacing or connection not in self.connections:
            return
        log.debug("Connection to %s has %d orphaned streams; replacing it", self.host, connection.orphaned)
        # The successor is tried at once, then on the reconnection schedule.
        replacer = Reconnector(
            self._new_schedule, functools.partial(self._open_successor, connection),
            is_needed=functools.partial(self._still_to_replace, connection), log=log,
            what="opening a replacement connection to %s" % (self.host,), attempt_first=True)
        self._replacing[connection] = replacer
        replacer.start()
        replacer.task.add_done_callback(lambda _: self._replacing.pop(connection, None))

    def _still_to_replace(self, connection: Connection) -> bool:
        return not self.is_shutdown and connection in self.connections

    async def _open_successor(self, connection: Connection) -> None:
        await self._open_one()
        if connection in self.connections:
            self._retire(connection)

    # ------------------------------------------------------------------ failures and reconnection

    def _on_connection_closed(self, connection: Connection) -> None:
        if connection in self._trash:
            self._trash.remove(connection)  # a retired connection that failed: nothing to reopen
            return
        if connection not in self.connections:
            return
        self.connections = [c for c in self.connections if c is not connection]
        self._update_may_grow()
        if self.is_shutdown:
            return
        self.last_error = connection.last_error
        log.debug("Connection to %s lost: %s", self.host, connection.last_error)
        if not self.connections:
            # Waiting requests move on to their next host rather than wait for a reconnect.
            self._resume_waiters()
            self.host_events.on_pool_lost_all(self.host, connection.last_error)
        self._ensure_reconnecting()

    def _new_schedule(self):
        return self.settings.reconnection_policy.new_schedule()

    def _below_core(self) -> bool:
        return not self.is_shutdown and len(self.connections) + self._opening < self.core_connections

    def _ensure_reconnecting(self) -> None:
        """Reopen core connections on the reconnection schedule, unless that is under way."""
        if not self.is_shutdown:
            self._reconnector.start()

    async def _reconnect_attempt(self) -> None:
        was_empty = not self.connections
        try:
            await self._open_one()
        except Exception as exc:
            self.last_error = exc
            raise
        if was_empty:
            self.host_events.on_pool_reconnected(self.host)

    def reconnect_now(self) -> None:
        """Skip the remaining delay (the server said the host is UP): attempt at once, then
        follow a fresh schedule."""
        if self.is_shutdown or len(self.connections) >= self.core_connections:
            return
        self._reconnector.reconnect_now()

    # ------------------------------------------------------------------ keyspace and shutdown

    async def set_keyspace(self, keyspace: str) -> None:
        await asyncio.gather(*[c.set_keyspace(keyspace) for c in list(self.connections)])

    def shutdown(self) -> None:
        """Close every connection (loop thread); parked requests move on to other hosts."""
        if self.is_shutdown:
            return
        self.is_shutdown = True
        self._may_grow = False
        self._reconnector.cancel()
        for replacer in list(self._replacing.values()):
            replacer.cancel()
        connections = self.connections + self._trash
        self.connections = []
        if self.lanes is not None:
            self.lanes.close()
        self._trash = []
        for connection in connections:
            connection.close()
        waiters, self._waiters = self._waiters, collections.deque()
        for resume in waiters:
            resume()

    def __repr__(self) -> str:
        return "<HostConnectionPool %s connections=%d draining=%d in_flight=%d%s>" % (
            self.host, len(self.connections), len(self._trash), self.in_flight,
            " shutdown" if self.is_shutdown else "")


def _available(connection: Connection) -> int:
    return connection.available_streams


def _live(connection: Connection) -> int:
    """Requests in flight that someone still waits for (orphans excluded)."""
    return connection.in_flight - connection.orphaned


# Names the reference's cassandra.pool exposes by importing them.
from cassfast import AuthenticationFailed  # noqa: E402,F401
from cassfast.host import DefaultEndPoint, EndPoint  # noqa: E402,F401
from cassfast.policies import HostDistance  # noqa: E402,F401
