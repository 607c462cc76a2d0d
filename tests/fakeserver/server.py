"""A scriptable CQL server: real asyncio listeners speaking native protocol v3/v4 over TCP.

``FakeCluster(profile, nodes=3)`` starts one listener per node on 127.0.0.21, .22, ... (all on
one port, as ``system.peers`` has no port column) on a thread of its own, so blocking drivers
connect to it exactly as to Cassandra.  Every node answers OPTIONS/SUPPORTED, STARTUP/READY,
REGISTER, QUERY, PREPARE, EXECUTE and BATCH:

- system tables (``system.local``, ``system.peers`` and, when the profile has it,
  ``system.peers_v2``, ``system_schema.*``) are tables of the profile, answered per node (each
  node's ``system.local`` is itself, its ``system.peers`` the others);
- user tables declared with ``create_table`` store what INSERTs bind as raw bytes and SELECT
  ``... WHERE <key> = ?`` returns them, so values round-trip through the driver's codecs without
  the server decoding them;
- anything else is an error as the profile's server words it (``unconfigured table x``,
  ``Keyspace x does not exist``), typed by code;
- ``script(pattern, rows=..., error=..., delay=..., times=...)`` overrides any of it per query
  (a regular expression searched in the whitespace-normalised CQL, newest rule first), for fault
  scenarios: errors by code with their extra fields, delays (other streams keep being answered),
  a limited number of times.

A frame of a protocol version above the profile's maximum is answered with the ERROR the
profile's server sends (Cassandra 3.11: PROTOCOL_ERROR framed at v4).  Every frame received is
recorded in ``node.log`` as ``(opcode, version, query_or_None)``.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from . import wire
from .profiles import Profile, get_profile
from .wire import Column, CqlError, Raw, Table

FIRST_IP = "127.0.0.21"


@dataclass
class Rule:
    pattern: re.Pattern
    columns: list | None = None            # [(name, cql type)] of scripted rows
    rows: list | None = None
    error: tuple | None = None             # (code, message[, extra bytes])
    delay: float = 0.0
    times: int | None = None               # None: forever
    nodes: set | None = None               # None: every node; else node indexes
    warnings: list | None = None           # v4+: sent with the WARNING flag (spec 2.2)
    hits: int = 0

    def applies(self, query: str, node: int) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.nodes is not None and node not in self.nodes:
            return False
        return self.pattern.search(query) is not None


def normalise(query: str) -> str:
    return re.sub(r"\s+", " ", query.strip()).rstrip(";")


class ConnectionState:
    """What one client connection has set: its keyspace (``USE``)."""

    def __init__(self) -> None:
        self.keyspace: str | None = None


class FakeNode:
    """One listener; its answers come from the cluster's shared state and script."""

    def __init__(self, cluster: "FakeCluster", index: int, address: str) -> None:
        self.cluster, self.index, self.address = cluster, index, address
        self.server: asyncio.AbstractServer | None = None
        self.log: list = []
        self.connections = 0
        self._writers: set = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        lock = asyncio.Lock()
        state = ConnectionState()

        async def send(data: bytes) -> None:
            async with lock:
                writer.write(data)
                await writer.drain()

        tasks = set()
        try:
            while True:
                header = await reader.readexactly(wire.HEADER.size)
                raw_version, flags, stream, opcode, length = wire.HEADER.unpack(header)
                body = await reader.readexactly(length) if length else b""
                v = raw_version & 0x7F
                profile = self.cluster.profile
                if v > profile.max_protocol_version or v < 3:
                    # As Cassandra 3.x: a PROTOCOL_ERROR in a version it speaks, then it goes on
                    # reading (the client retries lower on a new connection).
                    self.log.append((opcode, v, None))
                    await send(wire.frame(profile.max_protocol_version, stream, wire.ERROR,
                                          wire.error_body(wire.PROTOCOL_ERROR, profile.version_rejection(v))))
                    continue
                task = asyncio.ensure_future(self._answer(state, v, stream, opcode, body, send))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            self._writers.discard(writer)
            writer.close()

    async def _answer(self, state, version: int, stream: int, opcode: int, body: bytes, send) -> None:
        query = None
        try:
            r = wire.Reader(body)
            if opcode == wire.OPTIONS:
                self.log.append((opcode, version, None))
                out = wire.SUPPORTED, wire.string_multimap(self.cluster.profile.supported(version))
            elif opcode == wire.STARTUP:
                self.log.append((opcode, version, None))
                r.string_map()
                r.end()
                out = wire.READY, b""
            elif opcode == wire.REGISTER:
                self.log.append((opcode, version, None))
                r.string_list()
                r.end()
                out = wire.READY, b""
            elif opcode == wire.QUERY:
                query = normalise(r.long_string())
                params = wire.read_query_parameters(r)
                r.end()
                self.log.append((opcode, version, query))
                out = await self.cluster._run_query(self, state, query, params.values, version)
            elif opcode == wire.PREPARE:
                query = normalise(r.long_string())
                r.end()
                self.log.append((opcode, version, query))
                out = await self.cluster._prepare(self, state, query, version)
            elif opcode == wire.EXECUTE:
                query_id = r.short_bytes()
                params = wire.read_query_parameters(r)
                r.end()
                query = self.cluster._prepared.get(query_id)
                self.log.append((opcode, version, query))
                if query is None:
                    out = wire.ERROR, wire.error_body(wire.UNPREPARED, "Prepared query with ID %s not found"
                                                      % query_id.hex(), wire.short_bytes(query_id))
                else:
                    out = await self.cluster._run_query(self, state, query, params.values, version)
            elif opcode == wire.BATCH:
                kind, statements, _cl = wire.read_batch(r)
                r.end()
                self.log.append((opcode, version, None))
                out = await self.cluster._run_batch(self, state, statements, version)
            else:
                self.log.append((opcode, version, None))
                out = wire.ERROR, wire.error_body(wire.PROTOCOL_ERROR, "Unexpected opcode %d" % opcode)
        except ValueError as exc:  # a malformed request body (spec 9: PROTOCOL_ERROR)
            self.log.append((opcode, version, "malformed: %s" % exc))
            out = wire.ERROR, wire.error_body(wire.PROTOCOL_ERROR, "fake server: %s" % exc)
        except Exception as exc:  # a bug here must show in the test, not hang the driver
            out = wire.ERROR, wire.error_body(wire.SERVER_ERROR, "fake server: %r" % (exc,))
        opcode, body, *warnings = out
        if warnings and warnings[0] and version >= 4:
            await send(wire.frame(version, stream, opcode, wire.string_list(warnings[0]) + body,
                                  flags=wire.WARNING_FLAG))
        else:
            await send(wire.frame(version, stream, opcode, body))

    def close_connections(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()


class FakeCluster:
    """``nodes`` fake Cassandra nodes of ``profile`` on consecutive loopback addresses.

    Use as a context manager or ``start()``/``stop()``.  ``port`` and ``contact_points`` say
    where it listens; ``nodes[i].log`` what each node received.
    """

    def __init__(self, profile: str | Profile = "cassandra-3.11", nodes: int = 1,
                 first_ip: str = FIRST_IP, port: int = 0, keyspaces: dict | None = None) -> None:
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        base = first_ip.rsplit(".", 1)
        self.addresses = ["%s.%d" % (base[0], int(base[1]) + i) for i in range(nodes)]
        self.port = port
        self.nodes = [FakeNode(self, i, a) for i, a in enumerate(self.addresses)]
        self.tokens = self.profile.balanced_tokens(nodes)
        self.host_ids = self.profile.host_ids(nodes)
        self.keyspaces: dict = dict(keyspaces or {})   # name -> replication dict
        self.tables: dict = {}
        self.rules: list[Rule] = []
        self._prepared: dict = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    @property
    def contact_points(self) -> list:
        return list(self.addresses)

    def start(self) -> "FakeCluster":
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-cassandra", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        return self

    async def _listen(self) -> None:
        for _ in range(20):
            port = self.port or _free_port(self.addresses[0])
            servers = []
            try:
                for node in self.nodes:
                    servers.append(await asyncio.start_server(node.handle, node.address, port,
                                                              reuse_address=True))
            except OSError:
                for s in servers:
                    s.close()
                if self.port:
                    raise
                continue
            for node, s in zip(self.nodes, servers):
                node.server = s
            self.port = port
            return
        raise OSError("no common free port on %s" % self.addresses)

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close():
            for node in self.nodes:
                if node.server is not None:
                    node.server.close()
                node.close_connections()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> "FakeCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ scripting API

    def create_keyspace(self, name: str, replication: dict | None = None) -> None:
        self.keyspaces[name] = dict(replication or {
            "class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": "1"})

    def create_table(self, keyspace: str, name: str, columns: list, options: dict | None = None) -> Table:
        """``columns``: [(name, cql type, kind)] with kind partition_key, clustering or regular."""
        if keyspace not in self.keyspaces:
            self.create_keyspace(keyspace)
        table = Table(keyspace, name, [(n, wire.parse_type(t), k) for n, t, k in columns],
                      cql_types={n: t for n, t, _ in columns}, options=dict(options or {}))
        self.tables[(keyspace, name)] = table
        return table

    def script(self, pattern: str, rows: list | None = None, columns: list | None = None,
               error: tuple | None = None, delay: float = 0.0, times: int | None = None,
               nodes=None, warnings: list | None = None) -> Rule:
        """Answer queries matching ``pattern`` (case-insensitive regex) with ``rows`` of
        ``columns`` [(name, cql type)], an ERROR ``(code, message[, extra bytes])``, or, with
        neither, what the server would answer anyway, after ``delay`` seconds; ``times``
        answers at most; ``nodes`` limits it to those node indexes; ``warnings`` go with the
        answer (protocol v4+)."""
        rule = Rule(re.compile(pattern, re.I), columns, rows, error, delay, times,
                    set(nodes) if nodes is not None else None, warnings)
        with self._lock:
            self.rules.insert(0, rule)
        return rule

    def queries(self, node: int | None = None) -> list:
        nodes = self.nodes if node is None else [self.nodes[node]]
        return [q for n in nodes for (_, _, q) in n.log if q is not None]

    # ------------------------------------------------------------------ answering

    def _rule_for(self, node: FakeNode, query: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.applies(query, node.index):
                    rule.hits += 1
                    return rule
        return None

    async def _run_query(self, node: FakeNode, state, query: str, values: list, version: int):
        rule = self._rule_for(node, query)
        if rule is not None:
            if rule.delay:
                await asyncio.sleep(rule.delay)
            if rule.error is not None:
                code, message, *extra = rule.error
                return wire.ERROR, wire.error_body(code, message, extra[0] if extra else b"")
            if rule.rows is not None or rule.columns is not None:
                cols = [Column("ks", "t", n, wire.parse_type(t)) for n, t in (rule.columns or [])]
                return wire.RESULT, wire.result_rows(cols, [list(r) for r in rule.rows or []]), rule.warnings
        try:
            return wire.RESULT, self._execute(node, state, query, values), rule and rule.warnings
        except CqlError as exc:
            return wire.ERROR, wire.error_body(exc.code, exc.message)

    async def _run_batch(self, node: FakeNode, state, statements: list, version: int):
        for target, is_prepared, values in statements:
            query = self._prepared.get(target) if is_prepared else normalise(target)
            if query is None:
                return wire.ERROR, wire.error_body(wire.UNPREPARED, "Prepared query not found",
                                                   wire.short_bytes(target))
            opcode, body, *_ = await self._run_query(node, state, query, values, version)
            if opcode == wire.ERROR:
                return opcode, body
        return wire.RESULT, wire.result_void()

    async def _prepare(self, node: FakeNode, state, query: str, version: int):
        rule = self._rule_for(node, query)
        if rule is not None:
            if rule.delay:
                await asyncio.sleep(rule.delay)
            if rule.error is not None:
                code, message, *extra = rule.error
                return wire.ERROR, wire.error_body(code, message, extra[0] if extra else b"")
        try:
            bind, pk_indexes, result = self._describe(node, state, query)
        except CqlError as exc:
            return wire.ERROR, wire.error_body(exc.code, exc.message)
        query_id = hashlib.md5(query.encode()).digest()
        self._prepared[query_id] = query
        return wire.RESULT, wire.result_prepared(query_id, bind, pk_indexes, result, version)

    # --- a very small CQL: the statements drivers and the tests send

    def _lookup(self, node: FakeNode, state, keyspace: str | None, name: str):
        keyspace = (keyspace or "").strip('"').lower() or state.keyspace
        name = name.strip('"').lower()
        if keyspace is None:
            raise CqlError(wire.INVALID, "No keyspace has been specified. USE a keyspace, or explicitly "
                           "specify keyspace.tablename")
        system = self.profile.system_table(self, node, keyspace, name)
        if system is not None:
            return system
        if (keyspace, name) in self.tables:
            return self.tables[(keyspace, name)]
        if keyspace not in self.keyspaces and not self.profile.has_keyspace(keyspace):
            raise CqlError(wire.INVALID, self.profile.unknown_keyspace(keyspace))
        raise CqlError(wire.INVALID, self.profile.unknown_table(keyspace, name))

    def _describe(self, node, state, query: str):
        m = _INSERT.fullmatch(query)
        if m:
            table = self._lookup(node, state, m.group("ks"), m.group("table"))
            names = [n.strip().strip('"') for n in m.group("cols").split(",")]
            markers = [v.strip() for v in m.group("vals").split(",")]
            bind = [table.column(n) for n, v in zip(names, markers) if v == "?"]
            keys = [i for i, c in enumerate(bind) if c.name in table.key_names]
            return bind, keys, []
        m = _SELECT.fullmatch(query)
        if m:
            table = self._lookup(node, state, m.group("ks"), m.group("table"))
            result = self._selected(table, m.group("cols"))
            bind = [table.column(n) for n, v in _conditions(m.group("where")) if v == "?"]
            keys = [i for i, c in enumerate(bind) if c.name in table.key_names]
            return bind, keys, result
        raise CqlError(wire.SYNTAX_ERROR, "fake server cannot prepare: %s" % query)

    def _selected(self, table, cols: str) -> list:
        if cols.strip() == "*":
            return [Column(table.keyspace, table.name, n, t) for n, t, _ in table.columns]
        return [table.column(c.strip().strip('"')) for c in cols.split(",")]

    def _execute(self, node: FakeNode, state, query: str, values: list) -> bytes:
        m = _USE.fullmatch(query)
        if m:
            keyspace = m.group(1).strip('"')
            if keyspace not in self.keyspaces and not self.profile.has_keyspace(keyspace):
                raise CqlError(wire.INVALID, self.profile.unknown_keyspace(keyspace))
            state.keyspace = keyspace
            return wire.result_set_keyspace(keyspace)
        m = _INSERT.fullmatch(query)
        if m:
            table = self._lookup(node, state, m.group("ks"), m.group("table"))
            names = [n.strip().strip('"') for n in m.group("cols").split(",")]
            markers = [v.strip() for v in m.group("vals").split(",")]
            bound = iter(values)
            row = {}
            for n, marker in zip(names, markers):
                column = table.column(n)
                row[n] = Raw(next(bound)) if marker == "?" else _literal(column.type, marker)
            key = [wire.serialize(table.column(k).type, row.get(k)) for k in table.key_names]
            with self._lock:
                table.rows = [r for r in table.rows
                              if [wire.serialize(table.column(k).type, r.get(k)) for k in table.key_names] != key]
                table.rows.append(row)
            return wire.result_void()
        m = _SELECT.fullmatch(query)
        if m:
            table = self._lookup(node, state, m.group("ks"), m.group("table"))
            columns = self._selected(table, m.group("cols"))
            bound = iter(values)
            conditions = []
            for name, literal in _conditions(m.group("where")):
                column = table.column(name)
                wanted = next(bound) if literal == "?" else wire.serialize(column.type, _literal(column.type, literal))
                conditions.append((column, wanted))
            rows = [r for r in table.rows
                    if all(wire.serialize(c.type, r.get(c.name)) == v for c, v in conditions)]
            return wire.result_rows(columns, [[r.get(c.name) for c in columns] for r in rows])
        raise CqlError(wire.SYNTAX_ERROR, "line 1:0 fake server does not understand: %s" % query)


_NAME = r'(?:"[^"]+"|\w+)'
_USE = re.compile(r"USE (%s)" % _NAME, re.I)
_INSERT = re.compile(r"INSERT INTO (?:(?P<ks>%s)\.)?(?P<table>%s) ?\((?P<cols>[^)]*)\) VALUES ?\((?P<vals>[^)]*)\)"
                     r"(?: USING .*)?" % (_NAME, _NAME), re.I)
_SELECT = re.compile(r"SELECT (?P<cols>.+?) FROM (?:(?P<ks>%s)\.)?(?P<table>%s)(?: WHERE (?P<where>.+?))?"
                     r"(?: LIMIT \d+)?(?: ALLOW FILTERING)?" % (_NAME, _NAME), re.I)


def _conditions(where: str | None) -> list:
    if not where:
        return []
    out = []
    for part in re.split(r"\s+AND\s+", where, flags=re.I):
        m = re.fullmatch(r"\s*(%s)\s*=\s*(.+?)\s*" % _NAME, part)
        if not m:
            raise CqlError(wire.SYNTAX_ERROR, "fake server cannot filter on: %s" % part)
        out.append((m.group(1).strip('"'), m.group(2)))
    return out


def _literal(t: tuple, text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if t[0] in ("int", "bigint", "smallint", "tinyint", "varint", "counter"):
        return int(text)
    if t[0] in ("double", "float"):
        return float(text)
    if t[0] == "boolean":
        return text.lower() == "true"
    return text


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` until it is truthy (for state the driver changes on its own thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
