"""Cluster lifecycle against the real Cassandra node: protocol negotiation (v5 with segments,
v4 with LZ4), discovery into Metadata, host listeners, execution profiles, and a shutdown that
leaves no thread or socket behind.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
import gc
import threading

import pytest

from cassfast import ConsistencyLevel, ProtocolVersion
from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassfast.policies import HostStateListener, RoundRobinPolicy
from cassfast.testing import _fetch

from _h5_support import contact_of, io_threads

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(cassandra_single):
    return contact_of(cassandra_single)


_V5 = pytest.mark.cassandra_min("4.0", reason="protocol v5: 3.11 speaks v4 at most")


@pytest.mark.parametrize("version,compression", [
    pytest.param(5, True, marks=_V5), pytest.param(5, False, marks=_V5), (4, "lz4"), (4, False), (3, "lz4"),
])
def test_explicit_protocol_versions_and_compression_work(cassandra_single, node, version, compression):
    points, port = node
    with Cluster(points, port=port, protocol_version=version, compression=compression) as cluster:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local").one()
        assert row.release_version == cassandra_single.version
        connection = session.get_pools()[0].connections[0]
        assert connection.protocol_version == version
        expected = "lz4" if compression else None
        assert connection.compressor_name == expected
        if version >= 5:
            assert connection._segment_writer is not None  # checksummed segments after STARTUP


def test_default_negotiation_picks_the_newest_version_the_server_speaks(cassandra_single, node):
    # v5 on 4.0 and later, v4 on 3.11 (the harness's table of releases, not the server, says so).
    points, port = node
    with Cluster(points, port=port) as cluster:
        cluster.connect()
        assert cluster.protocol_version == max(cassandra_single.protocol_versions)
        assert max(cassandra_single.protocol_versions) in (ProtocolVersion.V4, ProtocolVersion.V5)


def test_discovery_fills_metadata_from_system_local(node):
    points, port = node
    with Cluster(points, port=port) as cluster:
        cluster.connect()
        hosts = cluster.metadata.all_hosts()
        assert len(hosts) == 1
        host = hosts[0]
        assert host.is_up is True
        assert host.datacenter and host.rack and host.release_version == _fetch.default_version()
        assert cluster.metadata.cluster_name
        assert cluster.metadata.partitioner.endswith("Murmur3Partitioner")
        assert "system" in cluster.metadata.keyspaces


def test_host_listener_hears_up_and_add(node):
    points, port = node
    events = []

    class Listener(HostStateListener):
        def on_add(self, host):
            events.append(("add", host))

        def on_up(self, host):
            events.append(("up", host))

        def on_down(self, host):
            events.append(("down", host))

        def on_remove(self, host):
            events.append(("remove", host))
    with Cluster(points, port=port) as cluster:
        cluster.register_listener(Listener())
        cluster.connect()
        assert ("up", cluster.metadata.all_hosts()[0]) in events


def test_execution_profile_consistency_and_policy_are_used(node):
    points, port = node
    profile = ExecutionProfile(load_balancing_policy=RoundRobinPolicy(),
                               consistency_level=ConsistencyLevel.TWO, request_timeout=5)
    with Cluster(points, port=port, execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(),
                                                       "two": profile}) as cluster:
        session = cluster.connect()
        from cassfast import Unavailable
        session.execute("SELECT * FROM system.local")
        # system.local is LocalStrategy (always "one replica"), so use a replicated keyspace.
        with pytest.raises(Unavailable):
            session.execute("SELECT * FROM system_auth.roles", execution_profile="two")


def test_shutdown_leaves_no_thread_and_no_socket(node):
    points, port = node
    before = set(threading.enumerate())
    cluster = Cluster(points, port=port)
    session = cluster.connect()
    session.execute("SELECT * FROM system.local")
    connections = [c for p in session.get_pools() for c in p.connections]
    control = cluster.control_connection.connection
    cluster.shutdown()
    gc.collect()
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
    assert io_threads() == [] or all(t in before for t in io_threads())
    for c in connections + [control]:
        assert c.is_closed or c.is_defunct
        assert c.transport is None or c.transport.is_closing()
    cluster.shutdown()  # idempotent


def test_connect_to_a_closed_port_raises_no_host_available(node):
    from cassfast.cluster import NoHostAvailable
    with pytest.raises(NoHostAvailable):
        with Cluster(["127.0.0.1"], port=1, connect_timeout=1, control_connection_timeout=1) as cluster:
            cluster.connect()
    assert io_threads() == []


@pytest.mark.cassandra_min("4.0", reason="steps down once, from v6 to v5; 3.11 does not serve v5 either")
def test_negotiation_steps_down_once_from_a_version_the_server_rejects(node, caplog):
    # Cassandra 5.0 serves v6 only as beta: offered without the beta flag it is refused with a
    # protocol error, and the driver must step down to v5 (once, without a flood of warnings).
    import logging
    points, port = node
    cluster = Cluster(points, port=port)
    cluster.protocol_version = 6  # as if the driver's newest version were v6; not "explicit"
    with caplog.at_level(logging.INFO, logger="cassfast"):
        with cluster:
            session = cluster.connect()
            assert cluster.protocol_version == 5
            assert session.get_pools()[0].connections[0].protocol_version == 5
            assert session.execute("SELECT release_version FROM system.local").one()
    downgrades = [r for r in caplog.records if "Downgrading protocol version" in r.getMessage()]
    assert len(downgrades) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "protocol" in r.getMessage().lower()]


def test_explicit_protocol_version_is_not_downgraded(node):
    from cassfast.cluster import NoHostAvailable
    points, port = node
    with Cluster(points, port=port, protocol_version=6, connect_timeout=3) as cluster:
        with pytest.raises(NoHostAvailable) as exc:
            cluster.connect()
    assert cluster.protocol_version == 6
    assert exc.value.errors


def test_shutdown_with_requests_in_flight_completes_every_future(node):
    import time as _time
    points, port = node
    cluster = Cluster(points, port=port)
    session = cluster.connect()
    futures = [session.execute_async("SELECT * FROM system.local") for _ in range(2000)]
    cluster.shutdown()
    start = _time.monotonic()
    outcomes = {"ok": 0, "error": 0}
    for f in futures:
        try:
            f.result()
            outcomes["ok"] += 1
        except Exception:
            outcomes["error"] += 1
    assert outcomes["ok"] + outcomes["error"] == 2000
    assert _time.monotonic() - start < 5  # failed promptly, not by their 10 s timeouts
    with pytest.raises(Exception):
        session.execute("SELECT * FROM system.local")
