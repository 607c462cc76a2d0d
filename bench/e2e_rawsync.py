"""Floor for a synchronous request: the CPU one prepared INSERT costs when the calling thread does
the socket I/O itself.

No driver machinery at all: a blocking socket with TCP_NODELAY, cassfast's compiled frame and
message codecs (protocol v4, no compression), ``cassfast.query`` for binding, one request in
flight, no event loop and no thread hand-off.  The gap between this and ``bench/e2e.py``'s
``sync_insert`` for cassfast is what the session's synchronous path spends on waking threads and
running the loop; a design where a blocked caller does its own I/O (leader/follower) can approach
this number.  Prints client CPU microseconds per operation (``getrusage``, the whole process) and
operations per second, per repeat.

    python bench/e2e_rawsync.py --ops 3000 --repeat 3     # needs bench/e2e.py's schema
"""
from __future__ import annotations

import argparse
import resource
import socket
import sys
import time

from cassfast import ConsistencyLevel, ProtocolVersion
from cassfast import protocol as P
from cassfast._core import FrameDecoder
from cassfast.query import PreparedStatement, named_tuple_factory

VERSION = ProtocolVersion.V4
KEYSPACE = "cassfast_e2e"  # created by bench/e2e.py
PAYLOAD = "x" * 64


class RawConnection:
    """One blocking connection, one request at a time (stream id 1)."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.decoder = FrameDecoder(VERSION)
        ready = self.request(P.StartupMessage("3.0.0", {"CQL_VERSION": "3.0.0"}))
        if not isinstance(ready, P.ReadyMessage):
            raise RuntimeError("STARTUP was answered with %r" % (ready,))

    def request(self, msg, result_metadata=None, row_factory=None):
        self.sock.sendall(P.ProtocolHandler.encode_message(msg, 1, VERSION, None, False))
        while True:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the server closed the connection")
            frames = self.decoder.feed(data)
            if frames:
                _, flags, stream_id, opcode, body = frames[0]
                response = P.ProtocolHandler.decode_message(
                    VERSION, {}, stream_id, flags, opcode, body, None, result_metadata,
                    row_factory)
                if isinstance(response, P.ErrorMessage):
                    raise response.to_exception()
                return response


def prepare(conn: RawConnection, query: str) -> PreparedStatement:
    prepared = conn.request(P.PrepareMessage(query))
    return PreparedStatement.from_message(
        prepared.query_id, prepared.bind_metadata, prepared.pk_indexes, None, query, KEYSPACE,
        VERSION, prepared.result_metadata, prepared.result_metadata_id)


def execute(conn: RawConnection, prepared: PreparedStatement, values) -> list | None:
    """Bind, encode, send, receive and decode one EXECUTE; rows as the driver's default row
    factory makes them (named tuples), None for a result without rows."""
    bound = prepared.bind(values)
    response = conn.request(
        P.ExecuteMessage(prepared.query_id, bound.values, ConsistencyLevel.ONE,
                         skip_meta=bool(prepared.result_metadata)),
        prepared.result_metadata, named_tuple_factory)
    return response.parsed_rows


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9042)
    p.add_argument("--ops", type=int, default=3000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)

    conn = RawConnection(args.host, args.port)
    insert = prepare(conn, "INSERT INTO %s.kv (k, v) VALUES (?, ?)" % KEYSPACE)
    for rep in range(args.repeat + 1):  # the first pass is warm-up
        cpu0, t0 = _cpu(), time.perf_counter()
        for k in range(args.ops):
            execute(conn, insert, (k, PAYLOAD))
        cpu, wall = _cpu() - cpu0, time.perf_counter() - t0
        if rep:
            print("raw synchronous INSERT, repeat %d: %.1f us CPU/op, %.0f ops/s"
                  % (rep, cpu * 1e6 / args.ops, args.ops / wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
