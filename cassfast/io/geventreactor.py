"""``cassandra.io.geventreactor``: ``GeventConnection`` for ``Cluster(connection_class=...)``.

The reference's gevent reactor.  cassfast's loop is a real OS thread: the driver does not become
cooperative with green threads, and gevent is not needed to import this module.  Here
``GeventConnection`` selects cassfast's one I/O loop, like every reactor name (see
``cassfast.io``).
"""
from cassfast.io import ReactorConnection


class GeventConnection(ReactorConnection):
    """cassfast's connection under the reference's ``GeventConnection`` name."""


__all__ = ["GeventConnection"]
