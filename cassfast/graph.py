"""``cassandra.graph``: DataStax Enterprise Graph, which cassfast does not provide.

cassfast targets Apache Cassandra, which has no graph engine, so importing this module raises an
ImportError that says so (code that probes with ``try: import cassandra.graph`` keeps working).
"""

raise ImportError("cassandra.graph (DataStax Enterprise Graph) is not supported by cassfast, which "
                  "targets Apache Cassandra; use cassandra-driver for DSE Graph", name=__name__)
