"""Driver metrics: the reference driver's ``cassandra.metrics.Metrics`` without ``scales``.

``Cluster(metrics_enabled=True)`` gives ``cluster.metrics``, a :class:`Metrics` with

- ``request_timer``: a :class:`RequestTimer`, a read-only mapping with the keys of the reference's
  scales ``PmfStat`` (``count``, ``min``, ``max``, ``mean``, ``stddev``, ``median``,
  ``75percentile``, ``95percentile``, ``98percentile``, ``99percentile``, ``999percentile``),
  latencies in seconds, fed by every request of a session (``execute``/``execute_async``, each page
  fetch, trace reads), but not by the driver's own traffic (control connection, PREPARE, USE on
  pools, heartbeats), as in the reference;
- counters (plain ``int`` attributes, always current): ``connection_errors``, ``write_timeouts``,
  ``read_timeouts``, ``unavailables``, ``other_errors``, ``retries``, ``ignores``;
- gauges, called to read them as in the reference: ``known_hosts()``, ``connected_to()``,
  ``open_connections()``;
- ``get_stats()`` (a snapshot dict of everything) and ``stats_name``/``set_stats_name()``.

Who feeds it: ``cassfast._request.ResponseFuture`` times each request from its creation to its
completion (``_finish``, the one place a request completes, which also counts it and its
exception class per node, see :meth:`Metrics.node_stats`), counts each error class the server
reports and each retry or ignore decision where the retry policy is asked (``_on_error``,
``_on_connection_error``, ``_apply_retry_decision``), and counts connection errors where a send
(on a pool connection or a lane) or an in-flight request fails with one.  The gauges read the
cluster's metadata and the sessions' pools when called, so nothing on the request path maintains
them.  With metrics off the request path pays one ``is None`` test per request.

Percentiles come from a fixed log-linear histogram (see :class:`RequestTimer`): bounded memory
(4,096 counts), every value recorded since creation, each percentile within 1/256 (0.39%) of the
exact one.  The reference keeps a 1,028-value exponentially decaying reservoir instead (a sample
biased to the last few minutes) and refreshes its figures at most every 20 seconds; here ``count``,
``min``, ``max``, ``mean`` and ``stddev`` are exact and every figure is current when read.

Updates come from the I/O thread and from threads running a synchronous ``execute``, so each
takes the metrics' lock (recording a latency costs well under a microsecond; nothing is taken
when metrics are off).
"""
from __future__ import annotations

import math
import threading
import weakref
from bisect import bisect_left
from collections.abc import Mapping
from itertools import accumulate
from typing import Any, Callable, Iterator

__all__ = ["Metrics", "RequestTimer"]

# (key, fraction) of every percentile the reference's PmfStat reports.
_PERCENTILES = (("median", 0.5), ("75percentile", 0.75), ("95percentile", 0.95),
                ("98percentile", 0.98), ("99percentile", 0.99), ("999percentile", 0.999))
_KEYS = ("count", "min", "max", "mean", "stddev") + tuple(k for k, _ in _PERCENTILES)

# Histogram geometry.  math.frexp(v) = (m, e) with 0.5 <= m < 1 and v = m * 2**e: the octave
# [2**(e-1), 2**e) is cut into _SUB equal buckets.  A bucket is then at most 1/_SUB of its lower
# bound wide, so the bucket's midpoint is within 1/(2*_SUB) of any value in it.
_SUB = 128
_EXP_MIN = -20       # lowest octave starts at 2**-21 s (0.48 us)
_EXP_MAX = 12        # highest octave ends at 2**12 s (68 minutes)
_LOWEST = math.ldexp(0.5, _EXP_MIN)
_HIGHEST = math.ldexp(1.0, _EXP_MAX)
_BUCKETS = (_EXP_MAX - _EXP_MIN + 1) * _SUB
_TWO_SUB = 2 * _SUB
_INDEX_OFFSET = -_EXP_MIN * _SUB - _SUB  # makes the lowest octave's first bucket index 0
RELATIVE_ERROR = 1.0 / (2 * _SUB)
"""Bound on a percentile's relative error for latencies in [0.48 us, 68 min)."""

_frexp = math.frexp
_ldexp = math.ldexp


