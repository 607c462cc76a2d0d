"""Bounded load against a real node for the reliability tests (issue 11), for either driver.

``run_load`` sends a fixed number of prepared reads and writes of data the test wrote itself,
through an async pipeline (``execute_async`` with a bounded number in flight) and synchronous
``execute`` threads, and classifies every request: succeeded, a *typed* error (an exception
class of the driver's own package, counted by name), a *crash* (any other exception reaching
the caller, or an unhandled error the driver logged), a *wrong result* (a read answered with
anything but the one row written for its key) or *hung* (not completed within its timeout +
5 s).  ``lost_writes`` reads the acknowledged writes back through an independent session.
Works for ``cassfast`` and ``cassandra`` (cassandra-driver) alike: both keep the same API.
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import cassandra
import cassandra.cluster
import cassandra.policies
import cassfast.cluster
import cassfast.policies
from cassandra import ConsistencyLevel
from cassandra.query import SimpleStatement

HANG_SLACK = 5.0


def read_value(k: int) -> str:
    return "r%d" % k


def write_value(k: int) -> str:
    return "w%d-%s" % (k, "x" * (k % 17))


def is_typed(exc: BaseException, package: str) -> bool:
    return type(exc).__module__.split(".")[0] == package


@dataclass
class Outcome:
    driver: str
    scenario: str
    requests: int = 0
    succeeded: int = 0
    acknowledged: int = 0  # writes answered with success
    lost: int = 0
    hung: int = 0
    crashes: int = 0
    wrong: int = 0
    errors: Dict[str, int] = field(default_factory=collections.Counter)
    crash_samples: List[str] = field(default_factory=list)
    wrong_samples: List[str] = field(default_factory=list)
    recovery_seconds: Optional[float] = None
    extra: Dict[str, object] = field(default_factory=dict)

    def typed_errors(self) -> int:
        return sum(self.errors.values())

    def row(self) -> str:
        errors = ", ".join("%s %d" % (name, n) for name, n in sorted(self.errors.items())) or "none"
        return "| %s | %s | %d | %d | %d | %d | %d | %d | %s |" % (
            self.scenario, self.driver, self.requests, self.acknowledged, self.lost, self.hung,
            self.crashes, self.wrong, errors)

    def note(self) -> str:
        parts = ["%s %s" % (k, v) for k, v in sorted(self.extra.items())]
        if self.recovery_seconds is not None:
            parts.append("recovered in %.2f s" % self.recovery_seconds)
        else:
            parts.append("NOT recovered")
        return "; ".join(parts)


class CrashLog(logging.Handler):
    """Counts unhandled errors the driver (or asyncio under it) logs: ERROR records carrying an
    exception that is not one of the driver's own types, and any ERROR from ``asyncio``."""

    def __init__(self, package: str) -> None:
        super().__init__(logging.ERROR)
        self.package = package
        self.samples: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("asyncio") or (exc is not None and not is_typed(exc, self.package)):
            self.samples.append("%s: %s" % (record.name, record.getMessage()[:300]))

    def __enter__(self) -> "CrashLog":
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc) -> None:
        logging.getLogger().removeHandler(self)


class _Recorder:
    def __init__(self, outcome: Outcome, package: str) -> None:
        self.outcome = outcome
        self.package = package
        self.lock = threading.Lock()
        self.acked: List[int] = []
        self.pending: Dict[int, float] = {}
        self.next_id = 0

    def begin(self) -> int:
        with self.lock:
            self.next_id += 1
            self.pending[self.next_id] = time.monotonic()
            self.outcome.requests += 1
            return self.next_id

    def success(self, rid: int, kind: str, key: int, rows) -> None:
        rows = list(rows) if rows is not None else []
        with self.lock:
            if self.pending.pop(rid, None) is None:
                return
            self.outcome.succeeded += 1
            if kind == "write":
                self.outcome.acknowledged += 1
                self.acked.append(key)
            elif len(rows) != 1 or tuple(rows[0]) != (key, read_value(key)):
                self.outcome.wrong += 1
                if len(self.outcome.wrong_samples) < 5:
                    self.outcome.wrong_samples.append("key %d got %r" % (key, rows[:2]))

    def failure(self, rid: int, exc: BaseException) -> None:
        with self.lock:
            if self.pending.pop(rid, None) is None:
                return
            if is_typed(exc, self.package):
                self.outcome.errors[type(exc).__name__] += 1
            else:
                self.outcome.crashes += 1
                if len(self.outcome.crash_samples) < 5:
                    self.outcome.crash_samples.append("%s: %s" % (type(exc).__name__, exc))

    def count_hung(self, timeout: float) -> None:
        now = time.monotonic()
        with self.lock:
            late = [rid for rid, started in self.pending.items() if now - started > timeout + HANG_SLACK]
            self.outcome.hung += len(late)
            for rid in late:
                del self.pending[rid]


