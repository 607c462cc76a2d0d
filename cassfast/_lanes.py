"""Lanes: connections that a thread blocked in ``Session.execute`` drives itself.

Why they exist.  Through the I/O loop, a synchronous request costs two thread hand-offs: the loop
thread wakes to read the answer, then wakes the caller (and the two trade the GIL).  On this
project's machine that is ~100 us of client CPU per request, where the socket round trip itself
costs ~45 (``bench/e2e_rawsync.py``).  A lane is a plain blocking socket to one host that carries
one request at a time for the thread that borrowed it: that thread encodes, sends, sleeps in
``recv``, decodes and handles the answer.  No other thread is woken.

What a lane shares with the pool's connections, so that behaviour cannot drift apart:
- the handshake is the same ``_handshake.Handshake`` state machine (OPTIONS, STARTUP,
  compression, the v5 switch to checksummed segments, the authenticator exchange): a lane only
  carries its messages over the blocking socket (:func:`_shake_hands`), as ``Connection`` does
  over asyncio, applying each step's framing at the same points;
- frames are cut by the same ``_core.FrameDecoder`` and messages encoded/decoded by the same
  ``protocol.ProtocolHandler``; the answer goes to the same ``ResponseFuture._on_response``, so
  retries, re-prepares, paging state, warnings and tracing are decided in ``_request.py`` as for
  any other request.

Rules of a lane:
- One request at a time, each on a new stream id.  A frame for another stream is the late answer
  of an earlier request that timed out; it is dropped (its id is not reused until it arrives).
- A lane idle for ``_IDLE_CHECK_AFTER`` seconds or more is checked before use: a zero-timeout
  ``poll`` tells whether the server closed the socket meanwhile (a restarted node); such a lane
  is discarded before anything is sent, so a non-idempotent statement is not put at risk by a
  stale socket.  A lane used more recently is not checked (the ``poll`` costs ~5% of a
  synchronous request): a server that closes connections (shutdown, drain) closes the pool's
  too, and the host's lanes are dropped as soon as the pool has lost them (see ``reset``), so
  the unchecked window is that of any in-flight request.
- A request's deadline is enforced with ``SO_RCVTIMEO`` (no extra ``poll`` per ``recv``); the
  kernel timeout is only lowered when the remaining time is more than ``_TIMEOUT_SLACK`` below it,
  so a request may overrun its timeout by at most that much.
- Lanes exist only beside a healthy pool: ``LaneSet.borrow`` gives nothing while the pool has no
  open connection (the pool's reconnection schedule governs a failing host).  A lane that cannot
  be opened stops lane creation for that host for ``_OPEN_RETRY_DELAY`` seconds; the request
  falls back to the pool's multiplexed connections.
- Idle lanes are closed by the cluster's heartbeat task after ``idle_heartbeat_interval``; the
  pool's shutdown closes idle lanes and shuts down the sockets of busy ones, which wakes their
  threads with ``ConnectionShutdown``.

Threads: a lane belongs to one thread between ``borrow`` and ``give_back``; ``LaneSet`` guards
its lists with one lock held for a few list operations.
"""
from __future__ import annotations

import socket
import ssl as _ssl
import threading
import time

from cassfast import ConsistencyLevel, protocol
from cassfast._core import FrameDecoder, ProtocolError
from cassfast._handshake import Done, Handshake, Negotiated
# LaneTimeout and LaneSendFailed are raised by the compiled request and public here.
from cassfast._lane import _RECV_SIZE, LaneCore, LaneSendFailed, LaneTimeout  # noqa: F401
from cassfast.connection import (ConnectionException, OperationTimedOutOnConnect, _segment_writer,
                                 apply_sockopts,
                                 tls_for_endpoint)
from cassfast.protocol import QueryMessage
from cassfast import _logger_for

log = _logger_for(__name__)
_monotonic = time.monotonic

_OPEN_RETRY_DELAY = 2.0
_IDLE_CHECK_AFTER = 1.0


