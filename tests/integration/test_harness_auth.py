"""Smoke tests of the ``auth`` variant (PasswordAuthenticator on 127.0.0.4), via cassandra-driver.

A wrong password must be refused by the server itself and a right one accepted, both through
the plain-text provider and through SASL PLAIN (pure-sasl), which is what Cassandra's
authenticator speaks on the wire.
"""
from __future__ import annotations

import pytest
from cassandra import AuthenticationFailed
from cassandra.auth import PlainTextAuthProvider, SaslAuthProvider
from cassandra.cluster import Cluster, NoHostAvailable

from cassfast.testing import CassandraCluster

pytestmark = [pytest.mark.integration, pytest.mark.auth]


def _connect(cassandra_auth, provider):
    kwargs = cassandra_auth.reference_cluster_kwargs(auth_provider=provider)
    cluster = Cluster(**kwargs)
    return cluster, cluster.connect()


def test_auth_node_has_its_own_address_and_default_superuser(cassandra_auth):
    # Its own address, so it can run beside the single node that most tests use.
    single = CassandraCluster("single")
    assert not set(cassandra_auth.contact_points) & set(single.contact_points)
    assert (cassandra_auth.username, cassandra_auth.password) == ("cassandra", "cassandra")


def test_auth_node_refuses_a_wrong_password(cassandra_auth):
    cluster = Cluster(
        **cassandra_auth.reference_cluster_kwargs(
            auth_provider=PlainTextAuthProvider(username="cassandra", password="wrong")
        )
    )
    try:
        with pytest.raises(NoHostAvailable) as excinfo:
            cluster.connect()
    finally:
        cluster.shutdown()
    errors = list(excinfo.value.errors.values())
    assert errors and all(isinstance(e, AuthenticationFailed) for e in errors), errors


def test_auth_node_refuses_a_client_without_credentials(cassandra_auth):
    kwargs = cassandra_auth.reference_cluster_kwargs()
    del kwargs["auth_provider"]
    cluster = Cluster(**kwargs)
    try:
        with pytest.raises(NoHostAvailable):
            cluster.connect()
    finally:
        cluster.shutdown()


def test_auth_node_accepts_the_default_superuser(cassandra_auth):
    cluster, session = _connect(
        cassandra_auth, PlainTextAuthProvider(username="cassandra", password="cassandra")
    )
    try:
        row = session.execute("SELECT role, is_superuser FROM system_auth.roles WHERE role = 'cassandra'").one()
        assert row.role == "cassandra" and row.is_superuser is True
    finally:
        cluster.shutdown()


def test_auth_node_accepts_sasl_plain(cassandra_auth):
    provider = SaslAuthProvider(
        service="cassandra", qops=["auth"], mechanism="PLAIN", username="cassandra", password="cassandra"
    )
    cluster, session = _connect(cassandra_auth, provider)
    try:
        assert session.execute("SELECT release_version FROM system.local").one().release_version == cassandra_auth.version
    finally:
        cluster.shutdown()
