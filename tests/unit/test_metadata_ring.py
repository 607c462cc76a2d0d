"""Token ring and replica placement, checked against cassandra-driver's TokenMap.

Rings: the 3-node, 2-DC ring of the test cluster, and random vnode rings with racks.
Ran against: cassfast.metadata with cassfast._routing compiled; cassandra-driver 3.30.1 as the
oracle; no server.
"""
import random

import pytest
from cassandra.metadata import KeyspaceMetadata as RefKs
from cassandra.metadata import Metadata as RefMetadata
from cassandra.policies import SimpleConvictionPolicy as RefConviction
from cassandra.pool import Host as RefHost

from cassfast.host import DefaultEndPoint, Host
from cassfast.metadata import (
    BytesToken, EverywhereStrategy, LocalStrategy, MD5Token, Metadata, Murmur3Token,
    NetworkTopologyStrategy, SimpleStrategy, TokenMap,
)

MURMUR3 = "org.apache.cassandra.dht.Murmur3Partitioner"


def build(topology, replications, partitioner=MURMUR3):
    """topology: [(address, dc, rack, [token strings])]; returns (ours, reference) metadata."""
    md, ref = Metadata(), RefMetadata()
    ours_map, ref_map = {}, {}
    for address, dc, rack, tokens in topology:
        h = Host(address, datacenter=dc, rack=rack)
        md.add_or_return_host(h)
        ours_map[h] = tokens
        ref_map[RefHost(address, RefConviction, datacenter=dc, rack=rack)] = tokens
    ks_rows = []
    for name, repl in replications.items():
        ks_rows.append({"keyspace_name": name, "durable_writes": True, "replication": repl})
        opts = dict(repl)
        cls = opts.pop("class")
        ref.keyspaces[name] = RefKs(name, True, cls, opts)
    md.refresh_schema(keyspaces=ks_rows)
    md.rebuild_token_map(partitioner, ours_map)
    ref.rebuild_token_map(partitioner, ref_map)
    return md, ref


def random_vnode_topology(rng, dcs, nodes_per_dc, racks_per_dc, vnodes):
    topo = []
    used = set()
    for d in range(dcs):
        for n in range(nodes_per_dc):
            tokens = []
            while len(tokens) < vnodes:
                t = rng.randint(-2 ** 63 + 1, 2 ** 63 - 1)
                if t not in used:
                    used.add(t)
                    tokens.append(str(t))
            topo.append(("127.%d.0.%d" % (d, n + 1), "dc%d" % (d + 1),
                         "rack%d" % (n % racks_per_dc), tokens))
    return topo


def addresses(hosts):
    return [h.address for h in hosts]


