"""Execution profiles: ``ExecutionProfile``, ``EXEC_PROFILE_DEFAULT`` and the default policy.

A profile groups the per-request defaults (load-balancing, retry and speculative-execution
policies, consistency levels, timeout, row factory) under a name in
``Cluster(execution_profiles=...)``.  The names are public through ``cassfast.cluster``, as in
the reference; they live here, below the execution layer, because ``Session``, ``concurrent``
and ``metadata`` look profiles up without importing ``cluster``.  ``_NOT_SET`` is the
"argument not given" sentinel that profiles, sessions and requests share.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from cassfast import ConsistencyLevel, policies
from cassfast.policies import (DCAwareRoundRobinPolicy, LoadBalancingPolicy, RetryPolicy,
                               SpeculativeExecutionPolicy, TokenAwarePolicy)
from cassfast.rows import RowFactory, named_tuple_factory

_RowT = TypeVar("_RowT")

# Typed Any so that a parameter defaulting to it keeps its real annotation.
_NOT_SET: Any = object()


class ExecutionProfile(Generic[_RowT]):
    """Per-request defaults grouped under a name (reference ``ExecutionProfile``).

    For type checkers the profile is generic in the row type of its ``row_factory``:
    ``ExecutionProfile(row_factory=dict_factory)`` is an ``ExecutionProfile[dict[str, Any]]``,
    and ``Session.execute(..., execution_profile=profile)`` then returns a
    ``ResultSet[dict[str, Any]]``.  Without ``row_factory`` (named tuples) rows are ``Any``.
    """

    load_balancing_policy: LoadBalancingPolicy | None = None
    retry_policy: RetryPolicy | None = None
    consistency_level: int | None = ConsistencyLevel.LOCAL_ONE
    serial_consistency_level: int | None = None
    request_timeout: float | None = 10.0
    row_factory: RowFactory[_RowT] | None = None
    speculative_execution_policy: SpeculativeExecutionPolicy | None = None
    continuous_paging_options: object = None
    _load_balancing_policy_explicit = False
    _consistency_level_explicit = False

    @overload
    def __init__(self: ExecutionProfile[Any], load_balancing_policy: LoadBalancingPolicy | None = ...,
                 retry_policy: RetryPolicy | None = None, consistency_level: int | None = ...,
                 serial_consistency_level: int | None = None,
                 request_timeout: float | None = 10.0, *,
                 speculative_execution_policy: SpeculativeExecutionPolicy | None = None,
                 continuous_paging_options: object = None) -> None: ...

    @overload
    def __init__(self: ExecutionProfile[_RowT], load_balancing_policy: LoadBalancingPolicy | None = ...,
                 retry_policy: RetryPolicy | None = None, consistency_level: int | None = ...,
                 serial_consistency_level: int | None = None,
                 request_timeout: float | None = 10.0, row_factory: RowFactory[_RowT] = ...,
                 speculative_execution_policy: SpeculativeExecutionPolicy | None = None,
                 continuous_paging_options: object = None) -> None: ...

    def __init__(self, load_balancing_policy: Any = _NOT_SET, retry_policy: Any = None,
                 consistency_level: Any = _NOT_SET, serial_consistency_level: int | None = None,
                 request_timeout: float | None = 10.0, row_factory: Any = _NOT_SET,
                 speculative_execution_policy: Any = None,
                 continuous_paging_options: object = None) -> None:
        if load_balancing_policy is _NOT_SET:
            self.load_balancing_policy = default_lbp_factory()
        else:
            self._load_balancing_policy_explicit = True
            self.load_balancing_policy = load_balancing_policy
        if consistency_level is _NOT_SET:
            self.consistency_level = ConsistencyLevel.LOCAL_ONE
        else:
            self._consistency_level_explicit = True
            self.consistency_level = consistency_level
        # The seed makes FallthroughRetryPolicy (never retry) the default.
        self.retry_policy = retry_policy or policies.FallthroughRetryPolicy()
        if serial_consistency_level is not None and not ConsistencyLevel.is_serial(serial_consistency_level):
            raise ValueError("serial_consistency_level must be either ConsistencyLevel.SERIAL "
                             "or ConsistencyLevel.LOCAL_SERIAL.")
        self.serial_consistency_level = serial_consistency_level
        self.request_timeout = request_timeout
        self.row_factory = named_tuple_factory if row_factory is _NOT_SET else row_factory
        self.speculative_execution_policy = (speculative_execution_policy
                                             or policies.NoSpeculativeExecutionPolicy())
        self.continuous_paging_options = continuous_paging_options


if TYPE_CHECKING:
    class _DefaultProfileKey:
        """For type checkers only: the type of ``EXEC_PROFILE_DEFAULT`` (an ``object()`` at run
        time), so that a profile key is never mistaken for an ``ExecutionProfile``."""

    EXEC_PROFILE_DEFAULT: _DefaultProfileKey
else:
    EXEC_PROFILE_DEFAULT = object()
"""Key for the default profile in ``Cluster(execution_profiles=...)``."""


def default_lbp_factory():
    """The load-balancing policy of a profile that names none: token-aware over DC-aware."""
    return TokenAwarePolicy(DCAwareRoundRobinPolicy())
