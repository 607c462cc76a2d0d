"""Unit tests for the I/O thread (cassfast._loop): batched submission and the deadline queue.

No network.  Ran against cassfast only (the reference driver has no equivalent structure).
"""
import threading
import time

import pytest

from cassfast._loop import DeadlineQueue, LoopThread


@pytest.fixture
def loop_thread():
    lt = LoopThread("test-io")
    yield lt
    lt.stop()
    assert not lt.thread.is_alive()


def _on_loop(lt, fn):
    box = []
    done = threading.Event()

    def run():
        box.append(fn())
        done.set()
    lt.submit(run)
    assert done.wait(5)
    return box[0]


def test_submit_runs_calls_on_the_loop_thread_in_submission_order(loop_thread):
    seen = []
    done = threading.Event()
    for i in range(1000):
        loop_thread.submit(lambda i=i: seen.append((i, threading.get_ident())))
    loop_thread.submit(done.set)
    assert done.wait(5)
    assert [i for i, _ in seen] == list(range(1000))
    assert {ident for _, ident in seen} == {loop_thread.ident}


def test_submit_from_many_threads_loses_no_call(loop_thread):
    counter = []
    lock = threading.Lock()

    def producer():
        for _ in range(2000):
            loop_thread.submit(lambda: counter.append(1))
    threads = [threading.Thread(target=producer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = threading.Event()
    loop_thread.submit(done.set)
    assert done.wait(5)
    with lock:
        assert len(counter) == 8000


def test_a_burst_of_submissions_wakes_the_loop_far_fewer_times_than_calls(loop_thread, monkeypatch):
    wakeups = []
    real = loop_thread.loop.call_soon_threadsafe

    def counting(*args):
        wakeups.append(1)
        return real(*args)
    monkeypatch.setattr(loop_thread.loop, "call_soon_threadsafe", counting)
    block = threading.Event()
    loop_thread.submit(block.wait)  # keeps the loop busy so the burst accumulates
    done = threading.Event()
    for _ in range(500):
        loop_thread.submit(lambda: None)
    block.set()
    loop_thread.submit(done.set)
    assert done.wait(5)
    assert len(wakeups) <= 3


def test_submit_after_stop_raises():
    lt = LoopThread("test-io-stop")
    lt.stop()
    with pytest.raises(RuntimeError):
        lt.submit(lambda: None)


def test_deadline_fires_once_after_its_timeout(loop_thread):
    fired = []
    done = threading.Event()
    start = time.monotonic()
    _on_loop(loop_thread, lambda: loop_thread.deadlines.add(0.05, lambda: (fired.append(time.monotonic()), done.set())))
    assert done.wait(2)
    time.sleep(0.1)
    assert len(fired) == 1
    assert fired[0] - start >= 0.05 - DeadlineQueue.SLACK


def test_cancelled_deadline_never_fires(loop_thread):
    fired = []
    entry = _on_loop(loop_thread, lambda: loop_thread.deadlines.add(0.03, lambda: fired.append(1)))
    _on_loop(loop_thread, lambda: DeadlineQueue.cancel(entry))
    time.sleep(0.15)
    assert fired == []


def test_deadlines_of_different_timeouts_fire_in_deadline_order(loop_thread):
    order = []
    done = threading.Event()

    def add_all():
        q = loop_thread.deadlines
        q.add(0.12, lambda: (order.append("long"), done.set()))
        q.add(0.02, lambda: order.append("short"))
        q.add(0.06, lambda: order.append("middle"))
    _on_loop(loop_thread, add_all)
    assert done.wait(2)
    assert order == ["short", "middle", "long"]


def test_finished_entries_are_dropped_when_new_ones_are_added(loop_thread):
    def churn():
        q = loop_thread.deadlines
        for _ in range(10000):
            DeadlineQueue.cancel(q.add(30.0, lambda: None))
        return sum(len(f) for f in q._fifos.values())
    # Each add drops the finished heads first: the FIFO never holds more than the live entry.
    assert _on_loop(loop_thread, churn) <= 1


def test_deadline_added_from_another_thread_fires_on_the_loop_thread(loop_thread):
    fired = []
    done = threading.Event()
    loop_thread.deadlines.add(0.03, lambda: (fired.append(threading.get_ident()), done.set()))
    assert done.wait(2)
    assert fired == [loop_thread.ident]


def test_adding_later_deadlines_from_other_threads_does_not_wake_the_loop(loop_thread, monkeypatch):
    q = loop_thread.deadlines
    first = q.add(5.0, lambda: None)  # arms the timer (one wake-up)
    time.sleep(0.05)
    wakeups = []
    real = loop_thread.loop.call_soon_threadsafe

    def counting(*args):
        wakeups.append(args)
        return real(*args)
    monkeypatch.setattr(loop_thread.loop, "call_soon_threadsafe", counting)
    entries = [q.add(5.0, lambda: None) for _ in range(1000)]
    assert wakeups == []  # every later deadline rides on the armed timer
    for e in entries + [first]:
        DeadlineQueue.cancel(e)


def test_many_threads_adding_deadlines_all_fire_exactly_once(loop_thread):
    fired = []
    lock = threading.Lock()

    def add_many():
        for _ in range(200):
            loop_thread.deadlines.add(0.02, lambda: (lock.acquire(), fired.append(1), lock.release()))
    threads = [threading.Thread(target=add_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and len(fired) < 800:
        time.sleep(0.01)
    time.sleep(0.05)
    assert len(fired) == 800
