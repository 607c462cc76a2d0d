"""Token-aware routing end to end on the 3-node, 2-datacenter cluster: for prepared statements
with single and composite partition keys, the node cassfast sends each request to must be the
replica that cassandra-driver's metadata names for the same key (keyspace with one replica in
dc1, so exactly one node is right).  This checks cassfast's routing keys, token map and
``TokenAwarePolicy`` together against the reference.  ``CASSFAST_CROSSDRIVER_SELFTEST=1`` puts
cassandra-driver in cassfast's place.
"""
import importlib
import uuid

import pytest
from _crossdriver import driver_package

pytestmark = pytest.mark.cluster3

# Unique per run: several runs (developers, CI) may share the cluster.
KEYSPACE = "crossdriver_routing_%s" % uuid.uuid4().hex[:10]
KEYS = 40



def _address(host):
    """The IP of a coordinator as either driver reports it (Host, endpoint or "ip:port")."""
    endpoint = getattr(host, "endpoint", host)
    address = getattr(endpoint, "address", None)
    return address if address is not None else str(endpoint).rsplit(":", 1)[0]


def _connect(name, contact_points, port):
    pkg = driver_package(name)
    cluster_mod = importlib.import_module(pkg + ".cluster")
    policies = importlib.import_module(pkg + ".policies")
    profile = cluster_mod.ExecutionProfile(load_balancing_policy=policies.TokenAwarePolicy(
        policies.DCAwareRoundRobinPolicy(local_dc="dc1")))
    cluster = cluster_mod.Cluster(contact_points, port=port,
                                  execution_profiles={cluster_mod.EXEC_PROFILE_DEFAULT: profile})
    return cluster, cluster.connect(KEYSPACE)


@pytest.fixture(scope="module")
def clusters(cassandra_cluster3):
    points, port = list(cassandra_cluster3.contact_points), cassandra_cluster3.port
    from cassandra.cluster import Cluster
    setup = Cluster(points, port=port)
    s = setup.connect()
    s.execute("CREATE KEYSPACE %s WITH replication = "
              "{'class': 'NetworkTopologyStrategy', 'dc1': 1}" % KEYSPACE)
    s.execute("CREATE TABLE %s.single (k text PRIMARY KEY, v int)" % KEYSPACE)
    s.execute("CREATE TABLE %s.composite (a int, b text, v int, PRIMARY KEY ((a, b)))"
              % KEYSPACE)
    setup.control_connection.wait_for_schema_agreement()
    setup.shutdown()
    ref = _connect("cassandra", points, port)
    cf = _connect("cassfast", points, port)
    yield ref, cf
    ref[1].execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    for cluster, _ in (cf, ref):
        cluster.shutdown()


CASES = {
    "single": ("INSERT INTO single (k, v) VALUES (?, ?)",
               lambda i: ("key-%d-\u00e9" % i, i)),
    "composite": ("INSERT INTO composite (v, b, a) VALUES (?, ?, ?)",
                  lambda i: (i, "part-%d" % (i * 7), i - 20)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_requests_go_to_the_replica_cassandra_driver_names(clusters, case):
    (ref_cluster, ref), (cf_cluster, cf) = clusters
    query, values_for = CASES[case]
    ref_insert, cf_insert = ref.prepare(query), cf.prepare(query)
    replicas_seen = set()
    for i in range(KEYS):
        values = values_for(i)
        ref_bound, cf_bound = ref_insert.bind(values), cf_insert.bind(values)
        assert cf_bound.routing_key == ref_bound.routing_key
        (replica,) = ref_cluster.metadata.get_replicas(KEYSPACE, ref_bound.routing_key)
        result = cf.execute(cf_bound)
        coordinator = _address(result.response_future.coordinator_host)
        assert coordinator == replica.address, (
            "key %r went to %s, its replica is %s" % (values, coordinator, replica.address))
        replicas_seen.add(replica.address)
    # Both dc1 nodes own some of the keys, so a policy that ignored tokens could not pass.
    assert len(replicas_seen) == 2
