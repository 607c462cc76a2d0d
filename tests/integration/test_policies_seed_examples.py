"""The seed's policy examples, as written (imports aside), drive a real cassfast Cluster.

Ran against: Apache Cassandra 5.0 single node started by the harness (``cassandra_single``).
"""
from __future__ import annotations

import pytest

from cassfast import ConsistencyLevel
from cassfast.cluster import Cluster
from cassfast.policies import (
    HostDistance, LoadBalancingPolicy, ReconnectionPolicy, RetryDecision, RetryPolicy,
    SimpleConvictionPolicy,
)
from cassfast.query import SimpleStatement

pytestmark = [pytest.mark.integration]


# Custom load balancing policy
class CustomLoadBalancingPolicy(LoadBalancingPolicy):
    def distance(self, host):
        # Mark hosts in 192.168.1.x as local, others as remote
        if host.address.startswith('192.168.1.'):
            return HostDistance.LOCAL
        else:
            return HostDistance.REMOTE

    def make_query_plan(self, working_keyspace=None, query=None):
        # Custom host selection logic
        local_hosts = [h for h in self.hosts if self.distance(h) == HostDistance.LOCAL]
        remote_hosts = [h for h in self.hosts if self.distance(h) == HostDistance.REMOTE]
        # Return local hosts first, then remote
        return local_hosts + remote_hosts[:2]  # Max 2 remote hosts


# Custom retry policy
class AggressiveRetryPolicy(RetryPolicy):
    def on_read_timeout(self, query, consistency_level, required_responses,
                        received_responses, data_retrieved, retry_num):
        if retry_num < 3:  # Retry up to 3 times
            if data_retrieved:
                # Retry with ONE if we got some data
                return (RetryDecision.RETRY, ConsistencyLevel.ONE)
            elif received_responses > 0:
                # Retry with lower consistency if we got any response
                return (RetryDecision.RETRY, ConsistencyLevel.ONE)
        # Give up after 3 retries
        return (RetryDecision.RETHROW, None)

    def on_write_timeout(self, query, consistency_level, write_type,
                         required_responses, received_responses, retry_num):
        if retry_num < 2 and write_type == 'SIMPLE':
            # Retry simple writes once with ONE
            return (RetryDecision.RETRY, ConsistencyLevel.ONE)
        return (RetryDecision.RETHROW, None)


# Custom reconnection policy
class CustomReconnectionPolicy(ReconnectionPolicy):
    def __init__(self, delays):
        self.delays = delays

    def new_schedule(self):
        # Use custom delay sequence
        for delay in self.delays:
            yield delay
        # After custom sequence, use constant 30 second delays
        while True:
            yield 30.0


def test_seed_policies_run_queries_on_a_real_node(cassandra_single):
    custom_policy = CustomLoadBalancingPolicy()
    aggressive_policy = AggressiveRetryPolicy()
    cluster = Cluster(
        contact_points=list(cassandra_single.contact_points),
        port=cassandra_single.port,
        load_balancing_policy=custom_policy,
        reconnection_policy=CustomReconnectionPolicy([1, 2, 5, 10, 15, 20]),
        conviction_policy=SimpleConvictionPolicy(),
    )
    try:
        # Apply retry policy to cluster or individual statements
        cluster.default_retry_policy = aggressive_policy
        session = cluster.connect()
        stmt = SimpleStatement("SELECT release_version FROM system.local WHERE key = %s")
        stmt.retry_policy = aggressive_policy
        rows = list(session.execute(stmt, ("local",)))
        assert len(rows) == 1 and rows[0].release_version.startswith("5.")
        # The policy never called populate itself, yet it knows the node.
        assert [h.address for h in custom_policy.hosts] == list(cassandra_single.contact_points)
        assert [h.address for h in custom_policy.make_query_plan()] == \
            list(cassandra_single.contact_points)
        host = custom_policy.hosts[0]
        assert custom_policy.distance(host) == HostDistance.REMOTE
        assert host.is_up is True
    finally:
        cluster.shutdown()
