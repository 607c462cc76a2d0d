# cython: language_level=3, annotation_typing=False
"""Request timeouts of one event loop (``LoopThread.deadlines``), compiled: every request that
goes through the loop adds one deadline, from the loop thread or any other.
"""
from cpython.pythread cimport PyThread_get_thread_ident

import collections
import time

from cassfast import _logger_for

log = _logger_for(__name__)

_monotonic = time.monotonic

cdef double _SLACK = 0.005
cdef double _INF = float("inf")
_deque = collections.deque


cdef class DeadlineQueue:
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
    SLACK = _SLACK

    cdef object _loop, _loop_ident, _timer
    cdef readonly dict _fifos  # read by tests
    cdef double _timer_at

    def __init__(self, loop, loop_ident=None):
        self._loop = loop
        self._loop_ident = loop_ident
        self._fifos = {}
        self._timer = None
        self._timer_at = _INF

    cpdef list add(self, double timeout, callback):
        cdef double deadline = _monotonic() + timeout
        cdef list entry = [deadline, callback]
        cdef bint on_loop = (self._loop_ident is None
                            or PyThread_get_thread_ident() == self._loop_ident)
        fifo = self._fifos.get(timeout)
        if fifo is None:
            fifo = self._fifos.setdefault(timeout, _deque())
        elif on_loop:
            # Requests mostly finish in the order they started: dropping finished heads here keeps
            # each FIFO about as long as the number of requests in flight.
            while fifo and fifo[0][1] is None:
                fifo.popleft()
        fifo.append(entry)
        if deadline < self._timer_at - _SLACK:
            if on_loop:
                self._arm(deadline)
            else:
                self._loop.call_soon_threadsafe(self._arm_if_earlier, deadline)
        return entry

    def _arm_if_earlier(self, double deadline):
        if deadline < self._timer_at - _SLACK:
            self._arm(deadline)

    @staticmethod
    def cancel(entry):
        if entry is not None:
            entry[1] = None

    cdef _arm(self, double deadline):
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_later(max(0.0, deadline - _monotonic()), self._fire)

    def _fire(self):
        cdef double now, earliest
        cdef list expired = []
        self._timer = None
        self._timer_at = _INF
        now = _monotonic() + _SLACK
        earliest = _INF
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
        if earliest != _INF:
            self._arm(earliest)
        for callback in expired:
            try:
                callback()
            except Exception:
                log.exception("Unhandled error in a request timeout callback")

    def __len__(self):
        return sum(1 for fifo in self._fifos.values() for e in fifo if e[1] is not None)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._fifos.clear()
