"""LaneSet bookkeeping (cassfast._lanes): limits, reuse order, the open back-off, idle closing,
shutdown and reset, with the socket side replaced by stand-ins.  What a lane does on the wire is
proven against the real node in tests/integration/test_session_lanes.py.
"""
import inspect
from types import SimpleNamespace

import pytest

from cassfast import _lanes
from cassfast._lanes import LaneSet
from cassfast.cluster import Cluster
from cassfast.connection import Connection
from cassfast.host import DefaultEndPoint


class FakeLane:
    def __init__(self, n):
        self.n = n
        self.broken = False
        self.closed = False
        self.aborted = False
        self.last_used = _lanes._monotonic()
        self.alive = True

    def usable(self):
        if not self.alive:
            self.broken = True
        return self.alive

    def close(self):
        self.closed = self.broken = True

    def abort(self):
        self.aborted = self.broken = True


@pytest.fixture
def opened(monkeypatch):
    """Replace Lane.open; the list records every lane opened (or the exception to raise)."""
    class Made(list):
        state = None
    made = Made()
    state = {"fail": None}

    def fake_open(endpoint, protocol_version, connect_timeout, options):
        if state["fail"] is not None:
            raise state["fail"]
        lane = FakeLane(len(made))
        made.append(lane)
        return lane
    monkeypatch.setattr(_lanes.Lane, "open", staticmethod(fake_open))
    made.state = state
    return made


def make_set(limit=2, connections=("c",)):
    # The two narrow interfaces a LaneSet reads through its pool (cassfast._interfaces).
    settings = SimpleNamespace(protocol_version=5, connect_timeout=1.0)
    connector = SimpleNamespace(connection_options=lambda endpoint: {})
    pool = SimpleNamespace(connections=list(connections), host=SimpleNamespace(endpoint="h"),
                           settings=settings, connector=connector)
    return LaneSet(pool, limit)


def test_lanes_are_opened_on_demand_up_to_the_limit(opened):
    lanes = make_set(limit=2)
    a, b = lanes.borrow(), lanes.borrow()
    assert a is not b and lanes.open_count == 2
    assert lanes.borrow() is None  # the caller falls back to the pool
    lanes.give_back(a)
    assert lanes.borrow() is a


def test_the_most_recently_returned_lane_is_reused_first(opened):
    lanes = make_set(limit=3)
    a, b = lanes.borrow(), lanes.borrow()
    lanes.give_back(a)
    lanes.give_back(b)
    assert lanes.borrow() is b
    assert len(opened) == 2


def test_no_lane_while_the_pool_has_no_open_connection(opened):
    lanes = make_set(connections=())
    assert lanes.borrow() is None and opened == []


def test_a_failed_open_backs_off_before_trying_again(opened, monkeypatch):
    lanes = make_set()
    now = [1000.0]
    monkeypatch.setattr(_lanes, "_monotonic", lambda: now[0])
    opened.state["fail"] = OSError("refused")
    assert lanes.borrow() is None
    opened.state["fail"] = None
    assert lanes.borrow() is None  # still within the back-off
    now[0] += _lanes._OPEN_RETRY_DELAY + 0.01
    assert lanes.borrow() is not None
    assert lanes.open_count == 1


def test_a_broken_lane_given_back_is_closed_and_frees_its_slot(opened):
    lanes = make_set(limit=1)
    a = lanes.borrow()
    a.broken = True
    lanes.give_back(a)
    assert a.closed and lanes.open_count == 0
    assert lanes.borrow() is not a


def test_a_lane_idle_long_enough_is_checked_and_replaced_when_dead(opened):
    lanes = make_set(limit=1)
    a = lanes.borrow()
    lanes.give_back(a)
    a.alive = False  # the server closed it while idle
    a.last_used -= _lanes._IDLE_CHECK_AFTER + 0.01
    b = lanes.borrow()
    assert b is not a and a.closed and lanes.open_count == 1


def test_a_lane_returned_moments_ago_is_reused_without_a_check(opened):
    lanes = make_set(limit=1)
    a = lanes.borrow()
    lanes.give_back(a)
    a.usable = lambda: pytest.fail("a lane used moments ago must not be polled")
    assert lanes.borrow() is a


def test_close_idle_closes_only_lanes_idle_long_enough(opened, monkeypatch):
    lanes = make_set(limit=3)
    a, b, busy = lanes.borrow(), lanes.borrow(), lanes.borrow()
    lanes.give_back(a)
    lanes.give_back(b)
    a.last_used -= 100
    assert lanes.close_idle(30) == 1
    assert a.closed and not b.closed and not busy.closed
    assert lanes.open_count == 2


def test_close_wakes_busy_lanes_and_refuses_new_ones(opened):
    lanes = make_set(limit=2)
    idle, busy = lanes.borrow(), lanes.borrow()
    lanes.give_back(idle)
    lanes.close()
    assert idle.closed and busy.aborted and not busy.closed
    assert lanes.borrow() is None
    lanes.give_back(busy)  # its thread returns it: closed now
    assert busy.closed and lanes.open_count == 0


def test_reset_drops_every_lane_but_allows_new_ones(opened):
    lanes = make_set(limit=2)
    idle, busy = lanes.borrow(), lanes.borrow()
    lanes.give_back(idle)
    lanes.reset()
    assert idle.closed and busy.aborted and lanes.open_count == 0
    fresh = lanes.borrow()
    assert fresh is not None and fresh not in (idle, busy)
    lanes.give_back(busy)
    assert busy.closed and lanes.open_count == 1


def test_a_lane_opens_with_every_option_a_pool_connection_is_given():
    # Lane.open takes Cluster._connection_options(endpoint) as keyword arguments, as
    # Connection.open does: a key the lane did not know would make every lane fail to open (and
    # the requests fall back to the pool without a word above DEBUG).
    cluster = Cluster(["127.0.0.1"], compression="lz4", cql_version="3.4.7", no_compact=True,
                      application_name="app", application_version="1")
    try:
        options = cluster._connection_options(DefaultEndPoint("127.0.0.1"))
    finally:
        cluster.shutdown()
    inspect.signature(_lanes.Lane._open).bind(DefaultEndPoint("127.0.0.1"), 5, 1.0, **options)
    inspect.signature(Connection).bind(DefaultEndPoint("127.0.0.1"), None, 5, **options)
