"""Protocol v5 with LZ4 segments against the real node: the server accepts both forms of a
compressed-format segment (v5 spec 2.2): an LZ4 block (uncompressed length > 0) and a payload
carried as is (uncompressed length 0), whether because it is below
``_core.SEGMENT_MIN_COMPRESS_SIZE`` or because LZ4 would not make it smaller.

The segments are observed as they leave the connection (its segment writer is wrapped), and what
the server stored is read back by cassandra-driver, the independent oracle.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
import os

import pytest

import cassandra.cluster as ref_cluster
from cassfast import _core
from cassfast.cluster import Cluster

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration

HEADER, CRC24, CRC32 = 5, 3, 4
MAX_PAYLOAD = 128 * 1024 - 1


def segment_headers(data):
    """(payload length, uncompressed length) of every segment in ``data``."""
    out, pos = [], 0
    while pos < len(data):
        header = int.from_bytes(data[pos:pos + HEADER], "little")
        length = header & MAX_PAYLOAD
        out.append((length, header >> 17 & MAX_PAYLOAD))
        pos += HEADER + CRC24 + length + CRC32
    assert pos == len(data)
    return out


@pytest.fixture(scope="module")
def node(cassandra_single):
    return contact_of(cassandra_single)


@pytest.fixture(scope="module")
def session(node):
    points, port = node
    # No lanes: every request goes through the pool's connections, whose writes are observed.
    cluster = Cluster(points, port=port, protocol_version=5, compression="lz4", sync_lanes_per_host=0)
    s = cluster.connect()
    ks = new_keyspace(s, "lz4seg")
    s.execute("CREATE TABLE %s.t (k int PRIMARY KEY, txt text, blb blob)" % ks)
    s.set_keyspace(ks)
    yield s
    s.execute("DROP KEYSPACE %s" % ks)
    cluster.shutdown()


@pytest.fixture(scope="module")
def reference(node, session):
    points, port = node
    cluster = ref_cluster.Cluster(points, port=port)
    yield cluster.connect(session.keyspace)
    cluster.shutdown()


@pytest.fixture
def written(session):
    """Segment headers of everything the session's connections write during the test."""
    seen = []
    connections = [c for pool in session.get_pools() for c in pool.connections]
    assert connections and all(c.compressor_name == "lz4" and c.protocol_version == 5
                               for c in connections)
    originals = {}
    for connection in connections:
        original = originals[connection] = connection._segment_writer

        def recording(frames, original=original):
            data = original(frames)
            seen.extend(segment_headers(data))
            return data
        connection._segment_writer = recording
    yield seen
    for connection, original in originals.items():
        connection._segment_writer = original


def test_small_request_travels_uncompressed_in_a_compressed_format_segment(session, reference, written):
    session.execute("INSERT INTO t (k, txt) VALUES (1, 'x')")
    assert written and all(0 < length < _core.SEGMENT_MIN_COMPRESS_SIZE and uncompressed == 0
                           for length, uncompressed in written)
    assert reference.execute("SELECT txt FROM t WHERE k = 1").one().txt == "x"


def test_large_compressible_request_travels_as_an_lz4_block(session, reference, written):
    text = "the same sentence over and over. " * 600
    session.execute("INSERT INTO t (k, txt) VALUES (%s, %s)", (2, text))
    big = [(length, uncompressed) for length, uncompressed in written if uncompressed]
    assert len(big) == 1
    length, uncompressed = big[0]
    assert uncompressed > len(text) and length < uncompressed // 10
    assert reference.execute("SELECT txt FROM t WHERE k = 2").one().txt == text


def test_large_incompressible_request_travels_uncompressed(session, reference, written):
    insert = session.prepare("INSERT INTO t (k, blb) VALUES (?, ?)")
    written.clear()
    blob = os.urandom(20000)  # random bytes, bound as binary: LZ4 cannot make them smaller
    session.execute(insert, (3, blob))
    assert any(length > len(blob) and uncompressed == 0 for length, uncompressed in written)
    assert all(uncompressed == 0 for _, uncompressed in written)
    assert reference.execute("SELECT blb FROM t WHERE k = 3").one().blb == blob


def test_answers_of_both_forms_decode(session):
    # Reading the big rows back makes the server send compressed and uncompressed segments too.
    assert session.execute("SELECT txt FROM t WHERE k = 2").one().txt.startswith("the same")
    assert len(session.execute("SELECT blb FROM t WHERE k = 3").one().blb) == 20000


def test_synchronous_requests_on_lanes_use_the_same_segments(node, session, reference):
    # Lanes (the synchronous path's own connections) wrap envelopes with the same encoder.
    points, port = node
    cluster = Cluster(points, port=port, protocol_version=5, compression="lz4")
    try:
        lanes_session = cluster.connect(session.keyspace)
        text = "lane text, compressible, " * 400
        lanes_session.execute("INSERT INTO t (k, txt) VALUES (%s, %s)", (4, "small"))
        lanes_session.execute("INSERT INTO t (k, txt) VALUES (%s, %s)", (5, text))
        (pool,) = lanes_session.get_pools()
        assert pool.lanes is not None and pool.lanes.open_count >= 1  # the requests went over a lane
        assert reference.execute("SELECT txt FROM t WHERE k = 4").one().txt == "small"
        assert reference.execute("SELECT txt FROM t WHERE k = 5").one().txt == text
    finally:
        cluster.shutdown()
