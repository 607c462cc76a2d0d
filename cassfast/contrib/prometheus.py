"""``cluster.metrics`` for Prometheus: a ``prometheus_client`` collector (extra ``prometheus``).

    from prometheus_client import REGISTRY, start_http_server
    from cassfast.contrib.prometheus import CassfastCollector

    cluster = Cluster(..., metrics_enabled=True)
    REGISTRY.register(CassfastCollector(cluster))

Every scrape reads the figures at that moment (nothing runs between scrapes; the request path is
what ``metrics_enabled`` already costs).  Families, each labelled ``cluster`` (the metrics'
``stats_name``), named after the reference's metrics with the ``cassandra_`` prefix:

- ``cassandra_request_timer_seconds``: a summary, ``_count``, ``_sum`` and the quantiles 0.5,
  0.75, 0.95, 0.98, 0.99 and 0.999 of ``request_timer`` (the reference's median ... 999percentile);
- counters ``cassandra_connection_errors_total``, ``cassandra_write_timeouts_total``,
  ``cassandra_read_timeouts_total``, ``cassandra_unavailables_total``,
  ``cassandra_other_errors_total``, ``cassandra_retries_total``, ``cassandra_ignores_total``;
- gauges ``cassandra_known_hosts``, ``cassandra_connected_to``, ``cassandra_open_connections``;
- per node (label ``node``, the host's address): the counters ``cassandra_node_requests_total`` and
  ``cassandra_node_errors_total`` (label ``error``, the exception class), and the gauges
  ``cassandra_node_in_flight``, ``cassandra_node_pool_connections`` and ``cassandra_node_lanes``
  (see ``Metrics.node_stats``).
"""
from __future__ import annotations

from typing import Any, Iterator

try:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("cassfast.contrib.prometheus needs prometheus_client: "
                      "pip install 'cassfast[prometheus]'") from exc

__all__ = ["CassfastCollector"]

COUNTERS = ("connection_errors", "write_timeouts", "read_timeouts", "unavailables", "other_errors",
            "retries", "ignores")
GAUGES = ("known_hosts", "connected_to", "open_connections")
QUANTILES = (("0.5", "median"), ("0.75", "75percentile"), ("0.95", "95percentile"),
             ("0.98", "98percentile"), ("0.99", "99percentile"), ("0.999", "999percentile"))


class CassfastCollector(Collector):
    """Collects one cluster's ``metrics`` (a ``Cluster`` made with ``metrics_enabled=True``, or
    its ``cassfast.metrics.Metrics``)."""

    def __init__(self, cluster_or_metrics: Any, namespace: str = "cassandra") -> None:
        metrics = getattr(cluster_or_metrics, "metrics", cluster_or_metrics)
        if metrics is None or not callable(getattr(metrics, "get_stats", None)):
            raise ValueError("CassfastCollector needs a Cluster made with metrics_enabled=True "
                             "(its metrics are None) or a cassfast.metrics.Metrics")
        self.metrics = metrics
        self.namespace = namespace

    def collect(self) -> Iterator:
        metrics = self.metrics
        ns = self.namespace
        stats = metrics.get_stats()
        nodes = metrics.node_stats()
        cluster = [metrics.stats_name]

        timer = stats["request_timer"]
        summary = SummaryMetricFamily("%s_request_timer_seconds" % ns,
                                      "Request latencies (the reference's request_timer)",
                                      labels=["cluster"])
        summary.add_metric(cluster, timer["count"], timer["mean"] * timer["count"])
        for quantile, key in QUANTILES:
            summary.add_sample("%s_request_timer_seconds" % ns,
                               {"cluster": cluster[0], "quantile": quantile}, timer[key])
        yield summary

        for name in COUNTERS:
            family = CounterMetricFamily("%s_%s" % (ns, name), "The reference's %s counter" % name,
                                         labels=["cluster"])
            family.add_metric(cluster, stats[name])
            yield family
        for name in GAUGES:
            family = GaugeMetricFamily("%s_%s" % (ns, name), "The reference's %s gauge" % name,
                                       labels=["cluster"])
            family.add_metric(cluster, stats[name])
            yield family

        requests = CounterMetricFamily("%s_node_requests" % ns, "Requests completed, by node "
                                       "(the coordinator, else the last host tried)",
                                       labels=["cluster", "node"])
        errors = CounterMetricFamily("%s_node_errors" % ns, "Failed requests, by node and "
                                     "exception class", labels=["cluster", "node", "error"])
        gauges = {key: GaugeMetricFamily("%s_node_%s" % (ns, key), text, labels=["cluster", "node"])
                  for key, text in (("in_flight", "Requests in flight on the node's pool connections"),
                                    ("pool_connections", "Open pool connections to the node"),
                                    ("lanes", "Open lanes (synchronous-request connections) to the node"))}
        for node, figures in sorted(nodes.items()):
            labels = cluster + [node]
            requests.add_metric(labels, figures["requests"])
            for error, count in sorted(figures["errors"].items()):
                errors.add_metric(labels + [error], count)
            for key, family in gauges.items():
                family.add_metric(labels, figures[key])
        yield requests
        yield errors
        yield from gauges.values()
