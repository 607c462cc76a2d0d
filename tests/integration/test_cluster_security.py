"""Authentication and TLS against the harness's dedicated nodes.

``auth`` variant: PasswordAuthenticator on 127.0.0.4 (superuser cassandra/cassandra).
``tls`` variant: client encryption required on 127.0.0.5, certificate with IP SANs.
Implementation: cassfast (the harness's own smoke tests check the same nodes with
cassandra-driver, so a failure here is ours).
"""
import shutil
import ssl
import subprocess

import pytest

from cassfast import AuthenticationFailed, OperationTimedOut
from cassfast.auth import PlainTextAuthProvider, SaslAuthProvider
from cassfast.cluster import Cluster, NoHostAvailable
from cassfast.connection import ConnectionException
from cassfast.testing import _fetch

from _h5_support import contact_of


def lanes_opened(session) -> int:
    """How many lanes (connections driven by blocked callers, cassfast._lanes) are open."""
    return sum(pool.lanes.open_count for pool in session.get_pools())


@pytest.mark.integration
@pytest.mark.auth
def test_right_credentials_connect(cassandra_auth):
    points, port = contact_of(cassandra_auth)
    with Cluster(points, port=port, auth_provider=PlainTextAuthProvider("cassandra", "cassandra")) as cluster:
        session = cluster.connect()
        row = session.execute("SELECT role FROM system_auth.roles WHERE role = 'cassandra'").one()
        assert row.role == "cassandra"
        assert lanes_opened(session) == 1  # the synchronous request's lane authenticated too


@pytest.mark.integration
@pytest.mark.auth
def test_wrong_credentials_raise_authentication_failed_per_host(cassandra_auth):
    # As the reference driver: NoHostAvailable whose per-host errors are AuthenticationFailed.
    points, port = contact_of(cassandra_auth)
    with pytest.raises(NoHostAvailable) as exc:
        with Cluster(points, port=port, auth_provider=PlainTextAuthProvider("cassandra", "wrong")) as cluster:
            cluster.connect()
    errors = list(exc.value.errors.values())
    assert errors and all(isinstance(e, AuthenticationFailed) for e in errors), errors
    assert "incorrect" in str(errors[0])


@pytest.mark.integration
@pytest.mark.auth
def test_missing_credentials_are_refused(cassandra_auth):
    points, port = contact_of(cassandra_auth)
    with pytest.raises((AuthenticationFailed, NoHostAvailable)):
        with Cluster(points, port=port) as cluster:
            cluster.connect()


@pytest.mark.integration
@pytest.mark.auth
def test_sasl_plain_connects(cassandra_auth):
    points, port = contact_of(cassandra_auth)
    provider = SaslAuthProvider(service="cassandra", qops=["auth"], mechanism="PLAIN",
                                username="cassandra", password="cassandra")
    with Cluster(points, port=port, auth_provider=provider) as cluster:
        session = cluster.connect()
        assert session.execute("SELECT release_version FROM system.local").one().release_version == _fetch.default_version()
        assert lanes_opened(session) == 1


@pytest.mark.integration
@pytest.mark.tls
def test_tls_with_hostname_verification_connects(cassandra_tls):
    points, port = contact_of(cassandra_tls)
    context = cassandra_tls.ssl_context()
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    with Cluster(points, port=port, ssl_context=context) as cluster:
        session = cluster.connect()
        assert session.execute("SELECT release_version FROM system.local").one().release_version == _fetch.default_version()
        assert cluster.protocol_version == max(cassandra_tls.protocol_versions)
        # The synchronous request ran on a lane, over TLS with the same hostname check.
        assert lanes_opened(session) == 1
        (lane,) = [lane for pool in session.get_pools() for lane in pool.lanes._all]
        assert isinstance(lane.sock, ssl.SSLSocket) and lane.sock.getpeercert()


@pytest.mark.integration
@pytest.mark.tls
def test_tls_client_that_does_not_trust_the_server_is_refused(cassandra_tls):
    points, port = contact_of(cassandra_tls)
    context = ssl.create_default_context()  # system CAs only: the node's self-signed cert fails
    with pytest.raises(NoHostAvailable) as exc:
        with Cluster(points, port=port, ssl_context=context, connect_timeout=5) as cluster:
            cluster.connect()
    assert any("CERTIFICATE_VERIFY_FAILED" in str(e) or isinstance(e, ssl.SSLError) or
               "certificate" in str(e).lower() for e in exc.value.errors.values())


