"""A scriptable fake CQL server for tests that need a server a real node cannot play (older or
other servers, faults): see ``server.py``.  ``FakeCluster`` is the entry point."""
from .profiles import PROFILES, SCHEMA_VERSION, Profile, get_profile
from .server import FakeCluster, FakeNode, Rule, wait_until
from .wire import Raw

__all__ = ["FakeCluster", "FakeNode", "Profile", "PROFILES", "Raw", "Rule", "SCHEMA_VERSION",
           "get_profile", "wait_until"]
