"""Server version x protocol version x driver: which combinations work against real Cassandra nodes.

    python tools/version_matrix.py [--versions 5.0 4.1 4.0 3.11] [--json FILE]

For each Cassandra release, the ``single`` variant is started by the harness (on
``$CASSFAST_SINGLE_FIRST_IP`` if set) unless it already runs that release, and for each driver
(cassfast, cassandra-driver) and each native protocol version v3, v4, v5 one workload runs on a
fresh ``Cluster(protocol_version=v)``: connect, CREATE KEYSPACE, USE, CREATE TABLE, prepared
INSERT x 50 (keyspace-qualified), an unqualified INSERT prepared after the USE, a paged SELECT (fetch_size 10) that must return the 50 rows, a logged batch, an LWT
that must not apply, and a last ``system.local`` query that shows whether the session still works
after an earlier step failed.  The first failing step and its error are reported; the remaining
steps still run (except when the connection itself failed), so "what works afterwards" is seen.
A node this tool started is stopped at the end.  This is a developer tool (it starts JVMs); its
result for the releases the harness runs is in docs/testing.md.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import cassandra.cluster
import cassandra.query

import cassfast.cluster
import cassfast.query
from cassfast.testing import _versions
from cassfast.testing.cluster import CassandraCluster

DRIVERS = {
    "cassfast": (cassfast.cluster, cassfast.query),
    "cassandra-driver": (cassandra.cluster, cassandra.query),
}
ROWS = 50


def run_workload(driver: str, address: str, port: int, protocol: int) -> Dict[str, Any]:
    cluster_mod, query_mod = DRIVERS[driver]
    steps: List[Tuple[str, Optional[str]]] = []
    started = time.monotonic()
    cluster = cluster_mod.Cluster([address], port=port, protocol_version=protocol, connect_timeout=10,
                                  control_connection_timeout=10)
    try:
        try:
            session = cluster.connect()
            session.default_timeout = 20
            steps.append(("connect", None))
        except Exception as exc:  # the driver's own error is the result
            steps.append(("connect", f"{type(exc).__name__}: {exc}"))
            return _result(steps, started)
        keyspace = f"matrix_{driver.replace('-', '_')}_v{protocol}_{uuid.uuid4().hex[:6]}"

        def step(name: str, fn: Callable[[], Any]) -> None:
            try:
                fn()
                steps.append((name, None))
            except Exception as exc:
                steps.append((name, f"{type(exc).__name__}: {str(exc)[:300]}"))

        step("create keyspace", lambda: session.execute(
            f"CREATE KEYSPACE {keyspace} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"))
        step("use", lambda: session.execute(f"USE {keyspace}"))
        step("create table", lambda: session.execute(
            f"CREATE TABLE {keyspace}.t (k int, c int, v text, PRIMARY KEY (k, c))"))

        def prepared_insert() -> None:
            insert = session.prepare(f"INSERT INTO {keyspace}.t (k, c, v) VALUES (?, ?, ?)")
            for i in range(ROWS):
                session.execute(insert, (1, i, f"v{i}"))

        step("prepared insert", prepared_insert)

        def prepare_unqualified_after_use() -> None:
            # The keyspace comes from USE: 4.0 answers with a warning about that pattern, and a
            # warning cannot be sent on a v3 connection.
            insert = session.prepare("INSERT INTO t (k, c, v) VALUES (?, ?, ?)")
            session.execute(insert, (3, 0, "u"))

        step("unqualified prepare after USE", prepare_unqualified_after_use)

        def paged_select() -> None:
            stmt = query_mod.SimpleStatement(f"SELECT c FROM {keyspace}.t WHERE k = 1", fetch_size=10)
            got = [row.c for row in session.execute(stmt)]
            if got != list(range(ROWS)):
                raise AssertionError(f"paged SELECT returned {len(got)} rows, expected {ROWS}")

        step("paged select", paged_select)

        def batch() -> None:
            b = query_mod.BatchStatement()
            for i in range(5):
                b.add(query_mod.SimpleStatement(f"INSERT INTO {keyspace}.t (k, c, v) VALUES (2, %s, 'b')"), (i,))
            session.execute(b)
            count = session.execute(f"SELECT count(*) FROM {keyspace}.t WHERE k = 2").one()[0]
            if count != 5:
                raise AssertionError(f"batch wrote {count} rows, expected 5")

        step("batch", batch)

        def lwt() -> None:
            row = session.execute(f"INSERT INTO {keyspace}.t (k, c, v) VALUES (1, 0, 'x') IF NOT EXISTS").one()
            if row[0] is not False:
                raise AssertionError(f"LWT on an existing row applied: {row!r}")

        step("lwt", lwt)
        step("query afterwards", lambda: session.execute("SELECT release_version FROM system.local").one())
        try:
            session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        except Exception:
            pass  # the result is already recorded; a leftover keyspace is harmless on a test node
        return _result(steps, started)
    finally:
        cluster.shutdown()


def _result(steps: List[Tuple[str, Optional[str]]], started: float) -> Dict[str, Any]:
    failed = [(name, err) for name, err in steps if err is not None]
    return {
        "passed": not failed,
        "seconds": round(time.monotonic() - started, 2),
        "failed_steps": [name for name, _ in failed],
        "first_error": f"{failed[0][0]}: {failed[0][1]}" if failed else None,
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=["5.0", "4.1", "4.0", "3.11"])
    parser.add_argument("--protocols", nargs="+", type=int, default=[3, 4, 5])
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)
    logging.getLogger("cassandra").setLevel(logging.CRITICAL)
    logging.getLogger("cassfast").setLevel(logging.CRITICAL)
    results: List[Dict[str, Any]] = []
    for requested in args.versions:
        version = _versions.resolve(requested)
        node = CassandraCluster("single", version=version)
        if node.running_version() not in (None, version):
            node.stop()
        t0 = time.monotonic()
        started_here = node.start()
        start_seconds = round(time.monotonic() - t0, 1)
        try:
            for protocol in args.protocols:
                for driver in DRIVERS:
                    r = run_workload(driver, node.contact_points[0], node.port, protocol)
                    r.update(server=version, protocol=protocol, driver=driver, start_seconds=start_seconds)
                    results.append(r)
                    status = "passed" if r["passed"] else f"FAILED ({', '.join(r['failed_steps'])})"
                    print(f"{version} v{protocol} {driver:17s} {status} in {r['seconds']}s", flush=True)
                    if r["first_error"]:
                        print(f"    {r['first_error'][:400]}", flush=True)
        finally:
            if started_here:
                node.stop()
    print("\n| server | protocol | cassfast | cassandra-driver |\n|---|---|---|---|")
    for version in dict.fromkeys(r["server"] for r in results):
        for protocol in args.protocols:
            cells = []
            for driver in DRIVERS:
                r = next(x for x in results if x["server"] == version and x["protocol"] == protocol
                         and x["driver"] == driver)
                cells.append(f"passed {r['seconds']}s" if r["passed"]
                             else f"failed: {', '.join(r['failed_steps'])} ({r['seconds']}s)")
            print(f"| {version} | v{protocol} | {cells[0]} | {cells[1]} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