REPLICATIONS = {
    "s1": {"class": "SimpleStrategy", "replication_factor": "1"},
    "s3": {"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "3"},
    "n31": {"class": "NetworkTopologyStrategy", "dc1": "3", "dc2": "1"},
    "n22": {"class": "NetworkTopologyStrategy", "dc1": "2", "dc2": "2"},
    "n5": {"class": "NetworkTopologyStrategy", "dc1": "5"},  # more than the nodes of dc1
    "nx": {"class": "NetworkTopologyStrategy", "dc9": "3"},  # a DC with no nodes
}


@pytest.mark.parametrize("seed,racks", [(1, 1), (2, 2), (3, 3), (4, 2)])
def test_vnode_ring_replicas_equal_reference_driver(seed, racks):
    rng = random.Random(seed)
    md, ref = build(random_vnode_topology(rng, 2, 4, racks, 8), REPLICATIONS)
    keys = [rng.randbytes(rng.randint(0, 40)) for _ in range(300)]
    for ks in REPLICATIONS:
        for key in keys:
            mine = addresses(md.get_replicas(ks, key))
            theirs = addresses(ref.get_replicas(ks, key))
            # Sets: with vnodes, racks and rf > nodes the reference can list a host twice
            # (a host skipped at several of its tokens is re-added once per skip); ours never.
            assert set(mine) == set(theirs), (ks, key)
            assert len(set(mine)) == len(mine)
            if ks.startswith("s"):
                assert mine == theirs  # SimpleStrategy: ring order, as the reference


def test_nts_places_every_rack_before_repeating_one():
    # dc1 ring order: a(r1) b(r1) c(r2); rf 2 must take a and c (Cassandra's rack rule).
    topo = [("127.0.0.1", "dc1", "r1", ["-100"]), ("127.0.0.2", "dc1", "r1", ["0"]),
            ("127.0.0.3", "dc1", "r2", ["100"])]
    md, ref = build(topo, {"ks": {"class": "NetworkTopologyStrategy", "dc1": "2"}})
    tm = md.token_map
    assert addresses(tm.get_replicas("ks", Murmur3Token(-150))) == ["127.0.0.1", "127.0.0.3"]
    assert addresses(tm.get_replicas("ks", Murmur3Token(-50))) == ["127.0.0.2", "127.0.0.3"]
    assert sorted(addresses(ref.token_map.get_replicas("ks", Murmur3Token(-150)))) == \
        ["127.0.0.1", "127.0.0.3"]


def test_token_ranges_end_at_their_ring_token_and_wrap():
    topo = [("127.0.0.1", "dc1", "r1", ["-100"]), ("127.0.0.2", "dc1", "r1", ["100"])]
    md, _ = build(topo, {"ks": {"class": "SimpleStrategy", "replication_factor": "1"}})
    tm = md.token_map
    assert addresses(tm.get_replicas("ks", Murmur3Token(-100))) == ["127.0.0.1"]
    assert addresses(tm.get_replicas("ks", Murmur3Token(-99))) == ["127.0.0.2"]
    assert addresses(tm.get_replicas("ks", Murmur3Token(100))) == ["127.0.0.2"]
    assert addresses(tm.get_replicas("ks", Murmur3Token(101))) == ["127.0.0.1"]


@pytest.mark.parametrize("partitioner,tokens", [
    ("org.apache.cassandra.dht.RandomPartitioner",
     ["0", "56713727820156410577229101238628035242", "113427455640312821154458202477256070484"]),
    ("org.apache.cassandra.dht.ByteOrderedPartitioner", ["00", "55", "aa"]),
])
def test_other_partitioners_equal_reference_driver(partitioner, tokens):
    topo = [("127.0.0.%d" % (i + 1), "dc1", "r1", [t]) for i, t in enumerate(tokens)]
    md, ref = build(topo, {"ks": {"class": "SimpleStrategy", "replication_factor": "2"}},
                    partitioner)
    for key in [b"", b"a", b"\x60", b"\xff\xff", b"key-%d" % 7] + [b"k%d" % i for i in range(50)]:
        assert addresses(md.get_replicas("ks", key)) == addresses(ref.get_replicas("ks", key))
    expected_class = MD5Token if "Random" in partitioner else BytesToken
    assert md.token_map.token_class is expected_class


def test_unknown_partitioner_or_keyspace_routes_nowhere():
    md = Metadata()
    assert md.get_replicas("ks", b"k") == []
    md.rebuild_token_map("com.example.CustomPartitioner", {})
    assert md.token_map is None and md.get_replicas("ks", b"k") == []
    md2, _ = build([("127.0.0.1", "dc1", "r1", ["0"])],
                   {"ks": {"class": "SimpleStrategy", "replication_factor": "1"}})
    assert md2.get_replicas("other", b"k") == []


def test_schema_change_swaps_in_a_new_token_map_and_keeps_the_old_one_intact():
    md, _ = build([("127.0.0.1", "dc1", "r1", ["0"]), ("127.0.0.2", "dc1", "r1", ["100"])],
                  {"ks": {"class": "SimpleStrategy", "replication_factor": "1"}})
    old = md.token_map
    md.refresh_schema(keyspaces=[{"keyspace_name": "ks", "durable_writes": True,
                                  "replication": {"class": "SimpleStrategy",
                                                  "replication_factor": "2"}}])
    assert md.token_map is not old
    assert len(old.get_replicas("ks", Murmur3Token(50))) == 1
    assert len(md.token_map.get_replicas("ks", Murmur3Token(50))) == 2


def test_keyspaces_with_equal_replication_share_one_replica_table():
    md, _ = build([("127.0.0.1", "dc1", "r1", ["0"])],
                  {"a": {"class": "SimpleStrategy", "replication_factor": "3"},
                   "b": {"class": "SimpleStrategy", "replication_factor": "3"}})
    assert md.token_map._tables["a"] is md.token_map._tables["b"]


def test_tokens_to_hosts_by_ks_matches_reference_shape():
    md, ref = build([("127.0.0.1", "dc1", "r1", ["0"]), ("127.0.0.2", "dc1", "r1", ["100"])],
                    {"ks": {"class": "SimpleStrategy", "replication_factor": "2"}})
    ours = {t.value: addresses(h) for t, h in md.token_map.tokens_to_hosts_by_ks["ks"].items()}
    ref.token_map.rebuild_keyspace("ks", build_if_absent=True)
    theirs = {t.value: addresses(h) for t, h in ref.token_map.tokens_to_hosts_by_ks["ks"].items()}
    assert ours == theirs


def test_local_and_everywhere_strategies():
    owners = tuple(Host("127.0.0.%d" % i) for i in (1, 2, 1, 3))
    assert LocalStrategy({}).replicas_by_ring_index(owners) == [(), (), (), ()]
    everywhere = EverywhereStrategy({}).replicas_by_ring_index(owners)
    assert [addresses(r) for r in everywhere][1] == ["127.0.0.2", "127.0.0.1", "127.0.0.3"]


def test_replication_strategy_export_and_equality():
    assert SimpleStrategy({"replication_factor": "3"}).export_for_schema() == \
        "{'class': 'SimpleStrategy', 'replication_factor': '3'}"
    nts = NetworkTopologyStrategy({"dc2": "1", "dc1": "3/1"})
    assert nts.export_for_schema() == \
        "{'class': 'NetworkTopologyStrategy', 'dc1': '3/1', 'dc2': '1'}"
    assert nts.dc_replication_factors == {"dc1": 2, "dc2": 1}
    assert nts == NetworkTopologyStrategy({"dc1": "3/1", "dc2": "1"})
    with pytest.raises(ValueError):
        SimpleStrategy({"replication_factor": "three"})


# -- hosts ---------------------------------------------------------------------------------------

def test_add_or_return_host_returns_known_host_for_same_endpoint():
    md = Metadata()
    h1 = Host("127.0.0.1")
    assert md.add_or_return_host(h1) == (h1, True)
    h1b = Host("127.0.0.1")
    host, new = md.add_or_return_host(h1b)
    assert host is h1 and new is False
    assert md.all_hosts() == [h1]
    assert md.remove_host(h1) is True and md.remove_host(h1) is False
    assert md.all_hosts() == []


def test_get_host_by_endpoint_address_and_port():
    md = Metadata()
    h1 = Host(DefaultEndPoint("127.0.0.1", 9042))
    h2 = Host(DefaultEndPoint("127.0.0.2", 9043))
    h2.broadcast_rpc_address, h2.broadcast_rpc_port = "10.0.0.2", 9043
    md.add_or_return_host(h1)
    md.add_or_return_host(h2)
    assert md.get_host(DefaultEndPoint("127.0.0.1", 9042)) is h1
    assert md.get_host("127.0.0.1") is h1
    assert md.get_host("10.0.0.2", 9043) is h2
    assert md.get_host("10.0.0.2", 9999) is None
    assert md.get_host("127.0.0.9") is None


def test_update_host_rekeys_by_new_endpoint():
    md = Metadata()
    h = Host("127.0.0.1")
    md.add_or_return_host(h)
    old = h.endpoint
    h.endpoint = DefaultEndPoint("127.0.0.5")
    md.update_host(h, old)
    assert md.get_host(DefaultEndPoint("127.0.0.5")) is h and md.get_host(old) is None


def test_token_map_class_can_be_built_directly_like_the_reference():
    hosts = [Host("127.0.0.1"), Host("127.0.0.2")]
    owner = {Murmur3Token(0): hosts[0], Murmur3Token(10): hosts[1]}
    tm = TokenMap(Murmur3Token, owner, sorted(owner), None)
    assert tm.ring == [Murmur3Token(0), Murmur3Token(10)]
    assert tm.get_replicas("ks", Murmur3Token(5)) == []


# -- token classes -------------------------------------------------------------------------------

def test_token_classes_behave_like_the_reference():
    import pickle

    from cassandra.metadata import BytesToken as RefBytesToken
    from cassandra.metadata import MD5Token as RefMD5Token
    from cassfast.metadata import HashToken, Token

    for key in [b"", b"a", b"partition-key", "kéy".encode()]:
        assert MD5Token.from_key(key).value == RefMD5Token.from_key(key).value
        assert BytesToken.from_key(key).value == RefBytesToken.from_key(key).value
    assert Murmur3Token.from_string("-42").value == -42
    assert isinstance(Murmur3Token(1), HashToken) and isinstance(MD5Token(1), Token)
    assert repr(Murmur3Token(5)) == "<Murmur3Token: 5>"
    t = Murmur3Token(123)
    assert pickle.loads(pickle.dumps(t)) == t
    assert Murmur3Token(1) <= Murmur3Token(1) < Murmur3Token(2) >= Murmur3Token(2)
    assert (Murmur3Token(1) == 1) is False  # a token never equals a bare int
    assert BytesToken.from_string("0aff").value == b"\x0a\xff"


def test_user_token_subclass_uses_its_own_hash_fn():
    class Doubling(Murmur3Token):
        @classmethod
        def hash_fn(cls, key):
            return 2 * len(key)

    # The reference's from_key is cls(cls.hash_fn(key)): a subclass's hash_fn must be honoured.
    from cassandra.metadata import Murmur3Token as RefMurmur3Token

    class RefDoubling(RefMurmur3Token):
        @classmethod
        def hash_fn(cls, key):
            return 2 * len(key)

    assert type(Doubling.from_key(b"abc")) is Doubling
    assert Doubling.from_key(b"abc").value == RefDoubling.from_key(b"abc").value


def test_malformed_tokens_are_skipped_not_fatal(caplog):
    md = Metadata()
    a, b = Host("127.0.0.1", datacenter="dc1", rack="r1"), Host("127.0.0.2", datacenter="dc1", rack="r1")
    md.refresh_schema(keyspaces=[{"keyspace_name": "ks", "durable_writes": True,
                                  "replication": {"class": "SimpleStrategy",
                                                  "replication_factor": "1"}}])
    md.rebuild_token_map(MURMUR3, {a: ["0", "not-a-token", str(2 ** 64)], b: ["100", None]})
    assert [t.value for t in md.token_map.ring] == [0, 100]
    assert "not-a-token" in caplog.text
    assert addresses(md.token_map.get_replicas("ks", Murmur3Token(50))) == ["127.0.0.2"]


def test_schema_refresh_reuses_unchanged_replica_tables_and_ring():
    md, _ = build([("127.0.0.1", "dc1", "r1", ["0"]), ("127.0.0.2", "dc1", "r1", ["100"])],
                  {"ks": {"class": "SimpleStrategy", "replication_factor": "2"}})
    old = md.token_map
    md.refresh_schema(keyspaces=[
        {"keyspace_name": "ks", "durable_writes": True,
         "replication": {"class": "SimpleStrategy", "replication_factor": "2"}},
        {"keyspace_name": "new", "durable_writes": True,
         "replication": {"class": "SimpleStrategy", "replication_factor": "1"}}])
    new = md.token_map
    assert new._tables["ks"] is old._tables["ks"]
    assert new._murmur_ring is old._murmur_ring
    assert len(new.get_replicas("new", Murmur3Token(50))) == 1
    md.remove_keyspace("new")
    assert list(md.token_map._strategy_cache) == [("SimpleStrategy",
                                                   "{'class': 'SimpleStrategy', 'replication_factor': '2'}")]


# -- group_keys_by_replica -----------------------------------------------------------------------

def test_group_keys_by_replica_follows_the_ring_for_single_and_composite_keys():
    import struct as _struct
    from cassfast.metadata import NO_VALID_REPLICA, group_keys_by_replica
    from cassfast.policies import RoundRobinPolicy

    topo = [("127.0.0.1", "dc1", "r1", ["-3074457345618258603"]),
            ("127.0.0.2", "dc1", "r1", ["3074457345618258602"]),
            ("127.0.0.3", "dc1", "r1", ["9223372036854775807"])]
    md, _ = build(topo, {"ks": {"class": "SimpleStrategy", "replication_factor": "1"}})
    for h in md.all_hosts():
        h.set_up()
    md.refresh_schema(
        keyspaces=[{"keyspace_name": "ks", "durable_writes": True,
                    "replication": {"class": "SimpleStrategy", "replication_factor": "1"}}],
        tables=[{"keyspace_name": "ks", "table_name": "t", "flags": {"compound"}},
                {"keyspace_name": "ks", "table_name": "c", "flags": {"compound"}}],
        columns=[{"keyspace_name": "ks", "table_name": "t", "column_name": "k", "type": "int",
                  "kind": "partition_key", "position": 0, "clustering_order": "none"},
                 {"keyspace_name": "ks", "table_name": "c", "column_name": "a", "type": "text",
                  "kind": "partition_key", "position": 0, "clustering_order": "none"},
                 {"keyspace_name": "ks", "table_name": "c", "column_name": "b", "type": "int",
                  "kind": "partition_key", "position": 1, "clustering_order": "none"}])
    policy = RoundRobinPolicy()
    policy.populate(None, md.all_hosts())

    class _Cluster:
        metadata = md
        load_balancing_policy = policy
        protocol_version = 4

    class _Session:
        cluster = _Cluster()

    def owner(routing_key):
        token = Murmur3Token.from_key(routing_key).value
        for address, _, _, (t,) in topo:
            if token <= int(t):
                return address
        return topo[0][0]

    keys = [(i,) for i in range(40)]
    groups = group_keys_by_replica(_Session(), "ks", "t", keys)
    assert sum(len(v) for v in groups.values()) == 40 and NO_VALID_REPLICA not in groups
    for host, ks in groups.items():
        assert all(owner(_struct.pack(">i", k)) == host.address for (k,) in ks)

    ckeys = [("a%d" % i, i) for i in range(20)]
    groups = group_keys_by_replica(_Session(), "ks", "c", ckeys)
    for host, ks in groups.items():
        for a, b in ks:
            parts = [a.encode(), _struct.pack(">i", b)]
            # Cassandra CompositeType: per component <uint16 length><bytes><end-of-component 0>.
            composite = b"".join(_struct.pack(">H", len(p)) + p + b"\x00" for p in parts)
            assert owner(composite) == host.address

    for h in md.all_hosts():
        h.set_down()
    assert group_keys_by_replica(_Session(), "ks", "t", keys) == {NO_VALID_REPLICA: keys}
