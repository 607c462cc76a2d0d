"""Routing hot paths: cassfast beside cassandra-driver 3.30 in the same process, same run.

Workloads (each driver builds the same objects through its own public API):

* ``murmur3_1000``: ``Murmur3Token.from_key`` over 1,000 keys of 0-64 bytes;
* ``rr_3`` / ``rr_30``: 1,000 full query plans of ``RoundRobinPolicy`` over 3 / 30 hosts;
* ``dc_3`` / ``dc_30``: the same with ``DCAwareRoundRobinPolicy`` (two DCs, one remote host used);
* ``ta_3`` / ``ta_30``: ``TokenAwarePolicy(DCAwareRoundRobinPolicy)`` with shuffled replicas, a
  real token map (3 nodes x 1 token, or 30 nodes x 16 vnodes, NTS {dc1: 3, dc2: 3}) and 1,000
  statements with distinct routing keys: replica lookup (Murmur3 + bisect) plus the full plan.

Run either way:

* ``python bench/test_bench_routing.py [--repeat 7]``: prints per-workload medians and the ratio
  reference / cassfast (higher is better for cassfast);
* ``pytest bench/test_bench_routing.py --benchmark-enable -p no:cacheprovider``: the same
  workloads under pytest-benchmark, with the ratio table printed at the end.

The machine has 2 cores shared with Cassandra JVMs and other engineers' work: numbers are noisy,
repeat the run and compare ratios, not absolute times.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import warnings

import pytest

N_PLANS = 1000
FLOORS = {"murmur3_1000": 1.5, "rr_3": 3.0, "rr_30": 3.0, "dc_3": 3.0, "dc_30": 3.0,
          "ta_3": 3.0, "ta_30": 3.0}


class _Statement:
    __slots__ = ("routing_key", "keyspace")

    def __init__(self, routing_key, keyspace):
        self.routing_key = routing_key
        self.keyspace = keyspace


def _drivers(driver):
    if driver == "cassfast":
        from cassfast import metadata as md_mod
        from cassfast import policies as pol
        from cassfast.host import Host

        def make_host(address, dc, rack):
            return Host(address, datacenter=dc, rack=rack)
    else:
        from cassandra import metadata as md_mod
        from cassandra import policies as pol
        from cassandra.pool import Host

        def make_host(address, dc, rack):
            return Host(address, pol.SimpleConvictionPolicy, datacenter=dc, rack=rack)
    return md_mod, pol, make_host


class _Cluster:
    def __init__(self, metadata, contact):
        self.metadata = metadata
        self.endpoints_resolved = [contact.endpoint]
        self.contact_points = [contact.address]


def _hosts(make_host, n):
    hosts = []
    for i in range(n):
        dc = "dc1" if i < max(1, (2 * n) // 3) else "dc2"
        h = make_host("127.0.%d.%d" % (i // 250, i % 250 + 1), dc, "rack%d" % (i % 3))
        h.set_up()
        hosts.append(h)
    return hosts


def _token_aware_setup(driver, n):
    md_mod, pol, make_host = _drivers(driver)
    hosts = _hosts(make_host, n)
    rng = random.Random(42)
    vnodes = 1 if n <= 3 else 16
    token_map = {h: [str(rng.randint(-2 ** 63 + 1, 2 ** 63 - 1)) for _ in range(vnodes)]
                 for h in hosts}
    md = md_mod.Metadata()
    for h in hosts:
        md.add_or_return_host(h)
    repl = {"class": "NetworkTopologyStrategy", "dc1": "3", "dc2": "3"}
    if driver == "cassfast":
        md.refresh_schema(keyspaces=[{"keyspace_name": "ks", "durable_writes": True,
                                      "replication": repl}])
    else:
        opts = dict(repl)
        md.keyspaces["ks"] = md_mod.KeyspaceMetadata("ks", True, opts.pop("class"), opts)
    md.rebuild_token_map("org.apache.cassandra.dht.Murmur3Partitioner", token_map)
    policy = pol.TokenAwarePolicy(pol.DCAwareRoundRobinPolicy("dc1", 1), shuffle_replicas=True)
    policy.populate(_Cluster(md, hosts[0]), hosts)
    for h in hosts:
        policy.on_up(h)
    statements = [_Statement(b"key-%d" % i, "ks") for i in range(N_PLANS)]
    # Warm the reference's lazily built per-keyspace replica map outside the timing.
    list(policy.make_query_plan("ks", statements[0]))

    def run():
        plan = policy.make_query_plan
        for s in statements:
            for _ in plan("ks", s):
                pass
    return run


def _plan_setup(driver, kind, n):
    md_mod, pol, make_host = _drivers(driver)
    hosts = _hosts(make_host, n)
    policy = pol.RoundRobinPolicy() if kind == "rr" else pol.DCAwareRoundRobinPolicy("dc1", 1)
    policy.populate(_Cluster(None, hosts[0]), hosts)

    def run():
        plan = policy.make_query_plan
        for _ in range(N_PLANS):
            for _ in plan():
                pass
    return run


def _murmur_setup(driver):
    md_mod, _, _ = _drivers(driver)
    rng = random.Random(7)
    keys = [rng.randbytes(rng.randint(0, 64)) for _ in range(1000)]
    from_key = md_mod.Murmur3Token.from_key

    def run():
        for k in keys:
            from_key(k)
    return run


def workload(name, driver):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "murmur3_1000":
            return _murmur_setup(driver)
        kind, n = name.split("_")
        if kind == "ta":
            return _token_aware_setup(driver, int(n))
        return _plan_setup(driver, kind, int(n))


WORKLOADS = list(FLOORS)
DRIVERS = ["cassfast", "cassandra-driver"]

# -- pytest-benchmark ----------------------------------------------------------------------------

_medians: dict = {}


@pytest.fixture(scope="module", autouse=True)
def _ratio_table(request):
    yield
    if not _medians:
        return
    rep = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if rep is None:
        return
    # Teardown output is captured by default; the table is the point of the run, so show it.
    if capture is not None:
        with capture.global_and_fixture_disabled():
            for line in _table(_medians):
                rep.write_line(line)
    else:
        for line in _table(_medians):
            rep.write_line(line)


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("name", WORKLOADS)
def test_bench_routing(benchmark, name, driver):
    run = workload(name, driver)
    benchmark.group = name
    benchmark.name = "%s[%s]" % (name, driver)
    benchmark(run)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        _medians[(name, driver)] = stats.stats.median


def _table(medians):
    lines = ["", "routing: median per round (1,000 operations); ratio = cassandra-driver / cassfast",
             "%-14s %14s %18s %8s %6s" % ("workload", "cassfast", "cassandra-driver", "ratio",
                                          "floor")]
    for name in WORKLOADS:
        a, b = medians.get((name, "cassfast")), medians.get((name, "cassandra-driver"))
        if a is None or b is None:
            continue
        lines.append("%-14s %12.1fus %16.1fus %7.2fx %5.1fx" % (name, a * 1e6, b * 1e6, b / a,
                                                                FLOORS[name]))
    return lines


# -- script mode ---------------------------------------------------------------------------------

def _time(run, repeat, number):
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            run()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--number", type=int, default=5)
    args = ap.parse_args(argv)
    medians = {}
    for name in WORKLOADS:
        runs = {d: workload(name, d) for d in DRIVERS}
        for d in DRIVERS:
            runs[d]()  # warm-up
        # Interleave the drivers so slow phases of the shared machine hit both.
        samples = {d: [] for d in DRIVERS}
        for _ in range(args.repeat):
            for d in DRIVERS:
                samples[d].append(_time(runs[d], 1, args.number))
        for d in DRIVERS:
            medians[(name, d)] = statistics.median(samples[d])
    for line in _table(medians):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
