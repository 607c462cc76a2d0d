"""Third-party tracing packages written for cassandra-driver see every cassfast request.

``opentelemetry-instrumentation-cassandra`` wraps ``Session.execute_async`` on the class; ddtrace
(3.x; 4.x dropped its Cassandra integration) wraps ``Cluster.connect``, then each session's
``execute_async`` and each future's ``_set_final_result`` / ``_set_final_exception`` /
``start_fetching_next_page``.  Both see a synchronous ``session.execute`` only because the
reference's ``execute`` calls ``execute_async`` and completes through ``_set_final_result``:
cassfast keeps those seams (issue 13).  ``_tracing_probe.py`` runs the same program in a
subprocess on cassandra-driver and on cassfast (``install_as_cassandra()``, lanes on and off), and
the spans OpenTelemetry's package records must be the same list, request by request.  ddtrace
cannot be a test dependency (docs/testing.md), so its pattern of wrappers is applied by hand in
the last test (the probe runs ddtrace itself when it is installed).

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

from cassfast import InvalidRequest
from cassfast.cluster import Cluster
from cassfast.query import SimpleStatement

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
def test_wrappers_of_execute_async_and_of_the_completion_methods_see_every_request(
        cassandra_single, keyspace, lanes, monkeypatch):
    # ddtrace 3's pattern (it cannot be a test dependency, see docs/testing.md): wrap this
    # session's execute_async on the instance, and the futures' _set_final_result /
    # _set_final_exception (here on the class, so no completion can race the wrapping).
    from cassfast.cluster import ResponseFuture
    points, port = contact_of(cassandra_single)
    seen = {"execute_async": [], "result": 0, "exception": []}
    original_result = ResponseFuture._set_final_result
    original_exception = ResponseFuture._set_final_exception

    def wrapped_result(self, response):
        seen["result"] += 1
        return original_result(self, response)

    def wrapped_exception(self, exc):
        seen["exception"].append(type(exc).__name__)
        return original_exception(self, exc)
    monkeypatch.setattr(ResponseFuture, "_set_final_result", wrapped_result)
    monkeypatch.setattr(ResponseFuture, "_set_final_exception", wrapped_exception)
    with Cluster(points, port=port, sync_lanes_per_host=lanes) as cluster:
        session = cluster.connect(keyspace)
        inner = session.execute_async

        def execute_async(query, *args, **kwargs):
            seen["execute_async"].append(str(getattr(query, "query_string", query)))
            return inner(query, *args, **kwargs)
        session.execute_async = execute_async
        assert session.execute("SELECT k FROM t WHERE k = 1").one().k == 1
        session.execute_async("SELECT k FROM t WHERE k = 2").result()
        assert sorted(r.k for r in session.execute(SimpleStatement("SELECT k FROM t", fetch_size=1))) == [1, 2, 3]
        with pytest.raises(InvalidRequest):
            session.execute("SELECT nope FROM t")
    assert seen["execute_async"] == ["SELECT k FROM t WHERE k = 1", "SELECT k FROM t WHERE k = 2",
                                     "SELECT k FROM t", "SELECT nope FROM t"]
    # 2 single-row requests + 3 pages with rows + the empty last page (as the reference: a page
    # of fetch_size rows may be followed by an empty one).
    assert seen["result"] == 6
    assert seen["exception"] == ["InvalidRequest"]
