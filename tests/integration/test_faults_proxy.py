"""Faults injected between the driver and a real node: typed errors only, nothing hung, no
crash, never a wrong row as success, no acknowledged write lost, and the pool recovers.

Server: the harness's single Apache Cassandra 5.0 node, reached through
``cassfast.testing.faultproxy.FaultProxy`` on the node's own loopback address.  Protocol v5
without compression (the proxy rewrites uncompressed segments).  Each scenario runs the same
bounded load (200 pipelined requests, up to 32 in flight, 10 ms apart, and 2 threads x 20
synchronous ones, reads and writes alternately, 2 s request timeout) for cassfast and for cassandra-driver 3.30 in
the same run; the invariants are asserted for cassfast and recorded for both (the table of
docs/reliability.md comes from the report this module writes, see ``_report``).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from cassandra.cluster import Cluster as ReferenceCluster
from cassandra.policies import WhiteListRoundRobinPolicy

from cassfast.testing.faultproxy import Fault, FaultProxy

from _reliability import (CrashLog, Outcome, lost_writes, make_cluster, markdown_table, read_value,
                          run_load, wait_recovered)

pytestmark = pytest.mark.integration

MARKER = b"kv_faults"
READ_KEYS = 200
TIMEOUT = 2.0

SCENARIOS = {
    # kind: the fault, and whether every request must still succeed (faults the protocol
    # tolerates: answers arrive late, out of order, or twice for one stream)
    "flip": (Fault("flip", every=7, limit=6), False),
    "truncate": (Fault("truncate", every=10, limit=4), False),
    "huge_length": (Fault("huge_length", every=10, limit=4), False),
    "stall": (Fault("stall", every=40, limit=2, stall_seconds=TIMEOUT + 1.5), False),
    "duplicate": (Fault("duplicate", every=5, limit=10), True),
    "reorder": (Fault("reorder", every=3, limit=20, delay_seconds=0.05), True),
    # at most 5 x 0.1 s of delay in all: answers late, but never past the 2 s timeout
    "delay": (Fault("delay", every=5, limit=5, delay_seconds=0.1), True),
    "reset": (Fault("reset", every=15, limit=4), False),
}
DRIVERS = ("cassfast", "cassandra")
OUTCOMES: list = []


@pytest.fixture(scope="module")
def oracle(cassandra_single):
    """cassandra-driver connected straight to the node: sets up and reads back the data."""
    host, port = str(cassandra_single.contact_points[0]), int(cassandra_single.port)
    cluster = ReferenceCluster([host], port=port, protocol_version=5,
                               load_balancing_policy=WhiteListRoundRobinPolicy([host]))
    session = cluster.connect()
    keyspace = "faults_%s" % uuid.uuid4().hex[:8]
    session.execute("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', "
                    "'replication_factor': 1}" % keyspace)
    session.set_keyspace(keyspace)
    session.execute("CREATE TABLE kv_faults (k int PRIMARY KEY, v text)")
    insert = session.prepare("INSERT INTO kv_faults (k, v) VALUES (?, ?)")
    for k in range(READ_KEYS):
        session.execute(insert, (k, read_value(k)))
    yield session, keyspace, (host, port)
    session.execute("DROP KEYSPACE %s" % keyspace)
    cluster.shutdown()
    _report()


def _report() -> None:
    if not OUTCOMES:
        return
    target = Path(os.environ.get("CASSFAST_RELIABILITY_DIR", "build/reliability"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "faults.md").write_text(markdown_table(OUTCOMES) + "\n")


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_fault_gives_typed_errors_only_and_the_pool_recovers(oracle, scenario, driver):
    session_oracle, keyspace, upstream = oracle
    fault, all_succeed = SCENARIOS[scenario]
    outcome = Outcome(driver=driver, scenario=scenario)
    write_base = 1_000_000 * (1 + DRIVERS.index(driver)) + 10_000 * list(SCENARIOS).index(scenario)
    with FaultProxy(upstream, MARKER) as proxy, CrashLog(driver) as crash_log:
        host, port = proxy.address
        cluster = make_cluster(driver, host, port)
        try:
            session = cluster.connect(keyspace)
            read = session.prepare("SELECT k, v FROM kv_faults WHERE k = ?")
            write = session.prepare("INSERT INTO kv_faults (k, v) VALUES (?, ?)")
            proxy.set_fault(fault)
            acked = run_load(outcome, driver, session, read, write, read_keys=READ_KEYS,
                             write_base=write_base, timeout=TIMEOUT, pace=0.01)
            proxy.set_fault(None)
            outcome.recovery_seconds = wait_recovered(session, read, timeout=TIMEOUT)
        finally:
            cluster.shutdown()
        outcome.crashes += len(crash_log.samples)
        outcome.crash_samples += crash_log.samples[:5]
    outcome.lost = lost_writes(session_oracle, "kv_faults", acked)
    outcome.extra["faults_applied"] = proxy.stats.faults_applied
    OUTCOMES.append(outcome)
    print(outcome.row(), outcome.note(), outcome.crash_samples, outcome.wrong_samples)

    assert proxy.stats.faults_applied >= 1, "the fault never fired: the scenario proves nothing"
    if driver != "cassfast":
        return  # cassandra-driver is measured for the comparison table, not held to our bar
    assert outcome.crashes == 0, outcome.crash_samples
    assert outcome.wrong == 0, outcome.wrong_samples
    assert outcome.hung == 0
    assert outcome.lost == 0
    assert outcome.recovery_seconds is not None, "the pool did not recover within 20 s"
    assert outcome.requests == 240
    if all_succeed:
        assert outcome.errors == {}, outcome.errors
    else:
        assert outcome.typed_errors() >= 1
