"""A typed service program over cassfast's public API, checked with ``mypy --strict`` and pyright.

It is also run against a real node by ``tests/integration/test_typed_example.py`` (as a script:
``python tests/typing/service_example.py HOST PORT [KEYSPACE]`` prints a JSON summary of what it
read back), so every call below is one that works, not only one that type-checks; the test
compares the summary with what the program wrote.

No ``Any`` is needed in this file: the row factory of an ``ExecutionProfile`` decides the row
type of ``Session.execute`` (``dict_factory`` gives ``dict[str, Any]`` rows, ``tuple_factory``
tuples), and ``ResponseFuture``/``ResultSet`` carry that type through ``execute_async``,
``aexecute``, callbacks and async iteration.
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import uuid
from typing import Any

import cassfast.aio
from cassfast import ConsistencyLevel, InvalidRequest
from cassfast.cluster import (EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, ResponseFuture,
                              ResultSet, Session)
from cassfast.concurrent import execute_concurrent_with_args
from cassfast.cqlengine import columns, connection, management
from cassfast.cqlengine.models import Model
from cassfast.host import Host
from cassfast.policies import (ConstantReconnectionPolicy, ConstantSpeculativeExecutionPolicy,
                               DCAwareRoundRobinPolicy, HostStateListener, RetryPolicy,
                               TokenAwarePolicy)
from cassfast.query import (BatchStatement, BatchType, BoundStatement, PreparedStatement,
                            SimpleStatement)
from cassfast.rows import dict_factory, tuple_factory


class Event(Model):
    """cqlengine model of the service's events table."""

    __table_name__ = "typed_events"
    source = columns.Text(partition_key=True)
    seq = columns.Integer(primary_key=True)
    payload = columns.Text()


class CountingRetryPolicy(RetryPolicy):
    """The reference's rules, counting the read timeouts it was asked about."""

    def __init__(self) -> None:
        self.read_timeouts = 0

    def on_read_timeout(self, query: Any, consistency_level: int, required_responses: int,
                        received_responses: int, data_retrieved: bool,
                        retry_num: int) -> tuple[int, int | None]:
        self.read_timeouts += 1
        return super().on_read_timeout(query, consistency_level, required_responses,
                                       received_responses, data_retrieved, retry_num)


class UpHosts(HostStateListener):
    """Remembers the addresses of the hosts seen up."""

    def __init__(self) -> None:
        self.up: set[str] = set()

    def on_up(self, host: Host) -> None:
        self.up.add(str(host.address))

    def on_down(self, host: Host) -> None:
        self.up.discard(str(host.address))

    def on_add(self, host: Host) -> None:
        pass

    def on_remove(self, host: Host) -> None:
        pass


def _make_cluster(host: str, port: int) -> tuple[Cluster, ExecutionProfile[dict[str, Any]],
                                                 ExecutionProfile[tuple[Any, ...]]]:
    default = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        retry_policy=CountingRetryPolicy(),
        speculative_execution_policy=ConstantSpeculativeExecutionPolicy(0.5, 2),
        consistency_level=ConsistencyLevel.LOCAL_ONE,
        request_timeout=30.0,
    )
    dicts = ExecutionProfile(row_factory=dict_factory, request_timeout=30.0)
    tuples = ExecutionProfile(row_factory=tuple_factory, request_timeout=30.0)
    cluster = Cluster([host], port=port,
                      execution_profiles={EXEC_PROFILE_DEFAULT: default, "dicts": dicts,
                                          "tuples": tuples},
                      reconnection_policy=ConstantReconnectionPolicy(1.0, max_attempts=None))
    return cluster, dicts, tuples


def _write(session: Session, insert: PreparedStatement) -> int:
    """Writes rows 0-9 of source 'a' three ways; returns how many statements were sent."""
    session.execute(insert, ("a", 0, "zero"))
    bound: BoundStatement = insert.bind({"source": "a", "seq": 1, "payload": "one"})
    session.execute(bound)
    batch = BatchStatement(batch_type=BatchType.UNLOGGED)
    batch.add(insert, ("a", 2, "two"))
    batch.add(SimpleStatement("INSERT INTO typed_events (source, seq, payload) VALUES (%s, %s, %s)"),
              ("a", 3, "three"))
    session.execute(batch)
    results = execute_concurrent_with_args(session, insert, [("a", i, str(i)) for i in range(4, 10)],
                                           concurrency=4)
    sent = 4
    for result in results:
        if not result.success:
            raise RuntimeError(f"concurrent insert failed: {result.result_or_exc!r}")
        sent += 1
    return sent


