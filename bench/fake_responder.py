"""A lean fake CQL server for client-cost benchmarks: answers fast, so only the client's cost shows.

``tests/fakeserver`` is built for scripting faults, not for speed (a task per request, a drain per
answer, an INSERT that rebuilds the table).  This process keeps its state and everything cold
(OPTIONS, STARTUP, REGISTER, the system tables, ``USE``, PREPARE, schema queries) but answers the
two hot statements of ``bench/e2e.py`` itself:

- the prepared ``INSERT INTO kv (k, v) VALUES (?, ?)``: a pre-built RESULT Void frame with the
  request's stream id written in, and the bound value kept in a dict;
- the prepared ``SELECT k, v FROM kv WHERE k = ?``: a dict lookup and a one-row RESULT Rows body
  (without metadata when the client asked to skip it, as Cassandra does).

Every complete frame in one receive buffer is answered, and the answers of one buffer leave in one
``write``.  It speaks protocol v3/v4 (profile ``cassandra-3.11``), listens on one address, and
prints ``PORT <n>`` on stdout once it accepts connections.  Run it in its own process, so its CPU
is not the client's:

    python bench/fake_responder.py --host 127.0.0.1 --port 0
"""
from __future__ import annotations

import argparse
import asyncio
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.fakeserver import wire  # noqa: E402  (the repository root is on the path above)
from tests.fakeserver.server import ConnectionState, FakeCluster, normalise  # noqa: E402
from tests.fakeserver.wire import Column, Raw  # noqa: E402

KEYSPACE = "cassfast_e2e"
PAYLOAD = "x" * 64
HEADER = struct.Struct(">BBhBi")
VOID = struct.Struct(">BBhBii")          # a whole RESULT Void frame
_SKIP_METADATA = 0x02                     # query flag (spec 4.1.4)
_HOT = {"INSERT INTO kv (k, v) VALUES (?, ?)": "insert",
        "INSERT INTO %s.kv (k, v) VALUES (?, ?)" % KEYSPACE: "insert",
        "SELECT k, v FROM kv WHERE k = ?": "select",
        "SELECT k, v FROM %s.kv WHERE k = ?" % KEYSPACE: "select"}


class Store:
    """The benchmark's schema and data, and the bodies the hot path answers with."""

    def __init__(self, host: str) -> None:
        # system.local names the node by this address, so drivers find it where it listens.
        self.cluster = FakeCluster("cassandra-3.11", nodes=1, first_ip=host)
        self.node = self.cluster.nodes[0]
        self.cluster.create_keyspace(KEYSPACE)
        self.cluster.create_table(KEYSPACE, "kv", [("k", "int", "partition_key"),
                                                   ("v", "text", "regular")])
        wide = self.cluster.create_table(KEYSPACE, "wide", [
            ("p", "int", "partition_key"), ("c", "int", "clustering"), ("v", "text", "regular")])
        wide.rows = [{"p": 0, "c": c, "v": PAYLOAD} for c in range(100)]
        self.kv = {struct.pack(">i", k): PAYLOAD.encode() for k in range(1000)}
        cols = [Column(KEYSPACE, "kv", "k", ("int",)), Column(KEYSPACE, "kv", "v", ("text",))]
        self.rows_head = {False: wire.int32(2) + wire.rows_metadata(cols),
                          True: wire.int32(2) + wire.rows_metadata(cols, no_metadata=True)}
        self.hot_ids: dict = {}           # query id -> "insert" | "select" | None

    def kind(self, query_id: bytes):
        try:
            return self.hot_ids[query_id]
        except KeyError:
            query = self.cluster._prepared.get(query_id)
            kind = _HOT.get(normalise(query)) if query is not None else None
            if query is not None:
                self.hot_ids[query_id] = kind
            return kind


class Responder(asyncio.Protocol):
    def __init__(self, store: Store) -> None:
        self.store = store
        self.buf = b""
        self.state = ConnectionState()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        out = []
        pos, end = 0, len(buf)
        store = self.store
        while end - pos >= 9:
            raw_version, flags, stream, opcode, length = HEADER.unpack_from(buf, pos)
            if end - pos - 9 < length:
                break
            body_at = pos + 9
            pos = body_at + length
            if opcode == 0x0A and flags == 0:          # EXECUTE, no tracing/payload/compression
                answer = self._hot(buf, body_at, raw_version, stream)
                if answer is not None:
                    out.append(answer)
                    continue
            self._cold(raw_version, flags, stream, opcode, bytes(buf[body_at:pos]))
        self.buf = buf[pos:]
        if out:
            self.transport.write(b"".join(out))

    def _hot(self, buf, at: int, raw_version: int, stream: int):
        n = int.from_bytes(buf[at:at + 2], "big")
        query_id = buf[at + 2:at + 2 + n]
        kind = self.store.kind(query_id)
        if kind is None:
            return None
        at += 2 + n + 2                                # consistency
        qflags = buf[at]
        at += 1 + 2                                    # value count (both hot statements bind)
        klen = int.from_bytes(buf[at:at + 4], "big", signed=True)
        key = buf[at + 4:at + 4 + klen]
        version = (raw_version & 0x7F) | 0x80
        if kind == "insert":
            at += 4 + klen
            vlen = int.from_bytes(buf[at:at + 4], "big", signed=True)
            self.store.kv[key] = buf[at + 4:at + 4 + vlen] if vlen >= 0 else None
            return VOID.pack(version, 0, stream, 0x08, 4, 1)
        value = self.store.kv.get(key)
        body = self.store.rows_head[bool(qflags & _SKIP_METADATA)]
        if value is None:
            body += b"\x00\x00\x00\x00"
        else:
            body += (b"\x00\x00\x00\x01" + struct.pack(">i", len(key)) + key
                     + struct.pack(">i", len(value)) + value)
        return HEADER.pack(version, 0, stream, 0x08, len(body)) + body

    def _cold(self, raw_version: int, flags: int, stream: int, opcode: int, body: bytes) -> None:
        v = raw_version & 0x7F
        profile = self.store.cluster.profile
        if v > profile.max_protocol_version or v < 3:
            self.transport.write(wire.frame(profile.max_protocol_version, stream, wire.ERROR,
                                            wire.error_body(wire.PROTOCOL_ERROR,
                                                            profile.version_rejection(v))))
            return

        async def send(data: bytes) -> None:
            if not self.transport.is_closing():
                self.transport.write(data)

        asyncio.ensure_future(self.store.node._answer(self.state, v, stream, opcode, body, send))


def _seed_wide_raw(store: Store) -> None:
    # The fake server stores bound values as raw bytes; literal rows are serialised on read.
    for row in store.cluster.tables[(KEYSPACE, "wide")].rows:
        row["v"] = Raw(row["v"].encode()) if isinstance(row["v"], str) else row["v"]


async def serve(host: str, port: int) -> None:
    store = Store(host)
    _seed_wide_raw(store)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Responder(store), host, port, reuse_address=True)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
