"""The reconnection helper (cassfast._reconnect): the I/O-free plan, and the Reconnector that
drives it, on an event loop whose clock is virtual.

No server and no real sleeps: ``VirtualTimeLoop`` is a real asyncio selector loop whose clock
jumps to the next timer instead of waiting for it (a loop with nothing to wake it fails the
test rather than hang), so a schedule of 100 s delays runs in microseconds and each attempt's
virtual time is exact.  The pool and the control connection use this helper for their three
reconnection loops; tests/unit/test_pool_interfaces.py drives it through the pool.
"""
from __future__ import annotations

import asyncio
import logging
import math
import selectors
from types import SimpleNamespace

import pytest

from cassfast import _control
from cassfast._control import ControlConnection
from cassfast._errors import NoHostAvailable
from cassfast._reconnect import (DONE, GIVE_UP, WAIT, InvalidReconnectionSchedule, ReconnectionPlan,
                                 Reconnector, Step)
from cassfast.connection import ConnectionException
from cassfast.policies import (ConstantReconnectionPolicy, ExponentialReconnectionPolicy, HostDistance,
                               ReconnectionPolicy)
from cassfast.pool import HostConnectionPool

LOGGER = logging.getLogger("cassfast.test_reconnect")


class _VirtualTimeSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout=None):
        if timeout is None:
            raise RuntimeError("the loop would wait forever: nothing is scheduled")
        self.now += max(timeout, 0.0)
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._virtual = _VirtualTimeSelector()
        super().__init__(self._virtual)

    def time(self) -> float:
        return self._virtual.now


@pytest.fixture
def loop():
    loop = VirtualTimeLoop()
    yield loop
    loop.close()


class Attempts:
    """An attempt coroutine that fails with ``outcomes`` in order (None: succeeds), noting the
    virtual time of each call."""

    def __init__(self, loop, *outcomes, needed_after_success=False) -> None:
        self.loop = loop
        self.outcomes = list(outcomes)
        self.times: list = []
        self.done = False
        self.needed_after_success = needed_after_success

    async def __call__(self) -> None:
        self.times.append(self.loop.time())
        await asyncio.sleep(0)  # an attempt does I/O: it yields at least once
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome
        self.done = not self.needed_after_success

    def is_needed(self) -> bool:
        return not self.done


def _steps(plan: ReconnectionPlan, failures: int) -> list:
    steps = [plan.begin()]
    for _ in range(failures):
        steps.append(plan.failed(ConnectionException("refused")))
    return steps


# ---------------------------------------------------------------------------- the plan, no I/O

def test_a_constant_schedule_waits_its_delay_before_each_attempt_then_gives_up():
    plan = ReconnectionPlan(ConstantReconnectionPolicy(2.0, max_attempts=3).new_schedule)
    assert _steps(plan, 3) == [Step(WAIT, 2.0)] * 3 + [Step(GIVE_UP)]
    assert isinstance(plan.last_error, ConnectionException)


def test_an_exponential_schedule_doubles_within_its_jitter_and_cap():
    plan = ReconnectionPlan(ExponentialReconnectionPolicy(1.0, 10.0, max_attempts=6).new_schedule)
    steps = _steps(plan, 6)
    assert [s.action for s in steps] == [WAIT] * 6 + [GIVE_UP]
    for step, nominal in zip(steps, [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]):
        assert max(1.0, nominal * 0.85) <= step.delay <= min(10.0, nominal * 1.15)


def test_a_users_policy_returning_a_generator_is_read_lazily_in_order():
    class SlowThenSteady(ReconnectionPolicy):
        def new_schedule(self):
            yield from (1, 2, 5)
            while True:  # infinite: only as many delays as failures are ever taken
                yield 30.0

    plan = ReconnectionPlan(SlowThenSteady().new_schedule)
    assert [s.delay for s in _steps(plan, 5)] == [1.0, 2.0, 5.0, 30.0, 30.0, 30.0]
    assert all(isinstance(s.delay, float) for s in _steps(plan, 2))


