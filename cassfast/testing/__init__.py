"""Test support: real Apache Cassandra nodes run from the published jars (see ``cluster``).

``python -m cassfast.testing.cluster start single`` brings up a node on 127.0.0.1:9042; the pytest
fixtures in ``tests/conftest.py`` use :class:`CassandraCluster` from the same module.  This package
is for tests and demos only; the driver itself never imports it.  Names are loaded lazily so that
``python -m cassfast.testing.cluster`` does not import its own module twice.
"""
from typing import Any

__all__ = ["CassandraCluster", "HarnessError", "VARIANTS"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from cassfast.testing import cluster

        return getattr(cluster, name)
    raise AttributeError(f"module 'cassfast.testing' has no attribute {name!r}")
