"""A fault-injecting TCP proxy for the native protocol, between a driver and a real node.

The proxy listens on a loopback address, opens one upstream connection per client connection,
and passes the client's bytes through unchanged.  It parses both directions into protocol frames
(v3/v4 frames, and on v5 the uncompressed segments that carry them once STARTUP is answered, as
``native_protocol_v5.spec`` section 2 describes) so that a :class:`Fault` can act on exactly the
answers to the requests a test chose: a request is *targeted* when its body contains the
proxy's ``marker`` bytes (a QUERY or PREPARE text naming the test's table), or is an EXECUTE of
an id the server returned for such a PREPARE.  The driver's own traffic (handshake, control
queries, heartbeats) is never touched.

Each fault is applied to at most ``limit`` targeted answers, one in ``every``; everything else is
re-encoded unchanged (on v5 with correct CRC24/CRC32).  The faults are those of issue 11: flip
bytes, truncate and close, announce a huge body length, stall mid-frame, duplicate a stream id,
delay or reorder answers, reset the connection.  The proxy runs its own asyncio loop in a daemon
thread and binds loopback addresses only.  It is test support: nothing in the driver imports it,
and it uses no driver code (its CRCs are written from the spec, checked against the reference
driver's in ``tests/unit/test_faultproxy.py``).
"""
from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import struct
import threading
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

__all__ = ["FaultProxy", "Fault", "FAULT_KINDS", "crc24", "encode_segments", "SegmentReader"]

HEADER = struct.Struct(">BBhBI")  # version (with the response bit), flags, stream, opcode, length
OP_READY = 0x02
OP_AUTHENTICATE = 0x03
OP_STARTUP = 0x01
OP_QUERY = 0x07
OP_RESULT = 0x08
OP_PREPARE = 0x09
OP_EXECUTE = 0x0A
OP_BATCH = 0x0D
RESULT_PREPARED = 4
DATA_REQUESTS = (OP_QUERY, OP_EXECUTE, OP_BATCH)

# Segments (v5 spec 2.2): a 3-byte little-endian header (17 bits of payload length, then the
# self-contained flag) protected by a CRC24, the payload, then a CRC32 of the payload.
MAX_SEGMENT_PAYLOAD = 128 * 1024 - 1
_CRC24_INIT = 0x875060
_CRC24_POLY = 0x1974F0B
_CRC32_SEED = zlib.crc32(b"\xfa\x2d\x55\xca")

FAULT_KINDS = ("flip", "truncate", "huge_length", "stall", "duplicate", "reorder", "delay", "reset")


def crc24(value: int, nbytes: int) -> int:
    """CRC24 of the ``nbytes`` low-order bytes of ``value``, least significant byte first."""
    crc = _CRC24_INIT
    for _ in range(nbytes):
        crc ^= (value & 0xFF) << 16
        value >>= 8
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= _CRC24_POLY
    return crc & 0xFFFFFF


def encode_segments(payload: bytes) -> bytes:
    """``payload`` (whole frames) as uncompressed v5 segments: one self-contained segment when it
    fits, else a run of non-self-contained ones."""
    if len(payload) <= MAX_SEGMENT_PAYLOAD:
        parts, self_contained = [payload], True
    else:
        parts = [payload[i:i + MAX_SEGMENT_PAYLOAD] for i in range(0, len(payload), MAX_SEGMENT_PAYLOAD)]
        self_contained = False
    out = bytearray()
    for part in parts:
        header = len(part) | (int(self_contained) << 17)
        out += header.to_bytes(3, "little") + crc24(header, 3).to_bytes(3, "little")
        out += part + zlib.crc32(part, _CRC32_SEED).to_bytes(4, "little")
    return bytes(out)


class SegmentReader:
    """Reassembles the frame byte stream carried by uncompressed v5 segments (CRCs not checked:
    the proxy's input comes from a real server or a driver, and faults are its own output)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> bytes:
        self._buf += data
        out = bytearray()
        while len(self._buf) >= 6:
            header = int.from_bytes(self._buf[:3], "little")
            length = header & 0x1FFFF
            if len(self._buf) < 6 + length + 4:
                break
            out += self._buf[6:6 + length]
            del self._buf[:6 + length + 4]
        return bytes(out)


class _FrameReader:
    """Splits a byte stream into whole frames ``(header, body)``."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> List[Tuple[bytes, bytes]]:
        self._buf += data
        frames = []
        while len(self._buf) >= HEADER.size:
            length = HEADER.unpack_from(self._buf)[4]
            end = HEADER.size + length
            if len(self._buf) < end:
                break
            frames.append((bytes(self._buf[:HEADER.size]), bytes(self._buf[HEADER.size:end])))
            del self._buf[:end]
        return frames


FLAG_TRACING = 0x02
FLAG_CUSTOM_PAYLOAD = 0x04
FLAG_WARNING = 0x08


