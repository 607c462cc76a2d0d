"""The narrow interfaces that pools, lanes and the control connection are given by ``Cluster``.

``pool``, ``_lanes`` and ``_control`` sit below ``cluster`` and never call its private methods:
each is handed, in its constructor, only the capabilities it uses.  ``Cluster`` implements them
with small adapters (``cluster._ClusterConnector`` and friends); a unit test can pass fakes.
These are ``typing.Protocol`` classes (structural: an implementation need not inherit from them),
written down so that the contract between the layers is one page.

- :class:`Connector`: how connections are opened and on which loop (pools, lanes, control).
- :class:`PoolSettings`: the sizing and reconnection settings a pool reads (``Cluster``'s public
  getters and attributes, so the cluster itself is passed).
- :class:`HostEvents`: what a pool reports about its host (all connections lost / one back).
- :class:`TopologyEvents`: what the control connection reports about the ring and asks for
  (hosts found in ``system.local``/``system.peers``, hosts gone, status and removal events,
  the endpoints to try when reconnecting).

Everything here is called on the I/O loop thread, except ``Connector.connection_options``
(a thread opening a lane calls it) and ``Connector.loop_thread`` (read from any thread).
"""
from __future__ import annotations

from typing import Any, Awaitable, Protocol


class Connector(Protocol):
    """Opens connections for pools, lanes and the control connection."""

    @property
    def loop_thread(self) -> Any:
        """The cluster's ``_loop.LoopThread`` (``loop``, ``submit``, ``in_loop_thread``); None before
        the cluster first connects."""

    def open_connection(self, endpoint, owner=None, keyspace=None, event_callback=None,
                        timeout=None, negotiate=False) -> Awaitable[Any]:
        """Open one ``Connection`` to ``endpoint`` (awaited on the loop).  ``owner`` is the pool
        told about its failures, ``keyspace`` is set with USE, ``event_callback`` receives server
        events (control connection), ``negotiate`` steps the protocol version down on rejection."""

    def connection_options(self, endpoint) -> dict:
        """The keyword options every connection to ``endpoint`` is opened with (``Lane.open``)."""


class PoolSettings(Protocol):
    """What a ``HostConnectionPool`` reads to size itself and reconnect (``Cluster`` satisfies it)."""

    sync_lanes_per_host: int
    reconnection_policy: Any
    protocol_version: int
    connect_timeout: float

    def get_core_connections_per_host(self, host_distance) -> int: ...

    def get_max_connections_per_host(self, host_distance) -> int: ...

    def get_min_requests_per_connection(self, host_distance) -> int: ...

    def get_max_requests_per_connection(self, host_distance) -> int: ...


class HostEvents(Protocol):
    """What a pool reports about its host; the cluster decides up/down from it."""

    def on_pool_lost_all(self, host, exc: BaseException | None) -> None:
        """Every connection of one pool to ``host`` failed (conviction may mark it down)."""

    def on_pool_reconnected(self, host) -> None:
        """A pool to ``host`` opened a connection again (the host is marked up)."""


class TopologyEvents(Protocol):
    """What the control connection reports about the ring, and the endpoints it reconnects to."""

    def add_host(self, endpoint, datacenter=None, rack=None) -> tuple:
        """The ``Host`` for ``endpoint`` and whether it is new (new hosts are announced)."""

    def remove_host(self, host) -> None:
        """``host`` left the ring (no longer in ``system.peers``)."""

    def on_removed_node_event(self, address) -> None:
        """A REMOVED_NODE event for ``address``."""

    def on_status_event(self, change_type: str, address, window: float) -> None:
        """An UP or DOWN event for ``address``."""

    def control_candidates(self) -> list:
        """The endpoints to try, in order, when the control connection reconnects."""
