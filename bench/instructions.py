"""Client instructions per request under callgrind: a deterministic measure of cassfast's own cost.

CPU time per request moves by tens of percent between runs on a shared 2-core machine; the number
of instructions the client executes per request does not (two runs agree within 0.3%).  This
tool starts ``bench/fake_responder.py`` (so no server cost shows), runs one cassfast workload
twice under ``valgrind --tool=callgrind`` with two request counts, and prints the difference
divided by the difference in requests: start-up, connection and warm-up cancel out.  User-space
instructions only (the kernel's side of send/recv is not counted).

    python bench/instructions.py                        # every workload
    python bench/instructions.py --workloads callbacks  # one
    python bench/instructions.py --keep /tmp/cg         # keep the callgrind files (callgrind_annotate)

Workloads: ``callbacks`` (prepared INSERT through execute_async + callbacks, 256 in flight, all on
the I/O thread), ``aexecute`` (the same INSERT awaited from 256 asyncio tasks on the
caller's own loop, ``await session.aexecute``), ``sync_insert`` (prepared INSERT with session.execute, one at a time),
``select_1row`` (prepared 1-row SELECT with session.execute(...).one()).  Needs valgrind.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = ("callbacks", "aexecute", "sync_insert", "select_1row")

# The client program run under callgrind: argv = port, requests, workload.  A tenth of the
# requests run first as warm-up in both runs, so the difference holds only measured requests.
CLIENT = r'''
import asyncio, sys, threading
from cassfast.cluster import Cluster
port, n, workload = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
cluster = Cluster(["127.0.0.1"], port=port, compression=False)
session = cluster.connect("cassfast_e2e")
insert = session.prepare("INSERT INTO kv (k, v) VALUES (?, ?)")
select = session.prepare("SELECT k, v FROM kv WHERE k = ?")
payload = "x" * 64

def callbacks(count):
    keys = iter(range(count)); done = threading.Event(); left = [count]; lock = threading.Lock()
    def send():
        k = next(keys, None)
        if k is not None:
            session.execute_async(insert, (k, payload)).add_callbacks(ok, err)
    def ok(_):
        with lock:
            left[0] -= 1; finished = left[0] == 0
        if finished: done.set()
        else: send()
    def err(exc):
        print("request failed:", exc, file=sys.stderr); done.set()
    for _ in range(min(256, count)): send()
    done.wait()

def aexecute(count):
    async def run():
        keys = iter(range(count))
        async def worker():
            for k in keys:
                await session.aexecute(insert, (k, payload))
        await asyncio.gather(*(worker() for _ in range(min(256, count))))
    asyncio.run(run())

def sync_insert(count):
    for k in range(count): session.execute(insert, (k, payload))

def select_1row(count):
    for k in range(count): session.execute(select, (k % 1000,)).one()

fn = {"callbacks": callbacks, "aexecute": aexecute, "sync_insert": sync_insert, "select_1row": select_1row}[workload]
fn(n // 10)
fn(n)
cluster.shutdown()
'''


def start_responder(host: str):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_responder.py"), "--host", host],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError("bench/fake_responder.py did not start (printed %r)" % line)
    return proc, int(line.split()[1])


def instructions(client: str, port: int, n: int, workload: str, out: str) -> int:
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                          sys.executable, client, str(port), str(n), workload],
                         capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise RuntimeError("callgrind run failed (exit %d):\n%s" % (run.returncode, run.stderr[-2000:]))
    return int(found.group(1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", nargs="+", choices=WORKLOADS, default=list(WORKLOADS))
    p.add_argument("--small", type=int, default=2000, help="requests in the first run")
    p.add_argument("--large", type=int, default=6000, help="requests in the second run")
    p.add_argument("--host", default="127.0.0.32", help="address for the fake responder")
    p.add_argument("--keep", help="directory to keep the callgrind output files in")
    args = p.parse_args(argv)
    if shutil.which("valgrind") is None:
        p.error("valgrind is not installed")
    work = args.keep or tempfile.mkdtemp(prefix="cassfast-cg-")
    os.makedirs(work, exist_ok=True)
    client = os.path.join(work, "client.py")
    with open(client, "w") as f:
        f.write(CLIENT.replace('"127.0.0.1"', repr(args.host)))
    responder, port = start_responder(args.host)
    try:
        for workload in args.workloads:
            counts = [instructions(client, port, n, workload,
                                   os.path.join(work, "%s.%d.out" % (workload, n)))
                      for n in (args.small, args.large)]
            per_request = (counts[1] - counts[0]) / ((args.large - args.small) * 1.1)
            print("%-12s %8.0f instructions per request" % (workload, per_request), flush=True)
    finally:
        responder.terminate()
        responder.wait(10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