def _bucket_of(value: float) -> int:
    """The bucket of ``value`` (RequestTimer.addValue inlines the same computation)."""
    if value < _LOWEST:
        return 0
    if value >= _HIGHEST:
        return _BUCKETS - 1
    m, e = _frexp(value)
    return e * _SUB + int(m * _TWO_SUB) + _INDEX_OFFSET


def _bucket_midpoint(index: int) -> float:
    octave, sub = divmod(index, _SUB)
    # Lower bound 2**(e-1) * (1 + sub/_SUB), width 2**(e-1) / _SUB.
    return _ldexp(1.0 + (sub + 0.5) / _SUB, octave + _EXP_MIN - 1)


class RequestTimer(Mapping):
    """Latencies in seconds, read as the reference's scales ``PmfStat`` dict.

    ``timer['count']`` and the other keys of the module docstring; ``dict(timer)`` is a snapshot.
    Before the first value every figure is 0.

    Memory is bounded: a fixed histogram of 4,096 buckets, 128 per power of two from 0.48 us to
    68 minutes.  Values outside are counted in the edge buckets (``min``/``max`` stay exact, and
    a percentile that falls there is off by less than 0.48 us below the range, or clamped to
    ``max`` above it).
    Percentiles interpolate between order statistics as the reference does (rank ``p * (n + 1)``,
    clamped to the smallest and largest value), each order statistic taken as the midpoint of its
    bucket clamped to [min, max]; the result is within ``RELATIVE_ERROR`` (1/256) of the exact
    percentile of every value recorded.  ``count``, ``min``, ``max``, ``mean`` and ``stddev``
    (the sample standard deviation, n - 1) are exact.
    """

    __slots__ = ("_lock", "_counts", "_count", "_min", "_max", "_mean", "_m2")

    def __init__(self, lock: Any = None) -> None:
        self._lock = lock if lock is not None else threading.Lock()
        self._counts = [0] * _BUCKETS
        self._count = 0
        self._min = math.inf
        self._max = -math.inf
        self._mean = 0.0
        self._m2 = 0.0

    def addValue(self, value: float) -> None:  # noqa: N802 (the reference's scales name)
        """Record one latency in seconds."""
        if not value >= 0.0:  # also rejects NaN
            raise ValueError("a latency must be a number of seconds >= 0, not %r" % (value,))
        # _bucket_of, inlined: this runs once per request.
        if _LOWEST <= value < _HIGHEST:
            m, e = _frexp(value)
            index = e * _SUB + int(m * _TWO_SUB) + _INDEX_OFFSET
        else:
            index = 0 if value < _LOWEST else _BUCKETS - 1
        with self._lock:
            self._counts[index] += 1
            n = self._count + 1
            self._count = n
            if value < self._min:
                self._min = value
            if value > self._max:
                self._max = value
            # Welford's update: exact running mean and sum of squared deviations, with no
            # cancellation however small the spread is next to the mean.
            delta = value - self._mean
            self._mean += delta / n
            self._m2 += delta * (value - self._mean)

    def snapshot(self) -> dict:
        """Every figure at one instant, as a plain dict."""
        with self._lock:
            n = self._count
            if n == 0:
                return dict.fromkeys(_KEYS, 0.0) | {"count": 0}
            counts = list(self._counts)
            lo, hi, mean, m2 = self._min, self._max, self._mean, self._m2
        stats = {"count": n, "min": lo, "max": hi, "mean": mean,
                 "stddev": math.sqrt(m2 / (n - 1)) if n > 1 else 0.0}
        ranks = _OrderStatistics(counts, n, lo, hi)
        for key, p in _PERCENTILES:
            position = p * (n + 1)
            if position <= 1:
                stats[key] = lo
            elif position >= n:
                stats[key] = hi
            else:
                below = int(position)
                low_value = ranks.value(below)
                stats[key] = low_value + (position - below) * (ranks.value(below + 1) - low_value)
        return stats

    def __getitem__(self, key: str) -> float:
        if key == "count":  # the common read, without computing the percentiles
            return self._count
        if key not in _KEYS:
            raise KeyError(key)
        return self.snapshot()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    def __repr__(self) -> str:
        return "RequestTimer(%r)" % (self.snapshot(),)