def _read(session: Session, dicts: ExecutionProfile[dict[str, Any]],
          tuples: ExecutionProfile[tuple[Any, ...]], select: PreparedStatement) -> dict[str, object]:
    summary: dict[str, object] = {}
    rs_dicts: ResultSet[dict[str, Any]] = session.execute(select, ("a",), execution_profile=dicts)
    summary["payloads"] = [str(row["payload"]) for row in rs_dicts]

    first: tuple[Any, ...] | None = session.execute(select, ("a",), execution_profile=tuples).one()
    summary["first_seq"] = int(first[1]) if first is not None else -1

    paged = SimpleStatement("SELECT seq FROM typed_events WHERE source = %s", fetch_size=3)
    rs: ResultSet[Any] = session.execute(paged, ("a",))
    summary["paged_seqs"] = [int(row.seq) for row in rs]

    future: ResponseFuture[dict[str, Any]] = session.execute_async(
        select, ("a",), execution_profile=dicts)
    done = threading.Event()
    counts: list[int] = []

    def on_rows(rows: list[dict[str, Any]]) -> None:
        counts.append(len(rows))
        done.set()

    def on_error(exc: BaseException) -> None:
        done.set()

    future.add_callbacks(on_rows, on_error)
    result: ResultSet[dict[str, Any]] = future.result()
    done.wait(30.0)
    summary["async_rows"] = len(result.all())
    summary["callback_rows"] = counts[0] if counts else -1

    try:
        session.execute("SELECT nonexistent FROM typed_events")
    except InvalidRequest as exc:
        summary["bad_query"] = type(exc).__name__
    return summary


async def _read_async(session: Session, dicts: ExecutionProfile[dict[str, Any]],
                      select: PreparedStatement) -> list[int]:
    seqs: list[int] = []
    rs: ResultSet[dict[str, Any]] = await session.aexecute(select, ("a",), execution_profile=dicts)
    async for row in rs:
        seqs.append(int(row["seq"]))
    awaited: ResultSet[dict[str, Any]] = await session.execute_async(
        select, ("a",), execution_profile=dicts)
    seqs.append(len(awaited.current_rows))
    await cassfast.aio.execute_many(session, select, [("a",), ("b",)], concurrency=2)
    return seqs


def _mapper(session: Session, keyspace: str) -> list[str]:
    os.environ.setdefault("CQLENG_ALLOW_SCHEMA_MANAGEMENT", "1")
    connection.set_session(session)
    management.sync_table(Event, keyspaces=[keyspace])
    Event.create(source="m", seq=1, payload="mapped")
    Event.objects(source="m", seq=1).update(payload="mapped twice")
    return [str(event.payload) for event in Event.objects(source="m").all()]


def run(host: str, port: int, keyspace: str) -> dict[str, object]:
    """Runs the service against the node at ``host:port`` in a new ``keyspace``; returns a summary."""
    cluster, dicts, tuples = _make_cluster(host, port)
    with cluster:
        listener = UpHosts()
        cluster.register_listener(listener)
        session = cluster.connect()
        session.execute(f"CREATE KEYSPACE {keyspace} WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.set_keyspace(keyspace)
        session.execute("CREATE TABLE typed_events (source text, seq int, payload text, "
                        "PRIMARY KEY (source, seq))")
        insert = session.prepare("INSERT INTO typed_events (source, seq, payload) VALUES (?, ?, ?)")
        insert.consistency_level = ConsistencyLevel.ONE
        select = session.prepare("SELECT source, seq, payload FROM typed_events WHERE source = ?")
        summary: dict[str, object] = {"sent": _write(session, insert)}
        summary.update(_read(session, dicts, tuples, select))
        summary["async_seqs"] = asyncio.run(_read_async(session, dicts, select))
        summary["mapped"] = _mapper(session, keyspace)
        summary["hosts_up"] = sorted(listener.up) == sorted(str(h.address) for h in session.hosts)
        session.execute(f"DROP KEYSPACE {keyspace}")
    return summary


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]),
                         sys.argv[3] if len(sys.argv) > 3 else "typed_" + uuid.uuid4().hex[:8])))
