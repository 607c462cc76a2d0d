"""Retry, reconnection, conviction and speculative-execution policies.

Ran against: cassfast.policies (pure Python); cassandra-driver 3.30.1 as the oracle for the
reference's retry rules; no server.
"""
import itertools
import warnings

import pytest
from cassandra import policies as ref_policies

from cassfast import ConsistencyLevel, OperationTimedOut, WriteType
from cassfast.host import Host
from cassfast.policies import (
    ConstantReconnectionPolicy, ConstantSpeculativeExecutionPolicy, ConvictionPolicy,
    DowngradingConsistencyRetryPolicy, ExponentialReconnectionPolicy, FallthroughRetryPolicy,
    HostStateListener, NoSpeculativeExecutionPolicy, ReconnectionPolicy, RetryDecision,
    RetryPolicy, SimpleConvictionPolicy,
)
from cassfast import policies as cf_policies

CL = ConsistencyLevel
ALL_CLS = [CL.ONE, CL.TWO, CL.THREE, CL.QUORUM, CL.ALL, CL.LOCAL_QUORUM, CL.EACH_QUORUM,
           CL.SERIAL, CL.LOCAL_SERIAL, CL.LOCAL_ONE]
WRITE_TYPES = ["SIMPLE", "BATCH", "UNLOGGED_BATCH", "COUNTER", "BATCH_LOG", "CAS", "VIEW", "CDC"]


def test_retry_decision_values_are_the_seeds():
    assert (RetryDecision.RETHROW, RetryDecision.RETRY, RetryDecision.IGNORE) == (0, 1, 2)
    assert RetryPolicy.RETRY_NEXT_HOST == 3
    assert (RetryPolicy.RETRY, RetryPolicy.RETHROW, RetryPolicy.IGNORE) == (1, 0, 2)


def test_write_type_reexported_from_policies():
    assert cf_policies.WriteType is WriteType


# Translate the reference's decision constants (RETRY=0, RETHROW=1) to names for comparison.
REF_NAMES = {ref_policies.RetryPolicy.RETRY: "RETRY", ref_policies.RetryPolicy.RETHROW: "RETHROW",
             ref_policies.RetryPolicy.IGNORE: "IGNORE",
             ref_policies.RetryPolicy.RETRY_NEXT_HOST: "RETRY_NEXT_HOST"}
CF_NAMES = {RetryDecision.RETRY: "RETRY", RetryDecision.RETHROW: "RETHROW",
            RetryDecision.IGNORE: "IGNORE", RetryDecision.RETRY_NEXT_HOST: "RETRY_NEXT_HOST"}


def _named(decision, names):
    return names[decision[0]], decision[1]


def _compare_with_reference(ours, ref):
    for cl, req, rec, data, n in itertools.product(ALL_CLS, range(0, 4), range(0, 4),
                                                   (False, True), (0, 1, 2)):
        assert _named(ours.on_read_timeout(None, cl, req, rec, data, n), CF_NAMES) == \
            _named(ref.on_read_timeout(None, cl, req, rec, data, n), REF_NAMES)
        assert _named(ours.on_unavailable(None, cl, req, rec, n), CF_NAMES) == \
            _named(ref.on_unavailable(None, cl, req, rec, n), REF_NAMES)
        for wt in WRITE_TYPES:
            ref_wt = getattr(ref_policies.WriteType, wt, wt)
            assert _named(ours.on_write_timeout(None, cl, getattr(WriteType, wt), req, rec, n),
                          CF_NAMES) == \
                _named(ref.on_write_timeout(None, cl, ref_wt, req, rec, n), REF_NAMES), wt
        assert _named(ours.on_request_error(None, cl, Exception(), n), CF_NAMES) == \
            _named(ref.on_request_error(None, cl, Exception(), n), REF_NAMES)


def test_retry_policy_decisions_equal_reference_driver():
    _compare_with_reference(RetryPolicy(), ref_policies.RetryPolicy())


def test_downgrading_policy_decisions_equal_reference_driver():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = ref_policies.DowngradingConsistencyRetryPolicy()
    _compare_with_reference(DowngradingConsistencyRetryPolicy(), ref)


def test_retry_policy_retries_read_timeout_once_when_only_digests_arrived():
    p = RetryPolicy()
    assert p.on_read_timeout(None, CL.QUORUM, 2, 2, False, 0) == (RetryDecision.RETRY, CL.QUORUM)
    assert p.on_read_timeout(None, CL.QUORUM, 2, 2, False, 1) == (RetryDecision.RETHROW, None)
    assert p.on_read_timeout(None, CL.QUORUM, 2, 1, False, 0) == (RetryDecision.RETHROW, None)


