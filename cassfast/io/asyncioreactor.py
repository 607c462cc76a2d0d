"""``cassandra.io.asyncioreactor``: ``AsyncioConnection`` for ``Cluster(connection_class=...)``.

The reference's asyncio reactor, which runs its own loop on a thread much as cassfast does.  Here
``AsyncioConnection`` selects cassfast's one I/O loop, like every reactor name (see
``cassfast.io``).
"""
from cassfast.io import ReactorConnection


class AsyncioConnection(ReactorConnection):
    """cassfast's connection under the reference's ``AsyncioConnection`` name."""


__all__ = ["AsyncioConnection"]
