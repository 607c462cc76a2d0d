"""The control connection: discovery, server events, and schema and token refreshes.

One connection per ``Cluster`` (not per session) reads ``system.local`` and ``system.peers_v2``
(``system.peers`` on servers without it) to learn the nodes, their locations and tokens, REGISTERs
for TOPOLOGY_CHANGE, STATUS_CHANGE and SCHEMA_CHANGE events (spec 4.1.8, 4.2.6), and feeds what it
reads into ``cassfast.metadata.Metadata``.  Bursts of events are coalesced: each kind waits its
refresh window (``topology_event_refresh_window`` etc.) and one refresh serves them all.  When
its connection is lost it reconnects to the next host of the load-balancing plan, on the
reconnection policy's schedule.  Everything here runs on the cluster's I/O loop (cold path, plain
asyncio code).
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

from cassfast import ConsistencyLevel, InvalidRequest
from cassfast._errors import NoHostAvailable
from cassfast._interfaces import Connector, TopologyEvents
from cassfast._reconnect import Reconnector
from cassfast._wire import EVENT_SCHEMA_CHANGE, EVENT_STATUS_CHANGE, EVENT_TOPOLOGY_CHANGE
from cassfast.connection import ConnectionException
from cassfast.protocol import QueryMessage, RegisterMessage
from cassfast import _logger_for

log = _logger_for(__name__)

SELECT_LOCAL = "SELECT * FROM system.local WHERE key='local'"
SELECT_PEERS_V2 = "SELECT * FROM system.peers_v2"
SELECT_PEERS = "SELECT * FROM system.peers"
SELECT_SCHEMA_LOCAL = "SELECT schema_version FROM system.local WHERE key='local'"
SELECT_SCHEMA_PEERS = "SELECT peer, rpc_address, schema_version FROM system.peers"
SCHEMA_TABLES = ("keyspaces", "tables", "columns", "types", "functions", "aggregates",
                 "indexes", "views", "triggers")
# Virtual tables (system_views, ...) came with Cassandra 4.0; as in the reference (its parser for
# 4.0+ servers), they are read only from servers reporting 4.0 or later, and a server that reports
# it but lacks them (some DSE versions, the reference notes) reads as having none.
VIRTUAL_SCHEMA_TABLES = ("keyspaces", "tables", "columns")


def rows_as_dicts(response) -> list[dict]:
    """The rows of a RESULT Rows message as dicts, whatever row shape the message layer produced."""
    rows = getattr(response, "parsed_rows", None) or []
    names = list(getattr(response, "column_names", None) or [])
    out = []
    for row in rows:
        if isinstance(row, dict):
            out.append(dict(row))
        else:
            out.append(dict(zip(names, row)))
    return out


class ControlConnection:
    """Owns the cluster's control connection; created and driven by ``Cluster``.

    The ``*_async`` coroutines run on the cluster's I/O loop (the cluster and the event handlers
    await them).  The reference's public methods (``wait_for_schema_agreement``,
    ``refresh_schema``, ``refresh_node_list_and_token_map``, ``get_connections``) are blocking,
    return what the reference returns, and run those coroutines through ``run_blocking``
    (``Cluster._run``: submit to the loop, wait with a timeout); they may not be called from the
    I/O loop thread itself (a RuntimeError says so instead of a deadlock).
    """

    def __init__(self, cluster, timeout: float, schema_event_refresh_window: float,
                 topology_event_refresh_window: float, status_event_refresh_window: float,
                 schema_metadata_enabled: bool = True, token_metadata_enabled: bool = True,
                 run_blocking: Callable[[Any, float], Any] | None = None, *,
                 connector: Connector | None = None, topology: TopologyEvents | None = None) -> None:
        # ``cluster`` is read for its public state only (metadata, endpoint_factory,
        # reconnection_policy, max_schema_agreement_wait); connecting and reporting the ring go
        # through the narrow interfaces of cassfast._interfaces, which Cluster always passes.
        # A control connection that never connects (unit tests of schema agreement on a given
        # connection) may leave them None.
        self._cluster = cluster
        self._run_blocking = run_blocking
        self._connector = connector
        self._topology = topology
        self._timeout = timeout
        self._schema_window = schema_event_refresh_window
        self._topology_window = topology_event_refresh_window
        self._status_window = status_event_refresh_window
        self._schema_metadata_enabled = schema_metadata_enabled
        self._token_metadata_enabled = token_metadata_enabled
        self._connection = None
        self._is_shutdown = False
        self._uses_peers_v2 = True
        self._pending: dict[str, asyncio.TimerHandle] = {}
        # A lost control connection is reopened at once, then on the reconnection schedule.
        self._reconnector = Reconnector(
            self._new_schedule, self._reconnect_attempt,
            is_needed=self._needs_connection, log=log,
            what="reconnecting the control connection", failure_level=logging.WARNING,
            give_up_level=logging.ERROR, attempt_first=True)
        self._refresh_lock: asyncio.Lock | None = None
        self._connects_in_progress = 0
        self._changed_keyspaces: set = set()

    @property
    def connection(self):
        return self._connection

    @property
    def host(self):
        connection = self._connection
        return self._cluster.metadata.get_host(connection.endpoint) if connection is not None else None

    # ------------------------------------------------------------------ reference API (blocking)

    def _blocking(self, coro, timeout: float):
        if self._run_blocking is None:
            coro.close()
            raise RuntimeError("This control connection has no I/O loop to run on")
        return self._run_blocking(coro, timeout)

    def wait_for_schema_agreement(self, connection=None, preloaded_results=None,
                                  wait_time: float | None = None) -> bool:
        """Block until every live node reports the same schema version; True when they do,
        False when ``wait_time`` (default ``Cluster.max_schema_agreement_wait``) passed first
        or there is no control connection.  ``preloaded_results`` is accepted for the
        reference's signature and ignored (the versions are always read afresh)."""
        total = self._cluster.max_schema_agreement_wait if wait_time is None else wait_time
        return self._blocking(self.wait_for_schema_agreement_async(connection, wait_time),
                              max(total, 0) + self._timeout * 4 + 10)

    def refresh_schema(self, force: bool = False, **kwargs) -> bool:
        """Wait for schema agreement, then re-read the whole schema.  False (as in the
        reference) when schema metadata is disabled and ``force`` is not set, when the nodes
        did not agree, when there is no control connection or when the refresh failed."""
        async def run():
            if self._connection is None or (not self._schema_metadata_enabled and not force):
                return False
            try:
                if not await self.wait_for_schema_agreement_async():
                    log.debug("Skipping schema refresh: no schema agreement")
                    return False
                await self.refresh_schema_async(force=True)
            except Exception:
                log.debug("Error refreshing schema", exc_info=True)
                return False
            return True
        return self._blocking(run(), self._cluster.max_schema_agreement_wait + self._timeout * 12 + 10)

    def refresh_node_list_and_token_map(self, force_token_rebuild: bool = False) -> bool:
        """Re-read ``system.local`` and the peers table; True when it was done (the reference's
        result), False without a control connection or when the refresh failed."""
        async def run():
            if self._connection is None:
                return False
            try:
                await self.refresh_node_list_and_token_map_async(force_token_rebuild=force_token_rebuild)
            except Exception:
                log.debug("Error refreshing node list and token map", exc_info=True)
                return False
            return True
        return self._blocking(run(), self._timeout * 4 + 10)

    def get_connections(self) -> list:
        connection = self._connection
        return [connection] if connection is not None else []

    # ------------------------------------------------------------------ connecting

    async def connect_async(self, endpoints: list) -> None:
        """Connect to the first reachable endpoint, then discover the cluster and its schema.

        While it runs, a connection that closes (one being set up, or the current one) does not
        start a reconnection of its own: this connect either succeeds or raises to its caller
        (``Cluster.connect``, or the reconnection loop, which goes on after a failure).  A
        connection lost between its setup and the end of this connect is reconnected after."""
        self._connects_in_progress += 1
        try:
            await self._connect_first_reachable(endpoints)
        finally:
            self._connects_in_progress -= 1
        if self._needs_connection():
            self._start_reconnecting()

    async def _connect_first_reachable(self, endpoints: list) -> None:
        self._refresh_lock = asyncio.Lock()
        errors: dict = {}
        for endpoint in endpoints:
            try:
                connection = await self._connector.open_connection(
                    endpoint, event_callback=self._on_event, timeout=self._timeout, negotiate=True)
            except Exception as exc:
                errors[endpoint] = exc
                log.debug("Control connection to %s failed: %s", endpoint, exc)
                continue
            try:
                await self._setup(connection)
            except Exception as exc:
                errors[endpoint] = exc
                if self._connection is connection:
                    self._connection = None
                connection.close()
                log.debug("Control connection setup on %s failed: %s", endpoint, exc)
                continue
            return
        raise NoHostAvailable("Unable to connect to any servers", errors)

    async def _setup(self, connection) -> None:
        await connection.request(
            RegisterMessage(event_list=[EVENT_TOPOLOGY_CHANGE, EVENT_STATUS_CHANGE, EVENT_SCHEMA_CHANGE]),
            self._timeout)
        self._connection = connection
        connection.add_close_callback(self._on_connection_closed)
        await self.refresh_node_list_and_token_map_async(connection)
        if self._schema_metadata_enabled:
            await self.refresh_schema_async(connection)

    def _on_connection_closed(self, connection) -> None:
        if connection is not self._connection or self._is_shutdown:
            return
        self._connection = None
        if self._connects_in_progress:
            log.debug("Control connection to %s lost (%s) while connecting", connection.endpoint,
                      connection.last_error)
            return
        log.debug("Control connection to %s lost (%s); reconnecting", connection.endpoint,
                  connection.last_error)
        self._start_reconnecting()

    def on_host_up(self, host) -> None:
        """A host came back (its pool reconnected): without a control connection, for instance
        after the reconnection schedule was exhausted, try again at once on a fresh schedule;
        a reconnection sleeping towards its next attempt attempts now.  Nothing while the first
        connect (``Cluster.connect``) is still running."""
        if not self._needs_connection():
            return
        if self._reconnector.running or not self._connects_in_progress:
            log.debug("Host %s is up; reconnecting the control connection now", host)
            self._reconnector.reconnect_now()

    def _start_reconnecting(self) -> None:
        if not self._is_shutdown:
            self._reconnector.start()

    def _new_schedule(self):
        return self._cluster.reconnection_policy.new_schedule()

    def _needs_connection(self) -> bool:
        connection = self._connection
        return not self._is_shutdown and (connection is None or connection.is_closed or connection.is_defunct)

    async def _reconnect_attempt(self) -> None:
        await self.connect_async(self._topology.control_candidates())

    def shutdown(self) -> None:
        self._is_shutdown = True
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        self._reconnector.cancel()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # ------------------------------------------------------------------ queries

    async def _query(self, connection, cql: str) -> list[dict]:
        """The rows of ``cql`` as dicts; a server ERROR raises its public exception
        (``Connection.request`` maps it), so ``except InvalidRequest`` here means what it says."""
        response = await connection.request(
            QueryMessage(query=cql, consistency_level=ConsistencyLevel.ONE), self._timeout)
        return rows_as_dicts(response)

    async def refresh_node_list_and_token_map_async(self, connection=None, force_token_rebuild: bool = False) -> None:
        connection = connection or self._connection
        if connection is None:
            return
        cluster = self._cluster
        metadata = cluster.metadata
        local_rows = await self._query(connection, SELECT_LOCAL)
        peers_rows = await self._query_peers(connection)

        found = set()
        token_map: dict = {}
        partitioner = None
        if local_rows:
            local = local_rows[0]
            host = metadata.get_host(connection.endpoint)
            if host is None:
                host, _ = self._topology.add_host(connection.endpoint, local.get("data_center"), local.get("rack"))
            self._update_host(host, local, is_local=True)
            metadata.cluster_name = local.get("cluster_name")
            partitioner = local.get("partitioner")
            found.add(host.endpoint)
            if local.get("tokens"):
                token_map[host] = sorted(local["tokens"])
        endpoint_factory = cluster.endpoint_factory
        for row in peers_rows:
            if not _valid_peer(row):
                log.warning("Found an invalid row for peer %s; ignoring it", row.get("peer"))
                continue
            endpoint = endpoint_factory.create(row)
            if endpoint in found:
                continue
            found.add(endpoint)
            host = metadata.get_host(endpoint)
            if host is None:
                host, _ = self._topology.add_host(endpoint, row.get("data_center"), row.get("rack"))
            self._update_host(host, row, is_local=False)
            if row.get("tokens"):
                token_map[host] = sorted(row["tokens"])
        for host in list(metadata.all_hosts()):
            if host.endpoint not in found:
                log.debug("Removing host %s: no longer in system.peers", host)
                self._topology.remove_host(host)
        if partitioner:
            metadata.partitioner = partitioner
        if self._token_metadata_enabled and partitioner and token_map:
            metadata.rebuild_token_map(partitioner, token_map)

    async def _query_peers(self, connection) -> list[dict]:
        if self._uses_peers_v2:
            try:
                return await self._query(connection, SELECT_PEERS_V2)
            except InvalidRequest:
                # Servers before 4.0 have no system.peers_v2.
                self._uses_peers_v2 = False
        return await self._query(connection, SELECT_PEERS)

    @staticmethod
    def _update_host(host, row: dict, is_local: bool) -> None:
        datacenter, rack = row.get("data_center"), row.get("rack")
        if (datacenter, rack) != (host.datacenter, host.rack) and datacenter is not None:
            host.set_location_info(datacenter, rack)
        host.release_version = row.get("release_version")
        host.host_id = row.get("host_id")
        host.schema_version = row.get("schema_version")
        host.tokens = row.get("tokens")
        if is_local:
            host.broadcast_address = _str(row.get("broadcast_address"))
            host.broadcast_port = row.get("broadcast_port")
            host.listen_address = _str(row.get("listen_address"))
            host.listen_port = row.get("listen_port")
            host.broadcast_rpc_address = _str(row.get("rpc_address"))
            host.broadcast_rpc_port = row.get("rpc_port")
        else:
            host.broadcast_address = _str(row.get("peer"))
            host.broadcast_port = row.get("peer_port")
            host.broadcast_rpc_address = _str(row.get("native_address") or row.get("rpc_address"))
            host.broadcast_rpc_port = row.get("native_port")

    def _release_version(self, connection):
        """The server version of the node behind ``connection`` (from its system.local row)."""
        return getattr(self._cluster.metadata.get_host(connection.endpoint), "release_version", None)

    async def refresh_schema_async(self, connection=None, force: bool = False, **_target) -> None:
        """Re-read every ``system_schema`` table and hand the rows to ``Metadata.refresh_schema``
        (at connect and on demand; events and schema-change results refresh only their keyspace).
        """
        connection = connection or self._connection
        if connection is None or not (self._schema_metadata_enabled or force):
            return
        release_version = self._release_version(connection)
        queries = {table: "SELECT * FROM system_schema.%s" % table for table in SCHEMA_TABLES}
        if _has_virtual_tables(release_version):
            queries.update({"virtual_" + table: "SELECT * FROM system_virtual_schema.%s" % table
                            for table in VIRTUAL_SCHEMA_TABLES})
        rows_by_table = await self._query_tables(connection, queries)
        self._cluster.metadata.refresh_schema(release_version=release_version, **rows_by_table)

    async def _query_tables(self, connection, queries: dict) -> dict:
        """``{name: rows}`` for ``{name: cql}``, all in flight at once (as the reference pipelines
        them); a table the server lacks (InvalidRequest) reads as empty, any other error is
        raised once every answer is in."""
        async def rows(cql):
            try:
                return await self._query(connection, cql)
            except InvalidRequest:
                return []
        results = await asyncio.gather(*(rows(cql) for cql in queries.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return dict(zip(queries, results))

    async def wait_for_schema_agreement_async(self, connection=None, wait_time: float | None = None) -> bool:
        """Poll schema versions of the live nodes until they agree or ``wait_time`` passes."""
        connection = connection or self._connection
        total = self._cluster.max_schema_agreement_wait if wait_time is None else wait_time
        if connection is None or total <= 0:
            return False
        deadline = time.monotonic() + total
        delay = 0.2
        while time.monotonic() < deadline:
            local = await self._query(connection, SELECT_SCHEMA_LOCAL)
            peers = await self._query(connection, SELECT_SCHEMA_PEERS)
            versions = {row.get("schema_version") for row in local}
            metadata = self._cluster.metadata
            for row in peers:
                if row.get("schema_version") is None:
                    continue
                host = _host_for_peer(metadata, row)
                if host is not None and host.is_up is False:
                    continue
                versions.add(row.get("schema_version"))
            versions.discard(None)
            if len(versions) <= 1:
                return True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        log.warning("Node %s is reporting a schema disagreement: not all nodes agree after %ss",
                    connection.endpoint, total)
        return False

    async def refresh_keyspace_async(self, keyspace: str, connection=None) -> None:
        """Re-read one keyspace's ``system_schema`` rows into ``Metadata.refresh_keyspace``
        (a keyspace without its row is removed there)."""
        connection = connection or self._connection
        if connection is None or not self._schema_metadata_enabled:
            return
        literal = "'%s'" % keyspace.replace("'", "''")
        rows_by_table = await self._query_tables(connection, {
            table: "SELECT * FROM system_schema.%s WHERE keyspace_name = %s" % (table, literal)
            for table in SCHEMA_TABLES})
        self._cluster.metadata.refresh_keyspace(keyspace, release_version=self._release_version(connection),
                                                **rows_by_table)

    async def refresh_after_schema_change_async(self, event: dict | None = None, coordinator=None) -> bool:
        """Wait for schema agreement, then refresh what ``event`` (a SCHEMA_CHANGE) touched.

        ``coordinator`` is a connection to the node that made the change, which judges the
        agreement (see ``Cluster._schema_witness``); the control connection does when it is None
        or is lost meanwhile.
        """
        try:
            agreed = await self.wait_for_schema_agreement_async(coordinator)
        except ConnectionException:
            if coordinator is None:
                raise
            agreed = await self.wait_for_schema_agreement_async()
        keyspace = (event or {}).get("keyspace")
        if keyspace:
            if event.get("target_type") == "KEYSPACE" and event.get("change_type") == "DROPPED":
                self._cluster.metadata.remove_keyspace(keyspace)
            else:
                await self.refresh_keyspace_async(keyspace)
        else:
            await self.refresh_schema_async()
        return agreed

    # ------------------------------------------------------------------ events

    def _on_event(self, event) -> None:
        event_type = getattr(event, "event_type", None)
        args = getattr(event, "event_args", None) or {}
        if event_type == EVENT_TOPOLOGY_CHANGE:
            if args.get("change_type") == "REMOVED_NODE":
                self._topology.on_removed_node_event(args.get("address"))
            # NEW_NODE and MOVED_NODE need the peers' rows (location, tokens); after a removal
            # the refresh confirms the ring from the server's point of view.
            self._debounce("topology", self._topology_window, self._refresh_topology)
        elif event_type == EVENT_STATUS_CHANGE:
            change, address = args.get("change_type"), args.get("address")
            self._topology.on_status_event(change, address, self._status_window)
        elif event_type == EVENT_SCHEMA_CHANGE:
            keyspace = args.get("keyspace")
            if keyspace:
                self._changed_keyspaces.add(keyspace)
            else:
                self._changed_keyspaces.add(None)  # unknown scope: refresh everything
            self._debounce("schema", self._schema_window, self._refresh_schema_event)

    def _debounce(self, key: str, window: float, coroutine_fn) -> None:
        """Run ``coroutine_fn`` once ``window`` seconds after the first event of a burst."""
        if self._is_shutdown or key in self._pending:
            return
        loop = asyncio.get_running_loop() if _running() else self._connector.loop_thread.loop

        def run():
            self._pending.pop(key, None)
            asyncio.ensure_future(self._guard(coroutine_fn()))
        self._pending[key] = loop.call_later(window, run)

    async def _guard(self, coro) -> None:
        try:
            async with self._refresh_lock:
                await coro
        except Exception as exc:
            log.warning("Metadata refresh after a server event failed: %s", exc)

    async def _refresh_topology(self) -> None:
        await self.refresh_node_list_and_token_map_async()

    async def _refresh_schema_event(self) -> None:
        # Every keyspace named by the events of the window, each refreshed once.
        changed, self._changed_keyspaces = self._changed_keyspaces, set()
        if None in changed:
            await self.refresh_schema_async()
            return
        for keyspace in sorted(changed):
            await self.refresh_keyspace_async(keyspace)


def _has_virtual_tables(release_version) -> bool:
    """Whether a node of ``release_version`` is 4.0 or later (unknown: try, errors tolerated)."""
    try:
        return int(str(release_version).split(".", 1)[0]) >= 4
    except ValueError:
        return True


def _valid_peer(row: dict) -> bool:
    return bool(row.get("host_id")) and bool(row.get("data_center")) and bool(row.get("rack")) and (
        row.get("native_address") or row.get("rpc_address")) is not None


def _str(value: Any):
    return None if value is None else str(value)


def _host_for_peer(metadata, row: dict):
    address = _str(row.get("rpc_address") or row.get("peer"))
    for host in metadata.all_hosts():
        if host.address == address or host.broadcast_address == address:
            return host
    return None


def _running() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False
