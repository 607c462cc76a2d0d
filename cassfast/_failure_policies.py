"""Failure policies: conviction, reconnection, retry and speculative execution.

Re-exported by ``cassfast.policies`` (the public path, as in the reference); see that module's
docstring for where the seed and the reference differ and how each is kept.  These run on
failures and timers, never per successful request, so they are plain Python.
"""
from __future__ import annotations

from itertools import repeat
from random import randint
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Tuple

if TYPE_CHECKING:
    from cassfast.host import Host

# What every retry hook returns: (RetryDecision value, consistency level or None to keep it).
_Decision = Tuple[int, Optional[int]]

from cassfast import ConsistencyLevel, OperationTimedOut, WriteType

__all__ = [
    "ConvictionPolicy", "SimpleConvictionPolicy", "ReconnectionPolicy",
    "ConstantReconnectionPolicy", "ExponentialReconnectionPolicy", "RetryDecision", "RetryPolicy",
    "FallthroughRetryPolicy", "DowngradingConsistencyRetryPolicy", "NeverRetryPolicy",
    "SpeculativeExecutionPolicy", "SpeculativeExecutionPlan", "NoSpeculativeExecutionPlan",
    "NoSpeculativeExecutionPolicy", "ConstantSpeculativeExecutionPolicy",
]


# ---------------------------------------------------------------------------------------------
# Conviction
# ---------------------------------------------------------------------------------------------

_NOT_GIVEN = object()


class _HostConviction:
    """A cluster-wide (seed-style) conviction policy bound to one host, reference-style."""

    __slots__ = ("policy", "host")

    def __init__(self, policy: "ConvictionPolicy", host) -> None:
        self.policy = policy
        self.host = host

    def add_failure(self, connection_exc) -> bool:
        return self.policy.add_failure(self.host, connection_exc)

    def reset(self) -> None:
        self.policy.reset(self.host)


class ConvictionPolicy:
    """Decides when connection failures mean a host should be marked down.

    Two ways to use it, both supported:

    * Seed: one instance for the cluster (``Cluster(conviction_policy=SimpleConvictionPolicy())``)
      whose ``add_failure(host, connection_exc)`` returns True to convict and ``reset(host)``
      forgets the host's failures when it comes back up.
    * Reference: a factory (usually the class) passed as ``conviction_policy_factory``, called
      with each ``Host`` to get an object with ``add_failure(connection_exc)`` and ``reset()``.

    ``Host(endpoint, conviction_policy_factory=x)`` calls ``x(host)``; calling a seed-style
    instance returns an adapter bound to that host, so the Host always talks to an object with
    the reference's one-argument methods and the cluster passes either form along unchanged.
    """

    def __init__(self, host=None) -> None:
        self.host = host

    def __call__(self, host: Host) -> _HostConviction:
        return _HostConviction(self, host)

    def add_failure(self, host, connection_exc=_NOT_GIVEN) -> bool:
        raise NotImplementedError()

    def reset(self, host=None) -> None:
        raise NotImplementedError()


class SimpleConvictionPolicy(ConvictionPolicy):
    """Convicts a host on its first connection failure.

    An ``OperationTimedOut`` (a request or heartbeat that took too long on a live connection) is
    not a connection failure and does not convict, as in the reference driver.
    """

    def add_failure(self, host, connection_exc=_NOT_GIVEN) -> bool:
        if connection_exc is _NOT_GIVEN:  # reference style: add_failure(connection_exc)
            connection_exc = host
        return not isinstance(connection_exc, OperationTimedOut)

    def reset(self, host=None) -> None:
        pass


# ---------------------------------------------------------------------------------------------
# Reconnection
# ---------------------------------------------------------------------------------------------

def _check_delay(name: str, value) -> None:
    if not (value >= 0):  # also rejects NaN
        raise ValueError("%s must be a non-negative number of seconds, not %r" % (name, value))


def _check_max_attempts(max_attempts) -> None:
    if max_attempts is not None and not (max_attempts >= 0):
        raise ValueError("max_attempts must be None (unbounded) or >= 0, not %r" % (max_attempts,))


class ReconnectionPolicy:
    """How long to wait between attempts to reconnect to a host marked down.

    ``new_schedule()`` returns a fresh iterable of delays in seconds for one outage; when a
    finite schedule is exhausted, reconnection to that host stops.
    """

    def new_schedule(self) -> Iterable[float]:
        raise NotImplementedError()


class ConstantReconnectionPolicy(ReconnectionPolicy):
    """The same ``delay`` before every attempt; ``max_attempts=None`` never gives up."""

    def __init__(self, delay: float, max_attempts: Optional[int] = None) -> None:
        _check_delay("delay", delay)
        _check_max_attempts(max_attempts)
        self.delay = delay
        self.max_attempts = max_attempts

    def new_schedule(self) -> Iterator[float]:
        if self.max_attempts is None:
            return repeat(self.delay)
        return repeat(self.delay, self.max_attempts)


