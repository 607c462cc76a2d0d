"""Client-side write timestamps: a generator of strictly increasing microseconds since the epoch.

Cassandra resolves concurrent writes to a cell by timestamp, so a client that sets timestamps
itself (protocol v3+, the ``<timestamp>`` of QUERY/EXECUTE/BATCH, spec 4.1.4) must never hand out
the same value twice, even when the wall clock stands still or steps backwards.  This module keeps
the reference driver's ``MonotonicTimestampGenerator`` API.
"""
from __future__ import annotations

import threading
import time

from cassfast import _logger_for

log = _logger_for(__name__)


class MonotonicTimestampGenerator:
    """Returns the wall clock in microseconds, or last value + 1 when the clock has not advanced.

    When the clock falls behind the last value handed out by more than ``warning_threshold``
    seconds (the clock stepped back), a warning is logged at most once per ``warning_interval``
    seconds, as the reference does.
    """

    warn_on_drift = True
    warning_threshold = 1
    warning_interval = 1

    # True when _next_timestamp is this class's own (set per instance in __init__).
    _plain = False

    def __init__(self, warn_on_drift: bool = True, warning_threshold: float = 1,
                 warning_interval: float = 1) -> None:
        self.lock = threading.Lock()
        self.last = 0
        self._plain = type(self)._next_timestamp is MonotonicTimestampGenerator._next_timestamp
        self._last_warn = 0.0
        self.warn_on_drift = warn_on_drift
        self.warning_threshold = warning_threshold
        self.warning_interval = warning_interval

    def _next_timestamp(self, now: int, last: int) -> int:
        if now > last:
            self.last = now
            return now
        self._maybe_warn(now)
        self.last = last + 1
        return self.last

    def __call__(self) -> int:
        now = int(time.time() * 1e6)
        lock = self.lock
        lock.acquire()  # not ``with``: that costs twice as much, on every request
        try:
            last = self.last
            if now > last and self._plain:
                # The clock moved forward (the common case): no call to _next_timestamp, unless
                # a subclass overrides it.
                self.last = now
                return now
            return self._next_timestamp(now, last)
        finally:
            lock.release()

    def _maybe_warn(self, now: int) -> None:
        drift = self.last - now
        if not self.warn_on_drift or drift < self.warning_threshold * 1e6:
            return
        since_warn = now - self._last_warn
        if since_warn >= self.warning_interval * 1e6:
            log.warning("Clock skew detected: current tick (%d) was %d microseconds behind the "
                        "last generated timestamp (%d), returned timestamps will be artificially "
                        "incremented to guarantee monotonicity.", now, drift, self.last)
            self._last_warn = now
