"""One native-protocol connection to one node, driven by the cluster's event loop.

Scope: opening the socket (TCP or unix, optionally TLS), the handshake (OPTIONS/SUPPORTED, STARTUP,
READY or the AUTHENTICATE/AUTH_RESPONSE/AUTH_CHALLENGE/AUTH_SUCCESS exchange, spec 4.1.1-4.1.2 and
4.2.2-4.2.3), the switch to v5 checksummed segments once STARTUP is answered (v5 spec 2.2), stream-id
multiplexing (up to 32,768 requests in flight, spec 2.3), coalesced writes (every frame queued in
one loop iteration goes out in one ``write``), heartbeats, and defunct handling: a connection that
fails fails exactly the requests that were in flight on it, once, and tells its owner.

The handshake's decisions are made by ``cassfast._handshake.Handshake`` (no I/O); this module only
carries its messages.  Everything here except the exception classes runs on the loop thread
(``cassfast._loop``); no method takes a lock.  Frames are cut by ``cassfast._core.FrameDecoder``;
message bodies are encoded and decoded by ``cassfast.protocol.ProtocolHandler``.
"""
from __future__ import annotations

import asyncio
import os
import socket
import ssl as _ssl
import threading
import time
from typing import Any, Callable

from cassfast import ConsistencyLevel, OperationTimedOut, __version__
from cassfast import _wire, protocol
from cassfast._core import FrameDecoder, ProtocolError, SegmentEncoder  # ProtocolError: the core's typed error for malformed input
from cassfast._handshake import (DRIVER_NAME, ConnectionException, Done, Framing, Handshake,  # noqa: F401
                                 ProtocolVersionUnsupported)
from cassfast.host import (DefaultEndPoint, DefaultEndPointFactory, EndPoint,  # noqa: F401 (reference re-exports)
                           EndPointFactory, SniEndPoint, SniEndPointFactory, UnixSocketEndPoint)
from cassfast import _logger_for

log = _logger_for(__name__)
_monotonic = time.monotonic
_get_ident = threading.get_ident


# Highest stream id a v3+ connection may use, and the events' id (defined in _wire).
MAX_STREAM_ID = _wire.MAX_STREAM_ID
EVENT_STREAM_ID = _wire.EVENT_STREAM_ID

class ConnectionShutdown(ConnectionException):
    """The connection was closed or marked defunct while the request was using it."""


class ConnectionBusy(Exception):
    """Every stream id of the connection is in use."""


class ConnectionDraining(ConnectionBusy):
    """The pool retired the connection (it closes once drained); nothing was sent on it.

    The request is free to borrow another connection of the same pool: a retired connection is
    no longer handed out.
    """


class CrcMismatchException(ConnectionException):
    """A v5 segment failed its CRC check."""


def tls_for_endpoint(endpoint, address: str, ssl_context, server_hostname):
    """``(SSLContext or None, server_hostname or None)`` to connect to ``endpoint`` at ``address``.

    An endpoint's ``ssl_options`` may be an SSLContext, or the reference's dict form
    (``SniEndPoint``: ``{'server_hostname': <host id>}``), which names the TLS server behind a
    proxy and so implies TLS.  With TLS the name checked defaults to the dialled address.
    """
    endpoint_ssl = getattr(endpoint, "ssl_options", None)
    if isinstance(endpoint_ssl, _ssl.SSLContext):
        ssl_context = ssl_context or endpoint_ssl
    elif endpoint_ssl:
        server_hostname = endpoint_ssl.get("server_hostname") or server_hostname
        ssl_context = ssl_context or _ssl.create_default_context()
    if ssl_context is None:
        return None, None
    return ssl_context, server_hostname or address


