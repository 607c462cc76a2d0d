"""Node loss under load on the 3-node cluster, cassfast and cassandra-driver side by side.

Both drivers write unique keys at QUORUM (keyspace RF dc1: 2, dc2: 1) at the same time, each from
three synchronous threads and one async pipeline of 64 in flight, with three retry settings:
``default`` (the cluster's default retry policy: cassfast's FallthroughRetryPolicy, the
reference's RetryPolicy), ``RetryPolicy`` (an execution profile with ``RetryPolicy()``) and
``idempotent`` (that profile, statements marked idempotent).  Meanwhile the harness SIGKILLs node
1 and restarts it, stops node 2 cleanly and restarts it, then stops all three and brings them
back.  Counted per driver and setting: requests, acknowledged writes, acknowledged writes
missing when read back at ALL afterwards (must be 0), requests not completed within their
timeout + 5 s (must be 0), untyped exceptions (must be 0) and the error types seen; per driver,
the time from a restarted node being ready until it coordinates a successful write again, and
from the cluster being back until the first success after the total outage.

Server: the harness's ``cluster3`` (127.0.0.1-3 by default; 127.0.0.1, .2 dc1, .3 dc2).  The
invariants are asserted for cassfast; cassandra-driver's figures are recorded beside them in
``build/reliability/node_loss.md`` (the table of docs/reliability.md).  About 3-4 minutes.
"""
from __future__ import annotations

import collections
import os
import threading
import time
import uuid
from pathlib import Path

import cassandra
import pytest
from cassandra.cluster import Cluster as ReferenceCluster

import cassfast

from _reliability import HANG_SLACK, driver_modules, is_typed, lost_writes, write_value

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]

TIMEOUT = 5.0
PIPELINE = 64
PACE = 0.05          # seconds between pipeline submissions, so the load spans every phase
SYNC_PACE = 0.1      # and between one thread's synchronous requests: a 2-core machine shared
                     # with 3 JVMs must still restart a node under this load
RESTART_TIMEOUT = 900.0
SETTINGS = ("default", "RetryPolicy", "idempotent")
DRIVERS = ("cassfast", "cassandra")


