"""``cassandra.io.libevreactor``: ``LibevConnection`` for ``Cluster(connection_class=...)``.

The reference's default reactor, a libev C extension.  Here ``LibevConnection`` selects cassfast's
one I/O loop, like every reactor name (see ``cassfast.io``).
"""
from cassfast.io import ReactorConnection


class LibevConnection(ReactorConnection):
    """cassfast's connection under the reference's ``LibevConnection`` name."""


__all__ = ["LibevConnection"]
