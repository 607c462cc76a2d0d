"""``cassandra.io.asyncorereactor``: ``AsyncoreConnection`` for ``Cluster(connection_class=...)``.

The reference's asyncore reactor (asyncore left the standard library in Python 3.12).  Here
``AsyncoreConnection`` selects cassfast's one I/O loop, like every reactor name (see
``cassfast.io``).
"""
from cassfast.io import ReactorConnection


class AsyncoreConnection(ReactorConnection):
    """cassfast's connection under the reference's ``AsyncoreConnection`` name."""


__all__ = ["AsyncoreConnection"]
