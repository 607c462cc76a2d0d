"""What the type checkers infer for cassfast's public API (never run, only checked).

``assert_type`` fails the check when an inferred type differs; each ``# type: ignore[...]`` marks a
line that must be an error, and since the checks run with unused ignores reported (mypy
``--strict``, pyright ``reportUnnecessaryTypeIgnoreComment``), a regression to ``Any`` (which
would silence the error) fails the check too.
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

from typing_extensions import assert_type

from cassfast.cluster import Cluster, ExecutionProfile, ResponseFuture, ResultSet, Session
from cassfast.cqlengine import columns
from cassfast.cqlengine.models import Model
from cassfast.cqlengine.query import ModelQuerySet
from cassfast.policies import ConstantReconnectionPolicy, RoundRobinPolicy
from cassfast.rows import dict_factory, named_tuple_factory, tuple_factory


class Item(Model):
    key = columns.Integer(primary_key=True)


def _user_factory(colnames: List[str], rows: List[Tuple[Any, ...]]) -> List[str]:
    return [repr(row) for row in rows]


def rows_follow_the_profile(session: Session) -> None:
    dicts = ExecutionProfile(row_factory=dict_factory)
    assert_type(dicts, ExecutionProfile[Dict[str, Any]])
    tuples = ExecutionProfile(row_factory=tuple_factory)
    assert_type(tuples, ExecutionProfile[Tuple[Any, ...]])
    custom = ExecutionProfile(row_factory=_user_factory)
    assert_type(custom, ExecutionProfile[str])
    assert_type(ExecutionProfile(row_factory=named_tuple_factory), ExecutionProfile[Any])
    assert_type(ExecutionProfile(), ExecutionProfile[Any])

    rs = session.execute("SELECT * FROM t", execution_profile=dicts)
    assert_type(rs, ResultSet[Dict[str, Any]])
    assert_type(rs.one(), Optional[Dict[str, Any]])
    assert_type(rs.all(), List[Dict[str, Any]])
    assert_type(rs.current_rows, List[Dict[str, Any]])
    assert_type(iter(rs), Iterator[Dict[str, Any]])
    assert_type(session.execute("SELECT * FROM t", execution_profile=custom).one(), Optional[str])
    # A profile name, or none: the session's row factory can change at run time, so Any.
    assert_type(session.execute("SELECT * FROM t"), ResultSet[Any])
    assert_type(session.execute("SELECT * FROM t", execution_profile="dicts"), ResultSet[Any])

    # The reference's positional form (profile sixth) keeps the row type too.
    assert_type(session.execute("SELECT * FROM t", None, 5.0, False, None, dicts),
                ResultSet[Dict[str, Any]])
    assert_type(session.execute_async("SELECT * FROM t", None, False, None, 5.0, dicts),
                ResponseFuture[Dict[str, Any]])

    future = session.execute_async("SELECT * FROM t", execution_profile=tuples)
    assert_type(future, ResponseFuture[Tuple[Any, ...]])
    assert_type(future.result(), ResultSet[Tuple[Any, ...]])

    row = session.execute("SELECT * FROM t", execution_profile=tuples).one()
    if row is not None:
        row["name"]  # type: ignore[call-overload]
    session.execute(42)  # type: ignore[call-overload]
    ExecutionProfile(request_timeout="10")  # type: ignore[call-overload]
    ExecutionProfile(row_factory=len)  # type: ignore[arg-type]


async def awaiting_keeps_the_row_type(session: Session) -> None:
    dicts = ExecutionProfile(row_factory=dict_factory)
    assert_type(await session.execute_async("SELECT 1", execution_profile=dicts), ResultSet[Dict[str, Any]])
    assert_type(await session.aexecute("SELECT 1", execution_profile=dicts), ResultSet[Dict[str, Any]])
    async for row in await session.aexecute("SELECT 1", execution_profile=dicts):
        assert_type(row, Dict[str, Any])


def cluster_and_mapper(cluster: Cluster) -> None:
    assert_type(cluster.connect("ks"), Session)
    assert_type(Item.objects(key=1), ModelQuerySet[Item])
    assert_type(Item.objects.filter(key=1).limit(3), ModelQuerySet[Item])
    assert_type(Item.objects.get(key=1), Item)
    assert_type(Item.objects.first(), Optional[Item])
    assert_type(Item.create(key=2), Item)
    assert_type(Item(key=3).save(), Item)
    for item in Item.objects.all():
        assert_type(item, Item)
    Item.objects.limit("3")  # type: ignore[arg-type]


def cluster_options_are_typed() -> None:
    Cluster(["10.0.0.1"], port=9042, compression="lz4", connect_timeout=2.5,
            load_balancing_policy=RoundRobinPolicy(),
            reconnection_policy=ConstantReconnectionPolicy(1.0), sync_lanes_per_host=0)
    Cluster("10.0.0.1", port="9042")  # type: ignore[arg-type]
    Cluster(load_balancing_policy=ConstantReconnectionPolicy(1.0))  # type: ignore[arg-type]
    Cluster(reconnection_policy=RoundRobinPolicy())  # type: ignore[arg-type]
    Cluster(execution_profiles=[ExecutionProfile()])  # type: ignore[arg-type]
