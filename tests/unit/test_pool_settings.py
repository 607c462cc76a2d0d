"""Pool sizing settings on ``Cluster``: defaults, validation, and the reference's values where
cassfast keeps them (cassandra-driver 3.30 is the oracle; that the request-threshold setters
raise UnsupportedOperation as in the reference is tested in test_dropin_*).  No network.
"""
import pytest

import cassandra.cluster as ref_cluster
from cassandra.policies import HostDistance as RefHostDistance

from cassfast.cluster import Cluster
from cassfast.policies import HostDistance


@pytest.mark.parametrize("distance", [HostDistance.LOCAL, HostDistance.REMOTE])
def test_request_thresholds_default_to_the_reference_values(distance):
    ours, ref = Cluster(), ref_cluster.Cluster(protocol_version=4)
    ref_distance = {HostDistance.LOCAL: RefHostDistance.LOCAL, HostDistance.REMOTE: RefHostDistance.REMOTE}[distance]
    assert ours.get_min_requests_per_connection(distance) == ref.get_min_requests_per_connection(ref_distance)
    assert ours.get_max_requests_per_connection(distance) == ref.get_max_requests_per_connection(ref_distance)


@pytest.mark.parametrize("distance", [HostDistance.LOCAL, HostDistance.REMOTE])
def test_connections_default_to_one_per_host_as_the_reference_opens_with_v3_plus(distance):
    # The reference's v3+ pool (HostConnection) opens one connection whatever its getters say.
    cluster = Cluster()
    assert cluster.get_core_connections_per_host(distance) == 1
    assert cluster.get_max_connections_per_host(distance) == 1


def test_ignored_hosts_get_no_connections():
    assert Cluster().get_core_connections_per_host(HostDistance.IGNORED) == 0
    assert Cluster().get_max_connections_per_host(HostDistance.IGNORED) == 0


def test_settings_are_stored_per_distance():
    cluster = Cluster()
    cluster.set_core_connections_per_host(HostDistance.LOCAL, 3)
    cluster.set_max_connections_per_host(HostDistance.LOCAL, 6)
    cluster.set_max_connections_per_host(HostDistance.REMOTE, 2)
    assert cluster.get_core_connections_per_host(HostDistance.LOCAL) == 3
    assert cluster.get_max_connections_per_host(HostDistance.LOCAL) == 6
    assert cluster.get_core_connections_per_host(HostDistance.REMOTE) == 1
    assert cluster.get_max_connections_per_host(HostDistance.REMOTE) == 2


@pytest.mark.parametrize("setter", ["set_core_connections_per_host", "set_max_connections_per_host"])
def test_ignored_distance_cannot_be_configured(setter):
    with pytest.raises(ValueError):
        getattr(Cluster(), setter)(HostDistance.IGNORED, 1)


@pytest.mark.parametrize("setter", ["set_core_connections_per_host", "set_max_connections_per_host"])
@pytest.mark.parametrize("bad, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                        ("2", TypeError), (True, TypeError)])
def test_connection_counts_must_be_positive_ints(setter, bad, error):
    with pytest.raises(error):
        getattr(Cluster(), setter)(HostDistance.LOCAL, bad)


def test_unknown_distance_is_rejected():
    with pytest.raises(ValueError):
        Cluster().get_core_connections_per_host(7)
