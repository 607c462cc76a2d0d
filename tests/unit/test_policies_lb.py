"""Load-balancing policies: the seed's behaviours, the reference's, and compiled == Python plans.

Ran against: cassfast.policies with cassfast._routing compiled; cassandra-driver 3.30.1 as the
oracle for token-aware replica choice; no server.
"""
import os
import pickle
import subprocess
import sys
from collections import Counter

import pytest

from cassfast.host import DefaultEndPoint, Host
from cassfast.metadata import Metadata
from cassfast.policies import (
    DCAwareRoundRobinPolicy, DefaultLoadBalancingPolicy, HostDistance, HostFilterPolicy,
    LoadBalancingPolicy, RoundRobinPolicy, TokenAwarePolicy, WhiteListRoundRobinPolicy,
)

MURMUR3 = "org.apache.cassandra.dht.Murmur3Partitioner"
TOKENS = ["-9223372036854775808", "-3074457345618258603", "3074457345618258602"]


def make_hosts(spec):
    """spec: list of (address, dc) -> up Hosts."""
    hosts = []
    for address, dc in spec:
        h = Host(address, datacenter=dc, rack="rack1")
        h.set_up()
        hosts.append(h)
    return hosts


class FakeCluster:
    def __init__(self, metadata=None, contact_points=()):
        self.metadata = metadata
        self.endpoints_resolved = [h.endpoint for h in contact_points]


class Query:
    def __init__(self, routing_key=None, keyspace=None):
        self.routing_key = routing_key
        self.keyspace = keyspace


def two_dc_metadata(replication):
    hosts = make_hosts([("127.0.0.1", "dc1"), ("127.0.0.2", "dc1"), ("127.0.0.3", "dc2")])
    md = Metadata()
    for h in hosts:
        md.add_or_return_host(h)
    md.refresh_schema(keyspaces=[{"keyspace_name": "ks", "durable_writes": True,
                                  "replication": replication}])
    md.rebuild_token_map(MURMUR3, {h: [t] for h, t in zip(hosts, TOKENS)})
    return md, hosts


# -- HostDistance ------------------------------------------------------------------------------

def test_host_distance_values_are_the_seeds():
    assert (HostDistance.LOCAL, HostDistance.REMOTE, HostDistance.IGNORED) == (0, 1, -1)


# -- base class: self.hosts --------------------------------------------------------------------

class CustomLoadBalancingPolicy(LoadBalancingPolicy):
    # The seed's example, as written.
    def distance(self, host):
        # Mark hosts in 192.168.1.x as local, others as remote
        if host.address.startswith('192.168.1.'):
            return HostDistance.LOCAL
        else:
            return HostDistance.REMOTE

    def make_query_plan(self, working_keyspace=None, query=None):
        # Custom host selection logic
        local_hosts = [h for h in self.hosts if self.distance(h) == HostDistance.LOCAL]
        remote_hosts = [h for h in self.hosts if self.distance(h) == HostDistance.REMOTE]
        # Return local hosts first, then remote
        return local_hosts + remote_hosts[:2]  # Max 2 remote hosts


def test_seed_custom_policy_sees_hosts_from_populate_and_events():
    local = make_hosts([("192.168.1.10", None), ("192.168.1.11", None)])
    remote = make_hosts([("10.0.0.1", None), ("10.0.0.2", None), ("10.0.0.3", None)])
    p = CustomLoadBalancingPolicy()
    p.populate(FakeCluster(), [remote[0], local[0], remote[1], remote[2]])
    assert p.make_query_plan() == [local[0], remote[0], remote[1]]
    p.on_add(local[1])
    assert p.make_query_plan() == [local[0], local[1], remote[0], remote[1]]
    p.on_down(local[0])
    p.on_remove(remote[0])
    assert p.make_query_plan() == [local[1], remote[1], remote[2]]
    p.on_up(local[0])
    assert p.make_query_plan() == [local[1], local[0], remote[1], remote[2]]


