"""End-to-end throughput and client CPU cost: cassfast against cassandra-driver on a real node.

Runs the same five workloads with both drivers against one Cassandra node and prints, per
workload and driver, operations per second and the client's CPU time per operation (user + system
time of the whole client process from ``getrusage(RUSAGE_SELF)``, all threads included, divided by
the operations), with the ratios reference / cassfast.  Both drivers expose the same API, so the
workload code is written once against a module namespace (``cassandra`` or ``cassfast``).  Each
(driver, repeat) runs in a fresh subprocess so the two never share imports, threads or GC state;
repeats alternate between drivers so slow drifts in machine load hit both, and the table reports
medians.  See ``bench/README.md``.

    python -m cassfast.testing.cluster start single     # a node on 127.0.0.1:9042
    python bench/e2e.py --ops 5000 --repeat 5
"""
from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import json
import os
import pkgutil
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time

KEYSPACE = "cassfast_e2e"
DRIVERS = {"cassfast": "cassfast", "cassandra-driver": "cassandra"}
WORKLOADS = ("async_insert", "sync_insert", "select_1row", "select_100rows", "concurrent_insert")
# Relative op counts: the pipelined workloads are much faster per op, so they get more ops for a
# measurement of comparable duration.
OPS_SCALE = {"async_insert": 4, "sync_insert": 1, "select_1row": 1, "select_100rows": 0.5,
             "concurrent_insert": 4}
TITLES = {
    "async_insert": "prepared INSERT, async pipeline",
    "sync_insert": "prepared INSERT, synchronous loop",
    "select_1row": "SELECT 1 row, sync, default rows",
    "select_100rows": "SELECT 100 rows, sync",
    "concurrent_insert": "execute_concurrent, c=100",
}
PAYLOAD = "x" * 64
METRICS_ON = " +metrics"
# The floors: reference CPU per op / cassfast CPU per op must reach these.
CPU_FLOORS = {"async_insert": 3.0, "sync_insert": 3.0, "select_1row": 5.0}


# --- workloads (run inside a worker subprocess, against either driver) ----------------------

