"""Drop-in behaviour added by the compatibility audit, checked against cassandra-driver 3.30 (no server).

``cassfast.marshal`` and ``cassfast.type_codes`` must give what the reference gives; the reactor
names of ``cassfast.io`` must be accepted (and only Connection subclasses must be) by
``Cluster(connection_class=...)``; the SNI and unix-socket endpoints must behave like the
reference's; and the options cassfast cannot honour must fail loudly instead of being ignored.
"""
from __future__ import annotations

import random
import socket

import cassandra.connection as ref_connection
import cassandra.marshal as ref_marshal
import cassandra.type_codes as ref_type_codes
import pytest

import cassfast.marshal as marshal
import cassfast.type_codes as type_codes
from cassfast import UnsupportedOperation
from cassfast.cluster import Cluster, Session
from cassfast.connection import Connection, SniEndPoint, SniEndPointFactory, UnixSocketEndPoint
from cassfast.cqltypes import lookup_casstype
from cassfast.protocol import ProtocolHandler
from cassfast.io import asyncioreactor, asyncorereactor, eventletreactor, geventreactor, libevreactor, twistedreactor

_rng = random.Random(3030)
INTS = ([0, 1, -1, 127, 128, -128, -129, 255, 256, 2 ** 14 - 1, 2 ** 14, 2 ** 63 - 1, -2 ** 63]
        + [_rng.randint(-2 ** 63, 2 ** 63 - 1) for _ in range(300)])
BIG = INTS + [2 ** 64, -2 ** 64 - 1] + [_rng.randint(-2 ** 200, 2 ** 200) for _ in range(100)]


def test_varint_pack_matches_the_reference_and_round_trips():
    for value in BIG:
        assert marshal.varint_pack(value) == ref_marshal.varint_pack(value), value
        assert marshal.varint_unpack(ref_marshal.varint_pack(value)) == value


