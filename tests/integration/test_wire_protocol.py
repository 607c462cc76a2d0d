"""The protocol core against a real Cassandra node over a plain socket, without the connection
layer: OPTIONS, STARTUP, QUERY, PREPARE/EXECUTE, REGISTER/EVENT and errors on protocol v3 and v4
(uncompressed, LZ4, Snappy) and v5 (segments, uncompressed and LZ4).

Uses the ``cassandra_single`` fixture (tests/conftest.py: one Apache Cassandra 5.0 node started by
``python -m cassfast.testing.cluster start single``)."""
import socket
import time
import uuid

import pytest
from cassandra import protocol as ref_protocol
from cassandra.connection import locally_supported_compressions as ref_compressions

from cassfast import ConsistencyLevel
from cassfast._core import FrameDecoder, SegmentEncoder
from cassfast._core_messages import compress_frame, encode_query_frame
from cassfast.protocol import (AuthenticateMessage, ErrorMessage, EventMessage, ExecuteMessage,
                               OptionsMessage, PreparedQueryNotFound, PrepareMessage,
                               ProtocolHandler, QueryMessage, ReadyMessage, RegisterMessage,
                               ResultMessage, RESULT_KIND_PREPARED, RESULT_KIND_ROWS,
                               RESULT_KIND_SCHEMA_CHANGE, StartupMessage, SupportedMessage,
                               SyntaxException, locally_supported_compressions)
from cassfast.testing import _fetch

pytestmark = pytest.mark.integration

ONE = ConsistencyLevel.ONE