class Lane(LaneCore):
    """One blocking connection to one host, used by one thread at a time: the compiled
    ``LaneCore`` (state, one request) plus opening, ``USE`` and closing."""

    __slots__ = ()

    @classmethod
    def open(cls, endpoint, protocol_version: int, connect_timeout: float, options: dict) -> "Lane":
        """Connect and shake hands on the calling thread (blocking, bounded by ``connect_timeout``).

        ``options`` are the keyword arguments of ``Connection`` (``Connector.connection_options``)."""
        return cls._open(endpoint, protocol_version, connect_timeout, **options)

    @classmethod
    def _open(cls, endpoint, protocol_version: int, connect_timeout: float, *,
              compression=True, authenticator_factory=None, ssl_context=None, server_hostname=None,
              cql_version=None, user_type_map=None, allow_beta_protocol_version=False,
              no_compact=False, application_name=None, application_version=None,
              sockopts=None) -> "Lane":
        deadline = _monotonic() + connect_timeout
        handshake = Handshake(protocol_version, endpoint, compression=compression,
                              authenticator_factory=authenticator_factory, cql_version=cql_version,
                              no_compact=no_compact, application_name=application_name,
                              application_version=application_version)
        user_type_map = user_type_map if user_type_map is not None else {}
        address, port = endpoint.resolve()
        unix = endpoint.socket_family == socket.AF_UNIX
        try:
            sock = _connect_unix(address, connect_timeout) if unix else socket.create_connection(
                (address, port), connect_timeout)
        except OSError as exc:
            raise ConnectionException("Failed to connect to %s: %s" % (endpoint, exc), endpoint) from exc
        try:
            if not unix:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            apply_sockopts(sock, sockopts, endpoint)
            ssl_ctx, server_hostname = tls_for_endpoint(endpoint, address, ssl_context,
                                                        server_hostname)
            if ssl_ctx is not None:
                sock = ssl_ctx.wrap_socket(sock, server_hostname=server_hostname)
            decoder = FrameDecoder(protocol_version)
            negotiated = _shake_hands(handshake, sock, decoder, endpoint, protocol_version,
                                      allow_beta_protocol_version, user_type_map, deadline)
            sock.settimeout(None)  # blocking from here on; deadlines use SO_RCVTIMEO
        except BaseException:
            sock.close()
            raise
        return cls(endpoint, sock, decoder, negotiated, protocol_version,
                   allow_beta_protocol_version, user_type_map)

    def use_keyspace(self, keyspace: str, deadline: float | None) -> None:
        """Make ``keyspace`` the lane's current one (a ``USE`` round trip); raises its error."""
        response = self.request(QueryMessage('USE "%s"' % keyspace.replace('"', '""'),
                                             ConsistencyLevel.ONE), None, None, deadline)
        # A server ERROR is itself an exception object: map it first (InvalidRequest for an
        # unknown keyspace), as Connection.request does.
        if hasattr(response, "to_exception"):
            raise response.to_exception()
        if isinstance(response, BaseException):
            raise response
        self.keyspace = keyspace

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        self.broken = True
        try:
            self.sock.close()
        except OSError:  # pragma: no cover - already closed
            pass

    def abort(self) -> None:
        """Wake a thread blocked on this lane (any thread may call it)."""
        self.broken = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __repr__(self) -> str:
        return "<Lane %s%s>" % (self.endpoint, " broken" if self.broken else "")


def _connect_unix(path: str, timeout: float) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


def _shake_hands(handshake: Handshake, sock, decoder: FrameDecoder, endpoint, protocol_version: int,
                 beta: bool, user_type_map: dict, deadline: float) -> Negotiated:
    """Carry ``handshake``'s messages over the blocking ``sock`` until it is done (or raises).

    Each step's framing is in force for its request and its answer, as in ``Connection``: the
    decompressor before STARTUP is sent, body compression or v5 segments once it is answered.
    The whole exchange must finish by ``deadline`` (``OperationTimedOutOnConnect``).
    """
    encode = protocol.ProtocolHandler.encode_message
    decode = protocol.ProtocolHandler.decode_message
    segments = None
    step = handshake.start()
    while not isinstance(step, Done):
        framing = step.framing
        if framing.segments and segments is None:
            decoder.start_segments(framing.compression)
            segments = _segment_writer(framing.compression)
        data = encode(step.message, 0, protocol_version, framing.compressor, beta)
        if segments is not None:
            data = segments([data])
        try:
            version, flags, _, opcode, body = _exchange(sock, decoder, data, deadline, endpoint)
            response = decode(version, user_type_map, 0, flags, opcode, body, framing.decompressor,
                              None)
        except OperationTimedOutOnConnect:
            raise
        except (ProtocolError, ConnectionException) as exc:
            handshake.on_connection_error(exc)
        step = handshake.on_response(response)
    if step.framing.segments and segments is None:
        decoder.start_segments(step.framing.compression)
    return step.result


