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
import asyncio
import importlib
import importlib.machinery
import importlib.util
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
# name -> the package imported for it.  "raw" is no driver: a blocking socket with cassfast's
# codecs (bench/e2e_rawsync.py), the floor for one synchronous request.  acsylla (the C++ driver
# under asyncio) is the faster peer: `pip install -e '.[benchmark]'`.
DRIVERS = {"cassfast": "cassfast", "cassandra-driver": "cassandra", "acsylla": "acsylla",
           "raw": "cassfast"}
WORKLOADS = ("async_insert", "aexecute_insert", "sync_insert", "select_1row", "select_100rows",
             "concurrent_insert")
# What each driver can run; a workload a driver lacks is left out of its rows.  acsylla has only
# an asyncio API: its "sync" workloads await one request at a time on its own loop.
SUPPORTS = {
    "cassfast": set(WORKLOADS),
    "cassandra-driver": set(WORKLOADS) - {"aexecute_insert"},
    "acsylla": {"aexecute_insert", "sync_insert", "select_1row", "select_100rows"},
    "raw": {"sync_insert", "select_1row"},
}
# Relative op counts: the pipelined workloads are much faster per op, so they get more ops for a
# measurement of comparable duration.
OPS_SCALE = {"async_insert": 4, "aexecute_insert": 4, "sync_insert": 1, "select_1row": 1, "select_100rows": 0.5,
             "concurrent_insert": 4}
TITLES = {
    "async_insert": "prepared INSERT, async pipeline",
    "aexecute_insert": "prepared INSERT, asyncio tasks",
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

    def aexecute_insert(self, ops: int) -> None:
        """``ops`` INSERTs from ``inflight`` asyncio tasks on the caller's own loop, each awaiting
        ``session.aexecute`` in turn (cassfast's native asyncio path)."""
        if not hasattr(self, "aloop"):
            self.aloop = asyncio.new_event_loop()
        self.aloop.run_until_complete(_pipeline(
            lambda k: self.session.aexecute(self.insert, (k, PAYLOAD)),
            self._next_keys(ops), self.inflight))


async def _pipeline(request, keys, inflight: int) -> None:
    """``inflight`` tasks share ``keys``; each awaits ``request(k)`` for the next key in turn."""
    keys = iter(keys)

    async def worker():
        for k in keys:
            await request(k)

    await asyncio.gather(*(worker() for _ in range(inflight)))


class AcsyllaWorkloads:
    """The workloads on acsylla (the C++ driver under asyncio): every request is awaited on one
    loop of this process; the synchronous ones await one request at a time."""

    def __init__(self, host: str, port: int, protocol_version, inflight: int) -> None:
        import acsylla  # only in an acsylla worker: each worker imports its own driver only

        self.loop = asyncio.new_event_loop()
        kwargs = {"port": port}
        if protocol_version:
            kwargs["protocol_version"] = protocol_version

        async def connect():  # acsylla binds its cluster to the running loop
            cluster = acsylla.create_cluster([host], **kwargs)
            return cluster, await cluster.create_session(keyspace=KEYSPACE)
        self.cluster, self.session = self.loop.run_until_complete(connect())
        prepare = self.session.create_prepared
        self.insert = self.loop.run_until_complete(prepare("INSERT INTO kv (k, v) VALUES (?, ?)"))
        self.select_one = self.loop.run_until_complete(prepare("SELECT k, v FROM kv WHERE k = ?"))
        self.select_many = self.loop.run_until_complete(
            prepare("SELECT p, c, v FROM wide WHERE p = ?"))
        self.inflight = inflight
        self.key = 0

    def protocol_version(self):
        return protocol_version_of(self.cluster)

    def shutdown(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.close()

    def _next_keys(self, n: int) -> range:
        start = self.key
        self.key += n
        return range(start, start + n)

    def aexecute_insert(self, ops: int) -> None:
        session, insert = self.session, self.insert
        self.loop.run_until_complete(_pipeline(
            lambda k: session.execute(insert.bind([k, PAYLOAD])), self._next_keys(ops),
            self.inflight))

    def sync_insert(self, ops: int) -> None:
        async def run():
            for k in keys:
                await session.execute(insert.bind([k, PAYLOAD]))
        session, insert, keys = self.session, self.insert, self._next_keys(ops)
        self.loop.run_until_complete(run())

    def select_1row(self, ops: int) -> None:
        async def run():
            for i in range(ops):
                row = (await session.execute(select.bind([i % 1000]))).first()
                if row is None or row.column_value("v") != PAYLOAD:
                    raise AssertionError("select_1row read back %r for key %d" % (row, i % 1000))
        session, select = self.session, self.select_one
        self.loop.run_until_complete(run())

    def select_100rows(self, ops: int) -> None:
        async def run():
            for _ in range(ops):
                rows = [(r.column_value("p"), r.column_value("c"), r.column_value("v"))
                        for r in await session.execute(select.bind([0]))]
                if len(rows) != 100:
                    raise AssertionError("select_100rows read %d rows, expected 100" % len(rows))
        session, select = self.session, self.select_many
        self.loop.run_until_complete(run())


def protocol_version_of(_cluster) -> str:
    return "4 (acsylla does not report it; the C++ driver speaks v4)"


class RawWorkloads:
    """The floor: one blocking socket, cassfast's codecs, one request at a time in the calling
    thread (``bench/e2e_rawsync.py``).  Rows are decoded to the same named tuples as the
    driver's default row factory."""

    def __init__(self, host: str, port: int) -> None:
        self.raw = importlib.import_module("e2e_rawsync")
        self.conn = self.raw.RawConnection(host, port)
        self.insert = self.raw.prepare(self.conn, "INSERT INTO %s.kv (k, v) VALUES (?, ?)" % KEYSPACE)
        self.select_one = self.raw.prepare(self.conn, "SELECT k, v FROM %s.kv WHERE k = ?" % KEYSPACE)
        self.key = 0

    def protocol_version(self) -> int:
        return int(self.raw.VERSION)

    def shutdown(self) -> None:
        self.conn.sock.close()

    def sync_insert(self, ops: int) -> None:
        execute, insert = self.raw.execute, self.insert
        start = self.key
        self.key += ops
        for k in range(start, start + ops):
            execute(self.conn, insert, (k, PAYLOAD))

    def select_1row(self, ops: int) -> None:
        execute, select = self.raw.execute, self.select_one
        for i in range(ops):
            row = execute(self.conn, select, (i % 1000,))[0]
            if row.v != PAYLOAD:
                raise AssertionError("select_1row read back %r for key %d" % (row, i % 1000))


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_worker(args) -> dict:
    """Measure every selected workload once in this process; returns the JSON-able results."""
    if args.driver == "acsylla":
        w = AcsyllaWorkloads(args.host, args.port, args.protocol_version, args.inflight)
    elif args.driver == "raw":
        w = RawWorkloads(args.host, args.port)
    else:
        w = Workloads(DRIVERS[args.driver], args.host, args.port, args.protocol_version,
                      args.inflight, args.concurrency, args.sync_lanes, args.metrics == "on")
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
    cmd[cmd.index("--workloads") + 1:] = [w for w in args.workloads if w in SUPPORTS[driver]]
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
        if name == "raw":
            continue
        try:
            mod = importlib.import_module(pkg)
            if pkg != "acsylla":
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
            for peer in ("acsylla", "raw"):
                other = table.get((peer + variant, name))
                if new and other:
                    print("%-36s %-17s %22.2fx CPU of %s" % (
                        "", "cassfast / " + peer, new["cpu_us"] / other["cpu_us"], peer))
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
    p.add_argument("--driver", choices=("both", "all") + tuple(DRIVERS), default="all",
                   help="'all' (default): cassfast, cassandra-driver, acsylla and the raw socket "
                        "loop; 'both': cassfast and cassandra-driver")
    p.add_argument("--server", choices=("node", "fake"), default="node",
                   help="'node' (default): a Cassandra node at --host/--port; 'fake': start "
                        "bench/fake_responder.py on --fake-host, so only client cost shows")
    p.add_argument("--fake-host", default="127.0.0.31")
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

    drivers = {"all": list(DRIVERS), "both": ["cassfast", "cassandra-driver"]}.get(
        args.driver, [args.driver])
    if "acsylla" in drivers and importlib.util.find_spec("acsylla") is None:
        p.error("acsylla is not installed: pip install -e '.[benchmark]' (or --driver both)")
    # A driver that runs none of the chosen workloads is left out (not spawned with none).
    drivers = [d for d in drivers if SUPPORTS[d] & set(args.workloads)]
    if not drivers:
        p.error("no chosen driver runs any of the chosen workloads")
    responder = None
    if args.server == "fake":
        responder, args.host, args.port = start_responder(args.fake_host)
    try:
        return run_parent(args, drivers)
    finally:
        if responder is not None:
            responder.terminate()
            responder.wait(10)


def start_responder(host: str):
    """Start bench/fake_responder.py in its own process; returns (process, host, port)."""
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                          "fake_responder.py"), "--host", host],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError("bench/fake_responder.py did not start (printed %r)" % line)
    return proc, host, int(line.split()[1])


