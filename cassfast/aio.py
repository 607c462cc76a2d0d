"""asyncio API: await requests without a thread hop per request.

Every ``ResponseFuture`` is awaitable, on any asyncio loop::

    rs = await session.execute_async("SELECT * FROM t WHERE k = %s", (1,))
    rs = await session.aexecute(prepared, (1,))          # the same, spelled as a coroutine
    async for row in rs:                                 # further pages are awaited, not blocked on
        ...

How it works: the request is submitted to the cluster's I/O loop exactly as ``execute_async``
does (batched with other submissions: at most one wake-up of the I/O thread per burst); when it
completes, the I/O thread resolves an asyncio future on the awaiting loop with one
``call_soon_threadsafe``, again batched per loop iteration by asyncio itself.  No executor thread
is involved and no thread blocks.  Code that runs *on* the cluster's own I/O loop (for example
via :func:`run_on_cluster_loop`) awaits with no cross-thread step at all.

This module adds small helpers on top of that: :func:`connect` (connect without blocking the
running loop), :func:`execute` (``await aio.execute(session, ...)``),
:func:`execute_many` (bounded-concurrency pipeline that returns results in order) and
:func:`run_on_cluster_loop`.
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Awaitable, Iterable, Mapping, Sequence

if TYPE_CHECKING:
    from cassfast.cluster import Cluster, ResultSet, Session


async def connect(cluster: Cluster, keyspace: str | None = None) -> Session:
    """``await connect(cluster)``: ``Cluster.connect`` without blocking the running loop.

    Connecting is a cold path of several round trips, run on a worker thread here; every request
    made afterwards is awaited without one.
    """
    return await asyncio.to_thread(cluster.connect, keyspace)


async def execute(session: Session, query: Any, parameters: Any = None, **kwargs: Any) -> ResultSet[Any]:
    """``await execute(session, query, parameters)``: the awaitable form of ``Session.execute``."""
    return await session.execute_async(query, parameters, **kwargs)


async def execute_many(session: Session, statement: Any,
                       parameters_seq: Iterable[Sequence[Any] | Mapping[str, Any] | None],
                       concurrency: int = 100, **kwargs: Any) -> list[ResultSet[Any]]:
    """Run ``statement`` once per parameter set with at most ``concurrency`` in flight.

    Returns the ResultSets in input order; the first failure is raised after in-flight requests
    finish (no request is left running unobserved).
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    params = list(parameters_seq)
    results: list[Any] = [None] * len(params)
    next_index = 0
    first_error: list[BaseException] = []

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(params) and not first_error:
            i = next_index
            next_index += 1
            try:
                results[i] = await session.execute_async(statement, params[i], **kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                first_error.append(exc)
    await asyncio.gather(*[worker() for _ in range(min(concurrency, max(1, len(params))))])
    if first_error:
        raise first_error[0]
    return results


def run_on_cluster_loop(cluster: Cluster, coro: Awaitable[Any]) -> asyncio.Future[Any]:
    """Schedule ``coro`` on the cluster's own I/O loop and return an asyncio future for it on the
    caller's running loop (or a ``concurrent.futures.Future`` when called from plain threads).

    Coroutines running there await requests with no thread switch at all; keep them short and
    non-blocking, since they share the loop with every connection.
    """
    loop_thread = cluster._ensure_loop()
    cfut = asyncio.run_coroutine_threadsafe(coro, loop_thread.loop)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return cfut
    return asyncio.wrap_future(cfut)