def test_vints_match_the_reference_in_both_directions():
    for value in INTS:
        values = [value, -(value // 7), 0]
        packed = ref_marshal.vints_pack(values)
        assert marshal.vints_pack(values) == packed, value
        assert marshal.vints_unpack(packed) == ref_marshal.vints_unpack(packed) == tuple(values)


def test_unsigned_vint_matches_the_reference_and_reports_its_length():
    for value in [v for v in INTS if v >= 0] + [2 ** 64 - 1]:
        packed = ref_marshal.uvint_pack(value)
        assert marshal.uvint_pack(value) == packed, value
        assert marshal.uvint_unpack(packed + b"trailing") == (value, len(packed))


def test_out_of_range_vints_raise_value_error():
    with pytest.raises(ValueError):
        marshal.vints_pack([2 ** 63])
    with pytest.raises(ValueError):
        marshal.uvint_pack(-1)
    with pytest.raises(ValueError):
        marshal.uvint_unpack(b"\xc0\x01")  # announces 2 extra bytes, has 1


@pytest.mark.parametrize("name", ["int64", "int32", "int16", "int8", "uint64", "uint32",
                                  "uint32_le", "uint16", "uint8", "double", "float"])
def test_fixed_width_packers_match_the_reference(name):
    for value in (0, 1, 100):
        packed = getattr(ref_marshal, name + "_pack")(value)
        assert getattr(marshal, name + "_pack")(value) == packed
        assert getattr(marshal, name + "_unpack")(packed) == getattr(ref_marshal, name + "_unpack")(packed)


def test_type_codes_have_the_reference_values():
    names = [n for n in dir(ref_type_codes) if not n.startswith("_")]
    assert {n: getattr(type_codes, n) for n in names} == {n: getattr(ref_type_codes, n) for n in names}


REACTORS = [libevreactor.LibevConnection, asyncorereactor.AsyncoreConnection,
            asyncioreactor.AsyncioConnection, geventreactor.GeventConnection,
            eventletreactor.EventletConnection, twistedreactor.TwistedConnection]


@pytest.mark.parametrize("reactor", REACTORS, ids=lambda c: c.__name__)
def test_every_reactor_name_is_a_cassfast_connection_the_cluster_accepts(reactor):
    assert issubclass(reactor, Connection)
    reactor.initialize_reactor()  # the reference's class hook; nothing to start here
    cluster = Cluster(["127.0.0.1"], connection_class=reactor)
    assert cluster.connection_class is reactor


@pytest.mark.parametrize("bad", [object, "LibevConnection", ref_connection.Connection])
def test_a_connection_class_cassfast_cannot_use_is_a_type_error(bad):
    with pytest.raises(TypeError, match="cassfast.io"):
        Cluster(["127.0.0.1"], connection_class=bad)


def test_cloud_bundles_are_refused_not_ignored():
    with pytest.raises(UnsupportedOperation, match="cloud"):
        Cluster(cloud={"secure_connect_bundle": "/nonexistent/bundle.zip"})


def test_column_encryption_is_refused_rather_than_writing_plaintext():
    with pytest.raises(UnsupportedOperation, match="column encryption"):
        Cluster(["127.0.0.1"], column_encryption_policy=object())


def test_a_custom_client_protocol_handler_is_refused_rather_than_ignored():
    session = Session.__new__(Session)  # the property reads no session state
    assert session.client_protocol_handler is ProtocolHandler
    session.client_protocol_handler = ProtocolHandler  # the default may be set back

    class RowsAsLists(ProtocolHandler):
        pass

    with pytest.raises(UnsupportedOperation, match="client_protocol_handler cannot be replaced"):
        session.client_protocol_handler = RowsAsLists
    assert session.client_protocol_handler is ProtocolHandler
    assert "client_protocol_handler" not in vars(session)


@pytest.mark.parametrize("cql_type", ["ListType(Int32Type)", "SetType(UTF8Type)",
                                      "MapType(UTF8Type, Int32Type)"])
@pytest.mark.parametrize("protocol_version", [1, 2])
def test_collections_in_protocol_v1_v2_raise_instead_of_using_v3_framing(cql_type, protocol_version):
    descriptor = lookup_casstype(cql_type)
    with pytest.raises(UnsupportedOperation, match="protocol v%d" % protocol_version):
        descriptor.serialize(descriptor.deserialize(b"\x00\x00\x00\x00", 3), protocol_version)
    with pytest.raises(UnsupportedOperation):
        descriptor.deserialize(b"\x00\x00", protocol_version)


def _pairs(factory_class, endpoint_name):
    """The same endpoints made by the reference's factory and by cassfast's."""
    ref = ref_connection.SniEndPointFactory("localhost", 30002).create_from_sni(endpoint_name)
    ours = factory_class("localhost", 30002).create_from_sni(endpoint_name)
    return ref, ours


def test_sni_endpoint_shows_and_resolves_like_the_reference():
    ref, ours = _pairs(SniEndPointFactory, "node-1")
    assert (ours.address, ours.port, ours.ssl_options) == (ref.address, ref.port, ref.ssl_options)
    assert (str(ours), repr(ours)) == (str(ref), repr(ref))
    assert [ours.resolve() for _ in range(3)] == [ref.resolve() for _ in range(3)]


def test_sni_endpoints_are_equal_only_for_the_same_proxy_port_and_name():
    factory = SniEndPointFactory("proxy.example", 30002)
    assert factory.create_from_sni("a") == SniEndPoint("proxy.example", "a", 30002)
    assert hash(factory.create_from_sni("a")) == hash(SniEndPoint("proxy.example", "a", 30002))
    assert factory.create_from_sni("a") != factory.create_from_sni("b")
    assert factory.create_from_sni("a") != SniEndPointFactory("proxy.example", 9999).create_from_sni("a")


def test_sni_factory_names_peers_by_host_id_and_rejects_rows_without_one():
    endpoint = SniEndPointFactory("proxy.example", 30002).create({"host_id": "1234"})
    assert endpoint.ssl_options == {"server_hostname": "1234"}
    with pytest.raises(ValueError, match="host_id"):
        SniEndPointFactory("proxy.example", 30002).create({"peer": "10.0.0.1"})


def test_unix_socket_endpoint_matches_the_reference():
    ref = ref_connection.UnixSocketEndPoint("/run/cassandra.sock")
    ours = UnixSocketEndPoint("/run/cassandra.sock")
    assert (ours.address, ours.port, ours.socket_family, ours.resolve()) == (
        ref.address, ref.port, ref.socket_family, ref.resolve())
    assert ours.socket_family == socket.AF_UNIX
    assert (str(ours), repr(ours)) == (str(ref), repr(ref))
    assert ours == UnixSocketEndPoint("/run/cassandra.sock") != UnixSocketEndPoint("/other.sock")


def test_tls_for_endpoint_takes_the_sni_name_from_the_endpoint_and_implies_tls():
    import ssl

    from cassfast.connection import tls_for_endpoint
    sni = SniEndPoint("proxy.example", "host-id-1", 30002)
    context, name = tls_for_endpoint(sni, "10.0.0.9", None, None)
    assert isinstance(context, ssl.SSLContext) and name == "host-id-1"
    mine = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert tls_for_endpoint(sni, "10.0.0.9", mine, "cluster-wide") == (mine, "host-id-1")
    plain = UnixSocketEndPoint("/run/cassandra.sock")
    assert tls_for_endpoint(plain, "/run/cassandra.sock", None, "ignored") == (None, None)
    assert tls_for_endpoint(plain, "10.0.0.9", mine, None) == (mine, "10.0.0.9")


@pytest.mark.parametrize("method", ["set_min_requests_per_connection", "set_max_requests_per_connection"])
def test_v1_v2_pool_thresholds_raise_unsupported_operation_as_the_reference_does_on_v3_plus(method):
    import cassandra
    import cassandra.cluster
    from cassfast.policies import HostDistance
    reference = cassandra.cluster.Cluster(protocol_version=4)
    with pytest.raises(cassandra.UnsupportedOperation):
        getattr(reference, method)(HostDistance.LOCAL, 10)
    with pytest.raises(UnsupportedOperation):
        getattr(Cluster(["127.0.0.1"]), method)(HostDistance.LOCAL, 10)


def test_set_meta_refresh_enabled_is_deprecated_and_sets_both_flags():
    cluster = Cluster(["127.0.0.1"])
    with pytest.warns(DeprecationWarning):
        cluster.set_meta_refresh_enabled(False)
    assert (cluster.schema_metadata_enabled, cluster.token_metadata_enabled) == (False, False)


def test_plain_text_authenticator_hooks_match_the_reference():
    import cassandra.auth
    from cassfast.auth import PlainTextAuthenticator
    ref = cassandra.auth.PlainTextAuthenticator("user", "secret")
    ours = PlainTextAuthenticator("user", "secret")
    assert (ours.get_mechanism(), ours.get_initial_challenge()) == (ref.get_mechanism(), ref.get_initial_challenge())
    assert ours.evaluate_challenge(ours.get_initial_challenge()) == ref.evaluate_challenge(b"PLAIN-START")


def test_indexing_the_first_row_of_a_result_set_warns_like_the_reference():
    import types
    import warnings

    import cassandra.cluster

    from cassfast.cluster import ResultSet

    def future():
        return types.SimpleNamespace(has_more_pages=False, _col_names=["k"], _col_types=None)

    for result_set_class in (cassandra.cluster.ResultSet, ResultSet):
        rows = result_set_class(future(), [("a",), ("b",)])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert rows[0] == ("a",) and rows[1] == ("b",)
        assert [w.category for w in caught] == [DeprecationWarning], result_set_class
        assert "indexing support will be removed in 4.0" in str(caught[0].message)


def test_a_cluster_without_connection_class_reports_the_default_connection_class():
    import cassandra.cluster

    from cassfast.cluster import DefaultConnection
    assert isinstance(cassandra.cluster.Cluster().connection_class, type)  # the reference's form
    assert Cluster(["127.0.0.1"]).connection_class is DefaultConnection is Connection
