"""Lanes (cassfast._lanes) while a node of a real cluster stops and comes back (``cluster3``).

A thread runs idempotent synchronous SELECTs through DCAware round robin over dc1's two nodes, so
both hosts get lanes; node 2 is stopped (SIGTERM, as an operator would) and restarted.  With the
reference's ``RetryPolicy`` a request whose lane dies under it moves to the next host, so no
request may fail; the stopped host's lanes are dropped when it is marked down, and after it is
back it coordinates requests on lanes again.  The server says who coordinated (each node answers
``system.local`` with its own address).

Ran against: Apache Cassandra 5.0 started by the harness, through cassfast's Cluster.
"""
from __future__ import annotations

import threading
import time

import pytest

from cassfast import ConsistencyLevel
from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
from cassfast.policies import DCAwareRoundRobinPolicy, RetryPolicy
from cassfast.query import SimpleStatement

pytestmark = [pytest.mark.integration, pytest.mark.cluster3]


def wait_until(predicate, timeout=120.0, interval=0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def test_a_node_stopping_under_synchronous_load_loses_no_idempotent_request(cassandra_cluster3):
    second = cassandra_cluster3.nodes[1]
    profile = ExecutionProfile(load_balancing_policy=DCAwareRoundRobinPolicy("dc1"),
                               retry_policy=RetryPolicy(), consistency_level=ConsistencyLevel.ONE,
                               request_timeout=30)
    cluster = Cluster(contact_points=list(cassandra_cluster3.contact_points),
                      port=cassandra_cluster3.port, connect_timeout=15,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile})
    try:
        session = cluster.connect()
        query = SimpleStatement("SELECT broadcast_address FROM system.local", is_idempotent=True)
        coordinators, errors, stop = [], [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    row = session.execute(query).one()
                    coordinators.append(str(row.broadcast_address))
                except Exception as exc:  # pragma: no cover - reported by the assertion
                    errors.append(exc)

        worker = threading.Thread(target=load)
        worker.start()
        try:
            assert wait_until(lambda: second.address in coordinators[-50:], 60), coordinators[-10:]
            host = next(h for h in cluster.metadata.all_hosts() if h.address == second.address)
            pool = session._pools[host]
            assert pool.lanes.open_count >= 1  # the second node is served on a lane

            before_stop = len(coordinators)
            cassandra_cluster3.stop_node(second.index)
            try:
                assert wait_until(lambda: host.is_up is False, 120), "node 2 never marked down"
                # A lane that was opening when the reset came is closed as it finishes.
                assert wait_until(lambda: pool.lanes.open_count == 0
                                  or session._pools.get(host) is not pool, 30)
                marked_down = len(coordinators)
                assert wait_until(lambda: len(coordinators) > marked_down + 100, 60)
                assert second.address not in coordinators[marked_down + 20:]
            finally:
                cassandra_cluster3.start_node(second.index)
            assert wait_until(lambda: host.is_up is True, 180), "node 2 never came back up"
            back = len(coordinators)
            assert wait_until(lambda: second.address in coordinators[back:], 60)
        finally:
            stop.set()
            worker.join(60)
        assert errors == [], errors[:3]
        assert len(coordinators) > before_stop + 100
        new_pool = session._pools[host]
        assert new_pool.lanes is not None and new_pool.lanes.open_count >= 1
    finally:
        cluster.shutdown()
