"""Code that picks the reference's reactor or endpoint classes runs unchanged on cassfast (single node).

A program that passes ``connection_class=`` one of the reference's reactor classes is run under
cassandra-driver 3.30 (for the reactors it can load here) and, after
``cassfast.install_as_cassandra()``, under cassfast for all six; each run must read the same
row from the server.  A ``UnixSocketEndPoint`` contact point is dialled through a unix socket
that relays to the node.
"""
import os
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

pytestmark = pytest.mark.integration

PROGRAM = textwrap.dedent('''
    import importlib, sys
    module_name, class_name, host, port = sys.argv[1:5]
    reactor = getattr(importlib.import_module(module_name), class_name)
    from cassandra.cluster import Cluster
    with Cluster([host], port=int(port), connection_class=reactor) as cluster:
        session = cluster.connect()
        row = session.execute("SELECT cluster_name, release_version FROM system.local").one()
        print(cluster.connection_class.__name__, row.cluster_name, row.release_version)
''')

REACTORS = [("cassandra.io.asyncioreactor", "AsyncioConnection"),
            ("cassandra.io.asyncorereactor", "AsyncoreConnection"),
            ("cassandra.io.libevreactor", "LibevConnection"),
            ("cassandra.io.geventreactor", "GeventConnection"),
            ("cassandra.io.eventletreactor", "EventletConnection"),
            ("cassandra.io.twistedreactor", "TwistedConnection")]
# The reactors cassandra-driver itself can run in this environment (no gevent, eventlet, twisted
# or libev extension needed).
REFERENCE_RUNNABLE = {"AsyncioConnection", "AsyncoreConnection"}


def _run(script, reactor, node, use_cassfast):
    prelude = "import cassfast; cassfast.install_as_cassandra(); " if use_cassfast else ""
    code = prelude + "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    proc = subprocess.run([sys.executable, "-W", "ignore::DeprecationWarning", "-c", code, str(script),
                           reactor[0], reactor[1], node[0], str(node[1])],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


@pytest.mark.parametrize("reactor", REACTORS, ids=[r[1] for r in REACTORS])
def test_a_program_choosing_a_reactor_reads_the_same_row_on_cassfast(cassandra_single, tmp_path, reactor):
    script = tmp_path / "app.py"
    script.write_text(PROGRAM)
    node = (cassandra_single.contact_points[0], cassandra_single.port)
    baseline = reactor if reactor[1] in REFERENCE_RUNNABLE else REACTORS[0]
    expected = _run(script, baseline, node, use_cassfast=False)
    got = _run(script, reactor, node, use_cassfast=True)
    # Same row from the server; the class the program chose is the one the cluster kept.
    assert got.split()[1:] == expected.split()[1:]
    assert got.split()[0] == reactor[1]


class _UnixRelay:
    """Accept on a unix socket and relay each connection to the node's TCP port, counting them."""

    def __init__(self, path, target):
        self.path, self.target, self.accepted = path, target, 0
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            self.accepted += 1
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


def test_unix_socket_endpoint_contact_point_connects_and_queries(cassandra_single, tmp_path):
    from cassandra.cluster import Cluster as ReferenceCluster
    from cassfast.cluster import Cluster
    from cassfast.connection import UnixSocketEndPoint

    host, port = cassandra_single.contact_points[0], cassandra_single.port
    with ReferenceCluster(**cassandra_single.reference_cluster_kwargs()) as reference:
        expected = reference.connect().execute("SELECT release_version FROM system.local").one()[0]
    path = os.path.join(str(tmp_path), "node.sock")
    relay = _UnixRelay(path, (host, port))
    try:
        with Cluster([UnixSocketEndPoint(path)]) as cluster:
            session = cluster.connect()
            got = session.execute("SELECT release_version FROM system.local").one()[0]
    finally:
        relay.close()
    assert got == expected
    assert relay.accepted >= 1  # the control connection did go through the unix socket