def test_custom_policy_without_populate_has_empty_hosts():
    p = CustomLoadBalancingPolicy()
    assert p.make_query_plan() == []


def test_hosts_is_replaced_not_mutated_so_old_snapshots_stay_valid():
    hosts = make_hosts([("10.0.0.1", None), ("10.0.0.2", None)])
    p = CustomLoadBalancingPolicy()
    p.populate(None, hosts[:1])
    before = p.hosts
    p.on_add(hosts[1])
    assert before == (hosts[0],) and p.hosts == (hosts[0], hosts[1])


# -- RoundRobin --------------------------------------------------------------------------------

def test_round_robin_rotates_through_every_live_host():
    hosts = make_hosts([("127.0.0.%d" % i, "dc1") for i in range(1, 4)])
    p = RoundRobinPolicy()
    p.populate(FakeCluster(), hosts)
    plans = [list(p.make_query_plan()) for _ in range(3)]
    assert all(sorted(plan) == sorted(hosts) for plan in plans)
    assert Counter(plan[0] for plan in plans) == Counter(hosts)  # each host leads once
    assert all(p.distance(h) == HostDistance.LOCAL for h in hosts)


def test_round_robin_drops_down_host_and_readds_it_when_up():
    hosts = make_hosts([("127.0.0.%d" % i, "dc1") for i in range(1, 4)])
    p = RoundRobinPolicy()
    p.populate(FakeCluster(), hosts)
    p.on_down(hosts[1])
    assert sorted(p.make_query_plan()) == sorted([hosts[0], hosts[2]])
    p.on_up(hosts[1])
    assert sorted(p.make_query_plan()) == sorted(hosts)