def test_an_empty_schedule_gives_up_before_any_attempt_unless_the_first_is_immediate():
    assert ReconnectionPlan(lambda: ()).begin() == Step(GIVE_UP)
    immediate = ReconnectionPlan(lambda: iter(()), attempt_first=True)
    assert immediate.begin() == Step(WAIT, 0.0)
    assert immediate.failed(OSError("refused")) == Step(GIVE_UP)


def test_the_first_attempt_at_once_then_the_schedule_from_its_first_delay():
    plan = ReconnectionPlan(lambda: iter([3.0, 4.0]), attempt_first=True)
    assert _steps(plan, 3) == [Step(WAIT, 0.0), Step(WAIT, 3.0), Step(WAIT, 4.0), Step(GIVE_UP)]


def test_a_success_is_done_unless_more_is_needed_on_the_same_schedule():
    plan = ReconnectionPlan(lambda: iter([1.0, 2.0, 3.0]))
    assert plan.begin() == Step(WAIT, 1.0)
    assert plan.succeeded(still_needed=True) == Step(WAIT, 2.0)
    assert plan.succeeded(still_needed=False) == Step(DONE)


def test_restart_now_attempts_at_once_on_a_fresh_schedule():
    made = []

    def new_schedule():
        made.append(1)
        return iter([5.0, 6.0])

    plan = ReconnectionPlan(new_schedule)
    assert plan.begin() == Step(WAIT, 5.0)
    assert plan.failed(OSError()) == Step(WAIT, 6.0)
    assert plan.restart_now() == Step(WAIT, 0.0)
    assert plan.failed(OSError()) == Step(WAIT, 5.0)  # the fresh schedule's first delay
    assert len(made) == 2


@pytest.mark.parametrize("delay, message", [
    (-1.0, "finite and >= 0"), (math.nan, "finite and >= 0"), (math.inf, "finite and >= 0"),
    ("1", "numbers of seconds"), (True, "numbers of seconds"), (object(), "numbers of seconds"),
])
def test_a_delay_that_is_not_a_finite_number_of_seconds_is_a_typed_error(delay, message):
    plan = ReconnectionPlan(lambda: iter([delay]))
    with pytest.raises(InvalidReconnectionSchedule, match=message):
        plan.begin()


def test_a_schedule_that_raises_or_is_not_iterable_is_a_typed_error():
    def broken():
        yield 1.0
        raise RuntimeError("policy bug")

    plan = ReconnectionPlan(broken)
    assert plan.begin() == Step(WAIT, 1.0)
    with pytest.raises(InvalidReconnectionSchedule, match="policy bug"):
        plan.failed(OSError())
    with pytest.raises(InvalidReconnectionSchedule, match="new_schedule"):
        ReconnectionPlan(lambda: 5).begin()
    with pytest.raises(InvalidReconnectionSchedule, match="new_schedule"):
        ReconnectionPlan(ReconnectionPolicy().new_schedule).begin()  # NotImplementedError


# ---------------------------------------------------------------------------- the Reconnector

def _reconnector(attempts, schedule, **kwargs):
    kwargs.setdefault("what", "reconnecting to 10.0.0.1:9042")
    return Reconnector(lambda: iter(schedule), attempts, is_needed=attempts.is_needed, log=LOGGER, **kwargs)


def _run(loop, reconnector, then=None):
    async def main():
        reconnector.start()
        if then is not None:
            await then()
        await asyncio.wait([reconnector.task])

    loop.run_until_complete(main())


def test_failures_then_success_follow_the_schedule_and_log_each_next_delay(loop, caplog):
    attempts = Attempts(loop, ConnectionException("refused"), OSError("reset"), None)
    reconnector = _reconnector(attempts, [2.0, 3.0, 7.0, 9.0], failure_level=logging.DEBUG)
    with caplog.at_level(logging.DEBUG, LOGGER.name):
        _run(loop, reconnector)
    assert attempts.times == [2.0, 5.0, 12.0]
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, "Reconnecting to 10.0.0.1:9042 failed, next attempt in 3.00s: refused"),
        (logging.DEBUG, "Reconnecting to 10.0.0.1:9042 failed, next attempt in 7.00s: reset"),
    ]
    assert reconnector.task.result() is None and not reconnector.running


