"""Reconnection on a ``ReconnectionPolicy`` schedule: the one loop behind the pool's reconnection,
its replacement of a connection full of orphans, and the control connection's reconnection.

Two parts.  :class:`ReconnectionPlan` makes every decision and does no I/O: given the schedule
(``policy.new_schedule``) and each attempt's outcome it answers :data:`WAIT` *d* seconds, then
attempt, :data:`GIVE_UP` (the schedule is exhausted, or the policy broke its contract) or
:data:`DONE`; it is tested without a loop or a clock.  :class:`Reconnector` drives a plan on the
running asyncio loop: it sleeps, calls the caller's attempt coroutine, logs each failure with the
next delay, calls the give-up hook, stops when cancelled (shutdown), and restarts at once with a
fresh schedule on :meth:`Reconnector.reconnect_now` (the server said the host is UP).

A schedule is an iterable of delays in seconds, taken lazily one per failure, so an infinite
generator is fine.  A delay that is not a finite number >= 0 (or a schedule that raises) gives up
with an ERROR naming the policy's mistake instead of killing the loop or sleeping forever.  An
attempt that raises anything but the caller's ``expected`` connection errors is still a failed
attempt (the loop goes on), logged with its traceback at WARNING or above, so a bug in the attempt
is never swallowed.  Cold path: plain readable asyncio, only on the cluster's I/O loop.
"""
from __future__ import annotations

import asyncio
import logging
import math
import numbers
from typing import Any, Awaitable, Callable, Iterable, Iterator, NamedTuple, Optional

from cassfast import DriverException
from cassfast._errors import NoHostAvailable
from cassfast.connection import ConnectionException

WAIT = "wait"
GIVE_UP = "give up"
DONE = "done"


class Step(NamedTuple):
    """What to do next: ``WAIT`` ``delay`` seconds then attempt, ``GIVE_UP`` or ``DONE``."""
    action: str
    delay: float = 0.0


# What an attempt to connect raises when the host cannot be reached or refuses us: an ordinary
# failed attempt, logged in one line.
CONNECTION_ERRORS = (ConnectionException, NoHostAvailable, DriverException, OSError, asyncio.TimeoutError)

_DONE = Step(DONE)
_GIVE_UP = Step(GIVE_UP)


class InvalidReconnectionSchedule(ValueError):
    """The reconnection policy's schedule is not an iterable of finite delays >= 0 seconds."""


class ReconnectionPlan:
    """The decisions of one reconnection effort, without I/O.

    ``new_schedule`` is called for a fresh schedule by :meth:`begin` and :meth:`restart_now`.
    ``attempt_first``: the first attempt is made at once (the control connection, a replacement
    connection) rather than after the schedule's first delay (the pool's reconnection, which
    follows a connection just lost).  Every method returns the next :class:`Step`; a broken
    schedule raises :class:`InvalidReconnectionSchedule`.
    """

    def __init__(self, new_schedule: Callable[[], Iterable[float]], attempt_first: bool = False) -> None:
        self._new_schedule = new_schedule
        self._attempt_first = attempt_first
        self._delays: Iterator[float] = iter(())
        self.attempts = 0
        self.last_error: Optional[BaseException] = None

    def begin(self) -> Step:
        """Start on a fresh schedule."""
        self._fresh_schedule()
        return Step(WAIT, 0.0) if self._attempt_first else self._next()

    def restart_now(self) -> Step:
        """Attempt at once, then follow a fresh schedule from its first delay."""
        self._fresh_schedule()
        return Step(WAIT, 0.0)

    def attempt_started(self) -> None:
        self.attempts += 1

    def failed(self, exc: BaseException) -> Step:
        self.last_error = exc
        return self._next()

    def succeeded(self, still_needed: bool) -> Step:
        """An attempt succeeded; ``still_needed``: more is to be done (a pool still below its
        core size), on the same schedule."""
        return self._next() if still_needed else _DONE

    def _fresh_schedule(self) -> None:
        try:
            self._delays = iter(self._new_schedule())
        except InvalidReconnectionSchedule:
            raise
        except Exception as exc:
            raise InvalidReconnectionSchedule(
                "the reconnection policy's new_schedule() failed: %r" % (exc,)) from exc

    def _next(self) -> Step:
        try:
            delay = next(self._delays, None)
        except Exception as exc:
            raise InvalidReconnectionSchedule(
                "the reconnection policy's schedule raised %r" % (exc,)) from exc
        if delay is None:
            return _GIVE_UP
        if isinstance(delay, bool) or not isinstance(delay, numbers.Real):
            raise InvalidReconnectionSchedule(
                "the reconnection policy's schedule yielded %r; delays are numbers of seconds" % (delay,))
        if not (math.isfinite(delay) and delay >= 0):
            raise InvalidReconnectionSchedule(
                "the reconnection policy's schedule yielded %r; delays are finite and >= 0" % (delay,))
        return Step(WAIT, float(delay))


