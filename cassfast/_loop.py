"""The I/O thread: one asyncio event loop per Cluster, and the one timer structure for timeouts.

Every connection of a ``Cluster`` lives on one event loop (uvloop when installed) run by one
daemon thread.  Application threads never touch a socket, a stream id or an in-flight map: they
hand work to the loop with :meth:`LoopThread.submit`, which queues a call and wakes the loop at
most once per batch (a wake-up is a write to the loop's self-pipe plus a thread switch, the single
largest cost of a blocking ``execute``; a burst of submissions from many threads shares one).

:class:`DeadlineQueue` is the request-timeout structure: requests with the same timeout expire in
the order they were queued, so one FIFO per distinct timeout value and one loop timer armed at the
earliest deadline replace a timer object per request.  Entries are tiny mutable lists that a
finished request clears, so a completed request (and its rows) is not kept alive by the queue.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import threading
import time
from typing import Any, Callable

from cassfast import _logger_for

log = _logger_for(__name__)

try:  # pragma: no cover - depends on the environment
    import uvloop as _uvloop
except ImportError:  # pragma: no cover
    _uvloop = None

_monotonic = time.monotonic
_get_ident = threading.get_ident


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when installed (fewer syscalls and cheaper callbacks), asyncio's otherwise."""
    if _uvloop is not None:
        return _uvloop.new_event_loop()
    return asyncio.new_event_loop()


