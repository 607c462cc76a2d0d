"""cassfast.metrics without a server: the request timer's figures against independent computations,
its bounded memory, the counters, the gauges over a stand-in cluster, and stats names.

The oracle for percentiles is Python's ``statistics`` module: ``statistics.quantiles(data, n=1000,
method='exclusive')`` places cut points at rank ``p * (n + 1)`` with linear interpolation, which is
the definition the reference's scales ``PmfStat`` documents and cassfast follows; the median is
``statistics.median``; the standard deviation ``statistics.stdev`` (sample, n - 1), as scales.
Implementation under test: cassfast.
"""
from __future__ import annotations

import gc
import math
import random
import statistics
import sys
import threading

import pytest

from cassfast.metrics import RELATIVE_ERROR, Metrics, RequestTimer

KEYS = ["count", "min", "max", "mean", "stddev", "median", "75percentile", "95percentile",
        "98percentile", "99percentile", "999percentile"]
PERCENTILE_INDEX = {"75percentile": 749, "95percentile": 949, "98percentile": 979,
                    "99percentile": 989, "999percentile": 998}


def exact_percentiles(data):
    """The oracle: every percentile of ``data`` by the statistics module."""
    cuts = statistics.quantiles(data, n=1000, method="exclusive")
    out = {key: cuts[i] for key, i in PERCENTILE_INDEX.items()}
    out["median"] = statistics.median(data)
    return out


def timer_of(values):
    timer = RequestTimer()
    for v in values:
        timer.addValue(v)
    return timer


def assert_close(estimate, exact, bound=RELATIVE_ERROR):
    assert abs(estimate - exact) <= bound * exact + 1e-15, (estimate, exact)


def test_an_empty_timer_has_the_reference_keys_all_zero():
    timer = RequestTimer()
    assert list(timer) == KEYS
    assert dict(timer) == dict.fromkeys(KEYS, 0) and timer["count"] == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_of_lognormal_latencies_are_within_the_documented_error(seed):
    rng = random.Random(seed)
    # 2,000 values: p * (n + 1) stays inside [1, n] for p = 0.999, so no extrapolation is involved.
    data = [rng.lognormvariate(math.log(0.002), 1.2) for _ in range(2000)]
    stats = timer_of(data).snapshot()
    for key, exact in exact_percentiles(data).items():
        assert_close(stats[key], exact)


def test_count_min_max_mean_and_stddev_are_exact():
    rng = random.Random(7)
    data = [rng.uniform(0.0001, 0.5) for _ in range(5000)]
    stats = timer_of(data).snapshot()
    assert stats["count"] == 5000
    assert stats["min"] == min(data) and stats["max"] == max(data)
    assert stats["mean"] == pytest.approx(statistics.fmean(data), rel=1e-12)
    assert stats["stddev"] == pytest.approx(statistics.stdev(data), rel=1e-9)


def test_a_small_sample_of_distinct_latencies_gives_nearly_exact_percentiles():
    data = [0.001 * (i + 1) for i in range(1200)]
    stats = timer_of(reversed(data)).snapshot()  # insertion order must not matter
    for key, exact in exact_percentiles(data).items():
        assert_close(stats[key], exact)


def test_percentiles_below_rank_one_and_above_rank_n_are_the_min_and_max():
    # n = 3: p * (n + 1) is 2 for the median, 3.0 for 0.75 and beyond 3 for the rest.
    data = [0.003, 0.001, 0.002]
    stats = timer_of(data).snapshot()
    assert stats["median"] == pytest.approx(0.002, rel=RELATIVE_ERROR)
    for key in ("75percentile", "95percentile", "98percentile", "99percentile", "999percentile"):
        assert stats[key] == 0.003
    single = timer_of([0.25]).snapshot()
    assert {single[k] for k in KEYS if k not in ("count", "stddev")} == {0.25}
    assert single["stddev"] == 0.0


def test_values_outside_the_histogram_range_keep_exact_min_and_max():
    data = [1e-9, 2e-9, 5000.0, 9000.0]
    stats = timer_of(data).snapshot()
    assert stats["min"] == 1e-9 and stats["max"] == 9000.0
    assert stats["mean"] == pytest.approx(statistics.fmean(data))
    # Every percentile stays within [min, max] even though the edge buckets are coarse.
    assert all(1e-9 <= stats[k] <= 9000.0 for k in PERCENTILE_INDEX)


def test_a_zero_latency_is_recorded_in_the_bottom_bucket_with_under_a_microsecond_of_error():
    stats = timer_of([0.0, 0.0, 0.001]).snapshot()
    assert stats["count"] == 3 and stats["min"] == 0.0
    assert 0.0 <= stats["median"] < 1e-6  # below the range: absolute, not relative, error


@pytest.mark.parametrize("bad", [-0.001, float("nan"), "0.1", None])
def test_a_negative_or_non_numeric_latency_is_rejected(bad):
    timer = RequestTimer()
    with pytest.raises((ValueError, TypeError)):
        timer.addValue(bad)
    assert timer["count"] == 0


def test_memory_does_not_grow_with_the_number_of_values():
    timer = timer_of([0.001] * 10)
    before = sys.getsizeof(timer._counts)
    rng = random.Random(3)
    for _ in range(100_000):
        timer.addValue(rng.expovariate(1000.0))
    assert sys.getsizeof(timer._counts) == before
    assert timer["count"] == 100_010