def test_an_exhausted_schedule_gives_up_once_with_the_last_error(loop, caplog):
    given_up = []
    last = ConnectionException("still refused")
    attempts = Attempts(loop, ConnectionException("refused"), ConnectionException("refused"), last)
    reconnector = _reconnector(attempts, [1.0, 1.0], give_up_level=logging.ERROR,
                               on_give_up=given_up.append, attempt_first=True)
    with caplog.at_level(logging.DEBUG, LOGGER.name):
        _run(loop, reconnector)
    assert attempts.times == [0.0, 1.0, 2.0]
    assert given_up == [last]
    give_up = caplog.records[-1]
    assert give_up.levelno == logging.ERROR
    assert give_up.getMessage() == ("Giving up reconnecting to 10.0.0.1:9042: the reconnection "
                                    "schedule is exhausted; last error: still refused")


def test_an_empty_schedule_gives_up_without_an_attempt(loop):
    given_up = []
    attempts = Attempts(loop)
    _run(loop, _reconnector(attempts, [], on_give_up=given_up.append))
    assert attempts.times == [] and given_up == [None]


def test_cancelling_mid_sleep_stops_the_loop_and_leaves_no_timer(loop):
    attempts = Attempts(loop, OSError("refused"))
    reconnector = _reconnector(attempts, [100.0] * 5)

    async def cancel_at_50():
        await asyncio.sleep(50.0)
        reconnector.cancel()

    _run(loop, reconnector, cancel_at_50)
    assert attempts.times == [] and reconnector.task.cancelled()
    assert all(timer.cancelled() for timer in loop._scheduled)  # the 100 s timer went with it
    reconnector.start()
    reconnector.reconnect_now()
    assert not reconnector.running  # cancelled for good (shutdown)


def test_reconnect_now_cuts_a_sleep_short_and_restarts_the_schedule(loop):
    made = []
    attempts = Attempts(loop, OSError("refused"), None)

    def new_schedule():
        made.append(loop.time())
        return iter([100.0, 4.0])

    reconnector = Reconnector(new_schedule, attempts, is_needed=attempts.is_needed, log=LOGGER,
                              what="reconnecting")

    async def up_event_at_10():
        await asyncio.sleep(10.0)
        reconnector.reconnect_now()

    _run(loop, reconnector, up_event_at_10)
    # At once at 10, then the fresh schedule's first delay (100), not the old one's second (4).
    assert attempts.times == [10.0, 110.0]
    assert made == [0.0, 10.0]


def test_reconnect_now_when_idle_starts_an_immediate_attempt(loop):
    attempts = Attempts(loop)
    reconnector = _reconnector(attempts, [60.0])

    async def main():
        reconnector.reconnect_now()
        await asyncio.wait([reconnector.task])

    loop.run_until_complete(main())
    assert attempts.times == [0.0] and attempts.done


def test_reconnect_now_during_an_attempt_lets_it_finish_and_retries_at_once_if_it_failed(loop):
    gate = asyncio.Event()
    times = []

    async def attempt():
        times.append(loop.time())
        if len(times) == 1:
            await gate.wait()
            raise OSError("refused")

    reconnector = Reconnector(lambda: iter([5.0, 5.0]), attempt, is_needed=lambda: len(times) < 2,
                              log=LOGGER, what="reconnecting")

    async def up_event_mid_attempt():
        await asyncio.sleep(6.0)  # the first attempt started at 5 and is waiting
        reconnector.reconnect_now()
        gate.set()

    _run(loop, reconnector, up_event_mid_attempt)
    assert times == [5.0, 6.0]


def test_reconnect_now_in_the_same_tick_as_start_is_not_lost(loop):
    attempts = Attempts(loop)
    reconnector = _reconnector(attempts, [60.0])

    async def main():
        reconnector.start()         # a connection lost...
        reconnector.reconnect_now()  # ...and the host said UP before the loop ran the task
        await asyncio.wait([reconnector.task])

    loop.run_until_complete(main())
    assert attempts.times == [0.0]