def _skip_optional_parts(flags: int, body: bytes) -> int:
    """Offset of the message proper in a response body."""
    offset = 0
    if flags & FLAG_TRACING:
        offset += 16
    if flags & FLAG_WARNING:
        (count,) = struct.unpack_from(">H", body, offset)
        offset += 2
        for _ in range(count):
            (length,) = struct.unpack_from(">H", body, offset)
            offset += 2 + length
    if flags & FLAG_CUSTOM_PAYLOAD:
        (count,) = struct.unpack_from(">H", body, offset)
        offset += 2
        for _ in range(count):
            (length,) = struct.unpack_from(">H", body, offset)
            offset += 2 + length
            (length,) = struct.unpack_from(">i", body, offset)
            offset += 4 + max(length, 0)
    return offset


@dataclass
class Fault:
    """What to do to targeted answers: ``kind`` (one of :data:`FAULT_KINDS`) applied to one
    targeted answer in ``every``, at most ``limit`` times.  ``stall_seconds`` is how long a
    ``stall`` holds the rest of the frame; ``delay_seconds`` how long ``delay`` holds an answer
    and ``reorder`` waits for the next one before giving up and sending the held answer."""

    kind: str
    every: int = 5
    limit: int = 10
    stall_seconds: float = 3.0
    delay_seconds: float = 0.2
    seed: int = 11

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.every < 1 or self.limit < 0:
            raise ValueError("every must be >= 1 and limit >= 0")