@pytest.mark.parametrize("n", [0, 1, 3, 30, 64, 65, 200])  # precomputed up to 64, then rotating
def test_round_robin_compiled_plan_equals_python_definition(n):
    hosts = make_hosts([("127.0.%d.%d" % (i // 200, i % 200 + 1), "dc1") for i in range(n)])
    p = RoundRobinPolicy()
    p.populate(FakeCluster(), hosts)
    for pos in range(-2, 2 * n + 3):
        p._position = pos
        compiled = list(p.make_query_plan())
        assert compiled == list(p._py_make_query_plan(pos))


# -- DCAware -----------------------------------------------------------------------------------

def dc_hosts():
    return make_hosts([("127.0.0.1", "dc1"), ("127.0.0.2", "dc1"), ("127.0.0.3", "dc2"),
                       ("127.0.0.4", "dc2"), ("127.0.0.5", "dc3")])


def test_dc_aware_puts_local_dc_first_then_remote_hosts_in_use():
    hosts = dc_hosts()
    p = DCAwareRoundRobinPolicy("dc1", used_hosts_per_remote_dc=1)
    p.populate(FakeCluster(), hosts)
    for _ in range(4):
        plan = list(p.make_query_plan())
        assert set(plan[:2]) == {hosts[0], hosts[1]}
        assert plan[2:] == [hosts[2], hosts[4]]
    assert [p.distance(h) for h in hosts] == [HostDistance.LOCAL, HostDistance.LOCAL,
                                              HostDistance.REMOTE, HostDistance.IGNORED,
                                              HostDistance.REMOTE]


def test_dc_aware_ignores_remote_hosts_by_default():
    hosts = dc_hosts()
    p = DCAwareRoundRobinPolicy("dc1")
    p.populate(FakeCluster(), hosts)
    assert set(p.make_query_plan()) == {hosts[0], hosts[1]}
    assert p.distance(hosts[2]) == HostDistance.IGNORED


def test_dc_aware_infers_local_dc_from_contact_point_at_populate():
    hosts = dc_hosts()
    p = DCAwareRoundRobinPolicy()
    p.populate(FakeCluster(contact_points=[hosts[3]]), hosts)
    assert p.local_dc == "dc2"
    assert set(p.make_query_plan()) == {hosts[2], hosts[3]}


def test_dc_aware_infers_local_dc_when_contact_point_comes_up_later():
    hosts = dc_hosts()
    p = DCAwareRoundRobinPolicy()
    p.populate(FakeCluster(contact_points=[hosts[4]]), [])
    assert not p.local_dc
    for h in hosts:
        p.on_add(h)
    assert p.local_dc == "dc3"
    assert list(p.make_query_plan()) == [hosts[4]]


def test_dc_aware_groups_unsorted_hosts_by_dc():
    hosts = dc_hosts()
    p = DCAwareRoundRobinPolicy("dc1")
    p.populate(FakeCluster(), [hosts[0], hosts[2], hosts[1]])
    assert set(p.make_query_plan()) == {hosts[0], hosts[1]}


def test_dc_aware_down_and_up_change_the_plan():
    hosts = dc_hosts()
    p = DCAwareRoundRobinPolicy("dc1", used_hosts_per_remote_dc=1)
    p.populate(FakeCluster(), hosts)
    p.on_down(hosts[0])
    p.on_down(hosts[2])
    assert list(p.make_query_plan()) == [hosts[1], hosts[3], hosts[4]]
    p.on_up(hosts[0])
    assert set(list(p.make_query_plan())[:2]) == {hosts[0], hosts[1]}


@pytest.mark.parametrize("per_dc,used", [(1, 0), (2, 1), (10, 2), (3, 5), (70, 2)])
def test_dc_aware_compiled_plan_equals_python_definition(per_dc, used):
    spec = [("127.%d.0.%d" % (d, i + 1), "dc%d" % d) for d in range(1, 4) for i in range(per_dc)]
    hosts = make_hosts(spec)
    p = DCAwareRoundRobinPolicy("dc2", used_hosts_per_remote_dc=used)
    p.populate(FakeCluster(), hosts)
    p.on_down(hosts[-1])
    for pos in range(0, 2 * per_dc + 2):
        p._position = pos
        assert list(p.make_query_plan()) == list(p._py_make_query_plan(pos))


def test_dc_aware_rejects_negative_remote_host_count():
    with pytest.raises(ValueError):
        DCAwareRoundRobinPolicy("dc1", used_hosts_per_remote_dc=-1)


# -- TokenAware --------------------------------------------------------------------------------

SIMPLE_RF2 = {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "2"}
NTS_21 = {"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", "dc1": "2", "dc2": "1"}
NTS_11 = {"class": "NetworkTopologyStrategy", "dc1": "1", "dc2": "1"}


def reference_replicas(replication, key):
    """The reference driver's replica addresses for the same 3-node, 2-DC ring."""
    from cassandra.metadata import KeyspaceMetadata as RefKs
    from cassandra.metadata import Metadata as RefMetadata
    from cassandra.policies import SimpleConvictionPolicy as RefConviction
    from cassandra.pool import Host as RefHost
    md = RefMetadata()
    hosts = []
    for i, dc in ((1, "dc1"), (2, "dc1"), (3, "dc2")):
        hosts.append(RefHost("127.0.0.%d" % i, RefConviction, datacenter=dc, rack="rack1"))
    opts = dict(replication)
    cls = opts.pop("class")
    md.keyspaces["ks"] = RefKs("ks", True, cls, opts)
    md.rebuild_token_map(MURMUR3, {h: [t] for h, t in zip(hosts, TOKENS)})
    return [h.address for h in md.get_replicas("ks", key)]


KEYS = [b"", b"a", b"key-1", b"key-2", b"\x00\x00\x00\x01", b"\xff" * 9, "kéy".encode()] + \
    [("k%d" % i).encode() for i in range(200)]


@pytest.mark.parametrize("replication", [SIMPLE_RF2, NTS_21, NTS_11])
def test_replicas_equal_reference_driver_on_three_node_two_dc_ring(replication):
    md, _ = two_dc_metadata(replication)
    for key in KEYS:
        ours = [h.address for h in md.get_replicas("ks", key)]
        ref = reference_replicas(replication, key)
        assert sorted(ours) == sorted(ref), key
        if replication is SIMPLE_RF2:
            assert ours == ref, key
        # The token's owner (first ring token >= the key's token, computed here with the
        # reference's Murmur3) is listed first, as Cassandra's ring walk finds it.
        assert ours[0] == owner_address(key), key


def owner_address(key):
    from cassandra.metadata import Murmur3Token as RefToken
    token = RefToken.from_key(key).value
    for i, t in enumerate(TOKENS):
        if token <= int(t):
            return "127.0.0.%d" % (i + 1)
    return "127.0.0.1"


def test_simple_strategy_replicas_follow_ring_order():
    md, hosts = two_dc_metadata(SIMPLE_RF2)
    # A token just above host 1's token belongs to host 2's range, then host 3.
    tm = md.token_map
    assert [h.address for h in tm._replicas_for_token_value("ks", -9223372036854775807)] == \
        ["127.0.0.2", "127.0.0.3"]
    assert [h.address for h in tm._replicas_for_token_value("ks", 3074457345618258603)] == \
        ["127.0.0.1", "127.0.0.2"]


def token_aware(md, hosts, child, shuffle):
    p = TokenAwarePolicy(child, shuffle_replicas=shuffle)
    p.populate(FakeCluster(md, contact_points=hosts[:1]), hosts)
    return p


def test_token_aware_defaults_to_shuffling_replicas():
    assert TokenAwarePolicy(RoundRobinPolicy()).shuffle_replicas is True


@pytest.mark.parametrize("replication", [SIMPLE_RF2, NTS_21])
def test_token_aware_dc_aware_yields_local_replicas_first_then_child_plan(replication):
    md, hosts = two_dc_metadata(replication)
    p = token_aware(md, hosts, DCAwareRoundRobinPolicy("dc1", used_hosts_per_remote_dc=1), False)
    for key in KEYS:
        replicas = md.get_replicas("ks", key)
        local = [r for r in replicas if r.datacenter == "dc1"]
        plan = list(p.make_query_plan(None, Query(key, "ks")))
        assert plan[:len(local)] == local
        assert sorted(plan) == sorted(hosts)  # every host once, no repeats
        assert plan[-1] == hosts[2]  # the remote host comes last


def test_token_aware_uses_working_keyspace_when_query_has_none():
    md, hosts = two_dc_metadata(SIMPLE_RF2)
    p = token_aware(md, hosts, RoundRobinPolicy(), False)
    for key in KEYS[:20]:
        assert list(p.make_query_plan("ks", Query(key)))[:2] == md.get_replicas("ks", key)


def test_token_aware_without_routing_key_or_keyspace_uses_child_plan():
    md, hosts = two_dc_metadata(SIMPLE_RF2)
    p = token_aware(md, hosts, DCAwareRoundRobinPolicy("dc2"), False)
    assert list(p.make_query_plan(None, Query(b"k"))) == [hosts[2]]
    assert list(p.make_query_plan("ks", Query())) == [hosts[2]]
    assert list(p.make_query_plan("ks", None)) == [hosts[2]]


def test_token_aware_skips_down_replicas():
    md, hosts = two_dc_metadata(SIMPLE_RF2)
    p = token_aware(md, hosts, RoundRobinPolicy(), False)
    key = KEYS[3]
    primary = md.get_replicas("ks", key)[0]
    primary.set_down()
    p.on_down(primary)
    plan = list(p.make_query_plan(None, Query(key, "ks")))
    assert primary not in plan and plan[0] == md.get_replicas("ks", key)[1]


def test_token_aware_shuffle_spreads_first_choice_over_replicas():
    md, hosts = two_dc_metadata(SIMPLE_RF2)
    p = token_aware(md, hosts, RoundRobinPolicy(), True)
    key = KEYS[4]
    replicas = md.get_replicas("ks", key)
    firsts = Counter(next(iter(p.make_query_plan(None, Query(key, "ks")))) for _ in range(400))
    assert set(firsts) == set(replicas)
    assert min(firsts.values()) > 100  # both replicas lead often (expected 200 each)


class SubclassedTokenAware(TokenAwarePolicy):
    """A user's subclass: gets the pure-Python plan."""


class SubclassedDCAware(DCAwareRoundRobinPolicy):
    pass


@pytest.mark.parametrize("replication", [SIMPLE_RF2, NTS_21, NTS_11])
@pytest.mark.parametrize("child_cls", [RoundRobinPolicy, DCAwareRoundRobinPolicy])
def test_token_aware_compiled_plan_equals_python_definition(replication, child_cls):
    md, hosts = two_dc_metadata(replication)
    child = child_cls() if child_cls is RoundRobinPolicy else child_cls("dc1", 1)
    compiled = token_aware(md, hosts, child, False)
    py_child = RoundRobinPolicy() if child_cls is RoundRobinPolicy else SubclassedDCAware("dc1", 1)
    python = SubclassedTokenAware(py_child, shuffle_replicas=False)
    python.populate(FakeCluster(md), hosts)
    for i, key in enumerate(KEYS):
        child._position = py_child._position = i
        assert list(compiled.make_query_plan(None, Query(key, "ks"))) == \
            list(python.make_query_plan(None, Query(key, "ks")))


# -- WhiteList, HostFilter, Default ------------------------------------------------------------

def test_whitelist_only_plans_and_connects_to_allowed_hosts():
    hosts = dc_hosts()
    p = WhiteListRoundRobinPolicy(["127.0.0.2", "127.0.0.4"])
    p.populate(FakeCluster(), hosts)
    assert sorted(p.make_query_plan()) == sorted([hosts[1], hosts[3]])
    assert p.distance(hosts[0]) == HostDistance.IGNORED
    assert p.distance(hosts[1]) == HostDistance.LOCAL
    p.on_add(hosts[0])
    assert hosts[0] not in list(p.make_query_plan())


def test_whitelist_resolves_host_names():
    p = WhiteListRoundRobinPolicy(["localhost"])
    h = make_hosts([("127.0.0.1", None)])[0]
    assert p.distance(h) == HostDistance.LOCAL


def test_host_filter_ignores_and_filters_rejected_hosts():
    hosts = dc_hosts()
    p = HostFilterPolicy(RoundRobinPolicy(), predicate=lambda h: h.address != "127.0.0.3")
    p.populate(FakeCluster(), hosts)
    assert hosts[2] not in list(p.make_query_plan())
    assert len(list(p.make_query_plan())) == 4
    assert p.distance(hosts[2]) == HostDistance.IGNORED
    assert p.distance(hosts[0]) == HostDistance.LOCAL


def test_default_policy_tries_target_host_first():
    md, hosts = two_dc_metadata(SIMPLE_RF2)
    p = DefaultLoadBalancingPolicy(RoundRobinPolicy())
    p.populate(FakeCluster(md), hosts)
    q = Query()
    q.target_host = "127.0.0.3"
    plan = list(p.make_query_plan(None, q))
    assert plan[0] is hosts[2] and sorted(plan) == sorted(hosts)


# -- subclasses keep their own behaviour ---------------------------------------------------------

def test_subclass_overriding_make_query_plan_keeps_it():
    class Reversed(RoundRobinPolicy):
        def make_query_plan(self, working_keyspace=None, query=None):
            return list(reversed(self.hosts))

    hosts = make_hosts([("127.0.0.%d" % i, "dc1") for i in range(1, 4)])
    p = Reversed()
    p.populate(FakeCluster(), hosts)
    assert p.make_query_plan() == hosts[::-1]
    assert "make_query_plan" not in vars(p)  # no compiled planner installed on a subclass


def test_exact_builtin_types_use_the_compiled_planner():
    assert "make_query_plan" in vars(RoundRobinPolicy())
    assert "make_query_plan" in vars(DCAwareRoundRobinPolicy("dc1"))
    assert "make_query_plan" in vars(TokenAwarePolicy(DCAwareRoundRobinPolicy("dc1")))
    # A child the planner cannot filter (WhiteList's IGNORED hosts) keeps the Python plan.
    assert "make_query_plan" not in vars(TokenAwarePolicy(WhiteListRoundRobinPolicy(["127.0.0.1"])))


@pytest.mark.parametrize("base", [RoundRobinPolicy, DCAwareRoundRobinPolicy])
def test_subclass_skipping_init_and_super_hooks_does_not_break(base):
    class Lazy(base):
        def __init__(self):
            pass  # never calls the base __init__

        def on_up(self, host):
            pass  # never calls super

    hosts = make_hosts([("127.0.0.%d" % i, "dc1") for i in range(1, 4)])
    p = Lazy()
    p.populate(FakeCluster(contact_points=hosts[:1]), hosts)
    p.on_up(hosts[0])
    p.on_down(hosts[1])
    p.on_remove(hosts[2])
    assert list(p.make_query_plan()) == [hosts[0]]
    assert p.distance(hosts[0]) == HostDistance.LOCAL


def test_token_aware_with_whitelist_child_never_yields_ignored_replicas():
    md, hosts = two_dc_metadata(SIMPLE_RF2)
    p = token_aware(md, hosts, WhiteListRoundRobinPolicy(["127.0.0.1"]), False)
    for key in KEYS[:50]:
        assert list(p.make_query_plan(None, Query(key, "ks"))) == [hosts[0]]


def test_changing_local_dc_or_remote_count_after_construction_updates_plans():
    hosts = dc_hosts()
    p = DCAwareRoundRobinPolicy("dc1")
    p.populate(FakeCluster(), hosts)
    p.used_hosts_per_remote_dc = 2
    assert list(p.make_query_plan())[2:] == [hosts[2], hosts[3], hosts[4]]
    p.local_dc = "dc3"
    assert list(p.make_query_plan())[0] == hosts[4]


def test_dc_aware_infers_local_dc_from_contact_point_addresses():
    hosts = dc_hosts()

    class AddressesOnly:
        contact_points = ["127.0.0.3"]

    p = DCAwareRoundRobinPolicy()
    p.populate(AddressesOnly(), hosts)
    assert p.local_dc == "dc2"


def test_default_endpoint_hash_survives_pickling_and_hosts_key_dicts_by_it():
    endpoint = DefaultEndPoint("10.0.0.1", 9043)
    copy = pickle.loads(pickle.dumps(endpoint))
    assert copy == endpoint and hash(copy) == hash(endpoint) == hash(("10.0.0.1", 9043))
    # Another process hashes strings with another seed: the unpickled endpoint must carry that
    # process's hash, not the cached one of the process that pickled it.
    check = ("import pickle, sys; e = pickle.loads(sys.stdin.buffer.read()); "
             "print(hash(e) == hash(('10.0.0.1', 9043)), hash(e) == %d)" % hash(endpoint))
    out = subprocess.run([sys.executable, "-c", check], input=pickle.dumps(endpoint),
                         capture_output=True, env={**os.environ, "PYTHONHASHSEED": "12345"},
                         check=True).stdout.decode().split()
    assert out == ["True", "False"]
    assert copy != DefaultEndPoint("10.0.0.1", 9042)
    pools = {Host(endpoint): "pool"}
    assert pools[Host(DefaultEndPoint("10.0.0.1", 9043))] == "pool"
