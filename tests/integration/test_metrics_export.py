"""cluster.metrics exported to Prometheus (prometheus_client) and OpenTelemetry (metrics API, SDK
in-memory reader), and cassfast's own OpenTelemetry spans, against the real node.

A fresh metrics-enabled Cluster per test runs a known mix: 5 successful SELECTs, 1 invalid query
and 1 request at consistency TWO that the one-node cluster answers UNAVAILABLE (retried once by
the policy, then rethrown), so every exported figure has a value the test knows.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
from __future__ import annotations

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from cassfast import ConsistencyLevel, InvalidRequest, Unavailable
from cassfast.cluster import Cluster
from cassfast.contrib.opentelemetry import OpenTelemetryTracer, instrument_metrics
from cassfast.contrib.prometheus import CassfastCollector
from cassfast.policies import RetryDecision, RetryPolicy
from cassfast.query import SimpleStatement

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


class RetryOnceThenRethrow(RetryPolicy):
    def on_unavailable(self, query, consistency_level, required_replicas, alive_replicas, retry_num):
        return (RetryDecision.RETRY, None) if retry_num == 0 else (RetryDecision.RETHROW, None)


@pytest.fixture(scope="module")
def keyspace(cassandra_single):
    points, port = contact_of(cassandra_single)
    with Cluster(points, port=port) as setup:
        s = setup.connect()
        ks = new_keyspace(s, "export")
        s.execute("CREATE TABLE %s.kv (k int PRIMARY KEY, v int)" % ks)
        for k in range(5):
            s.execute("INSERT INTO %s.kv (k, v) VALUES (%d, %d)" % (ks, k, k))
        yield ks
        s.execute("DROP KEYSPACE %s" % ks)


def run_mix(session):
    for k in range(5):
        assert session.execute("SELECT v FROM kv WHERE k = %d" % k).one().v == k
    with pytest.raises(InvalidRequest):
        session.execute("SELECT nope FROM kv")
    with pytest.raises(Unavailable):
        session.execute(SimpleStatement("SELECT v FROM kv WHERE k = 1",
                                        consistency_level=ConsistencyLevel.TWO,
                                        retry_policy=RetryOnceThenRethrow()))


@pytest.fixture
def mixed(cassandra_single, keyspace):
    points, port = contact_of(cassandra_single)
    cluster = Cluster(points, port=port, metrics_enabled=True)
    session = cluster.connect(keyspace)
    base = cluster.metrics.request_timer["count"]  # connect's own session requests, if any
    run_mix(session)
    yield cluster, base, "%s:%d" % (points[0], port)
    cluster.shutdown()


def test_prometheus_collector_exports_the_reference_names_and_per_node_counters(mixed):
    cluster, base, node = mixed
    registry = CollectorRegistry()
    registry.register(CassfastCollector(cluster))
    name = cluster.metrics.stats_name

    def value(metric, **labels):
        v = registry.get_sample_value(metric, dict(cluster=name, **labels))
        assert v is not None, (metric, labels)
        return v
    assert value("cassandra_request_timer_seconds_count") == base + 7
    assert value("cassandra_request_timer_seconds_sum") > 0
    assert 0 < value("cassandra_request_timer_seconds", quantile="0.5") <= value(
        "cassandra_request_timer_seconds", quantile="0.999")
    assert value("cassandra_unavailables_total") == 2 and value("cassandra_retries_total") == 1
    assert value("cassandra_read_timeouts_total") == 0
    assert value("cassandra_known_hosts") == 1 and value("cassandra_connected_to") == 1
    assert value("cassandra_open_connections") >= 1
    assert value("cassandra_node_requests_total", node=node) == base + 7
    assert value("cassandra_node_errors_total", node=node, error="InvalidRequest") == 1
    assert value("cassandra_node_errors_total", node=node, error="Unavailable") == 1
    assert value("cassandra_node_in_flight", node=node) == 0
    assert value("cassandra_node_pool_connections", node=node) == 1
    assert value("cassandra_node_lanes", node=node) >= 1  # the synchronous requests used lanes


def test_opentelemetry_instruments_report_the_same_figures(mixed):
    cluster, base, node = mixed
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    instrument_metrics(cluster, meter_provider=provider)
    points = {}
    for rm in reader.get_metrics_data().resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for p in metric.data.data_points:
                    points[(metric.name, tuple(sorted(p.attributes.items())))] = p.value
    cl = ("cassandra.cluster", cluster.metrics.stats_name)
    assert points[("cassandra.requests", (cl,))] == base + 7
    assert points[("cassandra.unavailables", (cl,))] == 2
    assert points[("cassandra.retries", (cl,))] == 1
    assert points[("cassandra.known_hosts", (cl,))] == 1
    median = points[("cassandra.request_timer", (cl, ("statistic", "median")))]
    assert 0 < median <= points[("cassandra.request_timer", (cl, ("statistic", "max")))]
    n = ("cassandra.node", node)
    assert points[("cassandra.node.requests", (cl, n))] == base + 7
    assert points[("cassandra.node.errors", (cl, n, ("error.type", "Unavailable")))] == 1
    assert points[("cassandra.node.pool_connections", (cl, n))] == 1
    provider.shutdown()


def test_exporters_refuse_a_cluster_without_metrics():
    cluster = Cluster(["127.0.0.1"])
    with pytest.raises(ValueError, match="metrics_enabled=True"):
        CassfastCollector(cluster)
    with pytest.raises(ValueError, match="metrics_enabled=True"):
        instrument_metrics(cluster)


@pytest.mark.parametrize("lanes", [8, 0])
def test_opentelemetry_tracer_records_a_span_per_request_with_its_parent(cassandra_single, keyspace, lanes):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing = OpenTelemetryTracer(tracer_provider=provider)
    points, port = contact_of(cassandra_single)
    cluster = Cluster(points, port=port, request_tracker=tracing, sync_lanes_per_host=lanes)
    try:
        session = cluster.connect(keyspace)
        tracing.watch(session)
        app = provider.get_tracer("app")
        with app.start_as_current_span("handler") as parent:
            run_mix(session)
            session.execute_async("SELECT v FROM kv WHERE k = 0").result()
            rows = list(session.execute(SimpleStatement("SELECT k FROM kv", fetch_size=2)))
    finally:
        cluster.shutdown()
    assert len(rows) == 5
    spans = [s for s in exporter.get_finished_spans() if s.name != "handler"]
    # 5 + 1 + 1 of the mix, 1 async, 3 or 4 pages of 5 rows by 2.
    assert len(spans) in (11, 12)
    assert all(s.parent is not None and s.parent.span_id == parent.get_span_context().span_id
               for s in spans)
    assert all(s.kind == otel_trace.SpanKind.CLIENT and s.name == "SELECT" for s in spans)
    first = spans[0].attributes
    assert first["db.system"] == "cassandra" and first["db.name"] == keyspace
    assert first["db.statement"] == "SELECT v FROM kv WHERE k = 0"
    assert first["server.address"] == points[0] and first["server.port"] == port
    assert first["db.cassandra.coordinator.dc"] == "dc1" and first["cassandra.retries"] == 0
    invalid, unavailable = spans[5], spans[6]
    assert invalid.status.status_code == StatusCode.ERROR
    assert invalid.attributes["error.type"] == "InvalidRequest"
    assert unavailable.attributes["error.type"] == "Unavailable"
    assert unavailable.attributes["cassandra.retries"] == 1
    assert unavailable.attributes["db.cassandra.consistency_level"] == "TWO"
    assert [s.attributes["cassandra.page"] for s in spans[8:]][:3] == [1, 2, 3]
    assert all(s.end_time > s.start_time for s in spans)
