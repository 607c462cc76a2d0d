"""The reference driver's reactor modules, as names that select cassfast's one I/O loop.

cassandra-driver lets an application choose its event loop with ``Cluster(connection_class=...)``:
``LibevConnection``, ``AsyncoreConnection``, ``AsyncioConnection``, ``GeventConnection``,
``EventletConnection`` or ``TwistedConnection``.  cassfast has exactly one I/O design: an asyncio
loop (uvloop when installed) on a thread owned by the ``Cluster`` (see docs/architecture.md,
"I/O and execution").  Each reactor module here therefore exports its reference class name as a
subclass of ``cassfast.connection.Connection`` that adds nothing: passing any of them, or
``None``, gives the same connections on cassfast's loop, so unmodified code keeps working.
What that means for each reactor is written in the README's compatibility section; in short,
callbacks run on cassfast's loop thread (as they run on the reactor thread in the reference), and
the gevent/eventlet classes do not make the driver cooperative with green threads.

The reference's reactor internals (``LibevLoop``, ``AsyncoreLoop``, timers, the Twisted protocol)
have no counterpart: nothing in cassfast can use them.
"""
from __future__ import annotations

from cassfast.connection import Connection


class ReactorConnection(Connection):
    """Base of the reactor names: cassfast's connection, with the reference's class hooks."""

    @classmethod
    def initialize_reactor(cls) -> None:
        """Nothing to do: a ``Cluster`` starts its own loop thread when it connects."""

    @classmethod
    def handle_fork(cls) -> None:
        """Nothing to do here; a ``Cluster`` connected before ``fork()`` is unusable in the child
        (its loop thread does not exist there), so connect after forking, as the reference
        recommends too."""
