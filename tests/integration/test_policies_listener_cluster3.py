"""The seed's HostStateListener and the load-balancing policy's live hosts follow a real node
going down and coming back (``cluster3``: node 3, the only dc2 node, is stopped and restarted).

Ran against: Apache Cassandra 5.0 started by the harness, through cassfast's Cluster.
"""
from __future__ import annotations

import threading
import time

import pytest

from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassfast.policies import DCAwareRoundRobinPolicy, HostStateListener

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]


class MyHostStateListener(HostStateListener):
    # The seed's example, with print replaced by recording.
    def __init__(self):
        self.events = []
        self.changed = threading.Condition()

    def _record(self, text):
        with self.changed:
            self.events.append(text)
            self.changed.notify_all()

    def on_add(self, host):
        self._record(f"Host added: {host.address}")

    def on_up(self, host):
        self._record(f"Host came online: {host.address}")

    def on_down(self, host):
        self._record(f"Host went offline: {host.address}")

    def on_remove(self, host):
        self._record(f"Host removed: {host.address}")

    def wait_for(self, text, since=0, timeout=90.0):
        """Wait until ``text`` is recorded at index ``since`` or later; return its index or None.

        ``since`` matters: the cluster reports every host up when its first pools open, so an
        unqualified "came online" would be satisfied by the event from connect time.
        """
        deadline = time.monotonic() + timeout
        with self.changed:
            while text not in self.events[since:]:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.changed.wait(left)
            return self.events.index(text, since)


def test_listener_and_policy_follow_a_node_down_and_up(cassandra_cluster3):
    third = cassandra_cluster3.nodes[2]
    policy = DCAwareRoundRobinPolicy("dc1", used_hosts_per_remote_dc=1)
    cluster = Cluster(contact_points=list(cassandra_cluster3.contact_points),
                      port=cassandra_cluster3.port, connect_timeout=15,
                      execution_profiles={EXEC_PROFILE_DEFAULT: ExecutionProfile(
                          load_balancing_policy=policy)})
    listener = MyHostStateListener()
    cluster.register_listener(listener)
    try:
        cluster.connect()
        assert third.address in [h.address for h in policy.make_query_plan()]
        cassandra_cluster3.stop_node(third.index)
        try:
            offline = listener.wait_for(f"Host went offline: {third.address}")
            assert offline is not None, listener.events
            assert third.address not in [h.address for h in policy.make_query_plan()]
            assert third.address not in [h.address for h in policy.hosts]
        finally:
            cassandra_cluster3.start_node(third.index)
        online = listener.wait_for(f"Host came online: {third.address}", since=offline + 1)
        assert online is not None, listener.events
        # The policy hears on_up before the listeners do, on the same (I/O) thread, so by the time
        # the listener has recorded the event the host is in the policy's plans.
        assert third.address in [h.address for h in policy.make_query_plan()], (listener.events, policy.hosts)
    finally:
        cluster.shutdown()
