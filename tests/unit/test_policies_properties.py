"""Property tests: compiled query plans equal the pure-Python definitions under any sequence of
membership events, and every plan is a duplicate-free list of live, non-ignored hosts.

Ran against: cassfast.policies with cassfast._routing compiled (hypothesis); no server.
"""
from hypothesis import given, settings
from hypothesis import strategies as st

from cassfast.host import Host
from cassfast.metadata import Metadata
from cassfast.policies import (
    DCAwareRoundRobinPolicy, HostDistance, RoundRobinPolicy, TokenAwarePolicy,
)

ADDRESSES = ["127.0.0.%d" % i for i in range(1, 9)]
DCS = ["dc1", "dc2", "dc3"]


class _Cluster:
    def __init__(self, metadata):
        self.metadata = metadata
        self.endpoints_resolved = []


class _Query:
    def __init__(self, routing_key, keyspace):
        self.routing_key = routing_key
        self.keyspace = keyspace


class PyDCAware(DCAwareRoundRobinPolicy):
    """A subclass: always the pure-Python plan."""


class PyRoundRobin(RoundRobinPolicy):
    pass


class PyTokenAware(TokenAwarePolicy):
    pass


topologies = st.lists(st.tuples(st.sampled_from(ADDRESSES), st.sampled_from(DCS)),
                      min_size=1, max_size=8, unique_by=lambda t: t[0])
events = st.lists(st.tuples(st.sampled_from(["on_up", "on_down", "on_add", "on_remove"]),
                            st.integers(0, 7)), max_size=25)


def _hosts(topology):
    hosts = []
    for address, dc in topology:
        h = Host(address, datacenter=dc, rack="r1")
        h.set_up()
        hosts.append(h)
    return hosts


def _apply(policies, hosts, event_list):
    for name, i in event_list:
        h = hosts[i % len(hosts)]
        if name in ("on_up", "on_add"):
            h.set_up()
        else:
            h.set_down()
        for p in policies:
            getattr(p, name)(h)


@settings(max_examples=150, deadline=None)
@given(topologies, events, st.integers(0, 3), st.integers(-5, 50))
def test_dc_aware_compiled_equals_python_after_any_events(topology, event_list, used, pos):
    hosts = _hosts(topology)
    compiled, python = DCAwareRoundRobinPolicy("dc1", used), PyDCAware("dc1", used)
    for p in (compiled, python):
        p.populate(_Cluster(None), hosts)
    _apply((compiled, python), hosts, event_list)
    compiled._position = python._position = pos
    plan = list(compiled.make_query_plan())
    assert plan == list(python.make_query_plan())
    assert len(plan) == len(set(plan))
    assert all(compiled.distance(h) != HostDistance.IGNORED for h in plan)


@settings(max_examples=150, deadline=None)
@given(topologies, events, st.integers(-5, 50))
def test_round_robin_compiled_equals_python_after_any_events(topology, event_list, pos):
    hosts = _hosts(topology)
    compiled, python = RoundRobinPolicy(), PyRoundRobin()
    for p in (compiled, python):
        p.populate(_Cluster(None), hosts)
    _apply((compiled, python), hosts, event_list)
    compiled._position = python._position = pos
    plan = list(compiled.make_query_plan())
    assert plan == list(python.make_query_plan())
    assert sorted(plan) == sorted(compiled.hosts)


@settings(max_examples=100, deadline=None)
@given(topologies, events, st.binary(max_size=24), st.integers(1, 3), st.integers(0, 2))
def test_token_aware_compiled_equals_python_after_any_events(topology, event_list, key, rf1, rf2):
    hosts = _hosts(topology)
    md = Metadata()
    for h in hosts:
        md.add_or_return_host(h)
    md.refresh_schema(keyspaces=[{"keyspace_name": "ks", "durable_writes": True,
                                  "replication": {"class": "NetworkTopologyStrategy",
                                                  "dc1": str(rf1), "dc2": str(rf2)}}])
    step = (2 ** 64) // (len(hosts) + 1)
    md.rebuild_token_map("Murmur3Partitioner",
                         {h: [str(-2 ** 63 + (i + 1) * step)] for i, h in enumerate(hosts)})
    compiled = TokenAwarePolicy(DCAwareRoundRobinPolicy("dc1", 1), shuffle_replicas=False)
    python = PyTokenAware(PyDCAware("dc1", 1), shuffle_replicas=False)
    for p in (compiled, python):
        p.populate(_Cluster(md), hosts)
    _apply((compiled, python), hosts, event_list)
    compiled.child_policy._position = python.child_policy._position = 0
    q = _Query(key, "ks")
    plan = list(compiled.make_query_plan(None, q))
    assert plan == list(python.make_query_plan(None, q))
    assert len(plan) == len(set(plan))
    local_up_replicas = [r for r in md.get_replicas("ks", key)
                         if r.is_up and r.datacenter == "dc1"]
    assert plan[:len(local_up_replicas)] == local_up_replicas