@dataclass
class ProxyStats:
    connections: int = 0
    targeted_answers: int = 0
    faults_applied: int = 0
    by_kind: Dict[str, int] = field(default_factory=dict)


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, proxy: "FaultProxy", reader, writer) -> None:
        self.proxy = proxy
        self.client_reader = reader
        self.client_writer = writer
        self.up_reader = None
        self.up_writer = None
        self.segments = False          # v5 segments started (after READY / AUTHENTICATE, spec 2.3.1)
        self.client_segments = False
        self.targeted: Dict[int, int] = {}   # stream id -> opcode of a targeted request
        self.held: Optional[bytes] = None    # a reordered answer waiting for the next one
        self.closed = False

    async def run(self) -> None:
        try:
            self.up_reader, self.up_writer = await asyncio.open_connection(*self.proxy.upstream)
        except OSError:
            self.client_writer.close()
            return
        tasks = [asyncio.ensure_future(self._client_to_server()),
                 asyncio.ensure_future(self._server_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for writer in (self.client_writer, self.up_writer):
            if writer is not None:
                writer.close()

    def reset(self) -> None:
        sock = self.client_writer.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER 0: close() sends RST instead of FIN.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.client_writer.transport.abort()
        self.close()

    async def _client_to_server(self) -> None:
        frames = _FrameReader()
        segments = SegmentReader()
        while True:
            data = await self.client_reader.read(65536)
            if not data:
                return
            self.up_writer.write(data)
            if self.client_segments or self.segments:
                self.client_segments = True
                data = segments.feed(data)
            for header, body in frames.feed(data):
                _, _, stream, opcode, _ = HEADER.unpack(header)
                if self.proxy.is_targeted_request(opcode, body):
                    self.targeted[stream] = opcode
                else:
                    self.targeted.pop(stream, None)
            await self.up_writer.drain()

    async def _server_to_client(self) -> None:
        frames = _FrameReader()
        segments = SegmentReader()
        while True:
            data = await self.up_reader.read(65536)
            if not data:
                return
            if self.segments:
                data = segments.feed(data)
            for header, body in frames.feed(data):
                version, _, stream, opcode, _ = HEADER.unpack(header)
                opcode_of_request = self.targeted.pop(stream, None)
                if opcode_of_request == OP_PREPARE and opcode == OP_RESULT:
                    self.proxy.learn_prepared(HEADER.unpack(header)[1], body)
                encoded = self._encode(header + body)
                if opcode_of_request in DATA_REQUESTS:
                    await self.proxy.apply(self, header, body, encoded)
                else:
                    await self.send(encoded)
                if self.closed:
                    return
                if (version & 0x7F) >= 5 and opcode in (OP_READY, OP_AUTHENTICATE) and not self.segments:
                    self.segments = True
            await self.client_writer.drain()

    def _encode(self, frame: bytes) -> bytes:
        return encode_segments(frame) if self.segments else frame

    async def send(self, data: bytes) -> None:
        if self.closed:
            return
        self.client_writer.write(data)
        if self.held is not None:
            held, self.held = self.held, None
            self.client_writer.write(held)
        await self.client_writer.drain()


class FaultProxy:
    """``FaultProxy(upstream=(host, port), marker=b"kv_faults")``; ``start()`` returns the
    ``(host, port)`` the driver should connect to; ``set_fault(Fault(...))`` or ``None``;
    ``stop()``.  ``stats`` counts connections, targeted answers and faults applied."""

    def __init__(self, upstream: Tuple[str, int], marker: bytes, listen_host: Optional[str] = None) -> None:
        host = listen_host or upstream[0]
        for address in (host, upstream[0]):
            if not ipaddress.ip_address(address).is_loopback:
                raise ValueError(f"the fault proxy only works on loopback addresses, not {address}")
        if not marker:
            raise ValueError("marker must be non-empty bytes")
        self.upstream = (upstream[0], int(upstream[1]))
        self.listen_host = host
        self.marker = bytes(marker)
        self.stats = ProxyStats()
        self._fault: Optional[Fault] = None
        self._rng = random.Random(0)
        self._seen = 0
        self._prepared_ids: Set[bytes] = set()
        self._links: List[_Link] = []
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server = None
        self._thread: Optional[threading.Thread] = None
        self.address: Optional[Tuple[str, int]] = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Tuple[str, int]:
        ready = threading.Event()
        failure: List[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._accept, self.listen_host, 0))
                self.address = self._server.sockets[0].getsockname()[:2]
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fault proxy did not start within 10 s")
        if failure:
            raise failure[0]
        return self.address

    def stop(self) -> None:
        loop = self._loop
        if loop is None or not loop.is_running():
            return

        async def shutdown() -> None:
            self._server.close()
            for link in list(self._links):
                link.close()
            await asyncio.sleep(0)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(10)

    def __enter__(self) -> "FaultProxy":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- control (any thread) ----------------------------------------------------------------
    def set_fault(self, fault: Optional[Fault]) -> None:
        """Apply ``fault`` to the targeted answers from now on (``None``: pass everything)."""
        self._seen = 0
        self._rng = random.Random(fault.seed if fault else 0)
        self._fault = fault

    def reset_connections(self) -> int:
        """Reset every client connection now; returns how many were open."""
        loop = self._loop
        links = list(self._links)
        for link in links:
            loop.call_soon_threadsafe(link.reset)
        return len(links)

    # -- on the proxy's loop -----------------------------------------------------------------
    async def _accept(self, reader, writer) -> None:
        self.stats.connections += 1
        link = _Link(self, reader, writer)
        self._links.append(link)
        try:
            await link.run()
        finally:
            self._links.remove(link)

    def is_targeted_request(self, opcode: int, body: bytes) -> bool:
        if opcode in (OP_QUERY, OP_PREPARE, OP_BATCH) and self.marker in body:
            return True
        if opcode in (OP_EXECUTE, OP_BATCH):
            for prepared_id in self._prepared_ids:
                if prepared_id in body[:2 + len(prepared_id)] or (opcode == OP_BATCH and prepared_id in body):
                    return True
        return False

    def learn_prepared(self, flags: int, body: bytes) -> None:
        """Remembers the id of a Prepared RESULT, after the optional parts that the frame flags
        announce (spec 2.2: tracing id, then warnings, then custom payload)."""
        offset = _skip_optional_parts(flags, body)
        if len(body) >= offset + 6 and struct.unpack_from(">i", body, offset)[0] == RESULT_PREPARED:
            (length,) = struct.unpack_from(">H", body, offset + 4)
            self._prepared_ids.add(bytes(body[offset + 6:offset + 6 + length]))

    async def apply(self, link: _Link, header: bytes, body: bytes, encoded: bytes) -> None:
        self.stats.targeted_answers += 1
        fault = self._fault
        if fault is None or self.stats.by_kind.get(fault.kind, 0) >= fault.limit:
            await link.send(encoded)
            return
        self._seen += 1
        if self._seen % fault.every:
            await link.send(encoded)
            return
        self.stats.faults_applied += 1
        self.stats.by_kind[fault.kind] = self.stats.by_kind.get(fault.kind, 0) + 1
        kind = fault.kind
        if kind == "flip":
            # On v5 the segment's CRC32 no longer matches; on v4 the body is simply wrong.
            data = bytearray(encoded)
            start = 6 + HEADER.size if link.segments else HEADER.size
            start = min(start, len(data) - 1)
            for _ in range(3):
                position = self._rng.randrange(start, len(data))
                data[position] ^= 1 << self._rng.randrange(8)
            await link.send(bytes(data))
        elif kind == "truncate":
            await link.send(encoded[:max(1, len(encoded) // 2)])
            link.close()
        elif kind == "huge_length":
            version, flags, stream, opcode, _ = HEADER.unpack(header)
            forged = HEADER.pack(version, flags, stream, opcode, 0x7FFFFFF0)
            await link.send(link._encode(forged + body))
        elif kind == "stall":
            half = max(1, len(encoded) // 2)
            await link.send(encoded[:half])
            await asyncio.sleep(fault.stall_seconds)
            await link.send(encoded[half:])
        elif kind == "duplicate":
            await link.send(encoded + encoded)
        elif kind == "reorder":
            if link.held is None:
                link.held = encoded
                loop = asyncio.get_running_loop()
                loop.call_later(fault.delay_seconds, self._flush_held, link, encoded)
            else:
                await link.send(encoded)
        elif kind == "delay":
            await asyncio.sleep(fault.delay_seconds)
            await link.send(encoded)
        elif kind == "reset":
            link.reset()

    @staticmethod
    def _flush_held(link: _Link, encoded: bytes) -> None:
        if link.held is encoded and not link.closed:
            link.held = None
            link.client_writer.write(encoded)
