"""OpenTelemetry for cassfast: ``cluster.metrics`` as instruments, and a span per request
(extra ``opentelemetry``: the ``opentelemetry-api`` package; an SDK or distro exports them).

Metrics::

    cluster = Cluster(..., metrics_enabled=True)
    instrument_metrics(cluster)            # meter_provider=None: the global one

registers observable instruments read at each collection (nothing runs in between), named after
the reference's metrics with the ``cassandra.`` prefix and the attribute ``cassandra.cluster``
(the metrics' ``stats_name``): the counters ``cassandra.requests`` (``request_timer`` count),
``cassandra.connection_errors``, ``cassandra.write_timeouts``, ``cassandra.read_timeouts``,
``cassandra.unavailables``, ``cassandra.other_errors``, ``cassandra.retries``,
``cassandra.ignores``; the gauges ``cassandra.request_timer`` (seconds, attribute
``statistic``: ``min``, ``max``, ``mean``, ``stddev``, ``median``, ``75percentile`` ...
``999percentile``), ``cassandra.known_hosts``, ``cassandra.connected_to``,
``cassandra.open_connections``; per node (attribute ``cassandra.node``): the counters
``cassandra.node.requests`` and ``cassandra.node.errors`` (attribute ``error.type``, the exception
class) and the gauges ``cassandra.node.in_flight``, ``cassandra.node.pool_connections``,
``cassandra.node.lanes``.

Tracing::

    tracing = OpenTelemetryTracer()        # tracer_provider=None: the global one
    cluster = Cluster(..., request_tracker=tracing)
    session = cluster.connect()
    tracing.watch(session)                 # optional: parent spans under the caller's span

``OpenTelemetryTracer`` is a request tracker (``cassfast.tracker``): when a request completes it
records one CLIENT span named after the operation (``SELECT``, ``INSERT``, ... or ``BATCH``) from
the request's start to its end, with ``db.system`` ``cassandra``, ``db.name`` / ``db.namespace``
(the keyspace), ``db.statement`` (the CQL text, never bound values; ``include_statement=False``
leaves it out), ``server.address`` / ``server.port`` and ``db.cassandra.coordinator.id`` /
``.dc`` of the coordinator, ``db.cassandra.consistency_level``, ``db.cassandra.idempotence``,
``db.cassandra.speculative_execution_count``, ``cassandra.retries``, ``cassandra.page`` and
``cassandra.attempted_hosts``; a failed request has an ERROR status and its exception recorded.
Each page of a paged read is its own span.  Spans are built at completion (on the I/O thread or a
lane's caller), so their parent is the context that was current where the request was created
only when ``watch(session)`` registered a request-init listener that notes it (one
``context.get_current()`` per request); otherwise each span is a root span.
This is cassfast's own tracing; ``opentelemetry-instrumentation-cassandra`` (written for
cassandra-driver) also works through ``install_as_cassandra()``, see the README.
"""
from __future__ import annotations

import time
from typing import Any

try:
    from opentelemetry import context as _context
    from opentelemetry import metrics as _metrics
    from opentelemetry import trace as _trace
    from opentelemetry.metrics import Observation
    from opentelemetry.trace import SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("cassfast.contrib.opentelemetry needs opentelemetry-api: "
                      "pip install 'cassfast[opentelemetry]'") from exc

from cassfast import ConsistencyLevel, __version__
from cassfast.tracker import RequestInfo, RequestTracker

__all__ = ["instrument_metrics", "OpenTelemetryTracer"]

_COUNTERS = ("connection_errors", "write_timeouts", "read_timeouts", "unavailables", "other_errors",
             "retries", "ignores")
_GAUGES = ("known_hosts", "connected_to", "open_connections")
_TIMER_STATISTICS = ("min", "max", "mean", "stddev", "median", "75percentile", "95percentile",
                     "98percentile", "99percentile", "999percentile")
_NAME = "cassfast"


