# cython: language_level=3, annotation_typing=False
"""One synchronous lane's request, compiled (the rules of lanes are in ``cassfast._lanes``).

``LaneCore`` is the state of one blocking connection and the per-request work on it: a stream
id, encode, ``sendall``, ``recv`` until the answer's frame is whole, decode.  It runs on the
thread of a caller blocked in ``Session.execute``, once per synchronous request, and is
compiled for that reason (its fields are C struct members, and the request driver,
``cassfast._future``, calls ``request`` at C level).  ``cassfast._lanes.Lane`` adds opening (the
handshake), ``USE``, and closing; ``LaneSet`` the bookkeeping.
"""
import select
import socket
import ssl as _ssl
import struct
import time

from cassfast import _wire, protocol
from cassfast._core cimport FrameDecoder
from cassfast.connection import MAX_STREAM_ID, ConnectionException, ConnectionShutdown, _segment_writer

_monotonic = time.monotonic

# A request may overrun its timeout by at most this much (see _limit_wait).
_TIMEOUT_SLACK = 0.05
# A lane whose requests keep timing out is replaced rather than kept with a growing set of
# stream ids still owed an answer.
_MAX_ORPHANS = 64
_RECV_SIZE = 65536
_POLL_READABLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP
_RESULT_KIND_SET_KEYSPACE = _wire.RESULT_KIND_SET_KEYSPACE


class LaneTimeout(Exception):
    """The answer did not arrive before the request's deadline (the lane stays usable)."""


class LaneSendFailed(ConnectionException):
    """The request could not be written: the server cannot have executed it."""