def run_parent(args, drivers) -> int:
    server = ("the fake responder (bench/fake_responder.py, its own process)"
              if args.server == "fake" else "a Cassandra node")
    print("cassfast end-to-end benchmark against %s at %s:%d" % (server, args.host, args.port))
    for line in machine_info():
        print("  " + line)
    print("  base ops %d, repeats %d, async in-flight %d, execute_concurrent concurrency %d, "
          "compression off" % (args.ops, args.repeat, args.inflight, args.concurrency))
    print("  NOTE: the client shares a small machine with the Cassandra JVM (and possibly other "
          "work);\n  ops/s depends on the server and is noisy; CPU us/op is the client's own "
          "cost and steadier.\n  Compare drivers within one run only.")
    print()
    if args.server == "node":
        setup_schema(args.host, args.port)   # the fake responder holds the schema and rows itself

    settings = {"off": ["off"], "on": ["on"], "both": ["off", "on"]}[args.metrics]
    variants = [METRICS_ON if m == "on" and args.metrics == "both" else "" for m in settings]
    if args.metrics == "on":
        print("  metrics on (Cluster(metrics_enabled=True)) for both drivers")
    runs = {d + v: [] for d in drivers for v in variants
            if not v or d in ("cassfast", "cassandra-driver")}
    versions = {}
    for rep in range(args.repeat):
        # Alternate the order each repeat so neither driver always runs on a warmer server.
        order = [(d, m, v) for d in drivers for m, v in zip(settings, variants)
                 if m == "off" or d in ("cassfast", "cassandra-driver")]
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
