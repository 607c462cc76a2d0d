"""Run by test_tracing_integrations.py in a subprocess: a program written for cassandra-driver,
instrumented by a third-party tracing package, run on cassfast (``install_as_cassandra()``) or on
the reference itself, against the harness's real node.  Prints one JSON object: the spans the
package recorded, in order (name, and the attributes the tests look at).

usage: python _tracing_probe.py {otel|ddtrace} {cassfast|reference} HOST PORT KEYSPACE LANES
Each request it makes: 2 x session.execute, 1 x execute_async(...).result(), 1 x session.execute
of a 3-row table with fetch_size=1 iterated to the end (3 pages, and a 4th empty fetch), 1 x
session.execute of a bad query (an error).
"""
from __future__ import annotations

import json
import os
import sys

which, driver, host, port, keyspace, lanes = sys.argv[1:7]
if driver == "cassfast":
    import cassfast
    cassfast.install_as_cassandra()

spans: list = []

if which == "otel":
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.cassandra import CassandraInstrumentor
    # The dependency check looks for a "cassandra-driver" distribution; cassfast is not one.
    CassandraInstrumentor().instrument(tracer_provider=provider, include_db_statement=True,
                                       skip_dep_check=True)
elif which == "ddtrace":
    from ddtrace import patch
    from ddtrace.trace import TraceFilter, tracer

    class Keep(TraceFilter):
        def process_trace(self, trace):
            for span in trace:
                spans.append({"name": span.name, "resource": span.resource, "error": span.error})
            return None  # nothing is sent to an agent

    tracer.configure(trace_processors=[Keep()])
    patch(cassandra=True)
else:
    raise SystemExit("unknown instrumentation %r" % which)

from cassandra import InvalidRequest  # noqa: E402
from cassandra.cluster import Cluster  # noqa: E402
from cassandra.query import SimpleStatement  # noqa: E402

kwargs = {"sync_lanes_per_host": int(lanes)} if driver == "cassfast" else {}
cluster = Cluster([host], port=int(port), **kwargs)
session = cluster.connect(keyspace)
session.execute("SELECT k FROM t WHERE k = 1")
session.execute("SELECT k FROM t WHERE k = 2")
session.execute_async("SELECT k FROM t WHERE k = 3").result()
rows = [r.k for r in session.execute(SimpleStatement("SELECT k FROM t", fetch_size=1))]
try:
    session.execute("SELECT nope FROM t")
except InvalidRequest:
    pass
cluster.shutdown()

if which == "otel":
    for span in exporter.get_finished_spans():
        spans.append({"name": span.name, "statement": span.attributes.get("db.statement"),
                      "keyspace": span.attributes.get("db.name")})
elif which == "ddtrace":
    tracer.flush()
print(json.dumps({"spans": spans, "rows": sorted(rows),
                  "driver": os.path.dirname(sys.modules["cassandra"].__file__)}))