def run_load(outcome: Outcome, package: str, session, read, write, *, read_keys: int,
             write_base: int, n_async: int = 200, concurrency: int = 32, sync_threads: int = 2,
             n_sync: int = 20, timeout: float = 2.0, time_limit: float = 60.0,
             pace: float = 0.0) -> List[int]:
    """Runs the bounded load; returns the acknowledged write keys.  ``pace`` seconds between
    async submissions spread the load over time, so that it spans several fault-and-recovery
    cycles instead of failing fast through one reconnection window."""
    rec = _Recorder(outcome, package)
    end_by = time.monotonic() + time_limit
    counter = [0]
    counter_lock = threading.Lock()

    def next_request():
        with counter_lock:
            counter[0] += 1
            i = counter[0]
        if i % 2:
            key = i % read_keys
            return "read", key, read, (key,)
        key = write_base + i
        return "write", key, write, (key, write_value(key))

    slots = threading.BoundedSemaphore(concurrency)

    def submit_async() -> bool:
        if not slots.acquire(timeout=timeout + HANG_SLACK):
            return False  # every slot is held by a request that never completed: counted as hung
        kind, key, stmt, params = next_request()
        rid = rec.begin()

        def ok(rows, rid=rid, kind=kind, key=key):
            rec.success(rid, kind, key, rows)
            slots.release()

        def err(exc, rid=rid):
            rec.failure(rid, exc)
            slots.release()

        try:
            future = session.execute_async(stmt, params, timeout=timeout)
            future.add_callbacks(ok, err)
        except Exception as exc:  # raised at submission: classified like any other error
            err(exc)
        return True

    def sync_worker() -> None:
        for _ in range(n_sync):
            if time.monotonic() > end_by:
                return
            if pace:
                time.sleep(pace * n_async / n_sync)
            kind, key, stmt, params = next_request()
            rid = rec.begin()
            try:
                rows = session.execute(stmt, params, timeout=timeout)
            except Exception as exc:
                rec.failure(rid, exc)
            else:
                rec.success(rid, kind, key, rows)

    threads = [threading.Thread(target=sync_worker, daemon=True, name="load-sync-%d" % i)
               for i in range(sync_threads)]
    for thread in threads:
        thread.start()
    for _ in range(n_async):
        if time.monotonic() > end_by or not submit_async():
            break
        if pace:
            time.sleep(pace)
    wait_until = time.monotonic() + timeout + HANG_SLACK + 1
    for thread in threads:
        thread.join(max(0.0, wait_until - time.monotonic()))
    while time.monotonic() < wait_until:
        with rec.lock:
            if not rec.pending:
                break
        time.sleep(0.05)
    rec.count_hung(timeout)
    return list(rec.acked)


def lost_writes(oracle_session, table: str, keys: List[int], attempts: int = 10) -> int:
    """How many acknowledged writes are missing or wrong, read back at ALL.  A chunk whose read
    fails (a replica still busy after a restart) is read again, up to ``attempts`` times: a failed
    read proves nothing about the writes, and an unreadable chunk raises."""
    lost = 0
    for start in range(0, len(keys), 25):
        chunk = keys[start:start + 25]
        statement = SimpleStatement("SELECT k, v FROM %s WHERE k IN (%s)" % (table, ", ".join(map(str, chunk))),
                                    consistency_level=ConsistencyLevel.ALL)
        for attempt in range(attempts):
            try:
                found = {row.k: row.v for row in oracle_session.execute(statement, timeout=30)}
                break
            except (cassandra.Timeout, cassandra.Unavailable, cassandra.OperationTimedOut,
                    cassandra.cluster.NoHostAvailable):
                if attempt == attempts - 1:
                    raise
                time.sleep(2)
        lost += sum(1 for k in chunk if found.get(k) != write_value(k))
    return lost


def wait_recovered(session, read, *, needed: int = 20, limit: float = 20.0, timeout: float = 2.0) -> Optional[float]:
    """Seconds until ``needed`` consecutive reads (sync and async alternately) succeed with the
    right row; None if that did not happen within ``limit``."""
    started = time.monotonic()
    streak = 0
    i = 0
    while time.monotonic() - started < limit:
        i += 1
        key = i % 50
        try:
            if i % 2:
                rows = list(session.execute(read, (key,), timeout=timeout))
            else:
                rows = list(session.execute_async(read, (key,), timeout=timeout).result())
        except Exception:
            streak = 0
            time.sleep(0.1)
            continue
        if len(rows) == 1 and tuple(rows[0]) == (key, read_value(key)):
            streak += 1
            if streak >= needed:
                return time.monotonic() - started
        else:
            streak = 0
    return None


def markdown_table(outcomes: List[Outcome]) -> str:
    lines = ["| scenario | driver | requests | acknowledged | lost | hung | crashes | wrong results | typed errors |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [o.row() for o in outcomes]
    lines += ["", "Notes:"] + ["- %s / %s: %s" % (o.scenario, o.driver, o.note()) for o in outcomes]
    return "\n".join(lines)


def driver_modules(package: str):
    """(cluster module, policies module) of ``package``."""
    if package == "cassfast":
        return cassfast.cluster, cassfast.policies
    return cassandra.cluster, cassandra.policies


def make_cluster(package: str, host: str, port: int, **overrides):
    cluster_module, policies = driver_modules(package)
    kwargs = dict(contact_points=[host], port=port, protocol_version=5, compression=False,
                  connect_timeout=5, control_connection_timeout=5,
                  reconnection_policy=policies.ConstantReconnectionPolicy(0.5, None),
                  load_balancing_policy=policies.WhiteListRoundRobinPolicy([host]))
    kwargs.update(overrides)
    return cluster_module.Cluster(**kwargs)

