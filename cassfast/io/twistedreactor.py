"""``cassandra.io.twistedreactor``: ``TwistedConnection`` for ``Cluster(connection_class=...)``.

The reference's Twisted reactor.  Callbacks run on cassfast's loop thread, not in Twisted's
reactor: hand results to Twisted with reactor.callFromThread.  Here ``TwistedConnection`` selects
cassfast's one I/O loop, like every reactor name (see ``cassfast.io``).
"""
from cassfast.io import ReactorConnection


class TwistedConnection(ReactorConnection):
    """cassfast's connection under the reference's ``TwistedConnection`` name."""


__all__ = ["TwistedConnection"]
