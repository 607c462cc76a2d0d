"""Cross-driver metrics check: cassfast's ``cluster.metrics`` against cassandra-driver's (with the
``scales`` package it needs) for the same scripted workload on the same real node.

Each step's change of the request count, of every counter and the gauges after the step must be
identical for both drivers: what counts as a timed request (not connecting, not PREPARE; every
page), which server error moves which counter, what a retry, an ignore, an invalid query and a
client timeout move.  The retry policies are given explicitly on the statements, because the
drivers' default policies differ on purpose (see README).  ``CASSFAST_CROSSDRIVER_SELFTEST=1`` puts
cassandra-driver in cassfast's place to validate the test itself.
"""
from __future__ import annotations

import importlib
import uuid

import pytest
from _crossdriver import driver_package, node_address

pytestmark = pytest.mark.integration

# Unique per run: several runs (developers, CI) may share the node.
KEYSPACE = "crossdriver_metrics_%s" % uuid.uuid4().hex[:10]
COUNTERS = ("connection_errors", "write_timeouts", "read_timeouts", "unavailables",
            "other_errors", "retries", "ignores")


@pytest.fixture(scope="module")
def node(cassandra_single):
    # cassandra-driver's metrics need scales, a declared test dependency: missing, it fails here.
    import greplin.scales  # noqa: F401
    host, port = node_address(cassandra_single)
    from cassandra.cluster import Cluster
    setup = Cluster([host], port=port)
    s = setup.connect()
    s.execute("CREATE KEYSPACE %s WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
    s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % KEYSPACE)
    yield host, port
    s.execute("DROP KEYSPACE IF EXISTS %s" % KEYSPACE)
    setup.shutdown()


def observe(metrics) -> dict:
    """Everything both drivers expose the same way (the reference's counters live on ``stats``)."""
    stats = metrics.stats
    seen = {name: getattr(stats, name) for name in COUNTERS}
    seen["requests"] = metrics.request_timer["count"]
    seen["known_hosts"] = stats.known_hosts()
    seen["connected_to"] = stats.connected_to()
    # cassfast's count includes its lanes (connections driven by synchronous callers, which
    # cassandra-driver does not have); compared without them.
    lanes = sum(len(pool.lanes._all) for session in metrics._sessions()
                for pool in session._pools.values() if getattr(pool, "lanes", None) is not None) \
        if hasattr(metrics, "_sessions") else 0
    seen["open_connections"] = stats.open_connections() - lanes
    return seen


def run_workload(name: str, host: str, port: int) -> list:
    """The scripted steps on driver ``name``; returns (step, change of each figure) pairs."""
    pkg = driver_package(name)
    cluster_mod = importlib.import_module(pkg + ".cluster")
    policies = importlib.import_module(pkg + ".policies")
    query = importlib.import_module(pkg + ".query")
    root = importlib.import_module(pkg)
    RetryPolicy = policies.RetryPolicy

    class Decide(RetryPolicy):
        def __init__(self, decision):
            self.decision = decision

        def on_unavailable(self, query, consistency, required_replicas, alive_replicas, retry_num):
            return self.decision if retry_num == 0 else (RetryPolicy.RETHROW, None)

    def two(decision):
        return query.SimpleStatement("SELECT v FROM kv WHERE k = 1",
                                     consistency_level=root.ConsistencyLevel.TWO,
                                     retry_policy=Decide(decision))

    cluster = cluster_mod.Cluster([host], port=port, metrics_enabled=True,
                                  # one connection per host in both (the reference's v5 default)
                                  protocol_version=5)
    steps, failures = [], []
    try:
        metrics = cluster.metrics
        before = observe(metrics)

        def step(label, fn, expect=None):
            nonlocal before
            try:
                fn()
            except Exception as exc:
                if expect is None or not isinstance(exc, expect):
                    failures.append((label, repr(exc)))
            else:
                if expect is not None:
                    failures.append((label, "no %s raised" % expect.__name__))
            after = observe(metrics)
            delta = {k: after[k] - before[k] for k in COUNTERS + ("requests",)}
            gauges = {k: after[k] for k in ("known_hosts", "connected_to", "open_connections")}
            steps.append((label, delta, gauges))
            before = after

        box = {}
        step("connect", lambda: box.setdefault("s", cluster.connect(KEYSPACE)))
        s = box["s"]
        step("prepare", lambda: box.setdefault("ins", s.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")))
        step("5 inserts", lambda: [s.execute(box["ins"], (k, k * 11)) for k in range(5)])
        step("3 pages", lambda: list(s.execute(query.SimpleStatement("SELECT k FROM kv", fetch_size=2))))
        step("unavailable, rethrown", lambda: s.execute(two((RetryPolicy.RETHROW, None))),
             root.Unavailable)
        step("unavailable, retried at ONE",
             lambda: s.execute(two((RetryPolicy.RETRY, root.ConsistencyLevel.ONE))))
        step("unavailable, ignored", lambda: s.execute(two((RetryPolicy.IGNORE, None))))
        step("invalid query", lambda: s.execute("SELECT nope FROM kv"), root.InvalidRequest)
        step("second session", lambda: box.setdefault("s2", cluster.connect(KEYSPACE)))
        # Last: cassandra-driver may complete a timed-out request a second time when a late
        # answer races its timer (its completion has no already-done guard), which adds a timed
        # request at an unpredictable moment; see RACY_REQUEST_COUNT.
        step("client timeout", lambda: s.execute("SELECT v FROM kv WHERE k = 1", timeout=1e-6),
             root.OperationTimedOut)
    finally:
        cluster.shutdown()
    assert not failures, failures
    return steps


RACY_REQUEST_COUNT = {"client timeout"}


def test_both_drivers_count_the_same_workload_the_same_way(node):
    host, port = node
    reference = run_workload("cassandra", host, port)
    cassfast = run_workload("cassfast", host, port)
    assert [label for label, _, _ in cassfast] == [label for label, _, _ in reference]
    for (label, ref_delta, ref_gauges), (_, cf_delta, cf_gauges) in zip(reference, cassfast):
        if label in RACY_REQUEST_COUNT:
            assert ref_delta.pop("requests") >= 1 and cf_delta.pop("requests") == 1, label
        assert cf_delta == ref_delta, label
        assert cf_gauges == ref_gauges, label
    # The oracle itself saw what the scripted steps are meant to provoke.
    ref = {label: delta for label, delta, _ in reference}
    assert ref["unavailable, retried at ONE"]["retries"] == 1
    assert ref["unavailable, ignored"]["ignores"] == 1
    assert ref["5 inserts"]["requests"] == 5