def test_downgrading_table_rows():
    p = DowngradingConsistencyRetryPolicy()
    assert p.on_read_timeout(None, CL.ALL, 3, 2, False, 0) == (RetryDecision.RETRY, CL.TWO)
    assert p.on_read_timeout(None, CL.SERIAL, 3, 2, False, 0) == (RetryDecision.RETHROW, None)
    assert p.on_write_timeout(None, CL.QUORUM, WriteType.SIMPLE, 2, 1, 0) == \
        (RetryDecision.IGNORE, None)
    assert p.on_write_timeout(None, CL.QUORUM, WriteType.UNLOGGED_BATCH, 3, 1, 0) == \
        (RetryDecision.RETRY, CL.ONE)
    assert p.on_unavailable(None, CL.ALL, 3, 3, 0) == (RetryDecision.RETRY, CL.THREE)
    assert p.on_unavailable(None, CL.LOCAL_SERIAL, 3, 1, 0) == (RetryDecision.RETRY_NEXT_HOST, None)


def test_fallthrough_never_retries():
    p = FallthroughRetryPolicy()
    assert p.on_read_timeout(None, CL.ONE, 1, 1, False, 0) == (RetryDecision.RETHROW, None)
    assert p.on_write_timeout(None, CL.ONE, WriteType.BATCH_LOG, 1, 0, 0) == \
        (RetryDecision.RETHROW, None)
    assert p.on_unavailable(None, CL.ONE, 1, 0, 0) == (RetryDecision.RETHROW, None)
    assert p.on_request_error(None, CL.ONE, Exception(), 0) == (RetryDecision.RETHROW, None)


class AggressiveRetryPolicy(RetryPolicy):
    # The seed's example, as written.
    def on_read_timeout(self, query, consistency_level, required_responses,
                        received_responses, data_retrieved, retry_num):
        if retry_num < 3:  # Retry up to 3 times
            if data_retrieved:
                # Retry with ONE if we got some data
                return (RetryDecision.RETRY, ConsistencyLevel.ONE)
            elif received_responses > 0:
                # Retry with lower consistency if we got any response
                return (RetryDecision.RETRY, ConsistencyLevel.ONE)
        # Give up after 3 retries
        return (RetryDecision.RETHROW, None)

    def on_write_timeout(self, query, consistency_level, write_type,
                         required_responses, received_responses, retry_num):
        if retry_num < 2 and write_type == 'SIMPLE':
            # Retry simple writes once with ONE
            return (RetryDecision.RETRY, ConsistencyLevel.ONE)
        return (RetryDecision.RETHROW, None)


def test_seed_aggressive_policy_works_with_driver_write_type_values():
    p = AggressiveRetryPolicy()
    # The driver passes WriteType values positionally; the seed compares with 'SIMPLE'.
    assert p.on_write_timeout(None, CL.QUORUM, WriteType.SIMPLE, 2, 1, 0) == \
        (RetryDecision.RETRY, CL.ONE)
    assert p.on_write_timeout(None, CL.QUORUM, WriteType.BATCH, 2, 1, 0) == \
        (RetryDecision.RETHROW, None)
    assert p.on_read_timeout(None, CL.QUORUM, 2, 1, False, 2) == (RetryDecision.RETRY, CL.ONE)
    assert p.on_read_timeout(None, CL.QUORUM, 2, 1, True, 3) == (RetryDecision.RETHROW, None)
    assert p.on_read_timeout(None, CL.QUORUM, 2, 0, False, 0) == (RetryDecision.RETHROW, None)
    # Inherited hooks keep the reference's rules.
    assert p.on_unavailable(None, CL.ONE, 1, 0, 0) == (RetryDecision.RETRY_NEXT_HOST, None)


# -- reconnection ------------------------------------------------------------------------------

def test_constant_reconnection_is_unbounded_by_default():
    s = ConstantReconnectionPolicy(2.5).new_schedule()
    assert list(itertools.islice(s, 1000)) == [2.5] * 1000


def test_constant_reconnection_stops_after_max_attempts():
    assert list(ConstantReconnectionPolicy(1, max_attempts=3).new_schedule()) == [1, 1, 1]
    assert list(ConstantReconnectionPolicy(1, max_attempts=0).new_schedule()) == []


@pytest.mark.parametrize("args", [(-1,), (float("nan"),), (1, -1)])
def test_constant_reconnection_rejects_invalid_arguments(args):
    with pytest.raises(ValueError):
        ConstantReconnectionPolicy(*args)


def test_exponential_reconnection_doubles_within_jitter_and_caps():
    p = ExponentialReconnectionPolicy(1.0, 60.0)
    delays = list(itertools.islice(p.new_schedule(), 2000))
    assert len(delays) == 2000  # unbounded (seed), no overflow after many attempts
    for i, d in enumerate(delays):
        pure = min(1.0 * 2 ** min(i, 10), 60.0)
        assert max(1.0, pure * 0.85) - 1e-9 <= d <= min(60.0, pure * 1.15) + 1e-9
    assert delays[-1] <= 60.0