def _exchange(sock, decoder: FrameDecoder, data: bytes, deadline: float, endpoint) -> tuple:
    """Send ``data`` and return the next frame on stream 0 (``FrameDecoder`` tuple)."""
    try:
        sock.settimeout(max(deadline - _monotonic(), 0.001))
        sock.sendall(data)
        while True:
            sock.settimeout(max(deadline - _monotonic(), 0.001))
            chunk = sock.recv(_RECV_SIZE)
            if not chunk:
                raise ConnectionException("Connection to %s was closed during the handshake"
                                          % endpoint, endpoint)
            for frame in decoder.feed(chunk):
                if frame[2] == 0:
                    return frame
    except (socket.timeout, _ssl.SSLWantReadError) as exc:
        raise OperationTimedOutOnConnect("Timed out during the handshake with %s" % endpoint,
                                         endpoint) from exc
    except OSError as exc:
        raise ConnectionException("Handshake with %s failed: %s" % (endpoint, exc), endpoint) from exc


class LaneSet:
    """The lanes of one host pool: created on demand up to ``limit``, reused last-in first-out."""

    def __init__(self, pool, limit: int) -> None:
        self.pool = pool
        self.limit = limit
        self._idle: list[Lane] = []
        self._all: set[Lane] = set()
        self._lock = threading.Lock()
        self._opening = 0
        self._retry_at = 0.0
        self.closed = False

    @property
    def open_count(self) -> int:
        return len(self._all)

    def borrow(self) -> Lane | None:
        """An idle lane, a new one, or None (limit reached, pool unhealthy, or opening failed)."""
        pool = self.pool
        if not pool.connections:
            return None
        checked_before = _monotonic() - _IDLE_CHECK_AFTER
        lock = self._lock
        lock.acquire()  # not ``with`` here and in give_back: that costs twice as much
        try:
            while self._idle:
                lane = self._idle.pop()
                if lane.last_used > checked_before or lane.usable():
                    return lane
                self._all.discard(lane)
                lane.close()
            if (self.closed or len(self._all) + self._opening >= self.limit
                    or _monotonic() < self._retry_at):
                return None
            self._opening += 1
        finally:
            lock.release()
        lane = None
        try:
            settings = pool.settings
            lane = Lane.open(pool.host.endpoint, settings.protocol_version, settings.connect_timeout,
                             pool.connector.connection_options(pool.host.endpoint))
        except Exception as exc:
            log.debug("Could not open a lane to %s (using the pool's connections): %s",
                      pool.host, exc)
        with self._lock:
            self._opening -= 1
            if lane is None:
                self._retry_at = _monotonic() + _OPEN_RETRY_DELAY
                return None
            if self.closed or not pool.connections:
                # Closed, or the pool lost its connections (host going down, lanes reset)
                # while this one was opening: it must not outlive that reset.
                lane.close()
                return None
            self._all.add(lane)
        return lane

    def give_back(self, lane: Lane) -> None:
        if lane.broken or self.closed:
            self.discard(lane)
            return
        lane.last_used = _monotonic()
        lock = self._lock
        lock.acquire()
        try:
            self._idle.append(lane)
        finally:
            lock.release()

    def discard(self, lane: Lane) -> None:
        with self._lock:
            self._all.discard(lane)
        lane.close()

    def close_idle(self, idle_for: float) -> int:
        """Close lanes unused for ``idle_for`` seconds; returns how many (heartbeat task)."""
        cutoff = _monotonic() - idle_for
        with self._lock:
            stale = [lane for lane in self._idle if lane.last_used <= cutoff]
            if not stale:
                return 0
            self._idle = [lane for lane in self._idle if lane.last_used > cutoff]
            for lane in stale:
                self._all.discard(lane)
        for lane in stale:
            lane.close()
        return len(stale)

    def reset(self) -> None:
        """The host was marked down: drop every lane, waking threads blocked on busy ones
        (which then see ConnectionShutdown); new lanes may be opened once the host is back."""
        self._drop_all()

    def close(self) -> None:
        """Close idle lanes and wake the threads on busy ones (they close theirs on return)."""
        with self._lock:
            self.closed = True
        self._drop_all()

    def _drop_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            busy = [lane for lane in self._all if lane not in idle]
            self._all.clear()
        for lane in idle:
            lane.close()
        for lane in busy:
            lane.abort()