class ExponentialReconnectionPolicy(ReconnectionPolicy):
    """Delays ``base_delay * 2**n`` capped at ``max_delay``, each with +/-15% jitter (kept
    within ``[base_delay, max_delay]``) so that many clients do not reconnect in lockstep, as in
    the reference 3.30.  ``max_attempts=None`` never gives up.
    """

    def __init__(self, base_delay: float, max_delay: float,
                 max_attempts: Optional[int] = None) -> None:
        _check_delay("base_delay", base_delay)
        _check_delay("max_delay", max_delay)
        if max_delay < base_delay:
            raise ValueError("max_delay (%r) must not be less than base_delay (%r)"
                             % (max_delay, base_delay))
        _check_max_attempts(max_attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts

    def new_schedule(self) -> Iterator[float]:
        attempts = 0
        delay = self.base_delay
        while self.max_attempts is None or attempts < self.max_attempts:
            # Doubling a running value (instead of computing 2**n) cannot overflow.
            yield self._add_jitter(min(delay, self.max_delay))
            if delay < self.max_delay:
                delay *= 2
            attempts += 1

    def _add_jitter(self, value: float) -> float:
        delay = value * randint(85, 115) / 100
        return min(max(self.base_delay, delay), self.max_delay)


# ---------------------------------------------------------------------------------------------
# Retry
# ---------------------------------------------------------------------------------------------

class RetryDecision:
    """What a retry policy decided (seed values)."""

    RETHROW = 0
    RETRY = 1
    IGNORE = 2
    RETRY_NEXT_HOST = 3
    """Extension kept from the reference: retry on the next host of the query plan."""


class RetryPolicy:
    """Decides, per server-reported failure, whether to retry, rethrow or ignore it.

    Every hook returns ``(decision, consistency_level_or_None)``; None keeps the statement's
    consistency.  ``retry_num`` is 0 the first time.  The driver calls the hooks positionally.
    This class's own rules are the reference driver's default policy:

    * read timeout: retry once at the same consistency if enough replicas answered but none
      sent data (the coordinator only got digests);
    * write timeout: retry once at the same consistency only for ``WriteType.BATCH_LOG``;
    * unavailable: retry once on the next host;
    * request error (connection error, overloaded, bootstrapping, server error...): the next host.

    The driver only re-sends a statement after a request error when it is idempotent.
    """

    RETRY: int = RetryDecision.RETRY
    RETHROW: int = RetryDecision.RETHROW
    IGNORE: int = RetryDecision.IGNORE
    RETRY_NEXT_HOST: int = RetryDecision.RETRY_NEXT_HOST

    def on_read_timeout(self, query: Any, consistency_level: int, required_responses: int,
                        received_responses: int, data_retrieved: bool, retry_num: int) -> _Decision:
        if retry_num != 0:
            return self.RETHROW, None
        if received_responses >= required_responses and not data_retrieved:
            return self.RETRY, consistency_level
        return self.RETHROW, None

    def on_write_timeout(self, query: Any, consistency_level: int, write_type: Any,
                         required_responses: int, received_responses: int,
                         retry_num: int) -> _Decision:
        if retry_num != 0:
            return self.RETHROW, None
        if write_type == WriteType.BATCH_LOG:
            return self.RETRY, consistency_level
        return self.RETHROW, None

    def on_unavailable(self, query: Any, consistency_level: int, required_replicas: int,
                       alive_replicas: int, retry_num: int) -> _Decision:
        return (self.RETRY_NEXT_HOST, None) if retry_num == 0 else (self.RETHROW, None)

    def on_request_error(self, query: Any, consistency_level: int, error: BaseException,
                         retry_num: int) -> _Decision:
        return self.RETRY_NEXT_HOST, None


class FallthroughRetryPolicy(RetryPolicy):
    """Never retries: every failure goes to the application.  The default retry policy (seed)."""

    def on_read_timeout(self, *args: Any, **kwargs: Any) -> _Decision:
        return self.RETHROW, None

    def on_write_timeout(self, *args: Any, **kwargs: Any) -> _Decision:
        return self.RETHROW, None

    def on_unavailable(self, *args: Any, **kwargs: Any) -> _Decision:
        return self.RETHROW, None

    def on_request_error(self, *args: Any, **kwargs: Any) -> _Decision:
        return self.RETHROW, None


class NeverRetryPolicy(RetryPolicy):
    """Rethrows timeouts and unavailable errors; request errors go to the next host (reference)."""

    def _rethrow(self, *args: Any, **kwargs: Any) -> _Decision:
        return self.RETHROW, None

    on_read_timeout = _rethrow
    on_write_timeout = _rethrow
    on_unavailable = _rethrow


class DowngradingConsistencyRetryPolicy(RetryPolicy):
    """Retries like :class:`RetryPolicy`, and sometimes at a lower consistency level.

    BEWARE: a downgraded retry breaks the consistency the application asked for (a QUORUM read
    may not see a QUORUM write).  The rules (first attempt only; any retry_num > 0 rethrows), with
    ``pick(n)`` = RETRY at THREE if n >= 3, TWO if n == 2, ONE if n == 1, else RETHROW:

    ==================  =====================================================  ==================
    failure             condition                                              decision
    ==================  =====================================================  ==================
    read timeout        consistency is SERIAL or LOCAL_SERIAL                  RETHROW
    read timeout        received < required                                    pick(received)
    read timeout        received >= required, no data retrieved                RETRY, same CL
    read timeout        received >= required, data retrieved                   RETHROW
    write timeout       SIMPLE, BATCH or COUNTER, received > 0                 IGNORE
    write timeout       SIMPLE, BATCH or COUNTER, received == 0                RETHROW
    write timeout       UNLOGGED_BATCH                                         pick(received)
    write timeout       BATCH_LOG                                              RETRY, same CL
    write timeout       any other write type (CAS, VIEW, CDC)                  RETHROW
    unavailable         consistency is SERIAL or LOCAL_SERIAL                  RETRY_NEXT_HOST
    unavailable         otherwise                                              pick(alive)
    request error       always (inherited)                                     RETRY_NEXT_HOST
    ==================  =====================================================  ==================
    """

    def _pick_consistency(self, num_responses: int) -> _Decision:
        if num_responses >= 3:
            return self.RETRY, ConsistencyLevel.THREE
        if num_responses >= 2:
            return self.RETRY, ConsistencyLevel.TWO
        if num_responses >= 1:
            return self.RETRY, ConsistencyLevel.ONE
        return self.RETHROW, None

    def on_read_timeout(self, query: Any, consistency_level: int, required_responses: int,
                        received_responses: int, data_retrieved: bool, retry_num: int) -> _Decision:
        if retry_num != 0:
            return self.RETHROW, None
        if ConsistencyLevel.is_serial(consistency_level):
            return self.RETHROW, None
        if received_responses < required_responses:
            return self._pick_consistency(received_responses)
        if not data_retrieved:
            return self.RETRY, consistency_level
        return self.RETHROW, None

    def on_write_timeout(self, query: Any, consistency_level: int, write_type: Any,
                         required_responses: int, received_responses: int,
                         retry_num: int) -> _Decision:
        if retry_num != 0:
            return self.RETHROW, None
        if write_type in (WriteType.SIMPLE, WriteType.BATCH, WriteType.COUNTER):
            return (self.IGNORE, None) if received_responses > 0 else (self.RETHROW, None)
        if write_type == WriteType.UNLOGGED_BATCH:
            return self._pick_consistency(received_responses)
        if write_type == WriteType.BATCH_LOG:
            return self.RETRY, consistency_level
        return self.RETHROW, None

    def on_unavailable(self, query: Any, consistency_level: int, required_replicas: int,
                       alive_replicas: int, retry_num: int) -> _Decision:
        if retry_num != 0:
            return self.RETHROW, None
        if ConsistencyLevel.is_serial(consistency_level):
            # Failed in the Paxos phase of a lightweight transaction: another coordinator may do.
            return self.RETRY_NEXT_HOST, None
        return self._pick_consistency(alive_replicas)


# ---------------------------------------------------------------------------------------------
# Speculative execution
# ---------------------------------------------------------------------------------------------

class SpeculativeExecutionPlan:
    def next_execution(self, host: Host) -> float:
        """Seconds to wait before sending the request to another host; negative for never."""
        raise NotImplementedError()


class NoSpeculativeExecutionPlan(SpeculativeExecutionPlan):
    def next_execution(self, host: Host) -> float:
        return -1


class SpeculativeExecutionPolicy:
    """Decides whether and when an idempotent request is also sent to further hosts."""

    def new_plan(self, keyspace: Optional[str], statement: Any) -> SpeculativeExecutionPlan:
        raise NotImplementedError()


class NoSpeculativeExecutionPolicy(SpeculativeExecutionPolicy):
    def new_plan(self, keyspace: Optional[str], statement: Any) -> SpeculativeExecutionPlan:
        return NoSpeculativeExecutionPlan()


class ConstantSpeculativeExecutionPolicy(SpeculativeExecutionPolicy):
    """A further execution every ``delay`` seconds, at most ``max_attempts`` of them."""

    def __init__(self, delay: float, max_attempts: int) -> None:
        _check_delay("delay", delay)
        if not (max_attempts >= 0):
            raise ValueError("max_attempts must be >= 0, not %r" % (max_attempts,))
        self.delay = delay
        self.max_attempts = max_attempts

    class ConstantSpeculativeExecutionPlan(SpeculativeExecutionPlan):
        def __init__(self, delay: float, max_attempts: int) -> None:
            self.delay = delay
            self.remaining = max_attempts

        def next_execution(self, host: Host) -> float:
            if self.remaining > 0:
                self.remaining -= 1
                return self.delay
            return -1

    def new_plan(self, keyspace: Optional[str], statement: Any) -> SpeculativeExecutionPlan:
        return self.ConstantSpeculativeExecutionPlan(self.delay, self.max_attempts)