class Workloads:
    """The workloads, written once against the driver's modules (``pkg`` is the package name)."""

    def __init__(self, pkg: str, host: str, port: int, protocol_version, inflight: int,
                 concurrency: int, sync_lanes=None, metrics: bool = False,
                 cluster_kwargs: dict | None = None) -> None:
        self.cluster_mod = importlib.import_module(pkg + ".cluster")
        self.concurrent_mod = importlib.import_module(pkg + ".concurrent")
        kwargs = {"contact_points": [host], "port": port, "compression": False}
        if protocol_version:
            kwargs["protocol_version"] = protocol_version
        if sync_lanes is not None and pkg == "cassfast":
            kwargs["sync_lanes_per_host"] = sync_lanes
        if metrics:  # cassandra-driver's metrics need the scales package
            kwargs["metrics_enabled"] = True
        if cluster_kwargs:  # bench/observe.py: trackers, throttlers
            kwargs.update(cluster_kwargs)
        self.cluster = self.cluster_mod.Cluster(**kwargs)
        self.session = self.cluster.connect(KEYSPACE)
        self.inflight = inflight
        self.concurrency = concurrency
        s = self.session
        self.insert = s.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        self.select_one = s.prepare("SELECT k, v FROM kv WHERE k = ?")
        self.select_many = s.prepare("SELECT p, c, v FROM wide WHERE p = ?")
        self.key = 0

    def protocol_version(self) -> int:
        return self.cluster.protocol_version

    def shutdown(self) -> None:
        self.cluster.shutdown()

    def _next_keys(self, n: int) -> range:
        start = self.key
        self.key += n
        return range(start, start + n)

    def async_insert(self, ops: int) -> None:
        """``ops`` INSERTs with ``inflight`` outstanding, each completion sending the next."""
        keys = iter(self._next_keys(ops))
        done = threading.Event()
        lock = threading.Lock()
        state = {"left": ops, "error": None}
        session, insert = self.session, self.insert

        def send():
            try:
                k = next(keys)
            except StopIteration:
                return
            fut = session.execute_async(insert, (k, PAYLOAD))
            fut.add_callbacks(on_ok, on_err)

        def on_ok(_rows):
            with lock:
                state["left"] -= 1
                finished = state["left"] == 0
            if finished:
                done.set()
            elif state["error"] is None:
                send()

        def on_err(exc):
            state["error"] = exc
            done.set()

        for _ in range(min(self.inflight, ops)):
            send()
        done.wait()
        if state["error"] is not None:
            raise state["error"]

    def sync_insert(self, ops: int) -> None:
        session, insert = self.session, self.insert
        for k in self._next_keys(ops):
            session.execute(insert, (k, PAYLOAD))

    def select_1row(self, ops: int) -> None:
        session, select = self.session, self.select_one
        for i in range(ops):
            row = session.execute(select, (i % 1000,)).one()
            if row is None or row.v != PAYLOAD:
                raise AssertionError("select_1row read back %r for key %d" % (row, i % 1000))

    def select_100rows(self, ops: int) -> None:
        session, select = self.session, self.select_many
        for _ in range(ops):
            rows = list(session.execute(select, (0,)))
            if len(rows) != 100:
                raise AssertionError("select_100rows read %d rows, expected 100" % len(rows))

    def concurrent_insert(self, ops: int) -> None:
        params = [(k, PAYLOAD) for k in self._next_keys(ops)]
        results = self.concurrent_mod.execute_concurrent_with_args(
            self.session, self.insert, params, concurrency=self.concurrency)
        if len(results) != ops or not all(r.success for r in results):
            raise AssertionError("execute_concurrent reported failures")


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_worker(args) -> dict:
    """Measure every selected workload once in this process; returns the JSON-able results."""
    pkg = DRIVERS[args.driver]
    w = Workloads(pkg, args.host, args.port, args.protocol_version, args.inflight,
                  args.concurrency, args.sync_lanes, args.metrics == "on")
    out = {"driver": args.driver, "protocol_version": w.protocol_version(), "results": {}}
    try:
        for name in args.workloads:
            fn = getattr(w, name)
            ops = max(1, int(args.ops * OPS_SCALE[name]))
            fn(max(1, ops // 10))                    # warm-up: caches, JIT-free but lazy paths
            cpu0, caller0, t0 = _cpu_seconds(), time.thread_time(), time.perf_counter()
            fn(ops)
            wall, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
            caller = time.thread_time() - caller0
            out["results"][name] = {"ops": ops, "wall": wall, "cpu": cpu, "caller_cpu": caller}
    finally:
        w.shutdown()
    return out


# --- orchestration (parent process) --------------------------------------------------------

def setup_schema(host: str, port: int) -> None:
    """Create the benchmark keyspace and tables with cassandra-driver (always installed)."""
    from cassandra.cluster import Cluster

    cluster = Cluster([host], port=port, compression=False)
    try:
        s = cluster.connect()
        s.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                  "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
        s.set_keyspace(KEYSPACE)
        s.execute("CREATE TABLE IF NOT EXISTS kv (k int PRIMARY KEY, v text)")
        s.execute("CREATE TABLE IF NOT EXISTS wide (p int, c int, v text, PRIMARY KEY (p, c))")
        ins = s.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
        for k in range(1000):
            s.execute(ins, (k, PAYLOAD))
        ins = s.prepare("INSERT INTO wide (p, c, v) VALUES (0, ?, ?)")
        for c in range(100):
            s.execute(ins, (c, PAYLOAD))
    finally:
        cluster.shutdown()


def spawn_worker(driver: str, args, metrics: str = "off") -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--driver", driver,
           "--metrics", metrics,
           "--host", args.host, "--port", str(args.port), "--ops", str(args.ops),
           "--inflight", str(args.inflight), "--concurrency", str(args.concurrency),
           "--workloads", *args.workloads]
    if args.protocol_version:
        cmd += ["--protocol-version", str(args.protocol_version)]
    if args.sync_lanes is not None:
        cmd += ["--sync-lanes", str(args.sync_lanes)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        raise RuntimeError("%s worker failed (exit %d):\n%s" % (driver, proc.returncode,
                                                                proc.stderr[-4000:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine_info() -> list:
    lines = ["python %s (%s), %s, %d CPUs" % (platform.python_version(),
                                             platform.python_implementation(),
                                             platform.platform(), os.cpu_count() or 0)]
    try:
        lines.append("load average (1/5/15 min): %.2f %.2f %.2f" % os.getloadavg())
    except OSError:
        pass
    for name, pkg in DRIVERS.items():
        try:
            mod = importlib.import_module(pkg)
            importlib.import_module(pkg + ".cluster")
        except Exception as exc:  # report, the run may still cover the other driver
            lines.append("%s: not importable (%s)" % (name, exc))
            continue
        compiled = sorted(m.name for m in pkgutil.iter_modules(mod.__path__)
                          if importlib.machinery.EXTENSION_SUFFIXES
                          and any(os.path.exists(os.path.join(mod.__path__[0], m.name + sfx))
                                  for sfx in importlib.machinery.EXTENSION_SUFFIXES))
        lines.append("%s %s from %s; compiled modules: %s" % (
            name, getattr(mod, "__version__", "?"), os.path.dirname(mod.__file__),
            ", ".join(compiled) or "none"))
    try:
        import cassandra.cluster
        lines.append("cassandra-driver connection class: %s"
                     % cassandra.cluster.DefaultConnection.__name__)
    except Exception:
        pass
    return lines


def summarize(runs: dict, workloads) -> dict:
    """Medians per driver and workload: ops/s and CPU microseconds per op."""
    table = {}
    for driver, reps in runs.items():
        for name in workloads:
            samples = [r["results"][name] for r in reps if name in r["results"]]
            if not samples:
                continue
            table[(driver, name)] = {
                "ops_s": statistics.median(s["ops"] / s["wall"] for s in samples),
                "cpu_us": statistics.median(s["cpu"] * 1e6 / s["ops"] for s in samples),
                "caller_us": statistics.median(s["caller_cpu"] * 1e6 / s["ops"]
                                               for s in samples),
                "cpu_us_spread": (min(s["cpu"] * 1e6 / s["ops"] for s in samples),
                                  max(s["cpu"] * 1e6 / s["ops"] for s in samples)),
                "n": len(samples),
            }
    return table


def print_table(table: dict, workloads, drivers, variants=("",)) -> None:
    header = "%-36s %-17s %11s %11s %17s %11s" % ("workload", "driver", "ops/s", "CPU us/op",
                                                   "CPU min..max", "caller us")
    print(header)
    print("-" * len(header))
    for name in workloads:
        for variant in variants:
            for driver in drivers:
                m = table.get((driver + variant, name))
                if m is None:
                    continue
                lo, hi = m["cpu_us_spread"]
                print("%-36s %-17s %11.0f %11.1f %8.1f..%-8.1f %11.1f" % (
                    TITLES[name], driver + variant, m["ops_s"], m["cpu_us"], lo, hi,
                    m["caller_us"]))
            ref = table.get(("cassandra-driver" + variant, name))
            new = table.get(("cassfast" + variant, name))
            if ref and new:
                gain = ref["cpu_us"] / new["cpu_us"]
                floor = CPU_FLOORS.get(name)
                verdict = ("   CPU floor %.0fx: %s" % (floor, "met" if gain >= floor else "NOT met")
                           if floor else "")
                print("%-36s %-17s %10.2fx %10.2fx%s" % (
                    "", "cassfast gain", new["ops_s"] / ref["ops_s"], gain, verdict))
        if len(variants) > 1:
            for driver in drivers:
                off, on = table.get((driver, name)), table.get((driver + METRICS_ON, name))
                if off and on:
                    print("%-36s %-17s %+10.1f%% CPU/op with metrics on (%+.1f us)" % (
                        "", driver, 100.0 * (on["cpu_us"] / off["cpu_us"] - 1),
                        on["cpu_us"] - off["cpu_us"]))
        print()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--driver", choices=("both",) + tuple(DRIVERS), default="both")
    p.add_argument("--ops", type=int, default=5000,
                   help="base operations per workload and repeat (scaled per workload)")
    p.add_argument("--repeat", type=int, default=3, help="subprocess runs per driver")
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9042)
    p.add_argument("--protocol-version", type=int, default=None,
                   help="pin the protocol version (default: each driver negotiates)")
    p.add_argument("--inflight", type=int, default=100,
                   help="requests in flight for the async pipeline")
    p.add_argument("--concurrency", type=int, default=100, help="execute_concurrent concurrency")
    p.add_argument("--timeout", type=float, default=900, help="seconds per worker subprocess")
    p.add_argument("--sync-lanes", type=int, default=None,
                   help="cassfast's Cluster(sync_lanes_per_host=N); 0 runs synchronous requests "
                        "through the I/O loop (default: the driver's default, lanes on)")
    p.add_argument("--metrics", choices=("off", "on", "both"), default="off",
                   help="Cluster(metrics_enabled=...); 'both' runs each driver both ways "
                        "(labelled '%s') and prints what metrics cost" % METRICS_ON)
    p.add_argument("--json", help="also write raw results to this file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0

    drivers = list(DRIVERS) if args.driver == "both" else [args.driver]
    print("cassfast end-to-end benchmark against %s:%d" % (args.host, args.port))
    for line in machine_info():
        print("  " + line)
    print("  base ops %d, repeats %d, async in-flight %d, execute_concurrent concurrency %d, "
          "compression off" % (args.ops, args.repeat, args.inflight, args.concurrency))
    print("  NOTE: the client shares a small machine with the Cassandra JVM (and possibly other "
          "work);\n  ops/s depends on the server and is noisy; CPU us/op is the client's own "
          "cost and steadier.\n  Compare drivers within one run only.")
    print()
    setup_schema(args.host, args.port)

    settings = {"off": ["off"], "on": ["on"], "both": ["off", "on"]}[args.metrics]
    variants = [METRICS_ON if m == "on" and args.metrics == "both" else "" for m in settings]
    if args.metrics == "on":
        print("  metrics on (Cluster(metrics_enabled=True)) for both drivers")
    runs = {d + v: [] for d in drivers for v in variants}
    versions = {}
    for rep in range(args.repeat):
        # Alternate the order each repeat so neither driver always runs on a warmer server.
        order = [(d, m, v) for d in drivers for m, v in zip(settings, variants)]
        if rep % 2:
            order.reverse()
        for d, metrics, variant in order:
            res = spawn_worker(d, args, metrics)
            runs[d + variant].append(res)
            versions[d] = res["protocol_version"]
            print("  repeat %d/%d %-17s done" % (rep + 1, args.repeat, d + variant), flush=True)
    print()
    print("  protocol versions negotiated: %s" % ", ".join("%s v%s" % kv for kv in versions.items()))
    print()
    table = summarize(runs, args.workloads)
    print_table(table, args.workloads, drivers, variants)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
