"""``cassandra.datastax``: DataStax Enterprise and Astra extensions, which cassfast does not provide.

The reference's subpackages are DSE Graph (``graph``), Astra secure connect bundles (``cloud``)
and DSE Insights reporting (``insights``).  cassfast targets Apache Cassandra: importing any of
them raises an ImportError that says so, and ``Cluster(cloud=...)`` raises UnsupportedOperation.
"""

raise ImportError("cassandra.datastax (DSE Graph, Astra cloud bundles, DSE Insights) is not "
                  "supported by cassfast, which targets Apache Cassandra; use cassandra-driver",
                  name=__name__)
