"""Smoke tests of the ``tls`` variant (client encryption required, 127.0.0.5), via cassandra-driver.

The server must refuse plaintext clients, accept a TLS client that trusts the exported
certificate with hostname checking on, and be rejected by a client that does not trust it (which
proves the client really verified the certificate rather than accepting anything).
"""
from __future__ import annotations

import ssl

import pytest
from cassandra.cluster import Cluster, NoHostAvailable

pytestmark = [pytest.mark.integration, pytest.mark.tls]


def _connect_kwargs(cassandra_tls, **overrides):
    kwargs = cassandra_tls.reference_cluster_kwargs(connect_timeout=5, control_connection_timeout=5)
    kwargs.update(overrides)
    return kwargs


def test_tls_node_exposes_a_pem_ca_file(cassandra_tls):
    with open(cassandra_tls.ca_file) as f:
        pem = f.read()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert ssl.PEM_cert_to_DER_cert(pem)  # parses as a certificate


def test_tls_node_refuses_a_plaintext_client(cassandra_tls):
    kwargs = _connect_kwargs(cassandra_tls)
    del kwargs["ssl_context"]
    cluster = Cluster(**kwargs)
    try:
        with pytest.raises(NoHostAvailable):
            cluster.connect()
    finally:
        cluster.shutdown()


def test_tls_node_accepts_a_client_verifying_certificate_and_hostname(cassandra_tls):
    context = cassandra_tls.ssl_context()
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    cluster = Cluster(**_connect_kwargs(cassandra_tls, ssl_context=context))
    try:
        session = cluster.connect()
        assert session.execute("SELECT release_version FROM system.local").one().release_version == cassandra_tls.version
    finally:
        cluster.shutdown()


def test_tls_node_is_rejected_by_a_client_that_does_not_trust_its_certificate(cassandra_tls):
    untrusting = ssl.create_default_context()  # system CAs only: the test certificate is self-signed
    cluster = Cluster(**_connect_kwargs(cassandra_tls, ssl_context=untrusting))
    try:
        with pytest.raises(NoHostAvailable) as excinfo:
            cluster.connect()
    finally:
        cluster.shutdown()
    assert any("CERTIFICATE_VERIFY_FAILED" in str(e) for e in excinfo.value.errors.values()), excinfo.value.errors
