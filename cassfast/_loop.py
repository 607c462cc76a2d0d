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
from cassfast._deadlines import DeadlineQueue  # noqa: F401  (compiled; LoopThread.deadlines)

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
