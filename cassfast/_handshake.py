"""The connection handshake as a state machine that does no I/O (spec 4.1.1-4.1.2, 4.2.2-4.2.8).

Scope: every decision of opening a native-protocol connection, from OPTIONS to READY or
AUTH_SUCCESS: which compression to ask for from the server's SUPPORTED options, the STARTUP
options, the authenticator exchange (AUTHENTICATE -> ``initial_response``, AUTH_CHALLENGE ->
``evaluate_challenge``, AUTH_SUCCESS -> ``on_authentication_success``), how an ERROR or an
unexpected answer fails the connection (``ProtocolVersionUnsupported`` for a version rejection,
so that the caller can offer a lower version; ``AuthenticationFailed``; ``ConnectionException``),
and from which message on the framing changes (v4 spec 5: compressed bodies after STARTUP; v5
spec 2.2: checksummed segments after the answer to STARTUP).

The transports drive it: ``connection.Connection`` over asyncio and ``_lanes.Lane`` over a
blocking socket.  Each sends ``step.message`` on stream 0 with ``step.framing`` in force (the
framing applies to the request *and* to its answer), decodes the answer and hands it to
:meth:`Handshake.on_response`, until the step is a :class:`Done`; a failure is raised from the
call that detected it.  A transport failure while waiting (the socket closed, a frame the
decoder rejects) goes to :meth:`Handshake.on_connection_error`, which decides whether it means
"this protocol version is not spoken here".  Timeouts are the transport's business.

Credentials never leave the authenticator except in the message sent: neither this object, the
steps nor the exceptions raised hold or print a token.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

from cassfast import AuthenticationFailed, ProtocolVersion, __version__, _wire, protocol
from cassfast._core import ProtocolError  # the core's typed error for a malformed frame

DRIVER_NAME = "cassfast"
DEFAULT_CQL_VERSION = "3.0.0"


class ConnectionException(Exception):
    """The connection failed or was already closed or defunct; ``endpoint`` says where."""

    __module__ = "cassfast.connection"  # public there, as in the reference

    def __init__(self, message, endpoint=None):
        Exception.__init__(self, message)
        self.endpoint = endpoint

    @property
    def host(self):
        return self.endpoint.address if self.endpoint is not None else None


class ProtocolVersionUnsupported(ConnectionException):
    """The server rejected the protocol version offered in the handshake."""

    __module__ = "cassfast.connection"

    def __init__(self, endpoint, startup_version):
        ConnectionException.__init__(
            self, "Unsupported protocol version on %s: %d" % (endpoint, startup_version), endpoint)
        self.startup_version = startup_version


def _is_version_rejection(exc: BaseException) -> bool:
    # Servers word it differently: "Invalid or unsupported protocol version (5)" (4.x), "Beta
    # version of the protocol used (5/v5-beta), but USE_BETA flag is unset" (3.x, 4.0).
    text = str(exc).lower()
    return ("protocol version" in text or "beta" in text or "version" in text and "support" in text)


class Framing(NamedTuple):
    """How frames travel from a step on, in both directions (the transport applies it)."""

    compression: str | None = None       # negotiated name, once in force (frames or segments)
    compressor: Callable | None = None   # v3/v4 request bodies
    decompressor: Callable | None = None  # v3/v4 response bodies
    segments: bool = False               # v5: checksummed segments (``compression`` inside)


PLAIN = Framing()


class Send:
    """Send ``message`` on stream 0 with ``framing`` in force, then pass the answer back."""

    __slots__ = ("message", "framing")

    def __init__(self, message, framing: Framing) -> None:
        self.message = message
        self.framing = framing

    def __repr__(self) -> str:
        # The name only: an AUTH_RESPONSE carries the credentials.
        return "<Send %s>" % self.message.name


class Negotiated(NamedTuple):
    """What a finished handshake leaves to the connection."""

    framing: Framing
    supported_options: dict      # SUPPORTED's options (CQL_VERSION taken out, as the reference)
    startup_options: dict        # what STARTUP asked for
    authenticator: Any = None    # the authenticator that succeeded, if the server asked for one


class Done:
    """The connection is ready; ``result`` says how it was negotiated."""

    __slots__ = ("result",)

    def __init__(self, result: Negotiated) -> None:
        self.result = result

    @property
    def framing(self) -> Framing:
        return self.result.framing

    def __repr__(self) -> str:
        return "<Done compression=%s segments=%s>" % (self.result.framing.compression,
                                                       self.result.framing.segments)


# States, in order.
_NEW, _OPTIONS, _STARTUP, _AUTH, _DONE, _FAILED = range(6)
_STATE_NAMES = ("new", "waiting for SUPPORTED", "waiting for READY or AUTHENTICATE",
                "authenticating", "done", "failed")


class Handshake:
    """One connection's handshake.  ``start()``, then ``on_response(answer)`` until ``Done``.

    ``compression``: True (the first of ``compressions`` the server offers), False/None, or a
    name (that one if offered, else none; a name not in ``compressions`` is a ``ValueError``
    here).  v5 compresses segments, with LZ4 only.  ``authenticator_factory(address)`` (an auth
    provider's ``new_authenticator``) is called only if the server asks for authentication.
    ``compressions`` maps names to ``(compress, decompress)``; it defaults to what is installed.
    """

    def __init__(self, protocol_version: int, endpoint, *, compression: bool | str | None = True,
                 authenticator_factory: Callable | None = None, cql_version: str | None = None,
                 no_compact: bool = False, application_name: str | None = None,
                 application_version: str | None = None,
                 compressions: Mapping[str, tuple] | None = None) -> None:
        self.protocol_version = protocol_version
        self.endpoint = endpoint
        self.compression = compression
        self.authenticator_factory = authenticator_factory
        self.compressions = (protocol.locally_supported_compressions if compressions is None
                             else compressions)
        if isinstance(compression, str) and compression.lower() not in self.compressions:
            raise ValueError("Compression %r is not available locally (have %s)"
                             % (compression, sorted(self.compressions)))
        options = {"CQL_VERSION": cql_version or DEFAULT_CQL_VERSION,
                   "DRIVER_NAME": DRIVER_NAME, "DRIVER_VERSION": __version__}
        if no_compact:
            options["NO_COMPACT"] = "true"
        if application_name:
            options["APPLICATION_NAME"] = application_name
        if application_version:
            options["APPLICATION_VERSION"] = application_version
        self.startup_options = options
        self.supported_options: dict = {}
        self.compressor_name: str | None = None
        self.framing = PLAIN
        self.authenticator = None
        self._state = _NEW

    @property
    def state(self) -> str:
        return _STATE_NAMES[self._state]

    def __repr__(self) -> str:
        return "<Handshake v%d %s %s>" % (self.protocol_version, self.endpoint, self.state)

    # ------------------------------------------------------------------ driving it

    def start(self) -> Send:
        """The first step: OPTIONS, in the legacy framing."""
        if self._state != _NEW:
            raise RuntimeError("Handshake.start() called twice (%s)" % self.state)
        self._state = _OPTIONS
        return Send(protocol.OptionsMessage(), PLAIN)

    def on_response(self, response) -> Send | Done:
        """The next step after ``response`` (the decoded answer to the last message sent).

        Raises ``ProtocolVersionUnsupported``, ``AuthenticationFailed`` or
        ``ConnectionException`` when the handshake cannot go on; it is then over.
        """
        state = self._state
        try:
            if state == _OPTIONS:
                return self._on_supported(response)
            if state == _STARTUP:
                return self._on_startup_answer(response)
            if state == _AUTH:
                return self._on_auth_answer(response)
        except BaseException:
            self._state = _FAILED
            raise
        raise RuntimeError("Handshake.on_response() while %s" % self.state)

    def on_connection_error(self, exc: BaseException):
        """Raise what a transport failure while waiting for an answer means (always raises).

        A server that does not speak the offered version may answer OPTIONS in its own version's
        framing (which the decoder rejects) or close the socket: with a lower version left to
        try, that is ``ProtocolVersionUnsupported``.  Anything else is raised as it is.
        """
        state, self._state = self._state, _FAILED
        if (state == _OPTIONS and isinstance(exc, (ProtocolError, ConnectionException))
                and self.protocol_version > ProtocolVersion.MIN_SUPPORTED):
            raise ProtocolVersionUnsupported(self.endpoint, self.protocol_version) from exc
        raise exc

    # ------------------------------------------------------------------ the steps

    def _on_supported(self, response) -> Send:
        if _opcode(response) == _wire.OPCODE_ERROR:
            self._raise_error(response, "OPTIONS")
        if _opcode(response) != _wire.OPCODE_SUPPORTED:
            raise self._unexpected(response, "OPTIONS")
        self.supported_options = dict(response.options or {})
        name = self._choose_compression()
        self.compressor_name = name
        startup = dict(self.startup_options)
        if name:
            startup["COMPRESSION"] = name
        self.startup_options = startup
        if name and self.protocol_version < ProtocolVersion.V5:
            # v4 spec 5: STARTUP itself goes uncompressed, but the server may already compress
            # its answer, so decompression is on before STARTUP is sent.
            self.framing = Framing(decompressor=self.compressions[name][1])
        self._state = _STARTUP
        return Send(protocol.StartupMessage(cqlversion=startup["CQL_VERSION"], options=startup),
                    self.framing)

    def _choose_compression(self) -> str | None:
        if not self.compression:
            return None
        offered = [c.lower() for c in self.supported_options.get("COMPRESSION", ())]
        local = self.compressions
        # v5 compresses segments, and only with LZ4 (v5 spec 2.2).
        candidates = ["lz4"] if self.protocol_version >= ProtocolVersion.V5 else list(local)
        if isinstance(self.compression, str):
            wanted = self.compression.lower()
            candidates = [wanted] if wanted in candidates else []
        for name in candidates:
            if name in offered and name in local:
                return name
        return None

    def _on_startup_answer(self, response) -> Send | Done:
        opcode = _opcode(response)
        if opcode == _wire.OPCODE_ERROR:
            self._raise_error(response, "STARTUP")
        if opcode not in (_wire.OPCODE_READY, _wire.OPCODE_AUTHENTICATE):
            raise self._unexpected(response, "STARTUP")
        # v5 spec 2.2: whatever answers STARTUP (READY or AUTHENTICATE) is the last frame in the
        # legacy format; from here on both directions use segments.  v4 spec 5: frames after
        # STARTUP may be compressed.
        name = self.compressor_name
        if self.protocol_version >= ProtocolVersion.V5:
            self.framing = Framing(compression=name, segments=True)
        elif name:
            self.framing = Framing(name, *self.compressions[name])
        if opcode == _wire.OPCODE_READY:
            return self._done()
        return self._authenticate(response.authenticator)

    def _authenticate(self, authenticator_class: str) -> Send:
        if self.authenticator_factory is None:
            raise AuthenticationFailed(
                "Host %s requires authentication (%s) but no auth_provider is configured"
                % (self.endpoint, authenticator_class))
        authenticator = self.authenticator_factory(self.endpoint.address)
        if hasattr(authenticator, "server_authenticator_class"):
            authenticator.server_authenticator_class = authenticator_class
        self.authenticator = authenticator
        self._state = _AUTH
        return Send(protocol.AuthResponseMessage(authenticator.initial_response()), self.framing)

    def _on_auth_answer(self, response) -> Send | Done:
        opcode = _opcode(response)
        if opcode == _wire.OPCODE_AUTH_SUCCESS:
            self.authenticator.on_authentication_success(response.token)
            return self._done()
        if opcode == _wire.OPCODE_AUTH_CHALLENGE:
            token = self.authenticator.evaluate_challenge(response.challenge)
            return Send(protocol.AuthResponseMessage(token), self.framing)
        if opcode == _wire.OPCODE_ERROR:
            exc = response.to_exception()
            if isinstance(exc, AuthenticationFailed):
                raise exc
            raise AuthenticationFailed("Failed to authenticate to %s: %s" % (self.endpoint, exc))
        raise self._unexpected(response, "AUTH_RESPONSE")

    def _done(self) -> Done:
        self._state = _DONE
        return Done(Negotiated(self.framing, self.supported_options, self.startup_options,
                               self.authenticator))

    def _raise_error(self, response, request: str):
        exc = response.to_exception()
        if _is_version_rejection(exc):
            raise ProtocolVersionUnsupported(self.endpoint, self.protocol_version) from exc
        raise ConnectionException("%s failed on %s: %s" % (request, self.endpoint, exc),
                                  self.endpoint) from exc

    def _unexpected(self, response, request: str) -> ConnectionException:
        # The message's name, not its repr: an answer out of place may still carry a token.
        what = getattr(response, "name", None) or type(response).__name__
        return ConnectionException("Unexpected answer to %s from %s: %s" % (request, self.endpoint, what),
                                   self.endpoint)


def _opcode(response) -> int | None:
    return getattr(response, "opcode", None)