def test_a_failure_outside_the_attempt_stops_the_loop_with_its_traceback_logged(loop, caplog):
    given_up = []

    def is_needed():
        raise RuntimeError("bug in is_needed")

    reconnector = Reconnector(lambda: iter([1.0]), Attempts(loop), is_needed=is_needed, log=LOGGER,
                              what="reconnecting", on_give_up=given_up.append)
    with caplog.at_level(logging.DEBUG, LOGGER.name):
        _run(loop, reconnector)
    assert reconnector.task.exception() is None and given_up == [None]
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info[0] is RuntimeError


def test_an_unexpected_exception_is_logged_with_its_traceback_and_the_loop_goes_on(loop, caplog):
    attempts = Attempts(loop, KeyError("bug in the attempt"), None)
    reconnector = _reconnector(attempts, [1.0, 2.0], failure_level=logging.DEBUG)
    with caplog.at_level(logging.DEBUG, LOGGER.name):
        _run(loop, reconnector)
    assert attempts.times == [1.0, 3.0] and attempts.done
    (record,) = caplog.records
    assert record.levelno == logging.WARNING and record.exc_info[0] is KeyError
    assert "unexpected error, next attempt in 2.00s" in record.getMessage()


def test_a_broken_schedule_gives_up_with_an_error_instead_of_killing_the_task(loop, caplog):
    given_up = []
    attempts = Attempts(loop, OSError("refused"))
    reconnector = _reconnector(attempts, [1.0, -5.0], on_give_up=given_up.append)
    with caplog.at_level(logging.DEBUG, LOGGER.name):
        _run(loop, reconnector)
    assert attempts.times == [1.0]
    assert reconnector.task.exception() is None
    assert len(given_up) == 1 and isinstance(given_up[0], OSError)
    assert caplog.records[-1].levelno == logging.ERROR
    assert "yielded -5.0" in caplog.records[-1].getMessage()


def test_nothing_is_attempted_once_it_is_no_longer_needed(loop):
    attempts = Attempts(loop)
    attempts.done = True  # e.g. the pool was shut down or is back to its core size
    given_up = []
    _run(loop, _reconnector(attempts, [1.0], on_give_up=given_up.append))
    assert attempts.times == [] and given_up == []


def test_a_success_that_leaves_more_to_do_continues_on_the_same_schedule(loop):
    attempts = Attempts(loop, None, None, needed_after_success=True)
    given_up = []
    _run(loop, _reconnector(attempts, [1.0, 2.0, 4.0], on_give_up=given_up.append))
    assert attempts.times == [1.0, 3.0, 7.0] and given_up == [None]


def test_start_while_running_does_not_start_a_second_loop(loop):
    attempts = Attempts(loop, OSError("refused"), None)
    reconnector = _reconnector(attempts, [1.0, 1.0])

    async def start_again():
        first = reconnector.task
        reconnector.start()
        assert reconnector.task is first

    _run(loop, reconnector, start_again)
    assert attempts.times == [1.0, 2.0]


# ---------------------------------------------------------------------------- through the pool

class _Connection:
    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.close_callbacks = []
        self.last_error = None
        self.in_flight = self.orphaned = 0
        self.available_streams = 100
        self.draining = self.is_drained = self.closed = False

    def add_close_callback(self, callback):
        self.close_callbacks.append(callback)

    def close(self):
        self.closed = True

    def close_drained(self):
        self.closed = True

    def lose(self, exc):
        self.last_error = exc
        for callback in self.close_callbacks:
            callback(self)


class _Connector:
    """Opens fake connections; ``failures`` opens fail first.  Notes each open's virtual time."""

    def __init__(self, loop, failures=0):
        self.loop = loop
        self.failures = failures
        self.times: list = []
        self.opened: list = []
        self.loop_thread = None

    async def open_connection(self, endpoint, owner=None, keyspace=None, **kwargs):
        self.times.append(self.loop.time())
        await asyncio.sleep(0)
        if self.failures:
            self.failures -= 1
            raise ConnectionException("Connection refused", endpoint)
        connection = _Connection(endpoint)
        self.opened.append(connection)
        return connection


class _HostEvents:
    def __init__(self):
        self.calls = []

    def on_pool_lost_all(self, host, exc):
        self.calls.append("lost_all")

    def on_pool_reconnected(self, host):
        self.calls.append("reconnected")


