"""A node joins and then leaves a running cluster while a cassfast Cluster is connected and busy.

The harness bootstraps a fourth node into ``cluster3`` (dc1, the driver's local datacenter) and
later decommissions it; meanwhile a thread keeps sending requests.  What the driver must do is
judged by the server where it can be: coordinators come from ``system.local`` of the node that
answered and from query traces, replicas from ``nodetool getendpoints`` (keys picked with
cassandra-driver's Murmur3); the datacenter and rack from the harness that configured the node.  One add and one decommission for the whole module,
since each costs 20-60 s here.

Ran against: the harness's 3-node, 2-DC Cassandra 5.0 (``cluster3``) grown to 4 nodes, through
cassfast's Cluster.
"""
from __future__ import annotations

import struct
import threading
import time
import uuid

import pytest
from cassandra.murmur3 import murmur3 as ref_murmur3

from cassfast import ConsistencyLevel
from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassfast.policies import DCAwareRoundRobinPolicy, HostStateListener, RetryPolicy, TokenAwarePolicy
from cassfast.query import SimpleStatement

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]

KEYS = 200
EVENT_TIMEOUT = 120.0  # topology refresh window (10 s) + pool opening, on a loaded 2-core machine


class RecordingListener(HostStateListener):
    def __init__(self):
        self.events = []
        self.changed = threading.Condition()

    def _record(self, kind, host):
        with self.changed:
            self.events.append((kind, host.address))
            self.changed.notify_all()

    def on_add(self, host):
        self._record("add", host)

    def on_up(self, host):
        self._record("up", host)

    def on_down(self, host):
        self._record("down", host)

    def on_remove(self, host):
        self._record("remove", host)

    def wait_for(self, kind, address, timeout=EVENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self.changed:
            while (kind, address) not in self.events:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True

    def of(self, address):
        with self.changed:
            return [kind for kind, a in self.events if a == address]


class Traffic:
    """Idempotent requests sent back to back from one thread (coordinator reads, token-aware
    reads of the rows written at setup, writes to other keys); every outcome is recorded."""

    def __init__(self, session, select, insert):
        self.session = session
        self.select = select
        self.insert = insert
        self.ok = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="topology-traffic", daemon=True)

    def _run(self):
        n = 0
        read = SimpleStatement("SELECT broadcast_address FROM system.local", is_idempotent=True)
        while not self._stop.is_set():
            n += 1
            try:
                if n % 3 == 0:
                    self.session.execute(read, timeout=20)
                elif n % 3 == 1:
                    self.session.execute(self.select, (n % KEYS,), timeout=20)
                else:
                    # Keys above the setup's, whose values the tests check.
                    self.session.execute(self.insert, (KEYS + n % KEYS, n), timeout=20)
                self.ok += 1
            except Exception as exc:  # recorded, asserted on by the tests
                self.errors.append(repr(exc))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(60)

    def checkpoint(self):
        """(successes, errors) so far, to compare before and after a change."""
        return self.ok, list(self.errors)


def _coordinators(session, n=40):
    stmt = SimpleStatement("SELECT broadcast_address FROM system.local", is_idempotent=True)
    return [str(session.execute(stmt, timeout=20).one()[0]) for _ in range(n)]


@pytest.fixture(scope="module")
def grown(cassandra_cluster3):
    """A connected, busy cassfast Cluster, and the node added to the ring while it ran."""
    listener = RecordingListener()
    # The retry policy of the reference default (RetryPolicy) with idempotent statements: a
    # request in flight on a connection that the leaving node closes goes to the next host.
    profile = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy("dc1")),
                               retry_policy=RetryPolicy(), consistency_level=ConsistencyLevel.ONE)
    cluster = Cluster(list(cassandra_cluster3.contact_points), port=cassandra_cluster3.port,
                      connect_timeout=15, execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    cluster.register_listener(listener)
    session = cluster.connect()
    ks = "topology_%s" % uuid.uuid4().hex[:8]
    session.execute("CREATE KEYSPACE %s WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}" % ks)
    session.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % ks)
    insert = session.prepare("INSERT INTO %s.kv (k, v) VALUES (?, ?)" % ks)
    for k in range(KEYS):
        session.execute(insert, (k, k))
    select = session.prepare("SELECT v FROM %s.kv WHERE k = ?" % ks)
    select.is_idempotent = True
    added = None
    insert.is_idempotent = True
    traffic = Traffic(session, select, insert)
    try:
        with traffic:
            before = traffic.checkpoint()
            added = cassandra_cluster3.add_node("dc1")
            learned = listener.wait_for("up", added.address)
            joined = traffic.checkpoint()
            yield {"cluster": cluster, "session": session, "listener": listener, "node": added,
                   "keyspace": ks, "traffic": traffic, "learned": learned,
                   "during_join": (before, joined), "harness": cassandra_cluster3}
    finally:
        try:
            if added is not None and added in cassandra_cluster3.added_nodes:
                cassandra_cluster3.decommission_node(added.index)
        finally:
            try:
                session.execute("DROP KEYSPACE IF EXISTS %s" % ks, timeout=60)
            finally:
                cluster.shutdown()