def test_exponential_reconnection_without_jitter_is_exact_doubling():
    class NoJitter(ExponentialReconnectionPolicy):
        def _add_jitter(self, value):
            return value
    assert list(NoJitter(0.5, 5.0, max_attempts=6).new_schedule()) == [0.5, 1, 2, 4, 5, 5]


@pytest.mark.parametrize("args", [(-1, 5), (1, -5), (10, 5), (1, 5, -2)])
def test_exponential_reconnection_rejects_invalid_arguments(args):
    with pytest.raises(ValueError):
        ExponentialReconnectionPolicy(*args)


class CustomReconnectionPolicy(ReconnectionPolicy):
    # The seed's example, as written.
    def __init__(self, delays):
        self.delays = delays

    def new_schedule(self):
        # Use custom delay sequence
        for delay in self.delays:
            yield delay
        # After custom sequence, use constant 30 second delays
        while True:
            yield 30.0


def test_seed_custom_reconnection_schedule():
    s = CustomReconnectionPolicy([1, 2, 5, 10, 15, 20]).new_schedule()
    assert list(itertools.islice(s, 9)) == [1, 2, 5, 10, 15, 20, 30.0, 30.0, 30.0]


# -- conviction --------------------------------------------------------------------------------

def test_simple_conviction_instance_convicts_on_first_failure_seed_style():
    p = SimpleConvictionPolicy()
    h = Host("127.0.0.1")
    assert p.add_failure(h, ConnectionRefusedError()) is True
    assert p.add_failure(h, OperationTimedOut()) is False
    p.reset(h)


def test_host_accepts_seed_style_instance_as_factory():
    calls = []

    class Recording(ConvictionPolicy):
        def add_failure(self, host, connection_exc):
            calls.append(("fail", host, connection_exc))
            return len([c for c in calls if c[1] is host and c[0] == "fail"]) >= 2

        def reset(self, host):
            calls.append(("reset", host, None))

    policy = Recording()
    h1 = Host("127.0.0.1", conviction_policy_factory=policy)
    h2 = Host("127.0.0.2", conviction_policy_factory=policy)
    err = OSError("refused")
    assert h1.signal_connection_failure(err) is False
    assert h2.signal_connection_failure(err) is False
    assert h1.signal_connection_failure(err) is True
    h1.set_up()
    assert calls[-1] == ("reset", h1, None)
    assert calls[0] == ("fail", h1, err)


def test_host_accepts_reference_style_factory_class():
    h = Host("127.0.0.1", conviction_policy_factory=SimpleConvictionPolicy)
    assert h.conviction_policy.host is h
    assert h.signal_connection_failure(OSError()) is True
    assert h.signal_connection_failure(OperationTimedOut()) is False
    h.set_up()
    assert h.is_up is True


def test_reference_style_user_subclass_still_works():
    class CountingConviction(ConvictionPolicy):
        def __init__(self, host):
            ConvictionPolicy.__init__(self, host)
            self.failures = 0

        def add_failure(self, connection_exc):
            self.failures += 1
            return self.failures >= 3

        def reset(self):
            self.failures = 0

    h = Host("127.0.0.1", conviction_policy_factory=CountingConviction)
    assert [h.signal_connection_failure(OSError()) for _ in range(3)] == [False, False, True]


# -- listener and speculative execution --------------------------------------------------------

class MyHostStateListener(HostStateListener):
    # The seed's example, as written (print replaced by recording).
    def __init__(self):
        self.events = []

    def on_add(self, host):
        self.events.append(f"Host added: {host.address}")

    def on_up(self, host):
        self.events.append(f"Host came online: {host.address}")

    def on_down(self, host):
        self.events.append(f"Host went offline: {host.address}")

    def on_remove(self, host):
        self.events.append(f"Host removed: {host.address}")


def test_seed_host_state_listener_receives_each_hook():
    listener = MyHostStateListener()
    h = Host("127.0.0.9")
    for hook in ("on_add", "on_up", "on_down", "on_remove"):
        getattr(listener, hook)(h)
    assert listener.events == ["Host added: 127.0.0.9", "Host came online: 127.0.0.9",
                               "Host went offline: 127.0.0.9", "Host removed: 127.0.0.9"]


def test_base_host_state_listener_hooks_are_no_ops():
    HostStateListener().on_up(Host("127.0.0.1"))  # must not raise


def test_constant_speculative_execution_plan_counts_down():
    plan = ConstantSpeculativeExecutionPolicy(0.1, 2).new_plan("ks", None)
    assert [plan.next_execution(None) for _ in range(4)] == [0.1, 0.1, -1, -1]
    assert NoSpeculativeExecutionPolicy().new_plan("ks", None).next_execution(None) == -1