class Connection(asyncio.Protocol):
    """A multiplexed connection.  Open it with ``await Connection.open(...)``.

    Hot path: :meth:`send_request` (allocates a stream id, encodes, queues the bytes) and
    ``data_received`` (cuts frames, decodes bodies, calls the request's callback).  The callback
    gets ``(response_message_or_exception)``; it is called exactly once per accepted request.

    A request that times out on the client leaves its stream id *orphaned* until the server
    answers it.  Once ``orphaned_threshold`` streams are orphaned at the same time,
    ``orphaned_threshold_reached`` is set and ``on_orphaned_threshold`` tells the owning pool,
    which replaces the connection (as the reference's ``HostConnection`` does).
    """

    # Reference value (cassandra.connection.Connection.orphaned_threshold): three quarters of the
    # stream ids.  A class attribute, so an application (or a test) may lower it.
    orphaned_threshold = 3 * (MAX_STREAM_ID + 1) // 4

    def __init__(self, endpoint: EndPoint, loop: asyncio.AbstractEventLoop, protocol_version: int, *,
                 compression: bool | str = True, authenticator_factory: Callable | None = None,
                 ssl_context: _ssl.SSLContext | None = None, server_hostname: str | None = None,
                 cql_version: str | None = None, user_type_map: dict | None = None,
                 event_callback: Callable | None = None, allow_beta_protocol_version: bool = False,
                 no_compact: bool = False, application_name: str | None = None,
                 application_version: str | None = None, max_requests: int = MAX_STREAM_ID + 1,
                 owner: Any = None, write_batcher: Any = None, sockopts=None) -> None:
        self.endpoint = endpoint
        self.loop = loop
        self.protocol_version = protocol_version
        self.compression = compression
        self.authenticator_factory = authenticator_factory
        self.ssl_context = ssl_context
        self.server_hostname = server_hostname
        self.cql_version = cql_version
        self.user_type_map = user_type_map if user_type_map is not None else {}
        self.event_callback = event_callback
        self.allow_beta_protocol_version = allow_beta_protocol_version
        self.no_compact = no_compact
        self.application_name = application_name
        self.application_version = application_version
        self.owner = owner
        self._batcher = write_batcher
        self.sockopts = sockopts

        self.transport: asyncio.Transport | None = None
        self.keyspace: str | None = None
        self.is_defunct = False
        self.is_closed = False
        self.last_error: BaseException | None = None
        self.supported_options: dict = {}
        self.compressor_name: str | None = None
        self._compressor = None
        self._decompressor = None
        self._segment_writer: Callable | None = None

        # Stream ids: handed out from ``_free_ids`` first, then by counting up, so a lightly
        # loaded connection keeps few id objects alive.
        self._max_ids = min(max_requests, MAX_STREAM_ID + 1)
        self._free_ids: list[int] = []
        self._next_id = 1  # 0 is used by the handshake
        self._inflight: dict[int, tuple] = {}
        self.orphaned = 0
        self.orphaned_threshold_reached = False
        # Set by the owning pool: called (loop thread) once, when orphans reach the threshold.
        self.on_orphaned_threshold: Callable[["Connection"], None] | None = None
        # Set by the owning pool when it retires the connection: no new request is accepted,
        # and the pool closes it once only orphaned streams are left (``close_drained``).
        self.draining = False
        self._closed_drained = False
        self._out: list[bytes] = []
        self._flush_pending = False
        self._close_waiters: list[Callable] = []
        self.last_activity = time.monotonic()
        self._decoder = None
        self._encode = None
        self._decode = None
        # Set by the owning pool: called after a read freed stream ids, to resume parked requests.
        self.on_streams_freed: Callable[[], None] | None = None
        # Direct writes (plain TCP only): a duplicate of the socket's descriptor that any thread
        # may write whole frames to under ``_wlock``, so that a thread blocked in a synchronous
        # ``execute`` sends its request itself instead of waking the loop thread to do it.
        # Bytes the kernel does not take at once wait in ``_wbacklog`` (guarded by ``_wlock``)
        # and are written by the loop when the socket becomes writable; while a backlog exists
        # every write appends to it, which keeps frames in order.
        self._wsock: socket.socket | None = None
        self._wlock = threading.Lock()
        self._wbacklog: list[bytes] = []
        self._id_lock = threading.Lock()
        self._loop_ident: int | None = None

    # ------------------------------------------------------------------ opening and the handshake

    @classmethod
    async def open(cls, endpoint: EndPoint, loop: asyncio.AbstractEventLoop, protocol_version: int,
                   connect_timeout: float = 5.0, **kwargs) -> "Connection":
        """Connect and complete the handshake within ``connect_timeout`` seconds."""
        conn = cls(endpoint, loop, protocol_version, **kwargs)
        try:
            await asyncio.wait_for(conn._open(), connect_timeout)
        except asyncio.TimeoutError:
            conn._abort(ConnectionException(
                "Timed out after %ss connecting to %s" % (connect_timeout, endpoint), endpoint))
            raise OperationTimedOutOnConnect(
                "Timed out after %ss connecting to %s" % (connect_timeout, endpoint), endpoint) from None
        except BaseException as exc:
            conn._abort(exc)
            raise
        return conn

    def _new_handshake(self) -> Handshake:
        return Handshake(self.protocol_version, self.endpoint, compression=self.compression,
                         authenticator_factory=self.authenticator_factory,
                         cql_version=self.cql_version, no_compact=self.no_compact,
                         application_name=self.application_name,
                         application_version=self.application_version)

    async def _open(self) -> None:
        self._protocol_module = protocol
        handshake = self._new_handshake()  # a bad compression name fails before dialling
        self._encode = protocol.ProtocolHandler.encode_message
        self._decode = protocol.ProtocolHandler.decode_message
        self._decoder = FrameDecoder(self.protocol_version)
        address, port = self.endpoint.resolve()
        ssl_ctx, server_hostname = tls_for_endpoint(self.endpoint, address, self.ssl_context,
                                                    self.server_hostname)
        try:
            if self.endpoint.socket_family == socket.AF_UNIX:
                await self.loop.create_unix_connection(
                    lambda: self, address, ssl=ssl_ctx, server_hostname=server_hostname)
            else:
                await self.loop.create_connection(
                    lambda: self, address, port, ssl=ssl_ctx, server_hostname=server_hostname)
        except OSError as exc:
            raise ConnectionException(
                "Failed to connect to %s: %s" % (self.endpoint, exc), self.endpoint) from exc
        self._loop_ident = threading.get_ident()
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - e.g. a unix socket
                pass
            apply_sockopts(sock, self.sockopts, self.endpoint)
        await self._handshake(handshake)
        if ssl_ctx is None and sock is not None:
            # After the handshake: until then every write went through the transport, which
            # has flushed them (the server answered).
            try:
                self._wsock = socket.socket(fileno=os.dup(sock.fileno()))
                self._wsock.setblocking(False)
            except OSError:  # pragma: no cover - keep using the transport
                self._wsock = None

    async def _handshake_request(self, msg) -> Any:
        """Send one handshake message on stream 0 and wait for its answer (in the framing of
        ``_apply_framing``: legacy frames, compressed bodies after STARTUP, or v5 segments)."""
        if self.is_defunct:
            raise self.last_error or ConnectionShutdown("Connection to %s is defunct" % self.endpoint,
                                                        self.endpoint)
        future = self.loop.create_future()

        def done(response):
            if not future.done():
                future.set_result(response)
        self._inflight[0] = (done, None, None)
        self._queue_frame(self._encode(msg, 0, self.protocol_version, self._compressor,
                                       self.allow_beta_protocol_version))
        response = await future
        if isinstance(response, BaseException) and not hasattr(response, "code"):
            raise response  # a connection failure; server ERRORs are returned to the caller
        return response

    async def _handshake(self, handshake: Handshake) -> None:
        """Carry ``handshake``'s messages on stream 0 until it is done (it raises on failure)."""
        step = handshake.start()
        while not isinstance(step, Done):
            self._apply_framing(step.framing)
            try:
                response = await self._handshake_request(step.message)
            except (ProtocolError, ConnectionException) as exc:
                handshake.on_connection_error(exc)
            step = handshake.on_response(response)
        self._apply_framing(step.framing)
        self.supported_options = step.result.supported_options

    def _apply_framing(self, framing: Framing) -> None:
        """Put the handshake's framing in force for the next request and its answer."""
        self._compressor = framing.compressor
        self._decompressor = framing.decompressor
        if framing.compression:
            self.compressor_name = framing.compression
        if framing.segments and self._segment_writer is None:
            self._decoder.start_segments(framing.compression)
            self._segment_writer = _segment_writer(framing.compression)

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        batcher = self._batcher
        if batcher is None:
            self._on_data(data)
            return
        # Requests sent by response callbacks (retries, next pages) share one write.
        batcher.depth += 1
        try:
            self._on_data(data)
        finally:
            batcher.depth -= 1
        if batcher.dirty and not batcher.depth:
            batcher.flush()

    def _on_data(self, data: bytes) -> None:
        self.last_activity = _monotonic()
        try:
            frames = self._decoder.feed(data)
        except Exception as exc:
            self.defunct(exc if isinstance(exc, ConnectionException) else ConnectionException(
                "Malformed data from %s: %s" % (self.endpoint, exc), self.endpoint))
            return
        inflight = self._inflight
        free = self._free_ids
        decode = self._decode
        for version, flags, stream_id, opcode, body in frames:
            if stream_id < 0:
                self._handle_event(flags, stream_id, opcode, body)
                continue
            entry = inflight.pop(stream_id, None)
            if entry is None:
                log.debug("Response on unused stream %d from %s", stream_id, self.endpoint)
                continue
            if stream_id:
                free.append(stream_id)
            callback, result_metadata, row_factory = entry
            if callback is None:  # the request timed out earlier; its id is reusable now
                self.orphaned -= 1
                continue
            try:
                response = decode(version, self.user_type_map, stream_id, flags, opcode, body,
                                  self._decompressor, result_metadata, row_factory)
            except Exception as exc:
                response = exc
            try:
                callback(response)
            except Exception:
                log.exception("Unhandled error in a response callback for %s", self.endpoint)
        hook = self.on_streams_freed
        if hook is not None and frames:
            hook()

    def _handle_event(self, flags, stream_id, opcode, body) -> None:
        if self.event_callback is None:
            return
        try:
            event = self._decode(self.protocol_version, self.user_type_map, stream_id, flags, opcode,
                                 body, self._decompressor, None)
            self.event_callback(event)
        except Exception:
            log.exception("Failed to handle a server event from %s", self.endpoint)

    def connection_lost(self, exc) -> None:
        self._close_wsock()  # the duplicate descriptor would keep the TCP connection open
        if self._closed_drained:
            return  # see close_drained: what is left belongs to senders that take it back
        if not self.is_closed:
            self.defunct(ConnectionShutdown(
                "Connection to %s was closed%s" % (self.endpoint, ": %s" % exc if exc else ""),
                self.endpoint))
        else:
            self._fail_inflight(ConnectionShutdown("Connection to %s was closed" % self.endpoint,
                                                   self.endpoint))

    # ------------------------------------------------------------------ requests

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    @property
    def available_streams(self) -> int:
        return self._max_ids - 1 - len(self._inflight)

    def send_request(self, msg, callback: Callable, result_metadata=None, row_factory=None) -> int:
        """Queue ``msg`` and return its stream id; ``callback(response_or_exc)`` runs once.

        Raises ConnectionBusy when every stream id is taken and ConnectionShutdown when the
        connection is closed or defunct (the callback is then never called).
        """
        if self.is_defunct or self.is_closed:
            raise ConnectionShutdown("Connection to %s is %s" % (
                self.endpoint, "defunct" if self.is_defunct else "closed"), self.endpoint)
        if self.draining:
            raise ConnectionDraining("Connection to %s is draining" % (self.endpoint,))
        try:
            # list.pop is atomic: the free list needs no lock (see _alloc_stream_id).
            stream_id = self._free_ids.pop()
        except IndexError:
            stream_id = self._alloc_stream_id()
        try:
            data = self._encode(msg, stream_id, self.protocol_version, self._compressor,
                                self.allow_beta_protocol_version)
        except BaseException:
            self._free_ids.append(stream_id)
            raise
        inflight = self._inflight
        # Registered before the bytes leave: the answer may arrive before the write returns.
        inflight[stream_id] = (callback, result_metadata, row_factory)
        if self._loop_ident is None or _get_ident() == self._loop_ident:
            self._queue_frame(data)
            return stream_id
        if self.draining:
            # The pool retired the connection while this thread registered the request.  The
            # pool sets ``draining`` before it counts what is in flight, so either it saw this
            # entry (and waits for it) or this check sees the flag: nothing is sent, the entry
            # is taken back, and the loop re-checks whether the connection can close now.
            if inflight.pop(stream_id, None) is not None:
                self._free_ids.append(stream_id)
                self._call_on_loop(self._after_refused_send)
                raise ConnectionDraining("Connection to %s is draining" % (self.endpoint,))
        if self._wsock is not None:
            self._write(self._segment_writer([data]) if self._segment_writer is not None else data)
        else:
            self._call_on_loop(lambda: self._queue_frame(data))  # TLS: the transport writes
        if self.is_defunct or self.is_closed:
            # The loop may have failed the connection while this thread registered the request:
            # ``defunct`` sets the flag before it swaps and drains the in-flight map, so an entry
            # that missed the drain is seen here.  Whoever pops it reports the failure, once.
            if inflight.pop(stream_id, None) is not None:
                raise ConnectionShutdown("Connection to %s failed while sending" % self.endpoint,
                                         self.endpoint)
        return stream_id

    def _alloc_stream_id(self) -> int:
        # list.pop and list.append are atomic, so the free list needs no lock; the counter that
        # hands out never-used ids (only while the connection warms up) does.
        try:
            return self._free_ids.pop()
        except IndexError:
            pass
        with self._id_lock:
            if self._next_id < self._max_ids:
                stream_id = self._next_id
                self._next_id += 1
                return stream_id
        raise ConnectionBusy("All %d stream ids of the connection to %s are in use"
                             % (self._max_ids - 1, self.endpoint))

    def _write(self, data: bytes) -> None:
        """Write through the duplicate descriptor (any thread); keep what the kernel refuses."""
        error = None
        with self._wlock:
            if self._wbacklog:
                self._wbacklog.append(data)
                return
            wsock = self._wsock
            if wsock is None:
                return
            sent, error = _send_some(wsock, data)
            if sent < len(data):
                self._wbacklog.append(data[sent:])
        # Outside the lock: defunct() closes the descriptor, which takes the lock.
        if error is not None:
            self._defunct_from_any_thread(ConnectionShutdown(
                "Error writing to %s: %s" % (self.endpoint, error), self.endpoint))
        elif sent < len(data):
            self._call_on_loop(self._watch_writable)

    def _watch_writable(self) -> None:
        wsock = self._wsock
        if wsock is not None and not (self.is_defunct or self.is_closed):
            self.loop.add_writer(wsock.fileno(), self._on_writable)

    def _on_writable(self) -> None:
        error = None
        with self._wlock:
            wsock = self._wsock
            if wsock is None or not self._wbacklog:
                done = True
            else:
                data = b"".join(self._wbacklog)
                self._wbacklog.clear()
                sent, error = _send_some(wsock, data)
                if sent < len(data):
                    self._wbacklog.append(data[sent:])
                done = not self._wbacklog
        if done and wsock is not None:
            self.loop.remove_writer(wsock.fileno())
        if error is not None:  # outside the lock: defunct() takes it to close the descriptor
            self.defunct(ConnectionShutdown("Error writing to %s: %s" % (self.endpoint, error),
                                            self.endpoint))

    def _call_on_loop(self, fn) -> None:
        if _get_ident() == self._loop_ident:
            fn()
        else:
            try:
                self.loop.call_soon_threadsafe(fn)
            except RuntimeError:  # the loop is closed: the connection is gone anyway
                pass

    def _defunct_from_any_thread(self, exc: BaseException) -> None:
        self._call_on_loop(lambda: self.defunct(exc))

    def _close_wsock(self) -> None:
        with self._wlock:
            wsock, self._wsock = self._wsock, None
            self._wbacklog.clear()
        if wsock is not None:
            try:
                self.loop.remove_writer(wsock.fileno())
            except Exception:  # not watched, or the loop is closing
                pass
            wsock.close()

    def _after_refused_send(self) -> None:
        hook = self.on_streams_freed
        if hook is not None:
            hook()

    def orphan(self, stream_id: int, callback: Callable | None = None) -> None:
        """Forget the callback of a timed-out request; its id comes back when the server answers.

        With ``callback``, only if the stream still belongs to it (the id may have been reused).
        """
        entry = self._inflight.get(stream_id)
        if entry is not None and entry[0] is not None and (callback is None or entry[0] == callback):
            self._inflight[stream_id] = (None, None, None)
            self.orphaned += 1
            if self.orphaned >= self.orphaned_threshold and not self.orphaned_threshold_reached:
                self.orphaned_threshold_reached = True
                log.debug("Connection to %s reached %d orphaned streams; asking for a replacement",
                          self.endpoint, self.orphaned)
                hook = self.on_orphaned_threshold
                if hook is not None:
                    hook(self)

    @property
    def orphaned_request_ids(self) -> set[int]:
        """The stream ids whose request timed out and whose answer has not arrived yet."""
        return {stream_id for stream_id, entry in list(self._inflight.items()) if entry[0] is None}

    @property
    def is_drained(self) -> bool:
        """Nothing but orphans in flight (loop thread)."""
        return len(self._inflight) <= self.orphaned

    def _queue_frame(self, data: bytes) -> None:
        self._out.append(data)
        if not self._flush_pending:
            self._flush_pending = True
            if self._batcher is not None:
                self._batcher.mark(self)
            else:
                self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        out = self._out
        if not out or self.transport is None or self.is_closed:
            out.clear()
            return
        self._out = []
        if self._segment_writer is not None:
            data = self._segment_writer(out)
        else:
            data = out[0] if len(out) == 1 else b"".join(out)
        if self._wsock is not None:
            self._write(data)
        else:
            self.transport.write(data)

    async def request(self, msg, timeout: float | None = 10.0, result_metadata=None):
        """Send ``msg`` and await the decoded answer (cold path: control queries, prepares).

        A server ERROR is raised as the exception its message maps to (``to_exception()``:
        ``InvalidRequest``, ``Unauthorized``, ``Unavailable``, ...; error messages without a
        mapping are raised themselves, as in the reference), so every internal caller catches
        the public exceptions.  This is the one place that conversion happens for internal
        requests; the request path of user statements (``_request``) does its own, after the
        retry policy has seen the message.
        """
        future = self.loop.create_future()

        def done(response):
            if not future.done():
                future.set_result(response)
        stream_id = self.send_request(msg, done, result_metadata)
        try:
            response = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            self.orphan(stream_id)
            raise OperationTimedOut(errors={self.endpoint: "Request timed out on %s" % self.endpoint},
                                    last_host=self.endpoint.address) from None
        if isinstance(response, self._protocol_module.ErrorMessage):
            raise response.to_exception()
        if isinstance(response, BaseException):
            raise response
        return response

    async def set_keyspace(self, keyspace: str | None, timeout: float = 10.0) -> None:
        if not keyspace or keyspace == self.keyspace:
            return
        protocol = self._protocol_module
        await self.request(
            protocol.QueryMessage(query='USE "%s"' % keyspace.replace('"', '""'),
                                  consistency_level=ConsistencyLevel.ONE), timeout)
        self.keyspace = keyspace

    # ------------------------------------------------------------------ failure and closing

    def add_close_callback(self, fn: Callable[["Connection"], None]) -> None:
        self._close_waiters.append(fn)

    def defunct(self, exc: BaseException) -> None:
        """Mark the connection failed: fail its in-flight requests, close the socket, tell owners."""
        if self.is_defunct or self.is_closed:
            return
        self.is_defunct = True
        self.last_error = exc
        log.debug("Defuncting connection to %s: %s", self.endpoint, exc)
        self._close_wsock()
        if self.transport is not None:
            self.transport.abort()
        self._fail_inflight(exc)
        self._notify_closed()

    def _fail_inflight(self, exc: BaseException) -> None:
        inflight, self._inflight = self._inflight, {}
        self._out.clear()
        # popitem, not iteration: a sending thread may still remove its own entry (see
        # send_request), and each entry must be failed by exactly one side.
        while True:
            try:
                _, (callback, _, _) = inflight.popitem()
            except KeyError:
                break
            if callback is not None:
                try:
                    callback(exc)
                except Exception:
                    log.exception("Unhandled error failing a request on %s", self.endpoint)

    def _notify_closed(self) -> None:
        waiters, self._close_waiters = self._close_waiters, []
        for fn in waiters:
            try:
                fn(self)
            except Exception:
                log.exception("Unhandled error in a connection close callback")

    def _abort(self, exc: BaseException) -> None:
        self.last_error = exc
        self.is_defunct = True
        self._close_wsock()
        if self.transport is not None:
            self.transport.abort()
        self._fail_inflight(exc if isinstance(exc, Exception) else ConnectionShutdown(str(exc)))

    def close(self) -> None:
        """Close gracefully: queued frames are flushed, in-flight requests fail with ConnectionShutdown."""
        if self.is_closed:
            return
        if self.transport is not None:
            if self._out:
                self._flush_pending = False
                out, self._out = self._out, []
                data = self._segment_writer(out) if self._segment_writer else b"".join(out)
                try:
                    if self._wsock is not None:
                        self._write(data)
                    else:
                        self.transport.write(data)
                except Exception:  # pragma: no cover - the socket may already be gone
                    pass
        self.is_closed = True
        self._close_wsock()
        if self.transport is not None:
            self.transport.close()
        self._fail_inflight(ConnectionShutdown("Connection to %s was closed" % self.endpoint, self.endpoint))
        self._notify_closed()

    def close_drained(self) -> None:
        """Close a retired connection that has only orphaned streams left (loop thread).

        Unlike :meth:`close`, in-flight entries are not failed: the orphans have no callback, and
        any other entry belongs to a thread that registered it after ``draining`` was set, which
        sees the flag, takes the entry back and sends the request elsewhere (``send_request``).
        """
        if self.is_closed or self.is_defunct:
            return
        self._closed_drained = True
        self.is_closed = True
        self._close_wsock()
        if self.transport is not None:
            self.transport.close()
        self._notify_closed()

    def __repr__(self) -> str:
        state = ("defunct" if self.is_defunct else "closed" if self.is_closed
                 else "draining" if self.draining else "open")
        return "<Connection %s v%d %s in_flight=%d>" % (self.endpoint, self.protocol_version, state,
                                                          len(self._inflight))