def instrument_metrics(cluster_or_metrics: Any, meter_provider: Any = None) -> list:
    """Register ``cluster.metrics`` as observable instruments; returns the instruments."""
    metrics = getattr(cluster_or_metrics, "metrics", cluster_or_metrics)
    if metrics is None or not callable(getattr(metrics, "get_stats", None)):
        raise ValueError("instrument_metrics needs a Cluster made with metrics_enabled=True "
                         "(its metrics are None) or a cassfast.metrics.Metrics")
    provider = meter_provider if meter_provider is not None else _metrics.get_meter_provider()
    meter = provider.get_meter(_NAME, __version__)

    def base() -> dict:
        return {"cassandra.cluster": metrics.stats_name}

    def stat(name):
        return lambda options: [Observation(metrics.get_stats()[name], base())]

    instruments = [meter.create_observable_counter(
        "cassandra.requests", [lambda options: [Observation(metrics.request_timer["count"], base())]],
        unit="{request}", description="Requests completed (the reference's request_timer count)")]
    for name in _COUNTERS:
        instruments.append(meter.create_observable_counter(
            "cassandra." + name, [stat(name)], unit="{event}",
            description="The reference's %s counter" % name))
    for name in _GAUGES:
        instruments.append(meter.create_observable_gauge(
            "cassandra." + name, [stat(name)], description="The reference's %s gauge" % name))

    def timer(options):
        snapshot = metrics.request_timer.snapshot()
        return [Observation(snapshot[key], dict(base(), statistic=key)) for key in _TIMER_STATISTICS]
    instruments.append(meter.create_observable_gauge(
        "cassandra.request_timer", [timer], unit="s",
        description="Request latency statistics (the reference's request_timer)"))

    def node_counter(options, key):
        out = []
        for node, figures in metrics.node_stats().items():
            attrs = dict(base(), **{"cassandra.node": node})
            if key == "requests":
                out.append(Observation(figures["requests"], attrs))
            else:
                for error, count in figures["errors"].items():
                    out.append(Observation(count, dict(attrs, **{"error.type": error})))
        return out
    instruments.append(meter.create_observable_counter(
        "cassandra.node.requests", [lambda o: node_counter(o, "requests")], unit="{request}",
        description="Requests completed, by node (the coordinator, else the last host tried)"))
    instruments.append(meter.create_observable_counter(
        "cassandra.node.errors", [lambda o: node_counter(o, "errors")], unit="{request}",
        description="Failed requests, by node and exception class"))
    for key in ("in_flight", "pool_connections", "lanes"):
        instruments.append(meter.create_observable_gauge(
            "cassandra.node." + key,
            [lambda o, key=key: [Observation(f[key], dict(base(), **{"cassandra.node": n}))
                                 for n, f in metrics.node_stats().items()]],
            description="Per node: %s" % key.replace("_", " ")))
    return instruments


class OpenTelemetryTracer(RequestTracker):
    """A request tracker that records one OpenTelemetry span per request (see the module)."""

    _CONTEXT_ATTR = "_otel_parent_context"

    def __init__(self, tracer_provider: Any = None, include_statement: bool = True) -> None:
        provider = tracer_provider if tracer_provider is not None else _trace.get_tracer_provider()
        self.tracer = provider.get_tracer(_NAME, __version__)
        self.include_statement = include_statement

    def watch(self, session: Any) -> None:
        """Note the caller's current context on each request of ``session`` (span parents)."""
        session.add_request_init_listener(self._note_context)

    @classmethod
    def _note_context(cls, future: Any) -> None:
        setattr(future, cls._CONTEXT_ATTR, _context.get_current())

    def on_success(self, info: RequestInfo) -> None:
        self._record(info)

    def on_error(self, info: RequestInfo) -> None:
        self._record(info)

    def _record(self, info: RequestInfo) -> None:
        end = time.time_ns()
        start = end - int(info.latency * 1e9)
        text = info.query_string
        operation = text.split(None, 1)[0].upper() if text else "BATCH"
        attributes: dict = {"db.system": "cassandra", "cassandra.retries": info.retries,
                            "cassandra.page": info.page,
                            "db.cassandra.speculative_execution_count": info.speculative_executions,
                            "cassandra.attempted_hosts": [str(getattr(h, "endpoint", h))
                                                          for h in info.attempted_hosts]}
        if info.keyspace:
            attributes["db.name"] = attributes["db.namespace"] = info.keyspace
        if text and self.include_statement:
            attributes["db.statement"] = attributes["db.query.text"] = text
        query = info.query
        if getattr(query, "is_idempotent", None) is not None:
            attributes["db.cassandra.idempotence"] = bool(query.is_idempotent)
        message = getattr(info.response_future, "message", None)
        cl = getattr(message, "consistency_level", None)
        if cl is not None:
            attributes["db.cassandra.consistency_level"] = ConsistencyLevel.value_to_name.get(cl, str(cl))
        host = info.coordinator
        if host is not None:
            endpoint = getattr(host, "endpoint", None)
            address = getattr(endpoint, "address", None)
            if address is not None:
                attributes["server.address"] = attributes["net.peer.name"] = str(address)
                port = getattr(endpoint, "port", None)
                if port is not None:
                    attributes["server.port"] = attributes["net.peer.port"] = int(port)
            if getattr(host, "host_id", None) is not None:
                attributes["db.cassandra.coordinator.id"] = str(host.host_id)
            if getattr(host, "datacenter", None):
                attributes["db.cassandra.coordinator.dc"] = host.datacenter
        parent = getattr(info.response_future, self._CONTEXT_ATTR, None)
        span = self.tracer.start_span(operation, context=parent, kind=SpanKind.CLIENT,
                                      attributes=attributes, start_time=start)
        exc = info.exception
        if exc is not None:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, "%s: %s" % (type(exc).__name__, exc)))
            span.set_attribute("error.type", type(exc).__name__)
        span.end(end_time=end)