def test_an_unknown_key_raises_key_error():
    with pytest.raises(KeyError):
        RequestTimer()["p50"]


def test_concurrent_adds_from_many_threads_are_all_counted():
    timer = RequestTimer()

    def add():
        for _ in range(5000):
            timer.addValue(0.001)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert timer["count"] == 20_000
    assert timer["mean"] == pytest.approx(0.001)


# ---------------------------------------------------------------------- Metrics


class FakeLanes:
    def __init__(self, open_count):
        self.open_count = open_count


class FakePool:
    def __init__(self, open_count, lanes=None):
        self.open_count = open_count
        self.lanes = None if lanes is None else FakeLanes(lanes)


class FakeSession:
    def __init__(self, pools):
        self._pools = pools


class FakeCluster:
    """What the gauges read: metadata.all_hosts() and sessions' pools."""

    def __init__(self, hosts, sessions):
        self.sessions = sessions
        self.metadata = type("Meta", (), {"all_hosts": staticmethod(lambda: list(hosts))})()


def test_each_event_moves_exactly_its_counter():
    metrics = Metrics(FakeCluster([], []))
    events = {"on_connection_error": "connection_errors", "on_write_timeout": "write_timeouts",
              "on_read_timeout": "read_timeouts", "on_unavailable": "unavailables",
              "on_other_error": "other_errors", "on_retry": "retries", "on_ignore": "ignores"}
    for method, counter in events.items():
        before = {c: getattr(metrics, c) for c in events.values()}
        getattr(metrics, method)()
        after = {c: getattr(metrics, c) for c in events.values()}
        assert after == {**before, counter: before[counter] + 1}
        assert metrics.stats.__getattribute__(counter) == after[counter]  # reference spelling
        assert metrics.get_stats()[counter] == after[counter]


def test_gauges_count_hosts_hosts_with_open_connections_and_connections():
    a, b, c = "host-a", "host-b", "host-c"
    sessions = [FakeSession({a: FakePool(2, lanes=3), b: FakePool(0)}),
                FakeSession({a: FakePool(1)})]
    cluster = FakeCluster([a, b, c], sessions)  # metrics hold it weakly: keep it alive here
    metrics = Metrics(cluster)
    assert metrics.known_hosts() == 3
    assert metrics.connected_to() == 1  # b's pool has no open connection, c has no pool
    assert metrics.open_connections() == 2 + 3 + 1  # lanes are open connections too
    stats = metrics.get_stats()
    assert (stats["known_hosts"], stats["connected_to"], stats["open_connections"]) == (3, 1, 6)


def test_gauges_read_zero_once_the_cluster_is_gone():
    cluster = FakeCluster(["h"], [FakeSession({"h": FakePool(1)})])
    metrics = Metrics(cluster)
    del cluster
    gc.collect()
    assert (metrics.known_hosts(), metrics.connected_to(), metrics.open_connections()) == (0, 0, 0)


def test_stats_names_are_unique_and_renaming_to_a_taken_name_fails():
    m1, m2 = Metrics(FakeCluster([], [])), Metrics(FakeCluster([], []))
    assert m1.stats_name.startswith("cassandra-") and m1.stats_name != m2.stats_name
    m1.set_stats_name("orders-cluster")
    assert m1.stats_name == "orders-cluster"
    m1.set_stats_name("orders-cluster")  # the same name again is a no-op
    with pytest.raises(ValueError):
        m2.set_stats_name("orders-cluster")
    assert m2.stats_name != "orders-cluster"
    with pytest.raises(TypeError):
        m2.set_stats_name(42)


def test_a_collected_clusters_name_can_be_reused():
    m1 = Metrics(FakeCluster([], []))
    m1.set_stats_name("short-lived")
    del m1
    gc.collect()
    m2 = Metrics(FakeCluster([], []))
    m2.set_stats_name("short-lived")
    assert m2.stats_name == "short-lived"


def test_cluster_builds_metrics_only_when_enabled():
    from cassfast.cluster import Cluster
    assert Cluster(["127.0.0.1"]).metrics is None
    cluster = Cluster(["127.0.0.1"], metrics_enabled=True)
    assert cluster.metrics_enabled is True and isinstance(cluster.metrics, Metrics)
    assert cluster.metrics.known_hosts() == 0  # not connected: no host known yet


def test_every_bucket_midpoint_is_within_the_relative_error_of_its_values():
    from cassfast.metrics import _bucket_midpoint, _bucket_of
    rng = random.Random(11)
    # Log-uniform over the whole range, plus both edges of it.
    values = [math.exp(rng.uniform(math.log(0.5 ** 21), math.log(2.0 ** 12))) for _ in range(20000)]
    values += [0.5 ** 21, math.nextafter(2.0 ** 12, 0)]
    for v in values:
        timer = timer_of([v])
        index = _bucket_of(v)
        assert timer._counts[index] == 1  # addValue's inlined computation agrees
        assert abs(_bucket_midpoint(index) - v) <= RELATIVE_ERROR * v


def test_zeros_and_values_outside_the_range_are_counted_in_the_edge_buckets():
    timer = timer_of([0.0, 1e-12, 5000.0, 1e9, 0.001])
    assert timer._counts[0] == 2 and timer._counts[-1] == 2 and sum(timer._counts) == 5