class LoopThread:
    """Runs one event loop in a daemon thread and accepts work from any thread.

    ``submit(fn, *args)`` is safe from any thread.  Calls are run on the loop in submission order.
    The loop is woken by ``call_soon_threadsafe`` only when no drain is already pending, which
    makes a burst of submissions cost one wake-up.
    """

    def __init__(self, name: str = "cassfast-io") -> None:
        self.loop = new_event_loop()
        self._queue: collections.deque = collections.deque()
        self._drain_pending = False
        self._stopped = False
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._started.wait(10)
        self.ident = self.thread.ident
        self.deadlines = DeadlineQueue(self.loop, self.ident)
        self.writes = WriteBatcher(self.loop)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        try:
            self.loop.run_forever()
        finally:
            try:
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            except Exception:  # pragma: no cover - best effort on shutdown
                pass
            self.loop.close()

    def in_loop_thread(self) -> bool:
        return threading.get_ident() == self.ident

    def submit(self, fn: Callable, *args: Any) -> None:
        """Run ``fn(*args)`` on the loop thread soon; never blocks, never runs ``fn`` inline."""
        if self._stopped:
            raise RuntimeError("the cluster's I/O loop has been shut down")
        self._queue.append((fn, args))
        # The flag is cleared by _drain *before* it empties the queue, so an append that the
        # drain missed always sees the flag cleared and schedules another drain.
        if not self._drain_pending:
            self._drain_pending = True
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._drain_pending = False
        queue = self._queue
        popleft = queue.popleft
        writes = self.writes
        writes.depth += 1
        try:
            while queue:
                fn, args = popleft()
                try:
                    fn(*args)
                except Exception:
                    log.exception("Unhandled error in a call submitted to the I/O loop")
        finally:
            writes.depth -= 1
        # Everything the batch queued goes out now, in this iteration of the loop.
        if writes.dirty:
            writes.flush()

    def run_coroutine(self, coro, timeout: float | None) -> Any:
        """Run ``coro`` on the loop and wait for its result from another thread (cold path only)."""
        if self.in_loop_thread():
            raise RuntimeError("run_coroutine would deadlock when called on the I/O loop thread")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and join its thread.  Pending submitted calls run first."""
        if self._stopped:
            return
        self._stopped = True
        if self.in_loop_thread():
            self.loop.stop()
            return
        try:
            self.loop.call_soon_threadsafe(self._final_drain_and_stop)
        except RuntimeError:  # loop already closed
            return
        self.thread.join(timeout)

    def _final_drain_and_stop(self) -> None:
        self._drain()
        self.deadlines.close()
        self.loop.stop()


class WriteBatcher:
    """Coalesces writes: connections with queued frames are flushed once per batch of work.

    Inside a batch (``depth > 0``: a drain of submitted calls, or the handling of one read)
    a connection that queues a frame only registers itself; the batch's end flushes every
    registered connection, one ``write`` each.  Outside a batch a flush is scheduled with
    ``call_soon``, so frames queued in one callback still share a write.
    """

    __slots__ = ("loop", "dirty", "depth", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.dirty: list = []
        self.depth = 0
        self._scheduled = False

    def mark(self, connection) -> None:
        self.dirty.append(connection)
        if not self.depth and not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        dirty, self.dirty = self.dirty, []
        for connection in dirty:
            connection._flush()


class DeadlineQueue:
    """Request timeouts: one FIFO per timeout value, one loop timer at the earliest deadline.

    ``add(timeout, callback)`` (any thread) returns an entry; ``cancel(entry)`` clears it.
    ``callback()`` runs on the loop thread when the deadline passes and the entry is still live.

    Thread safety without a lock: other threads only append to a FIFO (``deque.append`` is
    atomic) and then read ``_timer_at``; the loop sets ``_timer_at`` to infinity *before* it
    scans the FIFOs and re-arms after.  So an entry appended during a scan is either seen by it or
    sees no timer armed and asks the loop to arm one.  In the steady state (equal timeouts) the
    armed timer is always earlier than a new deadline, so adding costs no wake-up of the loop.
    Only the loop pops entries.
    """

    # Granularity of the timer: deadlines that fall within this many seconds of each other share
    # one wake-up, so a stream of requests does not re-arm the timer for each one.
    SLACK = 0.005

    def __init__(self, loop: asyncio.AbstractEventLoop, loop_ident: int | None = None) -> None:
        self._loop = loop
        self._loop_ident = loop_ident
        self._fifos: dict[float, collections.deque] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")

    def add(self, timeout: float, callback: Callable[[], None]) -> list:
        deadline = _monotonic() + timeout
        entry = [deadline, callback]
        on_loop = _get_ident() == self._loop_ident or self._loop_ident is None
        fifo = self._fifos.get(timeout)
        if fifo is None:
            fifo = self._fifos.setdefault(timeout, collections.deque())
        elif on_loop:
            # Requests mostly finish in the order they started: dropping finished heads here keeps
            # each FIFO about as long as the number of requests in flight.
            while fifo and fifo[0][1] is None:
                fifo.popleft()
        fifo.append(entry)
        if deadline < self._timer_at - self.SLACK:
            if on_loop:
                self._arm(deadline)
            else:
                self._loop.call_soon_threadsafe(self._arm_if_earlier, deadline)
        return entry

    def _arm_if_earlier(self, deadline: float) -> None:
        if deadline < self._timer_at - self.SLACK:
            self._arm(deadline)

    @staticmethod
    def cancel(entry: list | None) -> None:
        if entry is not None:
            entry[1] = None

    def _arm(self, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_later(max(0.0, deadline - _monotonic()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = float("inf")
        now = _monotonic() + self.SLACK
        expired = []
        earliest = float("inf")
        for fifo in list(self._fifos.values()):
            while fifo:
                head = fifo[0]
                if head[1] is None:
                    fifo.popleft()
                elif head[0] <= now:
                    fifo.popleft()
                    expired.append(head[1])
                    head[1] = None
                else:
                    if head[0] < earliest:
                        earliest = head[0]
                    break
        # Empty FIFOs stay: other threads may be appending to them (there are few timeouts).
        if earliest != float("inf"):
            self._arm(earliest)
        for callback in expired:
            try:
                callback()
            except Exception:
                log.exception("Unhandled error in a request timeout callback")

    def __len__(self) -> int:
        return sum(1 for fifo in self._fifos.values() for e in fifo if e[1] is not None)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fifos.clear()