class _Settings:
    sync_lanes_per_host = 0
    protocol_version = 5
    connect_timeout = 1.0

    def __init__(self, delays):
        self.reconnection_policy = ConstantReconnectionPolicy(delays[0], len(delays))
        self.core = self.max = 1

    def get_core_connections_per_host(self, distance):
        return self.core

    def get_max_connections_per_host(self, distance):
        return self.max

    def get_min_requests_per_connection(self, distance):
        return 5

    def get_max_requests_per_connection(self, distance):
        return 100


def _pool(loop, failures, delays):
    connector, events = _Connector(loop, failures), _HostEvents()
    host = SimpleNamespace(endpoint="10.0.0.1:9042")
    pool = HostConnectionPool(host, HostDistance.LOCAL, SimpleNamespace(keyspace=None), connector, events,
                              _Settings(delays))
    return pool, connector, events


def test_a_pool_reconnects_on_the_schedule_and_an_up_event_skips_the_wait(loop, caplog):
    async def main():
        pool, connector, events = _pool(loop, failures=0, delays=[30.0] * 5)
        await pool.open()
        connector.failures = 1
        connector.opened[0].lose(ConnectionException("reset"))
        await asyncio.sleep(45.0)  # 30: the first reopen fails; the next is due at 60
        pool.reconnect_now()       # the server says the host is UP at 45
        await asyncio.wait([pool._reconnector.task])
        return pool, connector, events

    with caplog.at_level(logging.DEBUG, "cassfast.pool"):
        pool, connector, events = loop.run_until_complete(main())
    assert connector.times == [0.0, 30.0, 45.0]
    assert events.calls == ["lost_all", "reconnected"]
    assert pool.connections == [connector.opened[1]]
    failures = [r for r in caplog.records if "failed, next attempt" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in failures] == [
        (logging.DEBUG, "Reconnecting to %s failed, next attempt in 30.00s: Connection refused"
         % (pool.host,))]


def test_a_connection_full_of_orphans_is_replaced_at_once_then_on_the_schedule(loop):
    async def main():
        pool, connector, events = _pool(loop, failures=0, delays=[5.0] * 3)
        await pool.open()
        old = connector.opened[0]
        connector.failures = 2
        pool._on_orphaned_threshold(old)
        assert old in pool._replacing
        await asyncio.wait([pool._replacing[old].task])
        return pool, connector, old

    pool, connector, old = loop.run_until_complete(main())
    assert connector.times == [0.0, 0.0, 5.0, 10.0]
    assert pool.connections == [connector.opened[1]] and old.draining
    assert pool._replacing == {}


def test_a_core_connection_that_fails_to_open_after_a_resize_is_reopened_on_the_schedule(loop, caplog):
    async def main():
        pool, connector, events = _pool(loop, failures=0, delays=[5.0] * 3)
        await pool.open()
        pool.settings.core = pool.settings.max = 3
        connector.failures = 2  # both new core connections fail at once (t=0)
        pool.resize()
        await asyncio.sleep(1.0)
        assert len(pool.connections) == 1 and pool._reconnector.running
        await asyncio.wait([pool._reconnector.task])
        return pool, connector, events

    with caplog.at_level(logging.DEBUG, "cassfast.pool"):
        pool, connector, events = loop.run_until_complete(main())
    # One reconnection reopens both, one per attempt on the same schedule (a success that leaves
    # the pool below core waits the next delay, as after a lost connection).
    assert connector.times == [0.0, 0.0, 0.0, 5.0, 10.0]
    assert pool.connections == connector.opened and len(pool.connections) == 3
    assert events.calls == []  # the host never lost all its connections
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("(core size): Connection refused" in m for m in warnings), warnings