class WireClient:
    """A minimal synchronous client: the core's encoders and FrameDecoder over a socket."""

    def __init__(self, host, port, protocol_version, compression=None):
        self.pv = protocol_version
        self.compression = compression
        self.sock = socket.create_connection((host, port), timeout=20)
        self.decoder = FrameDecoder(protocol_version)
        self.segments = None
        self.compressor = self.decompressor = None
        self.events = []
        self._stream = 0

    def close(self):
        self.sock.close()

    def send(self, msg):
        if callable(msg):  # a function of the stream id returning an encoded frame
            self._stream = (self._stream + 1) % 32768
            frame = msg(self._stream)
            if self.compressor:
                frame = compress_frame(frame, self.compressor)
        else:
            self._stream = (self._stream + 1) % 32768
            frame = ProtocolHandler.encode_message(msg, self._stream, self.pv, self.compressor,
                                                   False)
        self.sock.sendall(self.segments.encode(frame) if self.segments else frame)
        return self._stream

    def request(self, msg, result_metadata=None):
        """Send a message (or a frame builder ``f(stream_id)``) and return its response."""
        return self.request_raw(msg, result_metadata)[0]

    def request_raw(self, msg, result_metadata=None):
        """Like ``request`` but also return the response frame as the decoder cut it."""
        stream = self.send(msg)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            data = self.sock.recv(1 << 20)
            assert data, "server closed the connection"
            for frame in self.decoder.feed(data):
                version, flags, stream_id, opcode, body = frame
                response = ProtocolHandler.decode_message(version, {}, stream_id, flags, opcode,
                                                          body, self.decompressor, result_metadata)
                if stream_id == stream:
                    return response, frame
                self.events.append(response)
        raise AssertionError("no response on stream %d" % stream)

    def wait_event(self, predicate, timeout=20):
        """The first pushed message matching ``predicate`` (the node is shared: other tests'
        schema changes arrive too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, event in enumerate(self.events):
                if predicate(event):
                    return self.events.pop(i)
            for version, flags, stream_id, opcode, body in self.decoder.feed(self.sock.recv(1 << 20)):
                self.events.append(ProtocolHandler.decode_message(
                    version, {}, stream_id, flags, opcode, body, self.decompressor, None))
        raise AssertionError("no matching event within %ss: %r" % (timeout, self.events))

    def startup(self):
        options = {"DRIVER_NAME": "cassfast-wire-test"}
        if self.compression:
            options["COMPRESSION"] = self.compression
            if self.pv < 5:
                # Cassandra already compresses its answer to STARTUP (READY) on v3/v4, so the
                # decompressor is needed before it; our own STARTUP must go uncompressed.
                self.decompressor = locally_supported_compressions[self.compression][1]
        response = self.request(StartupMessage("3.0.0", options))
        assert isinstance(response, (ReadyMessage, AuthenticateMessage)), response
        # v5 section 2: everything after the STARTUP answer travels in segments; v3/v4 compress
        # frame bodies from here on.
        if self.pv >= 5:
            self.decoder.start_segments(self.compression)
            self.segments = SegmentEncoder(self.compression)
        elif self.compression:
            self.compressor = locally_supported_compressions[self.compression][0]
        return response


VARIANTS = [(3, None), (4, None), (4, "lz4"), (4, "snappy"), (5, None), (5, "lz4")]


@pytest.fixture(params=VARIANTS, ids=["v%d-%s" % (pv, c or "plain") for pv, c in VARIANTS])
def client(request, cassandra_single):
    pv, compression = request.param
    c = WireClient(cassandra_single.contact_points[0], cassandra_single.port, pv, compression)
    ready = c.startup()
    assert isinstance(ready, ReadyMessage)
    yield c
    c.close()


def test_options_returns_supported_with_protocol_versions(cassandra_single):
    c = WireClient(cassandra_single.contact_points[0], cassandra_single.port, 4)
    try:
        supported = c.request(OptionsMessage())
    finally:
        c.close()
    assert isinstance(supported, SupportedMessage)
    assert supported.cql_versions and "4/v4" in supported.options["PROTOCOL_VERSIONS"]
    assert "5/v5" in supported.options["PROTOCOL_VERSIONS"]
    assert "lz4" in supported.options["COMPRESSION"]


def test_query_reads_release_version(client):
    result = client.request(QueryMessage("SELECT release_version FROM system.local", ONE))
    assert isinstance(result, ResultMessage) and result.kind == RESULT_KIND_ROWS
    assert result.column_names == ["release_version"]
    assert len(result.parsed_rows) == 1 and result.parsed_rows[0][0] == _fetch.default_version()


def test_prepare_and_execute_with_a_bound_value(client):
    prepared = client.request(PrepareMessage(
        "SELECT key, release_version FROM system.local WHERE key = ?"))
    assert prepared.kind == RESULT_KIND_PREPARED
    assert prepared.bind_metadata.column_names == ("key",)
    assert prepared.result_metadata.column_names == ("key", "release_version")
    assert (prepared.result_metadata_id is not None) == (client.pv >= 5)
    result = client.request(ExecuteMessage(prepared.query_id, [b"local"], ONE,
                                           result_metadata_id=prepared.result_metadata_id))
    assert result.parsed_rows[0][0] == "local" and result.parsed_rows[0][1] == _fetch.default_version()


def test_execute_with_skip_meta_decodes_with_the_prepared_metadata(client):
    prepared = client.request(PrepareMessage("SELECT key FROM system.local WHERE key = ?"))
    result = client.request(ExecuteMessage(prepared.query_id, [b"local"], ONE, skip_meta=True,
                                           result_metadata_id=prepared.result_metadata_id),
                            result_metadata=prepared.result_metadata)
    assert result.column_metadata is None
    assert result.parsed_rows == [("local",)]


def test_syntax_error_comes_back_as_an_error_message(client):
    error = client.request(QueryMessage("SELEC nonsense", ONE))
    assert isinstance(error, SyntaxException) and error.code == 0x2000


def test_unknown_prepared_id_reports_the_id(client):
    bogus = uuid.uuid4().bytes
    error = client.request(ExecuteMessage(bogus, [], ONE, result_metadata_id=b"\x00" * 16))
    assert isinstance(error, PreparedQueryNotFound) and error.info == bogus


def test_large_request_and_response_cross_segment_boundaries(client, cassandra_single):
    # 300 KB in each direction: on v5 both travel as multi-segment envelopes (128 KiB - 1 max).
    table = "h3_wire.blobs_v%d_%s" % (client.pv, client.compression or "plain")
    client.request(QueryMessage("CREATE KEYSPACE IF NOT EXISTS h3_wire WITH replication = "
                                "{'class': 'SimpleStrategy', 'replication_factor': 1}", ONE))
    client.request(QueryMessage("CREATE TABLE IF NOT EXISTS %s (k int PRIMARY KEY, v blob)"
                                % table, ONE))
    payload = bytes(range(256)) * 1200
    literal = "0x" + payload.hex()
    done = client.request(QueryMessage("INSERT INTO %s (k, v) VALUES (1, %s)" % (table, literal),
                                       ONE))
    assert not isinstance(done, ErrorMessage), done
    result = client.request(QueryMessage("SELECT v FROM %s WHERE k = 1" % table, ONE))
    assert result.parsed_rows == [(payload,)]


def test_register_delivers_schema_change_events(client):
    client.request(QueryMessage("CREATE KEYSPACE IF NOT EXISTS h3_wire WITH replication = "
                                "{'class': 'SimpleStrategy', 'replication_factor': 1}", ONE))
    ready = client.request(RegisterMessage(["SCHEMA_CHANGE"]))
    assert isinstance(ready, ReadyMessage)
    name = "t_%s" % uuid.uuid4().hex[:12]
    result = client.request(QueryMessage("CREATE TABLE h3_wire.%s (k int PRIMARY KEY)" % name, ONE))
    assert result.kind == RESULT_KIND_SCHEMA_CHANGE
    assert result.schema_change_event == {"target_type": "TABLE", "change_type": "CREATED",
                                          "keyspace": "h3_wire", "table": name}
    event = client.wait_event(lambda e: getattr(e, "event_args", {}).get("table") == name)
    assert isinstance(event, EventMessage) and event.stream_id == -1
    assert event.event_type == "SCHEMA_CHANGE"
    assert event.event_args == {"target_type": "TABLE", "change_type": "CREATED",
                                "keyspace": "h3_wire", "table": name}
    client.request(QueryMessage("DROP TABLE h3_wire.%s" % name, ONE))


def test_query_with_named_values(client):
    result = client.request(lambda stream: encode_query_frame(
        stream, client.pv, "SELECT key FROM system.local WHERE key = :k", ONE, {"k": b"local"}))
    assert result.parsed_rows == [("local",)]


@pytest.mark.parametrize("compression", [None, "lz4"])
def test_v5_now_in_seconds_and_keyspace_are_accepted(cassandra_single, compression):
    c = WireClient(cassandra_single.contact_points[0], cassandra_single.port, 5, compression)
    try:
        c.startup()
        result = c.request(lambda stream: encode_query_frame(
            stream, 5, "SELECT key FROM local", ONE, keyspace="system",
            now_in_seconds=1700000000))
    finally:
        c.close()
    assert result.parsed_rows == [("local",)]


@pytest.mark.parametrize("query", ["SELECT * FROM system.local", "SELECT * FROM system_schema.tables",
                                   "SELECT * FROM system_schema.columns"])
def test_server_result_bytes_decode_identically_in_both_drivers(client, query):
    # Real RESULT bodies (many CQL types: uuid, inet, timestamp, sets, maps, frozen types) cut by
    # our FrameDecoder, then decoded by cassfast and by cassandra-driver.
    mine, (version, flags, stream_id, opcode, body) = client.request_raw(QueryMessage(query, ONE))
    decompressor = ref_compressions[client.compression][1] if client.compression and client.pv < 5 else None
    theirs = ref_protocol.ProtocolHandler.decode_message(version, {}, stream_id, flags, opcode,
                                                         body, decompressor, None)
    assert mine.column_names == theirs.column_names
    assert len(mine.parsed_rows) > 0
    assert mine.parsed_rows == theirs.parsed_rows
