"""Client CPU per request: cassfast beside cassandra-driver 3.30 on the same node, same run.

Two ways to run it against the harness's single node (127.0.0.1:9042 unless CASSFAST_BENCH_HOST):

* ``python bench/test_bench_session.py [--n 10000] [--repeat 3]`` prints, for each workload and
  driver, the client CPU time per operation measured with ``resource.getrusage`` (user + system
  time of this whole process, so the I/O threads of both drivers are included) and the ratio of
  medians reference / cassfast.  Workloads: the synchronous ``execute`` loop of a prepared 1-row
  SELECT, the same with the default row factory through a simple (unprepared) 1-row SELECT, an
  async pipeline of prepared INSERTs with 256 requests in flight (callbacks), and the same from
  asyncio tasks awaiting cassfast's futures (the reference runs its callback pipeline there).
* ``pytest bench/test_bench_session.py --benchmark-enable`` runs the synchronous 1-row SELECT of
  both drivers under pytest-benchmark (wall time).

The machine has 2 cores shared with Cassandra's JVM and other work, so numbers are noisy: repeat.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import uuid

import pytest

HOST = os.environ.get("CASSFAST_BENCH_HOST", "127.0.0.1")
KEYSPACE = "h5bench"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _setup(session) -> None:
    session.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = {'class': 'SimpleStrategy', "
                    "'replication_factor': 1}" % KEYSPACE)
    session.execute("CREATE TABLE IF NOT EXISTS %s.kv (k int PRIMARY KEY, v text, n bigint)" % KEYSPACE)
    session.execute("INSERT INTO %s.kv (k, v, n) VALUES (1, 'one', 1)" % KEYSPACE)


def _connect(driver: str):
    if driver == "cassfast":
        from cassfast.cluster import Cluster
    else:
        from cassandra.cluster import Cluster
    cluster = Cluster([HOST])
    session = cluster.connect()
    _setup(session)
    session.set_keyspace(KEYSPACE)
    return cluster, session


def sync_prepared_select(session, n: int) -> float:
    stmt = session.prepare("SELECT k, v, n FROM kv WHERE k = ?")
    for _ in range(200):
        session.execute(stmt, (1,))
    start = _cpu()
    for _ in range(n):
        session.execute(stmt, (1,)).one()
    return (_cpu() - start) / n


def sync_simple_select(session, n: int) -> float:
    for _ in range(200):
        session.execute("SELECT k, v, n FROM kv WHERE k = 1")
    start = _cpu()
    for _ in range(n):
        session.execute("SELECT k, v, n FROM kv WHERE k = 1").one()
    return (_cpu() - start) / n


def async_pipeline_insert(session, n: int, window: int = 256) -> float:
    import threading
    stmt = session.prepare("INSERT INTO kv (k, v, n) VALUES (?, ?, ?)")
    done = threading.Semaphore(0)
    errors = []

    def ok(_):
        done.release()

    def err(exc):
        errors.append(exc)
        done.release()
    start = _cpu()
    in_flight = 0
    for i in range(n):
        if in_flight >= window:
            done.acquire()
            in_flight -= 1
        session.execute_async(stmt, (i % 1000 + 10, "x", i)).add_callbacks(ok, err)
        in_flight += 1
    for _ in range(in_flight):
        done.acquire()
    if errors:
        raise errors[0]
    return (_cpu() - start) / n


def asyncio_pipeline_insert(session, n: int, window: int = 256) -> float:
    """cassfast: ``await session.execute_async`` from asyncio tasks.  cassandra-driver has no
    awaitable future, so its number here is its callback pipeline (the same work)."""
    if not hasattr(type(session.execute_async(session.prepare("SELECT k FROM kv WHERE k = 1"))), "__await__"):
        return async_pipeline_insert(session, n, window)
    import asyncio
    stmt = session.prepare("INSERT INTO kv (k, v, n) VALUES (?, ?, ?)")

    async def main():
        # ``window`` workers, each awaiting its requests one after another: a pipeline with
        # ``window`` requests in flight and no per-request Task or Semaphore overhead.
        todo = iter(range(n))

        async def worker():
            for i in todo:
                await session.execute_async(stmt, (i % 1000 + 10, "x", i))
        await asyncio.gather(*[worker() for _ in range(window)])
    start = _cpu()
    asyncio.run(main())
    return (_cpu() - start) / n


WORKLOADS = {"sync prepared 1-row SELECT": sync_prepared_select,
             "sync simple 1-row SELECT": sync_simple_select,
             "async pipeline prepared INSERT (256 in flight)": async_pipeline_insert,
             "asyncio await prepared INSERT (256 in flight)": asyncio_pipeline_insert}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sessions = {d: _connect(d) for d in ("cassfast", "cassandra-driver")}
    print("client CPU per operation (us), %d ops x %d repeats, median [all]" % (args.n, args.repeat))
    for name, fn in WORKLOADS.items():
        medians = {}
        for driver in ("cassandra-driver", "cassfast"):
            samples = []
            for _ in range(args.repeat):
                samples.append(fn(sessions[driver][1], args.n) * 1e6)
            medians[driver] = statistics.median(samples)
            print("  %-48s %-17s %7.1f  %s" % (name, driver, medians[driver],
                                                " ".join("%.1f" % s for s in samples)))
        print("  %-48s ratio reference/cassfast: %.2fx" % (
            name, medians["cassandra-driver"] / medians["cassfast"]))
    for cluster, _ in sessions.values():
        cluster.shutdown()
    return 0


@pytest.fixture(scope="module", params=["cassandra-driver", "cassfast"])
def bench_session(request):
    cluster, session = _connect(request.param)
    yield session
    cluster.shutdown()


def test_bench_sync_prepared_select(benchmark, bench_session):
    stmt = bench_session.prepare("SELECT k, v, n FROM kv WHERE k = ?")
    row = benchmark(lambda: bench_session.execute(stmt, (1,)).one())
    assert row[1] == "one"


if __name__ == "__main__":
    sys.exit(main())