class Reconnector:
    """Runs a :class:`ReconnectionPlan` on the current asyncio loop.

    ``attempt``: a coroutine function making one attempt; it raises on failure.  ``is_needed``:
    read before each attempt and after each success; False ends the effort quietly (the pool
    is shut down or back to its core size, the connection to replace is gone).  ``log`` is the
    caller's logger (its name is the reference's), ``what`` a gerund phrase for the messages
    ("reconnecting to 127.0.0.1:9042"); each failure is logged at ``failure_level`` with the next
    delay, the give-up at ``give_up_level``, and ``on_give_up(last_error)`` is called (also when
    the schedule was empty: ``last_error`` is then None).  ``expected``: the exception types of an
    ordinary failed attempt (default :data:`CONNECTION_ERRORS`); any other ``Exception`` is
    logged with its traceback.
    """

    def __init__(self, new_schedule: Callable[[], Iterable[float]], attempt: Callable[[], Awaitable[Any]], *,
                 is_needed: Callable[[], bool], log: logging.Logger, what: str,
                 failure_level: int = logging.WARNING, give_up_level: int = logging.WARNING,
                 attempt_first: bool = False,
                 on_give_up: Optional[Callable[[Optional[BaseException]], None]] = None,
                 expected: tuple = CONNECTION_ERRORS) -> None:
        self.plan = ReconnectionPlan(new_schedule, attempt_first)
        self._attempt = attempt
        self._is_needed = is_needed
        self._log = log
        self._what = what
        self._failure_level = failure_level
        self._give_up_level = give_up_level
        self._on_give_up = on_give_up
        self._expected = expected
        self._task: Optional[asyncio.Task] = None
        self._wakeup: Optional[asyncio.Future] = None
        self._restart = False
        self._cancelled = False

    @property
    def task(self) -> Optional[asyncio.Task]:
        """The task of the current (or last) run; None before the first."""
        return self._task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Begin on a fresh schedule unless already running (or cancelled)."""
        if self._cancelled or self.running:
            return
        self._restart = False
        self._task = asyncio.ensure_future(self._run(self.plan.begin))

    def reconnect_now(self) -> None:
        """Attempt at once and follow a fresh schedule after: a sleep in progress is cut short;
        an attempt in progress is let finish (if it fails, the next one follows at once)."""
        if self._cancelled:
            return
        if not self.running:
            self._restart = False
            self._task = asyncio.ensure_future(self._run(self.plan.restart_now))
            return
        self._restart = True
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def cancel(self) -> None:
        """Stop for good (shutdown): a sleep or attempt in progress is cancelled."""
        self._cancelled = True
        if self._task is not None:
            self._task.cancel()

    async def _sleep(self, delay: float) -> None:
        if self._restart:  # reconnect_now came before the sleep began
            delay = 0.0
        loop = asyncio.get_running_loop()
        self._wakeup = wakeup = loop.create_future()
        timer = loop.call_later(delay, _resolve, wakeup)
        try:
            await wakeup
        finally:
            timer.cancel()
            self._wakeup = None

    async def _run(self, first: Callable[[], Step]) -> None:
        plan = self.plan
        try:
            step = first()
            while True:
                if step.action == GIVE_UP and self._take_restart():
                    step = plan.restart_now()
                if step.action == DONE:
                    return
                if step.action == GIVE_UP:
                    self._give_up(plan.last_error)
                    return
                await self._sleep(step.delay)
                if self._take_restart():
                    plan.restart_now()
                if not self._is_needed():
                    return
                plan.attempt_started()
                try:
                    await self._attempt()
                except Exception as exc:
                    if self._take_restart():
                        plan.last_error = exc
                        step = plan.restart_now()
                    else:
                        step = plan.failed(exc)
                    if step.action == WAIT:
                        self._log_failure(exc, step.delay)
                    continue
                still_needed = self._is_needed()
                if still_needed and self._take_restart():
                    step = plan.restart_now()
                else:
                    step = plan.succeeded(still_needed)
        except InvalidReconnectionSchedule as exc:
            self._log.error("Giving up %s: %s", self._what, exc)
            self._call_give_up(plan.last_error)
        except Exception:
            # A bug outside the attempt (is_needed, a log handler): stop, but never silently.
            self._log.exception("Giving up %s: the reconnection loop failed", self._what)
            self._call_give_up(plan.last_error)

    def _take_restart(self) -> bool:
        restart, self._restart = self._restart, False
        return restart

    def _log_failure(self, exc: BaseException, delay: float) -> None:
        if isinstance(exc, self._expected):
            if self._log.isEnabledFor(self._failure_level):
                self._log.log(self._failure_level, "%s failed, next attempt in %.2fs: %s",
                              _capitalized(self._what), delay, exc)
        else:
            self._log.log(max(self._failure_level, logging.WARNING),
                          "%s failed on an unexpected error, next attempt in %.2fs: %r",
                          _capitalized(self._what), delay, exc, exc_info=exc)

    def _give_up(self, last_error: Optional[BaseException]) -> None:
        if last_error is not None and not isinstance(last_error, self._expected):
            self._log.log(max(self._give_up_level, logging.WARNING),
                          "Giving up %s: the reconnection schedule is exhausted; last error: %r",
                          self._what, last_error, exc_info=last_error)
        else:
            self._log.log(self._give_up_level,
                          "Giving up %s: the reconnection schedule is exhausted%s", self._what,
                          "" if last_error is None else "; last error: %s" % (last_error,))
        self._call_give_up(last_error)

    def _call_give_up(self, last_error: Optional[BaseException]) -> None:
        if self._on_give_up is not None:
            try:
                self._on_give_up(last_error)
            except Exception:
                self._log.exception("The give-up hook of %s failed", self._what)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
