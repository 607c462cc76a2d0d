"""Third-party tracing packages written for cassandra-driver see every cassfast request.

``opentelemetry-instrumentation-cassandra`` wraps ``Session.execute_async`` on the class; ddtrace
(3.x; 4.x dropped its Cassandra integration) wraps ``Cluster.connect``, then each session's
``execute_async`` and each future's ``_set_final_result`` / ``_set_final_exception`` /
``start_fetching_next_page``.  Both see a synchronous ``session.execute`` only because the
reference's ``execute`` calls ``execute_async`` and completes through ``_set_final_result``:
cassfast keeps those seams (issue 13).  ``_tracing_probe.py`` runs the same program in a
subprocess on cassandra-driver and on cassfast (``install_as_cassandra()``, lanes on and off), and
the spans each package records must be the same list, request by request.

Server: the harness's single Apache Cassandra 5.0 node.  Implementations: cassandra-driver 3.30
(the expected spans) and cassfast.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cassfast.cluster import Cluster

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration

PROBE = Path(__file__).with_name("_tracing_probe.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def keyspace(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as setup:
        s = setup.connect()
        ks = new_keyspace(s, "tracing")
        s.execute("CREATE TABLE %s.t (k int PRIMARY KEY)" % ks)
        for k in (1, 2, 3):
            s.execute("INSERT INTO %s.t (k) VALUES (%d)" % (ks, k))
        yield ks
        s.execute("DROP KEYSPACE %s" % ks)


def probe(cassandra_single, keyspace, which: str, driver: str, lanes: int) -> dict:
    points, port = contact_of(cassandra_single)
    env = dict(os.environ, PYTHONPATH=str(ROOT),
               # ddtrace: no agent, no telemetry, no remote configuration (the probe keeps spans
               # in memory and drops every trace before it would be sent).
               DD_TRACE_AGENT_URL="http://127.0.0.1:1", DD_INSTRUMENTATION_TELEMETRY_ENABLED="false",
               DD_REMOTE_CONFIGURATION_ENABLED="false", DD_TRACE_STARTUP_LOGS="false")
    proc = subprocess.run([sys.executable, str(PROBE), which, driver, points[0], str(port), keyspace,
                           str(lanes)], capture_output=True, text=True, timeout=180, env=env,
                          cwd=str(ROOT))
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected_root = "cassfast" if driver == "cassfast" else "site-packages"
    assert expected_root in out["driver"], out["driver"]
    assert out["rows"] == [1, 2, 3]
    return out


@pytest.mark.parametrize("lanes", [8, 0])
def test_opentelemetry_cassandra_instrumentation_records_a_span_per_request_as_on_the_reference(
        cassandra_single, keyspace, lanes):
    reference = probe(cassandra_single, keyspace, "otel", "reference", 0)["spans"]
    cassfast = probe(cassandra_single, keyspace, "otel", "cassfast", lanes)["spans"]
    # 2 execute, 1 execute_async, 1 paged execute (its span covers execute_async only), 1 error.
    assert [s["statement"] for s in reference] == [
        "SELECT k FROM t WHERE k = 1", "SELECT k FROM t WHERE k = 2", "SELECT k FROM t WHERE k = 3",
        '<SimpleStatement query="SELECT k FROM t", consistency=Not Set>', "SELECT nope FROM t"]
    assert all(s["keyspace"] == keyspace for s in reference)
    assert cassfast == reference


@pytest.mark.parametrize("lanes", [8, 0])
def test_ddtrace_cassandra_integration_records_a_span_per_request_and_page_as_on_the_reference(
        cassandra_single, keyspace, lanes):
    reference = probe(cassandra_single, keyspace, "ddtrace", "reference", 0)["spans"]
    cassfast = probe(cassandra_single, keyspace, "ddtrace", "cassfast", lanes)["spans"]
    # One span per request, one per page of the paged read (3 rows + the empty last page),
    # closed by the wrapped _set_final_result / _set_final_exception.
    assert [(s["resource"], s["error"]) for s in reference] == [
        ("SELECT k FROM t WHERE k = 1", 0), ("SELECT k FROM t WHERE k = 2", 0),
        ("SELECT k FROM t WHERE k = 3", 0)] + [("SELECT k FROM t", 0)] * 4 + [
        ("SELECT nope FROM t", 1)]
    assert cassfast == reference