def test_shutting_a_pool_down_cancels_its_reconnection_and_replacement_mid_sleep(loop):
    async def main():
        pool, connector, events = _pool(loop, failures=0, delays=[100.0] * 3)
        await pool.open()
        old = connector.opened[0]
        connector.failures = 10
        pool._on_orphaned_threshold(old)
        await asyncio.sleep(1.0)  # the immediate replacement failed; the next is due at 100
        replacer = pool._replacing[old]
        old.lose(ConnectionException("reset"))  # and the reconnection sleeps towards 101
        await asyncio.sleep(1.0)
        pool.shutdown()
        await asyncio.wait([replacer.task, pool._reconnector.task])
        await asyncio.sleep(500.0)
        return pool, connector, replacer

    pool, connector, replacer = loop.run_until_complete(main())
    assert connector.times == [0.0, 0.0]
    assert replacer.task.cancelled() and pool._reconnector.task.cancelled()


# ---------------------------------------------------------------------------- through the control connection

class _ControlConnectionLink:
    def __init__(self):
        self.endpoint = "10.0.0.1:9042"
        self.last_error = ConnectionException("reset")
        self.is_closed = self.is_defunct = False

    def close(self):
        self.is_closed = True


def _control_connection(loop, delays, failures):
    cluster = SimpleNamespace(reconnection_policy=ConstantReconnectionPolicy(delays[0], len(delays)))
    topology = SimpleNamespace(control_candidates=lambda: ["10.0.0.1:9042", "10.0.0.2:9042"])
    control = ControlConnection(cluster, 2.0, 0, 0, 0, connector=SimpleNamespace(), topology=topology)
    tried = []

    async def connect_async(endpoints):  # stands in for the handshake, REGISTER and refreshes
        tried.append((loop.time(), endpoints))
        await asyncio.sleep(0)
        if len(tried) <= failures:
            raise NoHostAvailable("Unable to connect to any servers", {e: OSError("refused") for e in endpoints})
        control._connection = _ControlConnectionLink()

    control.connect_async = connect_async
    return control, tried


def test_the_control_connection_reconnects_at_once_then_on_the_schedule(loop, caplog):
    async def main():
        control, tried = _control_connection(loop, [2.0] * 5, failures=2)
        lost = control._connection = _ControlConnectionLink()
        lost.is_closed = True
        control._on_connection_closed(lost)
        await asyncio.wait([control._reconnector.task])
        return control, tried

    with caplog.at_level(logging.DEBUG, _control.log.name):
        control, tried = loop.run_until_complete(main())
    assert [t for t, _ in tried] == [0.0, 2.0, 4.0]
    assert tried[0][1] == ["10.0.0.1:9042", "10.0.0.2:9042"]
    assert control.connection is not None and not control.connection.is_closed
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage().split(":")[0] for r in warnings] == [
        "Reconnecting the control connection failed, next attempt in 2.00s"] * 2


def test_the_control_connection_gives_up_at_error_when_the_schedule_is_exhausted(loop, caplog):
    async def main():
        control, tried = _control_connection(loop, [1.0], failures=10)
        control._start_reconnecting()
        await asyncio.wait([control._reconnector.task])
        control.shutdown()
        control._start_reconnecting()  # after shutdown: nothing starts
        return control, tried

    with caplog.at_level(logging.DEBUG, _control.log.name):
        control, tried = loop.run_until_complete(main())
    assert [t for t, _ in tried] == [0.0, 1.0]
    assert [r.levelno for r in caplog.records if "control connection" in r.getMessage()] == [
        logging.WARNING, logging.ERROR]
    assert caplog.records[-1].getMessage().startswith(
        "Giving up reconnecting the control connection: the reconnection schedule is exhausted; last error:")
    assert not control._reconnector.running


def test_a_host_coming_back_revives_a_control_connection_that_gave_up(loop, caplog):
    async def main():
        control, tried = _control_connection(loop, [1.0], failures=2)
        control._start_reconnecting()
        await asyncio.wait([control._reconnector.task])  # 0.0 and 1.0 failed: gave up
        assert control.connection is None and not control._reconnector.running
        await asyncio.sleep(50.0)
        control.on_host_up("10.0.0.2:9042")  # a pool reconnected to that host
        await asyncio.wait([control._reconnector.task])
        return control, tried

    with caplog.at_level(logging.DEBUG, _control.log.name):
        control, tried = loop.run_until_complete(main())
    assert [t for t, _ in tried] == [0.0, 1.0, 51.0]
    assert control.connection is not None and not control.connection.is_closed
    assert any("Host 10.0.0.2:9042 is up; reconnecting the control connection now" == r.getMessage()
               for r in caplog.records)


