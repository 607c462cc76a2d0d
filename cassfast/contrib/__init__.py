"""Optional integrations with third-party observability libraries, one module each.

Each module imports its library at the top and raises ``ImportError`` naming the extra to install
when it is missing; nothing in cassfast imports these modules, so they cost nothing unless used.

- ``cassfast.contrib.prometheus``: ``CassfastCollector``, ``cluster.metrics`` as a
  ``prometheus_client`` collector (extra ``cassfast[prometheus]``).
- ``cassfast.contrib.opentelemetry``: ``instrument_metrics`` (``cluster.metrics`` as OpenTelemetry
  observable instruments) and ``OpenTelemetryTracer`` (a span per request, a request tracker);
  extra ``cassfast[opentelemetry]``.
"""