class DriverLoad:
    """One driver's load: a Cluster with the three settings, 3 sync threads and a pipeline."""

    def __init__(self, package: str, contact_points, port: int, keyspace: str) -> None:
        self.package = package
        cluster_module, policies = driver_modules(package)
        root = cassfast if package == "cassfast" else cassandra
        quorum = root.ConsistencyLevel.QUORUM

        def balancing():
            return policies.TokenAwarePolicy(policies.DCAwareRoundRobinPolicy(local_dc="dc1"))

        profiles = {
            cluster_module.EXEC_PROFILE_DEFAULT: cluster_module.ExecutionProfile(
                load_balancing_policy=balancing(), consistency_level=quorum, request_timeout=TIMEOUT),
            "retry": cluster_module.ExecutionProfile(
                load_balancing_policy=balancing(), consistency_level=quorum, request_timeout=TIMEOUT,
                retry_policy=policies.RetryPolicy()),
        }
        self.cluster = cluster_module.Cluster(
            list(contact_points), port=port, protocol_version=5, execution_profiles=profiles,
            reconnection_policy=policies.ConstantReconnectionPolicy(1.0, None),
            connect_timeout=5, control_connection_timeout=5)
        self.default_profile = cluster_module.EXEC_PROFILE_DEFAULT
        self.session = self.cluster.connect(keyspace)
        self.insert = self.session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        self.base = 10 ** 12 * (1 + DRIVERS.index(package))
        self.lock = threading.Lock()
        self.counter = 0
        self.stats = {s: collections.Counter() for s in SETTINGS}
        self.errors = {s: collections.Counter() for s in SETTINGS}
        self.crash_samples: list = []
        self.acked: list = []
        self.pending: dict = {}
        self.successes: list = []   # (monotonic time, coordinator address)
        self.stop = threading.Event()
        self.slots = threading.BoundedSemaphore(PIPELINE)
        self.threads: list = []

    def _request(self, setting: str):
        with self.lock:
            self.counter += 1
            n = self.counter
            self.stats[setting]["requests"] += 1
            self.pending[n] = time.monotonic()
        key = self.base + n
        bound = self.insert.bind((key, write_value(key)))
        if setting == "idempotent":
            bound.is_idempotent = True
        return n, key, bound, ("retry" if setting != "default" else self.default_profile)

    def _done(self, n: int, setting: str, key: int, future=None, exc=None) -> None:
        now = time.monotonic()
        with self.lock:
            if self.pending.pop(n, None) is None:
                return
            if exc is None:
                self.stats[setting]["acknowledged"] += 1
                self.acked.append(key)
                host = getattr(future, "coordinator_host", None) if future is not None else None
                self.successes.append((now, str(getattr(host, "address", host))))
            elif is_typed(exc, self.package):
                self.errors[setting][type(exc).__name__] += 1
            else:
                self.stats[setting]["crashes"] += 1
                if len(self.crash_samples) < 5:
                    self.crash_samples.append("%s: %s" % (type(exc).__name__, exc))

    def _sync_worker(self, setting: str) -> None:
        # The blocking API (cassfast runs it on a lane when one is free).
        while not self.stop.is_set():
            n, key, bound, profile = self._request(setting)
            try:
                result = self.session.execute(bound, execution_profile=profile, timeout=TIMEOUT)
            except Exception as exc:
                self._done(n, setting, key, exc=exc)
                time.sleep(0.05)  # a client backs off a little after an error
            else:
                self._done(n, setting, key, future=result.response_future)
            time.sleep(SYNC_PACE)

    def _pipeline(self) -> None:
        i = 0
        while not self.stop.is_set():
            if not self.slots.acquire(timeout=TIMEOUT + HANG_SLACK):
                continue  # every slot held: what never completes is counted as hung at the end
            setting = SETTINGS[i % len(SETTINGS)]
            i += 1
            n, key, bound, profile = self._request(setting)

            def ok(_rows, future_box, n=n, setting=setting, key=key):
                self._done(n, setting, key, future=future_box[0])
                self.slots.release()

            def err(exc, n=n, setting=setting, key=key):
                self._done(n, setting, key, exc=exc)
                self.slots.release()

            box = [None]
            try:
                box[0] = self.session.execute_async(bound, execution_profile=profile, timeout=TIMEOUT)
                box[0].add_callbacks(ok, err, callback_args=(box,))
            except Exception as exc:
                err(exc)
            time.sleep(PACE)

    def start(self) -> None:
        targets = [(self._sync_worker, setting) for setting in SETTINGS] + [(self._pipeline, None)]
        for target, setting in targets:
            args = (setting,) if setting is not None else ()
            thread = threading.Thread(target=target, args=args, daemon=True,
                                      name="%s-load-%s" % (self.package, setting or "pipeline"))
            thread.start()
            self.threads.append(thread)

    def finish(self) -> int:
        """Stops the load; returns the number of requests that never completed (hung)."""
        self.stop.set()
        deadline = time.monotonic() + TIMEOUT + HANG_SLACK + 1
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    break
            time.sleep(0.1)
        with self.lock:
            hung = len(self.pending)
        self.cluster.shutdown()
        return hung

    def first_success_by(self, address: str, after: float):
        for when, host in self.successes:
            if when >= after and host == address:
                return when - after
        return None

    def first_success(self, after: float):
        for when, _ in self.successes:
            if when >= after:
                return when - after
        return None


@pytest.fixture(scope="module")
def keyspace(cassandra_cluster3):
    points = [str(p) for p in cassandra_cluster3.contact_points]
    cluster = ReferenceCluster(points, port=int(cassandra_cluster3.port), protocol_version=5)
    session = cluster.connect()
    name = "nodeloss_%s" % uuid.uuid4().hex[:8]
    session.execute("CREATE KEYSPACE %s WITH replication = {'class': 'NetworkTopologyStrategy', "
                    "'dc1': 2, 'dc2': 1}" % name)
    session.execute("CREATE TABLE %s.kv (k bigint PRIMARY KEY, v text)" % name)
    cluster.shutdown()
    # The harness runs nodes with cassandra.unsafesystem=true (system tables skip the commit log),
    # so a node SIGKILLed right after a schema change would restart without it and the ring would
    # wait for schema agreement: persist the schema first.
    for index in range(1, len(points) + 1):
        cassandra_cluster3.nodetool(index, "flush", "system_schema")
    return points, int(cassandra_cluster3.port), name


