"""The harness's failure paths, with real JVMs: a node that dies or hangs is reported, not waited on.

These start throw-away nodes on 127.0.0.48 (nothing else uses it) in a private cache directory,
so they never touch the shared variants.
"""
from __future__ import annotations

import time

import pytest

from cassfast.testing import CassandraCluster, HarnessError
from cassfast.testing import _fetch

pytestmark = pytest.mark.integration


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    # The jars are shared (already fetched by the session); node state goes to tmp_path.
    lib = _fetch.fetch()
    monkeypatch.setenv("CASSFAST_CACHE", str(tmp_path))
    version = _fetch.default_version()
    target = _fetch.lib_dir(version)
    target.parent.mkdir(parents=True)
    target.symlink_to(lib, target_is_directory=True)
    return tmp_path


def test_a_node_whose_jvm_exits_is_reported_with_its_output(private_cache):
    cluster = CassandraCluster("single", first_ip="127.0.0.48", heap="not-a-size", log=lambda m: None)
    started = time.monotonic()
    with pytest.raises(HarnessError) as excinfo:
        cluster.start(timeout=120)
    message = str(excinfo.value)
    assert "exited during start-up" in message
    assert "Invalid" in message and "heap" in message  # the JVM's own complaint, from stdout.log
    assert time.monotonic() - started < 60  # noticed when the process died, not at the timeout
    assert cluster.running_nodes() == []


def test_a_node_not_ready_in_time_is_killed_and_reported_with_its_log(private_cache):
    cluster = CassandraCluster("single", first_ip="127.0.0.48", log=lambda m: None)
    with pytest.raises(HarnessError) as excinfo:
        cluster.start(timeout=3)
    message = str(excinfo.value)
    assert "not ready after 3s" in message
    assert "last lines of" in message
    assert cluster.running_nodes() == []  # the half-started JVM was not left behind