def test_a_host_coming_back_while_the_control_connection_is_up_changes_nothing(loop):
    async def main():
        control, tried = _control_connection(loop, [1.0], failures=0)
        control._connection = _ControlConnectionLink()
        control.on_host_up("10.0.0.2:9042")
        await asyncio.sleep(5.0)
        return control, tried

    control, tried = loop.run_until_complete(main())
    assert tried == [] and control._reconnector.task is None


class _SetupLink(_ControlConnectionLink):
    """A control connection whose close runs its close callbacks, as Connection's does."""

    def __init__(self, endpoint):
        super().__init__()
        self.endpoint = endpoint
        self.callbacks = []

    def add_close_callback(self, callback):
        self.callbacks.append(callback)

    def close(self):
        if not self.is_closed:
            self.is_closed = True
            for callback in self.callbacks:
                callback(self)


def _connecting_control(loop, setups):
    """A control connection whose real ``connect_async`` runs over a connector handing out
    ``_SetupLink``s; ``setups[i]`` is what the i-th setup does after registering the close
    callback, as the real setup does before its refreshes: "ok", "lost" (the server closes the
    connection mid-refresh) or "lost after" (set up, then closed before the connect returns)."""
    cluster = SimpleNamespace(reconnection_policy=ConstantReconnectionPolicy(10.0, 3))
    opened = []

    async def open_connection(endpoint, **kwargs):
        await asyncio.sleep(0)
        opened.append(_SetupLink(endpoint))
        return opened[-1]

    topology = SimpleNamespace(control_candidates=lambda: ["10.0.0.1:9042", "10.0.0.2:9042"])
    control = ControlConnection(cluster, 2.0, 0, 0, 0, topology=topology,
                                connector=SimpleNamespace(open_connection=open_connection))
    script = list(setups)

    async def setup(connection):
        control._connection = connection
        connection.add_close_callback(control._on_connection_closed)
        await asyncio.sleep(0)
        step = script.pop(0) if script else "ok"
        if step == "lost":
            connection.close()
            raise ConnectionException("connection reset during the refresh")
        if step == "lost after":
            loop.call_soon(connection.close)
            await asyncio.sleep(0)

    control._setup = setup
    return control, opened


def test_a_connection_lost_during_the_first_connect_does_not_start_a_second_reconnection(loop):
    async def main():
        control, opened = _connecting_control(loop, ["lost", "ok"])
        loop.call_soon(control.on_host_up, "10.0.0.1:9042")  # while connecting: left to it
        await control.connect_async(["10.0.0.1:9042", "10.0.0.2:9042"])
        return control, opened

    control, opened = loop.run_until_complete(main())
    assert [link.endpoint for link in opened] == ["10.0.0.1:9042", "10.0.0.2:9042"]
    assert control.connection is opened[1] and opened[0].is_closed
    assert control._reconnector.task is None  # nothing raced the connect to the next host


def test_a_first_connect_that_fails_everywhere_raises_and_leaves_no_reconnection_behind(loop):
    async def main():
        control, opened = _connecting_control(loop, ["lost", "lost"])
        with pytest.raises(NoHostAvailable) as info:
            await control.connect_async(["10.0.0.1:9042", "10.0.0.2:9042"])
        return control, info.value

    control, error = loop.run_until_complete(main())
    assert sorted(error.errors) == ["10.0.0.1:9042", "10.0.0.2:9042"]
    assert control.connection is None and control._reconnector.task is None


def test_a_connection_lost_right_after_its_setup_is_reconnected_once_the_connect_returns(loop):
    async def main():
        control, opened = _connecting_control(loop, ["lost after", "ok"])
        await control.connect_async(["10.0.0.1:9042"])
        assert control.connection is None and control._reconnector.running
        await asyncio.wait([control._reconnector.task])
        return control, opened

    control, opened = loop.run_until_complete(main())
    assert len(opened) == 2 and opened[0].is_closed
    assert control.connection is opened[1] and not opened[1].is_closed
