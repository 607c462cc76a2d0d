"""Schema agreement after a schema change is judged on the node that coordinated it.

The reference (``refresh_schema_and_set_result`` -> ``_refresh_schema(connection)``) asks the
connection the SCHEMA_CHANGE result came on.  The control host may not have heard of the change
yet: it then reports every node on the old version, which looks like agreement, and the next
statement fails on a node without the table (seen on cluster3 as INCOMPATIBLE_SCHEMA).  No
server here: connections are fakes answering the two schema-version queries.
"""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from cassfast._control import SELECT_SCHEMA_LOCAL, SELECT_SCHEMA_PEERS, ControlConnection
from cassfast.cluster import Cluster
from cassfast.connection import ConnectionShutdown
from cassfast.metadata import Metadata

OLD, NEW = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"


class FakeConnection:
    """Answers system.local / system.peers schema versions from a script, one step per poll."""

    def __init__(self, name, script, fail=False):
        self.name, self.script, self.fail = name, list(script), fail
        self.queries = []
        self.polls = 0
        self.is_closed = self.is_defunct = False

    async def request(self, message, timeout):
        self.queries.append(message.query)
        if self.fail:
            raise ConnectionShutdown("closed by the server")
        # One poll reads system.local then system.peers; the last step repeats.
        local, peers = self.script[min(self.polls, len(self.script) - 1)]
        if message.query == SELECT_SCHEMA_LOCAL:
            return SimpleNamespace(column_names=["schema_version"], parsed_rows=[(local,)])
        assert message.query == SELECT_SCHEMA_PEERS
        self.polls += 1
        return SimpleNamespace(column_names=["peer", "rpc_address", "schema_version"],
                               parsed_rows=[(f"127.0.0.{i + 2}", f"127.0.0.{i + 2}", v)
                                            for i, v in enumerate(peers)])


def _control(control_connection):
    cluster = SimpleNamespace(metadata=Metadata(), max_schema_agreement_wait=5)
    cc = ControlConnection(cluster, 2.0, 0, 0, 0, schema_metadata_enabled=False)
    cc._connection = control_connection
    return cc


def _run(coro):
    return asyncio.run(coro)


def test_agreement_waits_until_the_coordinators_peers_have_the_new_version():
    # The control host has not applied the change yet: it sees everyone on OLD (agreement!).
    control = FakeConnection("control", [(OLD, [OLD, OLD])])
    # The coordinator has NEW; its peers catch up one poll at a time.
    coordinator = FakeConnection("coordinator", [(NEW, [OLD, OLD]), (NEW, [NEW, OLD]), (NEW, [NEW, NEW])])
    agreed = _run(_control(control).refresh_after_schema_change_async(None, coordinator))
    assert agreed is True
    assert coordinator.queries.count(SELECT_SCHEMA_PEERS) == 3
    assert control.queries == []


def test_agreement_falls_back_to_the_control_connection_when_the_coordinator_is_lost():
    control = FakeConnection("control", [(NEW, [NEW, NEW])])
    lost = FakeConnection("coordinator", [(NEW, [NEW, NEW])], fail=True)
    assert _run(_control(control).refresh_after_schema_change_async(None, lost)) is True
    assert control.queries == [SELECT_SCHEMA_LOCAL, SELECT_SCHEMA_PEERS]


def test_without_a_coordinator_the_control_connection_judges():
    control = FakeConnection("control", [(NEW, [NEW, NEW])])
    assert _run(_control(control).refresh_after_schema_change_async(None, None)) is True
    assert control.queries == [SELECT_SCHEMA_LOCAL, SELECT_SCHEMA_PEERS]


def _future(host, pools):
    return SimpleNamespace(coordinator_host=host, session=SimpleNamespace(_pools=pools))


def _pool(connections, is_shutdown=False):
    return SimpleNamespace(connections=connections, is_shutdown=is_shutdown,
                           borrow_connection=lambda: connections[0])


def test_the_witness_is_the_connection_the_result_came_on():
    answered = FakeConnection("answered", [])
    other = FakeConnection("pool", [])
    assert Cluster._schema_witness(_future("h", {"h": _pool([other])}), answered) is answered


@pytest.mark.parametrize("closed", ["is_closed", "is_defunct"])
def test_a_closed_or_lane_answer_is_witnessed_by_a_pool_connection_to_the_same_host(closed):
    pooled = FakeConnection("pool", [])
    dead = FakeConnection("answered", [])
    setattr(dead, closed, True)
    assert Cluster._schema_witness(_future("h", {"h": _pool([pooled])}), dead) is pooled
    # A lane answers with no loop connection at all.
    assert Cluster._schema_witness(_future("h", {"h": _pool([pooled])}), None) is pooled


def test_no_open_connection_to_the_coordinator_means_the_control_connection():
    assert Cluster._schema_witness(_future("h", {}), None) is None
    assert Cluster._schema_witness(_future("h", {"h": _pool([])}), None) is None
    assert Cluster._schema_witness(_future("h", {"h": _pool([object()], is_shutdown=True)}), None) is None
