"""cassfast's auth providers against a real PasswordAuthenticator (the ``auth`` variant).

Ran against: Apache Cassandra 5.0 started by the harness (``cassandra_auth``), through
cassfast's own Cluster; the server is the judge of the bytes each provider sends.
"""
from __future__ import annotations

import pytest

from cassfast import AuthenticationFailed
from cassfast.auth import PlainTextAuthProvider, SaslAuthProvider
from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.testing import _fetch

pytestmark = [pytest.mark.integration, pytest.mark.auth]


def _cluster(cassandra_auth, provider):
    return Cluster(contact_points=list(cassandra_auth.contact_points), port=cassandra_auth.port,
                   auth_provider=provider, connect_timeout=10)


def _assert_connects(cassandra_auth, provider):
    cluster = _cluster(cassandra_auth, provider)
    try:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local").one()
        assert row.release_version == _fetch.default_version()
    finally:
        cluster.shutdown()


def test_plaintext_provider_authenticates(cassandra_auth):
    _assert_connects(cassandra_auth, PlainTextAuthProvider(cassandra_auth.username,
                                                           cassandra_auth.password))


def test_sasl_plain_provider_authenticates(cassandra_auth):
    _assert_connects(cassandra_auth, SaslAuthProvider(service="cassandra", mechanism="PLAIN",
                                                      username=cassandra_auth.username,
                                                      password=cassandra_auth.password))


def _refused(cassandra_auth, secret):
    cluster = _cluster(cassandra_auth, PlainTextAuthProvider(cassandra_auth.username, secret))
    try:
        with pytest.raises(NoHostAvailable) as excinfo:
            cluster.connect()
    finally:
        cluster.shutdown()
    return excinfo.value


def test_wrong_password_is_refused_and_never_echoed(cassandra_auth):
    secret = "definitely-wrong-Pässword"
    exc = _refused(cassandra_auth, secret)
    assert exc.errors
    assert secret not in str(exc) and secret not in repr(exc)
    assert all(secret not in repr(e) for e in exc.errors.values())


def test_wrong_password_surfaces_as_authentication_failed(cassandra_auth):
    exc = _refused(cassandra_auth, "wrong")
    assert all(isinstance(e, AuthenticationFailed) for e in exc.errors.values()), exc.errors
