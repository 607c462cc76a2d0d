"""What the observability features cost per request: each off and on, with cassandra-driver
beside cassfast in the same run (see bench/README.md, "bench/observe.py").

Each (driver, variant, repeat) is a fresh subprocess running bench/e2e.py's workloads against a
real node and reporting client CPU per operation (``getrusage``, all threads); repeats alternate
the order.  Variants:

- ``off``: nothing enabled (the default driver);
- ``tracker``: ``Cluster(request_tracker=RequestTracker())`` (a no-op hook: the tracker's fixed
  cost, building the ``RequestInfo`` and the call);
- ``slowlog``: ``SlowQueryLogger(threshold=1.0)`` (nothing is slow: the check only);
- ``throttle``: ``ConcurrencyLimitingRequestThrottler(10000, 10000)`` (never queues: the
  acquire/release cost);
- ``rate``: ``RateLimitingRequestThrottler(10_000_000, 10000)`` (a rate far above any achieved:
  never queues, the token-bucket admit cost);
- ``otel-spans``: cassfast's ``OpenTelemetryTracer`` on an SDK ``TracerProvider`` without
  exporter (a real span per request);
- ``otel-instr``: ``opentelemetry-instrumentation-cassandra`` (wraps ``execute_async``; for
  cassfast through ``install_as_cassandra()``), on both drivers; synchronous requests then go
  through ``execute_async`` (no lanes, as the reference's ``execute`` does);
- ``before`` (with ``--before DIR``): cassfast from another tree (e.g. the commit before these
  features, ``git archive`` + this tree's compiled ``.so`` files), nothing enabled: what "off"
  costs against not having the features at all.

    python -m cassfast.testing.cluster start single
    python bench/observe.py --host 127.0.0.1 --ops 3000 --repeat 3
    python bench/observe.py --ops 500 --repeat 2 --variants rate   # one variant beside 'off'
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (bench/e2e.py: workloads and schema)

CASSFAST_VARIANTS = ("off", "tracker", "slowlog", "throttle", "rate", "otel-spans", "otel-instr")
REFERENCE_VARIANTS = ("off", "otel-instr")
WORKLOADS = ("sync_insert", "select_1row", "async_insert")


def cluster_kwargs(driver: str, variant: str) -> dict:
    if driver != "cassfast" or variant in ("off", "otel-instr"):
        return {}
    if variant == "tracker":
        from cassfast.tracker import RequestTracker
        return {"request_tracker": RequestTracker()}
    if variant == "slowlog":
        from cassfast.tracker import SlowQueryLogger
        return {"request_tracker": SlowQueryLogger(threshold=1.0)}
    if variant == "throttle":
        from cassfast.throttling import ConcurrencyLimitingRequestThrottler
        return {"request_throttler": ConcurrencyLimitingRequestThrottler(10000, 10000)}
    if variant == "rate":
        from cassfast.throttling import RateLimitingRequestThrottler
        return {"request_throttler": RateLimitingRequestThrottler(10_000_000, 10000)}
    if variant == "otel-spans":
        from opentelemetry.sdk.trace import TracerProvider
        from cassfast.contrib.opentelemetry import OpenTelemetryTracer
        return {"request_tracker": OpenTelemetryTracer(tracer_provider=TracerProvider())}
    raise ValueError(variant)


def run_worker(args) -> dict:
    pkg = e2e.DRIVERS[args.driver]
    if args.variant == "otel-instr":
        if pkg == "cassfast":
            import cassfast
            cassfast.install_as_cassandra()
            pkg = "cassandra"
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.instrumentation.cassandra import CassandraInstrumentor
        CassandraInstrumentor().instrument(tracer_provider=TracerProvider(), skip_dep_check=True)
    w = e2e.Workloads(pkg, args.host, args.port, None, 100, 100, None, False,
                      cluster_kwargs(args.driver, args.variant))
    out = {}
    try:
        for name in args.workloads:
            fn = getattr(w, name)
            ops = max(1, int(args.ops * e2e.OPS_SCALE[name]))
            fn(max(1, ops // 10))
            cpu0, t0 = e2e._cpu_seconds(), time.perf_counter()
            fn(ops)
            out[name] = {"ops": ops, "wall": time.perf_counter() - t0, "cpu": e2e._cpu_seconds() - cpu0}
    finally:
        w.shutdown()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9042)
    p.add_argument("--ops", type=int, default=3000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    p.add_argument("--variants", nargs="+", choices=CASSFAST_VARIANTS,
                   default=list(CASSFAST_VARIANTS),
                   help="cassfast variants to run ('off' and the reference's runs always run)")
    p.add_argument("--before", help="a cassfast source tree to run as the 'before' variant")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--driver", help=argparse.SUPPRESS)
    p.add_argument("--variant", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return 0

    print("observability cost per request against %s:%d" % (args.host, args.port))
    for line in e2e.machine_info():
        print("  " + line)
    e2e.setup_schema(args.host, args.port)
    variants = [v for v in CASSFAST_VARIANTS if v == "off" or v in args.variants]
    runs = [("cassandra-driver", v) for v in REFERENCE_VARIANTS if v in variants] + [
        ("cassfast", v) for v in variants]
    if args.before:
        runs.insert(2, ("cassfast", "before"))
    samples: dict = {run: [] for run in runs}
    for rep in range(args.repeat):
        order = runs if rep % 2 == 0 else list(reversed(runs))
        for driver, variant in order:
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--driver", driver,
                   "--variant", variant, "--host", args.host, "--port", str(args.port),
                   "--ops", str(args.ops), "--workloads", *args.workloads]
            env = dict(os.environ)
            if variant == "before":
                env["PYTHONPATH"] = os.path.abspath(args.before)
                cmd[cmd.index("before")] = "off"
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
            if proc.returncode != 0:
                raise RuntimeError("%s/%s failed:\n%s" % (driver, variant, proc.stderr[-3000:]))
            samples[(driver, variant)].append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print("  repeat %d/%d done" % (rep + 1, args.repeat), flush=True)
    print()
    header = "%-14s %-17s %-11s %10s %17s %12s %12s" % (
        "workload", "driver", "variant", "CPU us/op", "min..max", "vs off", "ref/cassfast")
    print(header)
    print("-" * len(header))
    for name in args.workloads:
        med = {}
        for run in runs:
            values = [s[name]["cpu"] * 1e6 / s[name]["ops"] for s in samples[run]]
            med[run] = (statistics.median(values), min(values), max(values))
        ref_off = med[("cassandra-driver", "off")][0]
        for driver, variant in runs:
            m, lo, hi = med[(driver, variant)]
            base = med[(driver, "off")][0]
            ref = med[("cassandra-driver", variant)][0] if ("cassandra-driver", variant) in med else ref_off
            print("%-14s %-17s %-11s %10.1f %8.1f..%-8.1f %+11.1f%% %11.2fx" % (
                name, driver, variant, m, lo, hi, 100.0 * (m / base - 1), ref / m))
        print()
    print("vs off: CPU per op against the same driver with nothing enabled (medians).")
    print("ref/cassfast: cassandra-driver's CPU per op (same variant when it has one, else 'off') "
          "over this row's.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
