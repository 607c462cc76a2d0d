"""Fixtures of the server-behaviour suite: fake servers (tests/fakeserver) that play what older
or other servers do, on 127.0.0.21-29 (``CASSFAST_FAKE_FIRST_IP`` moves them), no JVM."""
from __future__ import annotations

import os

import pytest

from fakeserver import FakeCluster

FIRST_IP = os.environ.get("CASSFAST_FAKE_FIRST_IP", "127.0.0.21")


@pytest.fixture
def fake_cluster():
    """``fake_cluster(profile, nodes=1, **table_options)`` (a profile name or Profile) starts a FakeCluster with keyspace ``ks`` and table
    ``ks.t (k text PRIMARY KEY, v int)``; every one started is stopped after the test."""
    started = []

    def start(profile="cassandra-3.11", nodes=1, **table_options):
        fake = FakeCluster(profile, nodes=nodes, first_ip=FIRST_IP)
        fake.create_table("ks", "t", [("k", "text", "partition_key"), ("v", "int", "regular")],
                          options=table_options or None)
        fake.start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()
