"""MonotonicTimestampGenerator (cassfast.timestamps): strictly increasing microseconds, the
reference's drift warning, subclass hooks, and uniqueness across threads.  No server."""
from __future__ import annotations

import logging
import threading

import pytest

from cassfast import timestamps
from cassfast.timestamps import MonotonicTimestampGenerator


@pytest.fixture
def clock(monkeypatch):
    """The wall clock the generator reads (``time.time`` in seconds), set by the test."""
    now = [1000.0]
    monkeypatch.setattr(timestamps.time, "time", lambda: now[0])
    return now


def test_timestamps_are_the_clock_in_microseconds_while_it_advances(clock):
    gen = MonotonicTimestampGenerator()
    assert gen() == 1_000_000_000
    clock[0] = 1000.5
    assert gen() == 1_000_500_000


def test_a_clock_that_stands_still_or_steps_back_still_gives_increasing_values(clock):
    gen = MonotonicTimestampGenerator()
    first = gen()
    assert [gen(), gen()] == [first + 1, first + 2]
    clock[0] -= 10  # stepped back ten seconds
    assert gen() == first + 3
    clock[0] += 20  # ahead again: the clock wins
    assert gen() == 1_010_000_000


def test_drift_beyond_the_threshold_warns_at_most_once_per_interval(clock, caplog):
    gen = MonotonicTimestampGenerator(warning_threshold=1, warning_interval=5)
    gen()
    clock[0] -= 2  # two seconds behind the last value handed out
    with caplog.at_level(logging.WARNING, logger="cassfast.timestamps"):
        gen()
        gen()  # same interval: no second warning
        clock[0] += 0.5  # still 1.5 s behind
        gen()
    warnings = [r for r in caplog.records if "Clock skew detected" in r.getMessage()]
    assert len(warnings) == 1


def test_no_warning_when_drift_warnings_are_off(clock, caplog):
    gen = MonotonicTimestampGenerator(warn_on_drift=False)
    gen()
    clock[0] -= 100
    with caplog.at_level(logging.WARNING, logger="cassfast.timestamps"):
        gen()
    assert not caplog.records


def test_a_subclass_next_timestamp_is_called_even_when_the_clock_advances(clock):
    class Offset(MonotonicTimestampGenerator):
        def _next_timestamp(self, now, last):
            self.last = now + 7
            return self.last

    gen = Offset()
    assert gen() == 1_000_000_007
    clock[0] += 1
    assert gen() == 1_001_000_007


def test_values_handed_to_concurrent_threads_are_all_distinct(clock):
    # The clock stands still: every value is last + 1, computed under the generator's lock.
    gen = MonotonicTimestampGenerator()
    out: list[int] = []
    lock = threading.Lock()

    def take():
        mine = [gen() for _ in range(2000)]
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 8000 and len(set(out)) == 8000
    assert max(out) == 1_000_000_000 + 7999
    assert not gen.lock.locked()  # released on every path