@pytest.mark.timeout(1800)  # restarts wait for the harness's machine-wide lock; ~4 min on an idle machine
def test_node_loss_under_load_loses_no_acknowledged_write_and_hangs_nothing(cassandra_cluster3, keyspace):
    points, port, name = keyspace
    node = cassandra_cluster3
    address = {i + 1: str(p) for i, p in enumerate(points)}
    loads = [DriverLoad(package, points, port, name) for package in DRIVERS]
    events = {}
    phase_seconds = {}

    def phase(label, action):
        started = time.monotonic()
        action()
        events[label] = time.monotonic()
        phase_seconds[label] = round(events[label] - started, 1)

    try:
        for load in loads:
            load.start()
        time.sleep(8)
        phase("kill node1", lambda: node.kill_node(1))
        time.sleep(5)
        phase("node1 ready", lambda: node.start_node(1, timeout=RESTART_TIMEOUT))
        time.sleep(10)
        phase("stop node2", lambda: node.stop_node(2))
        time.sleep(5)
        phase("node2 ready", lambda: node.start_node(2, timeout=RESTART_TIMEOUT))
        time.sleep(10)
        phase("all stopped", lambda: [node.stop_node(i) for i in (1, 2, 3)])
        time.sleep(5)
        # The fixture's object remembers whether its JVMs die with pytest; keep that for the restart.
        phase("all ready", lambda: node.start(RESTART_TIMEOUT, die_with_parent=getattr(node, "_die_with_parent", False)))
        time.sleep(15)
    finally:
        try:
            hung = {load.package: load.finish() for load in loads}
        finally:
            if len(node.running_nodes()) < 3:  # a phase failed: leave the ring whole
                node.start(RESTART_TIMEOUT, die_with_parent=getattr(node, "_die_with_parent", False))

    oracle = ReferenceCluster(points, port=port, protocol_version=5)
    try:
        session = oracle.connect(name)
        lost = {load.package: lost_writes(session, "kv", load.acked) for load in loads}
    finally:
        oracle.shutdown()

    lines = ["| driver | setting | requests | acknowledged | lost | hung | crashes | typed errors |",
             "|---|---|---|---|---|---|---|---|"]
    timings = []
    for load in loads:
        for setting in SETTINGS:
            stats = load.stats[setting]
            errors = ", ".join("%s %d" % kv for kv in sorted(load.errors[setting].items())) or "none"
            lines.append("| %s | %s | %d | %d | %s | %s | %d | %s |" % (
                load.package, setting, stats["requests"], stats["acknowledged"],
                lost[load.package] if setting == SETTINGS[0] else "(all settings)",
                hung[load.package] if setting == SETTINGS[0] else "(all settings)",
                stats["crashes"], errors))
        timings.append("- %s: node1 coordinates again %s s after it was ready; node2 %s s; first success "
                       "%s s after all three were ready (%s s after the outage began)" % (
                           load.package, _fmt(load.first_success_by(address[1], events["node1 ready"])),
                           _fmt(load.first_success_by(address[2], events["node2 ready"])),
                           _fmt(load.first_success(events["all ready"])),
                           _fmt(load.first_success(events["all stopped"]))))
    report = "\n".join(lines + ["", "Phases (seconds each harness action took): %s" % phase_seconds] + timings)
    target = Path(os.environ.get("CASSFAST_RELIABILITY_DIR", "build/reliability"))
    target.mkdir(parents=True, exist_ok=True)
    (target / "node_loss.md").write_text(report + "\n")
    print("\n" + report)
    mine = loads[0]
    assert mine.package == "cassfast"
    assert lost["cassfast"] == 0
    assert hung["cassfast"] == 0
    assert all(mine.stats[s]["crashes"] == 0 for s in SETTINGS), mine.crash_samples
    assert all(mine.stats[s]["acknowledged"] > 0 for s in SETTINGS)
    assert mine.first_success(events["all ready"]) is not None, "no success after the total outage"
    assert mine.first_success_by(address[1], events["node1 ready"]) is not None


def _fmt(value):
    return "never" if value is None else "%.1f" % value