class _OrderStatistics:
    """The k-th smallest recorded value (1-based), approximated by the midpoint of its bucket."""

    __slots__ = ("cumulative", "n", "lo", "hi")

    def __init__(self, counts: list, n: int, lo: float, hi: float) -> None:
        self.cumulative = list(accumulate(counts))
        self.n, self.lo, self.hi = n, lo, hi

    def value(self, rank: int) -> float:
        if rank <= 1:
            return self.lo
        if rank >= self.n:
            return self.hi
        # Clamping to [min, max] never moves the estimate away from the true value, which lies
        # in the same bucket and inside [min, max].
        index = bisect_left(self.cumulative, rank)
        return min(max(_bucket_midpoint(index), self.lo), self.hi)


class Metrics:
    """Request latencies, error and retry counters and connection gauges of one ``Cluster``.

    Made by ``Cluster(metrics_enabled=True)`` as ``cluster.metrics``; see the module docstring for
    what is counted where.  Counters are ints that only grow; gauges are callables.
    """

    request_timer: RequestTimer
    connection_errors = 0
    """Requests whose connection failed: a send on a closed connection, or a connection lost
    while the request was in flight (each attempt counts once)."""
    write_timeouts = 0
    """WRITE_TIMEOUT errors answered by a coordinator."""
    read_timeouts = 0
    """READ_TIMEOUT errors answered by a coordinator."""
    unavailables = 0
    """UNAVAILABLE errors: too few live replicas for the consistency level."""
    other_errors = 0
    """OVERLOADED, IS_BOOTSTRAPPING, TRUNCATE_ERROR and SERVER_ERROR answers: the other errors the
    retry policy is asked about (as in the reference's code; invalid queries are not counted)."""
    retries = 0
    """RETRY and RETRY_NEXT_HOST decisions of the retry policy."""
    ignores = 0
    """IGNORE decisions of the retry policy."""

    _names: "weakref.WeakValueDictionary[str, Metrics]" = weakref.WeakValueDictionary()
    _names_lock = threading.Lock()
    _stats_counter = 0

    def __init__(self, cluster_proxy: Any) -> None:
        # Held weakly: the cluster owns its metrics, not the other way round.  (The reference
        # is given a weakref.proxy, which cannot itself be referenced weakly.)
        if isinstance(cluster_proxy, weakref.ProxyTypes):
            self._cluster = lambda: cluster_proxy
        else:
            self._cluster = weakref.ref(cluster_proxy)
        self._lock = threading.Lock()
        self.request_timer = RequestTimer(self._lock)
        # host -> [requests, {exception class name: count}] (see on_request, node_stats).
        self._nodes: dict = {}
        self.known_hosts: Callable[[], int] = self._known_hosts
        """Gauge: hosts in the cluster's metadata, connected or not."""
        self.connected_to: Callable[[], int] = self._connected_to
        """Gauge: hosts that some session has at least one open connection to."""
        self.open_connections: Callable[[], int] = self._open_connections
        """Gauge: open connections of all sessions' pools, their lanes (the connections that
        synchronous callers drive, ``cassfast._lanes``) included; not the control connection."""
        with Metrics._names_lock:
            while True:
                name = "cassandra-%d" % Metrics._stats_counter
                Metrics._stats_counter += 1
                if name not in Metrics._names:
                    break
            Metrics._names[name] = self
        self.stats_name = name

    # ------------------------------------------------------------------ updates (request path)

    def on_request(self, latency: float, host: Any, exc: BaseException | None) -> None:
        """One request (or page) completed: its latency, and the per-node counts of ``host``
        (the coordinator, else the last host tried; None when no host was tried)."""
        self.request_timer.addValue(latency)
        with self._lock:
            node = self._nodes.get(host)
            if node is None:
                node = self._nodes[host] = [0, {}]
            node[0] += 1
            if exc is not None:
                name = type(exc).__name__
                node[1][name] = node[1].get(name, 0) + 1

    def on_connection_error(self) -> None:
        with self._lock:
            self.connection_errors += 1

    def on_write_timeout(self) -> None:
        with self._lock:
            self.write_timeouts += 1

    def on_read_timeout(self) -> None:
        with self._lock:
            self.read_timeouts += 1

    def on_unavailable(self) -> None:
        with self._lock:
            self.unavailables += 1

    def on_other_error(self) -> None:
        with self._lock:
            self.other_errors += 1

    def on_ignore(self) -> None:
        with self._lock:
            self.ignores += 1

    def on_retry(self) -> None:
        with self._lock:
            self.retries += 1

    # ------------------------------------------------------------------ gauges

    def _sessions(self) -> list:
        try:
            cluster = self._cluster()
            return list(cluster.sessions) if cluster is not None else []
        except ReferenceError:  # the cluster is gone
            return []

    def _known_hosts(self) -> int:
        try:
            cluster = self._cluster()
            return len(cluster.metadata.all_hosts()) if cluster is not None else 0
        except ReferenceError:
            return 0

    def _connected_to(self) -> int:
        hosts = set()
        for session in self._sessions():
            # list() copies the dict in one C call: the I/O thread may add or drop pools meanwhile.
            for host, pool in list(session._pools.items()):
                if pool.open_count > 0:
                    hosts.add(host)
        return len(hosts)

    def _open_connections(self) -> int:
        total = 0
        for session in self._sessions():
            for pool in list(session._pools.values()):
                total += pool.open_count
                lanes = getattr(pool, "lanes", None)
                if lanes is not None:
                    total += lanes.open_count
        return total

    def node_stats(self) -> dict:
        """Per node, keyed by its address (``str(host.endpoint)``, "none" for requests no
        host was tried for): ``requests`` and ``errors`` (a dict by exception class name:
        ``Unavailable``, ``OperationTimedOut``, ``InvalidRequest``, ...), counted when each
        request completes, and the gauges ``in_flight`` (requests on its pool connections),
        ``pool_connections`` and ``lanes`` (open connections of its pools and lanes, summed over
        the sessions).  Exported by ``cassfast.contrib.prometheus`` and
        ``cassfast.contrib.opentelemetry``."""
        with self._lock:
            counted = [(host, node[0], dict(node[1])) for host, node in self._nodes.items()]
        stats: dict = {}

        def entry(host) -> dict:
            key = "none" if host is None else str(getattr(host, "endpoint", host))
            return stats.setdefault(key, {"requests": 0, "errors": {}, "in_flight": 0,
                                          "pool_connections": 0, "lanes": 0})
        for host, requests, errors in counted:
            e = entry(host)
            e["requests"] += requests
            for name, n in errors.items():
                e["errors"][name] = e["errors"].get(name, 0) + n
        for session in self._sessions():
            for host, pool in list(session._pools.items()):
                e = entry(host)
                e["in_flight"] += pool.in_flight
                e["pool_connections"] += pool.open_count
                lanes = getattr(pool, "lanes", None)
                if lanes is not None:
                    e["lanes"] += lanes.open_count
        return stats

    # ------------------------------------------------------------------ reading

    @property
    def stats(self) -> "Metrics":
        """The reference exposes its scales collection here (``metrics.stats.retries`` ...); the
        same names are read from this object directly."""
        return self

    def get_stats(self) -> dict:
        """A snapshot of every metric: the timer as a dict, counters and gauges as ints.

        (The reference returns the scales collection, whose gauges are still callables.)"""
        with self._lock:
            counters = {name: getattr(self, name) for name in (
                "connection_errors", "write_timeouts", "read_timeouts", "unavailables",
                "other_errors", "retries", "ignores")}
        return {"request_timer": self.request_timer.snapshot(), **counters,
                "known_hosts": self.known_hosts(), "connected_to": self.connected_to(),
                "open_connections": self.open_connections()}

    def set_stats_name(self, stats_name: str) -> None:
        """Rename these metrics (default ``cassandra-<n>``); names are unique among live clusters.

        Raises ValueError when another cluster's metrics already have ``stats_name``."""
        if not isinstance(stats_name, str):
            raise TypeError("stats_name must be a str, not %s" % (type(stats_name).__name__,))
        with Metrics._names_lock:
            if stats_name == self.stats_name:
                return
            if stats_name in Metrics._names:
                raise ValueError('"%s" already exists in stats.' % (stats_name,))
            Metrics._names.pop(self.stats_name, None)
            Metrics._names[stats_name] = self
            self.stats_name = stats_name

    def __repr__(self) -> str:
        return "<Metrics %s requests=%d>" % (self.stats_name, self.request_timer.snapshot()["count"])
