"""``cassandra.io.eventletreactor``: ``EventletConnection`` for ``Cluster(connection_class=...)``.

The reference's eventlet reactor.  cassfast's loop is a real OS thread: the driver does not become
cooperative with green threads, and eventlet is not needed to import this module.  Here
``EventletConnection`` selects cassfast's one I/O loop, like every reactor name (see
``cassfast.io``).
"""
from cassfast.io import ReactorConnection


class EventletConnection(ReactorConnection):
    """cassfast's connection under the reference's ``EventletConnection`` name."""


__all__ = ["EventletConnection"]