def test_the_driver_learns_of_the_added_node_with_its_datacenter_and_rack(grown):
    node, cluster, listener = grown["node"], grown["cluster"], grown["listener"]
    assert grown["learned"], listener.events
    hosts = {h.address: h for h in cluster.metadata.all_hosts()}
    assert node.address in hosts, sorted(hosts)
    host = hosts[node.address]
    # The harness wrote the node's cassandra-rackdc.properties: that is what the server reports.
    assert (host.datacenter, host.rack) == (node.datacenter, node.rack)
    assert host.is_up is True
    # As the reference does for a new node: added first, then (once connected) up.
    assert listener.of(node.address)[:2] == ["add", "up"], listener.events


def _schema_lag_of_the_joining_node(error: str) -> bool:
    # The server's own answer while a node bootstraps: the coordinator also writes to the joining
    # (pending) replica, which may not have applied the keyspace's schema yet and refuses with
    # INCOMPATIBLE_SCHEMA (0x0003); the coordinator reports it as a WriteFailure.  Seen in CI runs
    # on the loaded machine.  It is not a driver failure, so it is set apart; any other error is.
    return error.startswith("WriteFailure") and "INCOMPATIBLE_SCHEMA" in error


def test_no_request_failed_while_the_node_joined(grown):
    (ok_before, errors_before), (ok_after, errors_after) = grown["during_join"]
    assert ok_after > ok_before, "the traffic thread made no progress during the join"
    new = [e for e in errors_after[len(errors_before):] if not _schema_lag_of_the_joining_node(e)]
    assert new == []


def test_the_load_balancing_policy_coordinates_on_the_added_node(grown):
    node, session = grown["node"], grown["session"]
    dc1 = {n.address for n in grown["harness"].nodes if n.datacenter == "dc1"}
    assert node.address in dc1
    # The server names the node that answered; DC-aware round robin over dc1 reaches all three.
    seen = set(_coordinators(session))
    assert seen == dc1, seen


def test_token_aware_routes_a_key_the_new_node_owns_to_it(grown):
    node, cluster, session, ks = grown["node"], grown["cluster"], grown["session"], grown["keyspace"]
    harness = grown["harness"]
    # The new node owns (previous token, its token]; keys hashed by cassandra-driver's Murmur3.
    previous = max(t for t in (n.initial_token for n in harness.nodes) if t < node.initial_token)
    owned = [k for k in range(KEYS)
             if previous < ref_murmur3(struct.pack(">i", k)) <= node.initial_token][:3]
    assert owned, "no key in the range the new node took over"
    select = session.prepare("SELECT v FROM %s.kv WHERE k = ?" % ks)
    for k in owned:
        # The server confirms the placement (RF 1: the new node alone holds the key).
        assert harness.nodetool(1, "getendpoints", ks, "kv", str(k)).split() == [node.address]
        bound = select.bind((k,))
        replicas = cluster.metadata.get_replicas(ks, bound.routing_key)
        assert [h.address for h in replicas] == [node.address]
        rs = session.execute(bound, trace=True, timeout=20)
        assert rs.one().v == k  # written before the join: streamed to the new node
        trace = rs.get_query_trace(max_wait_sec=30)
        assert str(trace.coordinator) == node.address, (k, trace.coordinator)


def test_a_decommissioned_node_is_removed_and_requests_keep_succeeding(grown):
    node, cluster, session = grown["node"], grown["cluster"], grown["session"]
    listener, traffic, harness = grown["listener"], grown["traffic"], grown["harness"]
    host = cluster.metadata.get_host(node.address)
    assert host is not None
    ok_before, errors_before = traffic.checkpoint()
    harness.decommission_node(node.index)
    assert listener.wait_for("remove", node.address), listener.events
    ok_after, errors_after = traffic.checkpoint()
    assert ok_after > ok_before, "the traffic thread made no progress during the decommission"
    assert errors_after == errors_before, errors_after[len(errors_before):]

    assert node.address not in {h.address for h in cluster.metadata.all_hosts()}
    assert host not in session._pools, "the removed host kept its pool"
    policy = cluster.profile_manager[EXEC_PROFILE_DEFAULT].load_balancing_policy
    assert node.address not in [h.address for h in policy.make_query_plan()]
    assert node.address not in [h.address for h in policy.child_policy.hosts]
    # Token metadata no longer routes to it: every key is owned by a remaining node.
    assert node.address not in {h.address for h in cluster.metadata.token_map.token_to_host_owner.values()}
    dc1_left = {n.address for n in harness.nodes if n.datacenter == "dc1"}
    assert node.address not in dc1_left
    assert set(_coordinators(session)) == dc1_left