cdef class LaneCore:
    """One blocking connection to one host, used by one thread at a time."""

    def __init__(self, endpoint, sock, FrameDecoder decoder, negotiated, int protocol_version,
                 bint allow_beta_protocol_version, dict user_type_map):
        self.endpoint = endpoint
        self.sock = sock
        self.keyspace = None
        self.broken = False
        self.last_used = _monotonic()
        self._encode = protocol.ProtocolHandler.encode_message
        self._decode = protocol.ProtocolHandler.decode_message
        self._decoder = decoder
        framing = negotiated.framing
        self._segments = _segment_writer(framing.compression) if framing.segments else None
        self._compressor = framing.compressor
        self._decompressor = framing.decompressor
        self._version = protocol_version
        self._beta = allow_beta_protocol_version
        self._user_types = user_type_map
        self._stream = 0  # the handshake used stream 0
        self._orphans = set()
        self._poll = select.poll()
        self._poll.register(sock.fileno(), _POLL_READABLE)
        self._rcvtimeo = 0.0  # 0: block without limit

    # ------------------------------------------------------------------ one request

    cpdef bint usable(self) except -1:
        """False when the server closed the socket while it was idle (checked without blocking).

        Bytes waiting here are late answers to timed-out requests (or the server's last words
        before it closed the connection): they are read and dropped until nothing is left."""
        while self._poll.poll(0):
            try:
                data = self._recv_nowait()
            except (BlockingIOError, InterruptedError, _ssl.SSLWantReadError):
                return True
            except OSError:
                self.broken = True
                return False
            if not data:
                self.broken = True
                return False
            try:
                for frame in self._decoder.feed(data):
                    self._orphans.discard(frame[2])
            except Exception:
                self.broken = True
                return False
        return True

    cdef object _recv_nowait(self):
        sock = self.sock
        if not isinstance(sock, _ssl.SSLSocket):
            return sock.recv(_RECV_SIZE, socket.MSG_DONTWAIT)
        sock.setblocking(False)  # an SSLSocket takes no recv flags
        try:
            return sock.recv(_RECV_SIZE)
        finally:
            sock.setblocking(True)

    cpdef object request(self, msg, result_metadata, row_factory, deadline):
        """Send ``msg`` and return its decoded answer (a message, or a decode exception).

        Raises LaneSendFailed (nothing reached the server; the lane is broken), LaneTimeout (the
        deadline passed; the lane stays usable) or ConnectionShutdown (the connection failed
        after the request was sent; the lane is broken).  Encoding errors propagate unchanged.
        """
        cdef int stream = self._stream % MAX_STREAM_ID + 1
        cdef set orphans = self._orphans
        cdef double remaining, current
        cdef FrameDecoder decoder
        cdef list frames
        while stream in orphans:
            stream = stream % MAX_STREAM_ID + 1
        self._stream = stream
        data = self._encode(msg, stream, self._version, self._compressor, self._beta)
        if self._segments is not None:
            data = self._segments([data])
        if deadline is not None:
            remaining = deadline - _monotonic()
            current = self._rcvtimeo
            # _limit_wait's test, inline: most requests keep the socket timeout already set.
            if current == 0.0 or current > remaining + _TIMEOUT_SLACK or current < remaining - 1.0:
                self._limit_wait(remaining)
        elif self._rcvtimeo:
            self._set_rcvtimeo(0.0)
        sock = self.sock
        try:
            sock.sendall(data)
        except (socket.timeout, BlockingIOError, _ssl.SSLWantWriteError) as exc:
            # The kernel took part of the frame at most: the server cannot run half a request.
            self.broken = True
            raise LaneSendFailed("Timed out writing to %s" % self.endpoint, self.endpoint) from exc
        except OSError as exc:
            self.broken = True
            raise LaneSendFailed("Error writing to %s: %s" % (self.endpoint, exc), self.endpoint) from exc
        decoder = self._decoder
        while True:
            try:
                chunk = sock.recv(_RECV_SIZE)
            except (BlockingIOError, InterruptedError, socket.timeout, _ssl.SSLWantReadError):
                chunk = None
            except OSError as exc:
                self.broken = True
                raise ConnectionShutdown("Error reading from %s: %s" % (self.endpoint, exc),
                                         self.endpoint) from exc
            if chunk is None:  # SO_RCVTIMEO expired
                if deadline is not None and _monotonic() >= deadline:
                    return self._timed_out(stream)
                if deadline is not None:
                    self._limit_wait(deadline - _monotonic())
                continue
            if not chunk:
                self.broken = True
                raise ConnectionShutdown("Connection to %s was closed by the server" % self.endpoint,
                                         self.endpoint)
            try:
                frames = decoder.feed(chunk)
            except Exception as exc:
                self.broken = True
                raise ConnectionShutdown("Malformed data from %s: %s" % (self.endpoint, exc),
                                         self.endpoint) from exc
            mine = None
            for frame in frames:
                if frame[2] == stream:
                    mine = frame
                else:  # a late answer, possibly after ours when the server reordered them
                    orphans.discard(frame[2])
            if mine is not None:
                version, flags, stream_id, opcode, body = mine
                try:
                    response = self._decode(version, self._user_types, stream_id, flags, opcode, body,
                                            self._decompressor, result_metadata, row_factory)
                except Exception as exc:  # the frame was whole: the stream stays in step
                    return exc
                if getattr(response, "kind", None) == _RESULT_KIND_SET_KEYSPACE:
                    self.keyspace = response.new_keyspace
                return response
            if deadline is not None and _monotonic() >= deadline:
                return self._timed_out(stream)

    cdef object _timed_out(self, int stream):
        self._orphans.add(stream)
        if len(self._orphans) > _MAX_ORPHANS:
            self.broken = True
        raise LaneTimeout()

    cdef int _limit_wait(self, double remaining) except -1:
        remaining = max(remaining, 0.001)
        current = self._rcvtimeo
        if current == 0.0 or current > remaining + _TIMEOUT_SLACK or current < remaining - 1.0:
            self._set_rcvtimeo(remaining)
        return 0

    cdef int _set_rcvtimeo(self, double seconds) except -1:
        whole = int(seconds)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                             struct.pack("ll", whole, int((seconds - whole) * 1e6)))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO,
                             struct.pack("ll", whole, int((seconds - whole) * 1e6)))
        self._rcvtimeo = seconds
        return 0