class OperationTimedOutOnConnect(ConnectionException):
    """The TCP connect or the handshake did not finish within ``connect_timeout``."""


def _send_some(wsock, data: bytes) -> tuple:
    """One non-blocking send: (bytes the kernel took, the OSError or None).  After a hard error
    the whole of ``data`` counts as sent, since nothing more can go out on that socket."""
    try:
        return wsock.send(data), None
    except (BlockingIOError, InterruptedError):
        return 0, None
    except OSError as exc:
        return len(data), exc


def apply_sockopts(sock, sockopts, endpoint) -> None:
    """``Cluster(sockopts=[(level, option, value), ...])``, as the reference: set on every socket."""
    for opt in sockopts or ():
        try:
            sock.setsockopt(*opt)
        except (OSError, TypeError) as exc:
            raise ConnectionException("Invalid socket option %r for %s: %s" % (opt, endpoint, exc),
                                      endpoint) from exc


def _segment_writer(compressor_name: str | None) -> Callable[[list], bytes]:
    """A function turning a list of encoded v5 frames into segment bytes (v5 spec 2.2-2.5)."""
    return SegmentEncoder(compressor_name).encode


# Protocol constants and message classes the reference's cassandra.connection exposes.
from cassfast._handshake import DEFAULT_CQL_VERSION  # noqa: E402,F401
DRIVER_VERSION = __version__
# Frame header, first byte: the direction bit and the protocol version (spec 2.1).
from cassfast._wire import (HEADER_DIRECTION_FROM_CLIENT, HEADER_DIRECTION_MASK,  # noqa: E402,F401
                            HEADER_DIRECTION_TO_CLIENT, PROTOCOL_VERSION_MASK)

from cassfast import AuthenticationFailed, ConsistencyLevel, OperationTimedOut, ProtocolVersion  # noqa: E402,F401
from cassfast.protocol import (  # noqa: E402,F401
    AuthChallengeMessage, AuthenticateMessage, AuthResponseMessage, AuthSuccessMessage,
    CredentialsMessage, ErrorMessage, InvalidRequestException, OptionsMessage, ProtocolException,
    ProtocolHandler, QueryMessage, ReadyMessage, RegisterMessage, ResultMessage, StartupMessage,
    SupportedMessage)
