"""Authentication: providers that make one SASL authenticator per connection.

When the server answers STARTUP with AUTHENTICATE (native protocol spec section 4.2.3), the
connection asks the cluster's ``AuthProvider`` for a new ``Authenticator``, sends its
``initial_response()`` in an AUTH_RESPONSE, answers each AUTH_CHALLENGE with
``evaluate_challenge(challenge)`` and finally passes the AUTH_SUCCESS token to
``on_authentication_success``.  Cassandra's ``PasswordAuthenticator`` speaks SASL PLAIN (RFC 4616),
which :class:`PlainTextAuthProvider` implements directly; :class:`SaslAuthProvider` runs any
mechanism of the optional ``pure-sasl`` package.  Credentials never appear in a ``repr``, ``str``,
log line or exception message produced here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from cassfast import AuthenticationFailed, DependencyException

try:
    from puresasl.client import SASLClient
except ImportError:  # optional dependency: cassfast[sasl]
    SASLClient = None

__all__ = [
    "AuthProvider", "Authenticator", "PlainTextAuthProvider", "PlainTextAuthenticator",
    "SaslAuthProvider", "SaslAuthenticator",
]

_DSE_AUTHENTICATOR = "com.datastax.bdp.cassandra.auth.DseAuthenticator"


def _host_name(host) -> Any:
    # The seed passes a Host; the reference passes the address string.  Accept both.
    return getattr(host, "address", host)


def _require_puresasl() -> None:
    if SASLClient is None:
        raise DependencyException(
            "SASL authentication needs the pure-sasl package: pip install 'cassfast[sasl]' "
            "(or pip install pure-sasl)")


class AuthProvider:
    """Makes a new :class:`Authenticator` for each connection that must authenticate."""

    def new_authenticator(self, host) -> "Authenticator":
        raise NotImplementedError()


class Authenticator:
    """One SASL exchange on one connection (see the module docstring for the order of calls).

    ``server_authenticator_class`` is set by the connection to the class name the server sent in
    AUTHENTICATE before ``initial_response`` is called.
    """

    server_authenticator_class: Optional[str] = None

    def initial_response(self) -> Optional[bytes]:
        """The first AUTH_RESPONSE token; None sends an empty (null) token."""
        return None

    def evaluate_challenge(self, challenge: Optional[bytes]) -> Optional[bytes]:
        """The answer to a server AUTH_CHALLENGE."""
        raise NotImplementedError()

    def on_authentication_success(self, token: Optional[bytes]) -> None:
        """Called with the AUTH_SUCCESS token (may be None)."""


class PlainTextAuthenticator(Authenticator):
    """SASL PLAIN with an empty authorization identity: ``b"\\x00" + user + b"\\x00" + password``.

    Against DSE's unified authenticator the mechanism name is sent first and the credentials
    answer its ``PLAIN-START`` challenge, as the reference driver does.
    """

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def _credentials(self) -> bytes:
        user = self.username.encode("utf-8") if isinstance(self.username, str) else bytes(self.username)
        pw = self.password.encode("utf-8") if isinstance(self.password, str) else bytes(self.password)
        return b"\x00" + user + b"\x00" + pw

    def get_mechanism(self) -> bytes:
        """The SASL mechanism named to DSE's unified authenticator (the reference's hook)."""
        return b"PLAIN"

    def get_initial_challenge(self) -> bytes:
        """The challenge DSE answers the mechanism name with (the reference's hook)."""
        return b"PLAIN-START"

    def initial_response(self) -> bytes:
        if self.server_authenticator_class == _DSE_AUTHENTICATOR:
            return self.get_mechanism()
        return self._credentials()

    def evaluate_challenge(self, challenge: Optional[bytes]) -> bytes:
        if challenge == self.get_initial_challenge():
            return self._credentials()
        raise AuthenticationFailed(
            "unexpected SASL PLAIN challenge from the server (%d bytes); PLAIN expects none"
            % (len(challenge or b""),))

    def __repr__(self) -> str:
        return "<%s username=%r>" % (type(self).__name__, self.username)

    __str__ = __repr__


class PlainTextAuthProvider(AuthProvider):
    """Username and password for Cassandra's ``PasswordAuthenticator``."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def new_authenticator(self, host) -> PlainTextAuthenticator:
        return PlainTextAuthenticator(self.username, self.password)

    def __repr__(self) -> str:
        return "<%s username=%r>" % (type(self).__name__, self.username)

    __str__ = __repr__


# SASL keyword arguments that are safe to show in a repr; everything else (password, callback,
# mechanism properties) is hidden.
_SHOWN_SASL_KEYS = ("service", "mechanism", "username", "authorization_id", "qops")


def _sasl_repr(kind: str, kwargs: Mapping) -> str:
    shown = ", ".join("%s=%r" % (k, kwargs[k]) for k in _SHOWN_SASL_KEYS if k in kwargs)
    return "<%s %s>" % (kind, shown) if shown else "<%s>" % (kind,)


class SaslAuthenticator(Authenticator):
    """Any SASL mechanism through ``puresasl.client.SASLClient``.

    Two call forms: the seed's ``SaslAuthenticator(sasl_kwargs)`` with one dict of SASLClient
    arguments (``host`` included), and the reference's
    ``SaslAuthenticator(host, service, mechanism='GSSAPI', **sasl_kwargs)``.
    """

    def __init__(self, host_or_sasl_kwargs, service: Optional[str] = None,
                 mechanism: Optional[str] = None, **sasl_kwargs) -> None:
        _require_puresasl()
        if isinstance(host_or_sasl_kwargs, Mapping):
            kwargs = dict(host_or_sasl_kwargs)
            kwargs.update(sasl_kwargs)
            if service is not None:
                kwargs["service"] = service
            if mechanism is not None:
                kwargs["mechanism"] = mechanism
            host = kwargs.pop("host", None)
        else:
            kwargs = dict(sasl_kwargs, service=service, mechanism=mechanism or "GSSAPI")
            host = host_or_sasl_kwargs
        kwargs.setdefault("mechanism", "GSSAPI")
        self._shown = {k: v for k, v in kwargs.items() if k in _SHOWN_SASL_KEYS}
        self.sasl = SASLClient(_host_name(host), **kwargs)

    def initial_response(self) -> Optional[bytes]:
        return self.sasl.process()

    def evaluate_challenge(self, challenge: Optional[bytes]) -> Optional[bytes]:
        return self.sasl.process(challenge)

    def __repr__(self) -> str:
        return _sasl_repr(type(self).__name__, self._shown)

    __str__ = __repr__


class SaslAuthProvider(AuthProvider):
    """Makes :class:`SaslAuthenticator` objects; ``sasl_kwargs`` go to ``SASLClient`` as is,
    except ``host``, which is the host being connected to (passing it is a ValueError).

    ``SaslAuthProvider(service='cassandra', mechanism='PLAIN', username=..., password=...)``
    authenticates against Cassandra's ``PasswordAuthenticator``.
    """

    def __init__(self, **sasl_kwargs) -> None:
        _require_puresasl()
        if "host" in sasl_kwargs:
            raise ValueError("SaslAuthProvider: do not pass 'host'; each authenticator gets the "
                             "host it connects to")
        self.sasl_kwargs = sasl_kwargs

    def new_authenticator(self, host) -> SaslAuthenticator:
        return SaslAuthenticator(dict(self.sasl_kwargs, host=_host_name(host)))

    def __repr__(self) -> str:
        return _sasl_repr(type(self).__name__, self.sasl_kwargs)

    __str__ = __repr__
