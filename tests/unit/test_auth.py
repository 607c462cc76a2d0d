"""Authentication providers: SASL PLAIN bytes (RFC 4616), pure-sasl, and no leaked passwords.

Ran against: cassfast.auth with pure-sasl installed; cassandra-driver 3.30.1 as the oracle for
the PLAIN bytes; no server.
"""
import logging

import pytest
from cassandra.auth import PlainTextAuthProvider as RefPlainTextAuthProvider

from cassfast import AuthenticationFailed, DependencyException
from cassfast import auth as cf_auth
from cassfast.auth import (
    Authenticator, PlainTextAuthenticator, PlainTextAuthProvider, SaslAuthenticator,
    SaslAuthProvider,
)
from cassfast.host import Host

SECRET = "s3cr3t-Pässword"


def test_plaintext_initial_response_is_sasl_plain_with_empty_authzid():
    a = PlainTextAuthProvider("cassandra_user", "pw").new_authenticator(Host("127.0.0.1"))
    # RFC 4616: [authzid] NUL authcid NUL passwd
    assert a.initial_response() == b"\x00cassandra_user\x00pw"


def test_plaintext_bytes_equal_reference_driver_including_non_ascii():
    ours = PlainTextAuthProvider("üser", SECRET).new_authenticator("127.0.0.1")
    ref = RefPlainTextAuthProvider("üser", SECRET).new_authenticator("127.0.0.1")
    assert ours.initial_response() == ref.initial_response()


def test_plaintext_answers_dse_plain_start_challenge():
    a = PlainTextAuthenticator("u", "p")
    a.server_authenticator_class = "com.datastax.bdp.cassandra.auth.DseAuthenticator"
    assert a.initial_response() == b"PLAIN"
    assert a.evaluate_challenge(b"PLAIN-START") == b"\x00u\x00p"


def test_plaintext_rejects_unexpected_challenge_without_revealing_password():
    a = PlainTextAuthenticator("u", SECRET)
    with pytest.raises(AuthenticationFailed) as info:
        a.evaluate_challenge(b"bogus")
    assert SECRET not in str(info.value)


def test_sasl_plain_through_puresasl_produces_same_bytes():
    provider = SaslAuthProvider(service="cassandra", mechanism="PLAIN", username="cassandra_user",
                                password="pw")
    a = provider.new_authenticator(Host("127.0.0.1"))
    assert a.initial_response() == b"\x00cassandra_user\x00pw"


def test_sasl_authenticator_seed_form_takes_one_dict():
    a = SaslAuthenticator({"host": "127.0.0.1", "service": "cassandra", "mechanism": "PLAIN",
                           "username": "u", "password": "p"})
    assert a.initial_response() == b"\x00u\x00p"


def test_sasl_authenticator_reference_form_takes_host_service_mechanism():
    a = SaslAuthenticator("127.0.0.1", "cassandra", "PLAIN", username="u", password="p")
    assert a.initial_response() == b"\x00u\x00p"


def test_sasl_provider_refuses_host_kwarg():
    with pytest.raises(ValueError):
        SaslAuthProvider(host="x", mechanism="PLAIN")


def test_sasl_without_puresasl_raises_dependency_exception(monkeypatch):
    monkeypatch.setattr(cf_auth, "SASLClient", None)
    with pytest.raises(DependencyException, match="pure-sasl"):
        SaslAuthProvider(mechanism="PLAIN")


@pytest.mark.parametrize("obj", [
    PlainTextAuthProvider("user", SECRET),
    PlainTextAuthenticator("user", SECRET),
    SaslAuthProvider(service="cassandra", mechanism="PLAIN", username="user", password=SECRET),
    SaslAuthenticator({"host": "h", "service": "cassandra", "mechanism": "PLAIN",
                       "username": "user", "password": SECRET}),
])
def test_password_never_in_repr_str_or_log(obj, caplog):
    assert SECRET not in repr(obj) and SECRET not in str(obj)
    assert "user" in repr(obj)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("cassfast.test").debug("provider %s %r", obj, obj)
    assert SECRET not in caplog.text


def test_base_authenticator_defaults():
    a = Authenticator()
    assert a.initial_response() is None
    assert a.on_authentication_success(b"tok") is None
    with pytest.raises(NotImplementedError):
        a.evaluate_challenge(b"x")
