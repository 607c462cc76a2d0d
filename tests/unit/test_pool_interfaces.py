"""A HostConnectionPool needs no Cluster: it runs on the three narrow interfaces of
cassfast._interfaces (Connector, HostEvents, PoolSettings) given to its constructor.

The session here has a keyspace and nothing else, so a pool that reached for
``session.cluster`` would fail with AttributeError.  The cluster's adapters are checked to
forward to its own methods.  No network: the connector hands out fake connections.
"""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

from cassfast.cluster import Cluster, _ClusterConnector, _ClusterHostEvents, _ClusterTopologyEvents
from cassfast.policies import HostDistance
from cassfast.pool import HostConnectionPool


class FakeConnection:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.close_callbacks = []
        self.last_error = None
        self.is_closed = False
        self.in_flight = self.orphaned = 0

    def add_close_callback(self, callback):
        self.close_callbacks.append(callback)

    def close(self):
        self.is_closed = True

    def lose(self, exc):
        self.last_error = exc
        for callback in self.close_callbacks:
            callback(self)


class FakeConnector:
    def __init__(self):
        self.opened = []
        self.loop_thread = None

    async def open_connection(self, endpoint, owner=None, keyspace=None, event_callback=None,
                              timeout=None, negotiate=False):
        connection = FakeConnection(endpoint)
        self.opened.append((endpoint, owner, keyspace, connection))
        return connection

    def connection_options(self, endpoint):
        return {}


class FakeHostEvents:
    def __init__(self):
        self.calls = []

    def on_pool_lost_all(self, host, exc):
        self.calls.append(("lost_all", host, exc))

    def on_pool_reconnected(self, host):
        self.calls.append(("reconnected", host))


class FakeSettings:
    sync_lanes_per_host = 0  # no lanes: nothing to dial
    protocol_version = 5
    connect_timeout = 1.0

    def __init__(self, core=2, schedule=()):
        self.core = core
        self.reconnection_policy = SimpleNamespace(new_schedule=lambda: iter(schedule))

    def get_core_connections_per_host(self, distance):
        return self.core

    def get_max_connections_per_host(self, distance):
        return self.core

    def get_min_requests_per_connection(self, distance):
        return 5

    def get_max_requests_per_connection(self, distance):
        return 100


def _pool(core=2, schedule=()):
    host = SimpleNamespace(endpoint="10.0.0.1:9042")
    connector, events = FakeConnector(), FakeHostEvents()
    session = SimpleNamespace(keyspace="ks")  # no .cluster
    pool = HostConnectionPool(host, HostDistance.LOCAL, session, connector, events, FakeSettings(core, schedule))
    return pool, host, connector, events


def test_a_pool_opens_its_core_connections_through_the_connector():
    pool, host, connector, _ = _pool(core=2)
    asyncio.run(pool.open())
    assert [(e, o, k) for e, o, k, _ in connector.opened] == [(host.endpoint, pool, "ks")] * 2
    assert pool.connections == [c for *_, c in connector.opened]
    assert pool.core_connections == 2 and pool.lanes is None


def test_losing_every_connection_is_reported_through_host_events():
    async def run():
        pool, host, connector, events = _pool(core=1, schedule=())  # schedule exhausted: no retry
        await pool.open()
        error = ConnectionError("reset by peer")
        connector.opened[0][3].lose(error)
        await asyncio.sleep(0)  # let the reconnection task see the exhausted schedule
        return pool, host, events, error

    pool, host, events, error = asyncio.run(run())
    assert pool.connections == []
    assert events.calls == [("lost_all", host, error)]


def test_a_reconnection_is_reported_through_host_events():
    async def run():
        pool, host, connector, events = _pool(core=1, schedule=(0.0,))
        await pool.open()
        connector.opened[0][3].lose(ConnectionError("gone"))
        for _ in range(10):
            await asyncio.sleep(0)
        return pool, host, connector, events

    pool, host, connector, events = asyncio.run(run())
    assert [c[0] for c in events.calls] == ["lost_all", "reconnected"]
    assert len(connector.opened) == 2 and pool.connections == [connector.opened[1][3]]


def test_the_cluster_adapters_forward_to_the_cluster():
    cluster = Cluster(contact_points=["127.0.0.1"])
    seen = []
    cluster._open_connection = lambda endpoint, **kw: seen.append(("open", endpoint, kw)) or "conn"
    cluster._connection_options = lambda endpoint: {"for": endpoint}
    cluster._on_pool_lost_all = lambda host, exc: seen.append(("lost_all", host, exc))
    cluster._on_pool_reconnected = lambda host: seen.append(("reconnected", host))
    cluster._add_host = lambda endpoint, dc, rack: seen.append(("add", endpoint, dc, rack)) or ("h", True)
    cluster._remove_host = lambda host: seen.append(("remove", host))
    cluster._on_removed_node_event = lambda address: seen.append(("removed_event", address))
    cluster._on_status_event = lambda change, address, window: seen.append(("status", change, address, window))
    cluster._control_candidates = lambda: ["e1", "e2"]

    connector, events, topology = (_ClusterConnector(cluster), _ClusterHostEvents(cluster),
                                   _ClusterTopologyEvents(cluster))
    assert connector.open_connection("e", owner="p", keyspace="ks") == "conn"
    assert connector.connection_options("e") == {"for": "e"}
    assert connector.loop_thread is cluster._loop_thread
    events.on_pool_lost_all("h", "x")
    events.on_pool_reconnected("h")
    assert topology.add_host("e", "dc1", "r1") == ("h", True)
    topology.remove_host("h")
    topology.on_removed_node_event("1.2.3.4")
    topology.on_status_event("UP", "1.2.3.4", 2)
    assert topology.control_candidates() == ["e1", "e2"]
    assert seen == [
        ("open", "e", dict(owner="p", keyspace="ks", event_callback=None, timeout=None, negotiate=False)),
        ("lost_all", "h", "x"), ("reconnected", "h"), ("add", "e", "dc1", "r1"), ("remove", "h"),
        ("removed_event", "1.2.3.4"), ("status", "UP", "1.2.3.4", 2)]
    # And the cluster hands these adapters to its control connection.
    assert cluster.control_connection._connector is cluster._connector
    assert isinstance(cluster.control_connection._topology, _ClusterTopologyEvents)