@pytest.mark.integration
@pytest.mark.tls
def test_plaintext_client_is_refused_by_the_tls_node(cassandra_tls):
    points, port = contact_of(cassandra_tls)
    with pytest.raises(NoHostAvailable):
        with Cluster(points, port=port, connect_timeout=3, control_connection_timeout=3) as cluster:
            cluster.connect()


@pytest.mark.integration
@pytest.mark.tls
def test_legacy_ssl_options_with_ca_and_hostname_check_connect(cassandra_tls):
    points, port = contact_of(cassandra_tls)
    options = {"ca_certs": cassandra_tls.ca_file, "check_hostname": True}
    with Cluster(points, port=port, ssl_options=options) as cluster:
        session = cluster.connect()
        assert session.execute("SELECT release_version FROM system.local").one().release_version == _fetch.default_version()
        context = cluster.ssl_context
        assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
        # TLS connections keep the loop-only write path (no duplicate descriptor).
        assert session.get_pools()[0].connections[0]._wsock is None


# --- issue 11: verification refuses what it should, a plain client fails at once and clearly ----

def _impostor_ca(directory, address: str) -> str:
    """A self-signed certificate with the node's very subject and SANs but another key: a CA the
    client is told to trust that did not sign the node's certificate."""
    keytool = shutil.which("keytool")
    assert keytool, "keytool (from the JDK) is needed, as for the tls node itself"
    keystore, pem = str(directory / "impostor.p12"), str(directory / "impostor.pem")
    for cmd in ([keytool, "-genkeypair", "-alias", "impostor", "-keyalg", "RSA", "-keysize", "2048",
                 "-validity", "2", "-dname", "CN=localhost, OU=cassfast tests, O=cassfast",
                 "-ext", "SAN=IP:%s,DNS:localhost" % address, "-storetype", "PKCS12", "-keystore", keystore,
                 "-storepass", "impostor", "-keypass", "impostor"],
                [keytool, "-exportcert", "-rfc", "-alias", "impostor", "-keystore", keystore,
                 "-storetype", "PKCS12", "-storepass", "impostor", "-file", pem]):
        subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return pem


def _refusal(points, port, **kwargs):
    with pytest.raises(NoHostAvailable) as exc:
        with Cluster(points, port=port, connect_timeout=5, control_connection_timeout=5, **kwargs) as cluster:
            cluster.connect()
    return list(exc.value.errors.values())


@pytest.mark.integration
@pytest.mark.tls
def test_tls_wrong_hostname_is_refused_when_the_context_checks_it(cassandra_tls):
    points, port = contact_of(cassandra_tls)
    wrong_name = {"server_hostname": "wrong.invalid"}
    errors = _refusal(points, port, ssl_context=cassandra_tls.ssl_context(), ssl_options=wrong_name)
    assert errors and all(isinstance(e, ConnectionException) and "Hostname mismatch" in str(e)
                          and "wrong.invalid" in str(e) for e in errors), errors
    # The same name with the check off connects: it is the hostname check that refused.
    unchecked = cassandra_tls.ssl_context()
    unchecked.check_hostname = False
    with Cluster(points, port=port, ssl_context=unchecked, ssl_options=wrong_name) as cluster:
        session = cluster.connect()
        assert session.execute("SELECT release_version FROM system.local").one().release_version == _fetch.default_version()


@pytest.mark.integration
@pytest.mark.tls
def test_tls_certificate_from_an_untrusted_ca_is_refused(cassandra_tls, tmp_path):
    points, port = contact_of(cassandra_tls)
    context = ssl.create_default_context(cafile=_impostor_ca(tmp_path, points[0]))
    errors = _refusal(points, port, ssl_context=context)
    assert errors and all(isinstance(e, ConnectionException) and "CERTIFICATE_VERIFY_FAILED" in str(e)
                          for e in errors), errors
    # Through the reference's ssl_options form too.
    errors = _refusal(points, port, ssl_options={"ca_certs": str(tmp_path / "impostor.pem"),
                                                 "check_hostname": True})
    assert errors and all("CERTIFICATE_VERIFY_FAILED" in str(e) for e in errors), errors


@pytest.mark.integration
@pytest.mark.tls
def test_plain_client_to_the_tls_node_fails_at_once_with_a_connection_error(cassandra_tls):
    points, port = contact_of(cassandra_tls)
    errors = _refusal(points, port)
    # The node resets a client that does not start TLS: a typed connection error naming the
    # endpoint, from the first attempt (not a timeout after retries).
    assert errors and all(isinstance(e, ConnectionException) and not isinstance(e, OperationTimedOut)
                          and "%s:%d" % (points[0], port) in str(e) for e in errors), errors
