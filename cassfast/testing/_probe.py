"""Readiness probes: a node is ready when a CQL query works on it, a cluster when every node agrees.

The probes use the reference driver (cassandra-driver, a test dependency) rather than cassfast,
so the harness can prove the server is up independently of the code under test.  Each probe talks
to exactly one node (a white-list policy, no schema or token metadata) so it stays fast and says
which node is not ready.
"""
from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple


class ProbeFailed(Exception):
    """The node answered but is not ready yet (or could not be reached); the message says why."""


@dataclass(frozen=True)
class PeerRow:
    peer: str
    data_center: Optional[str]
    host_id: Any
    has_tokens: bool
    schema_version: Any


@dataclass(frozen=True)
class NodeView:
    """What one node reports about itself and its peers."""

    release_version: str
    data_center: str
    schema_version: Any
    peers: Tuple[PeerRow, ...]
    #: Why a read needing every replica failed on this coordinator, None when it succeeded
    #: (only probed with ``check_all_up``).
    unavailable: Optional[str] = None


def ssl_context_for(ca_file: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def reference_cluster_kwargs(
    addresses: List[str],
    port: int,
    *,
    credentials: Optional[Tuple[str, str]] = None,
    ca_file: Optional[str] = None,
    only: bool = False,
) -> Dict[str, Any]:
    """Keyword arguments for ``cassandra.cluster.Cluster`` reaching these nodes.

    ``only`` restricts the driver to ``addresses`` (no other discovered peer is contacted).
    """
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, ExecutionProfile
    from cassandra.policies import WhiteListRoundRobinPolicy

    kwargs: Dict[str, Any] = {"contact_points": list(addresses), "port": port}
    if credentials is not None:
        kwargs["auth_provider"] = PlainTextAuthProvider(username=credentials[0], password=credentials[1])
    if ca_file is not None:
        kwargs["ssl_context"] = ssl_context_for(ca_file)
    if only:
        kwargs["execution_profiles"] = {
            EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy(list(addresses)))
        }
    return kwargs


def probe_node(
    address: str,
    port: int,
    *,
    credentials: Optional[Tuple[str, str]] = None,
    ca_file: Optional[str] = None,
    timeout: float = 10.0,
    check_all_up: bool = False,
    protocol_version: int = 5,
) -> NodeView:
    """Query ``address`` alone; raise ProbeFailed when it cannot answer CQL yet.

    ``protocol_version`` is the one the server must speak (the highest of its release: 4 for
    3.11), so a node that answers proves that version works.

    ``check_all_up`` also reads at consistency ALL from ``system_distributed`` (replication
    factor 3), which the coordinator only attempts when its failure detector sees every replica
    UP: gossip state (``system.peers``, ``system_views.gossip_info``) still says NORMAL for a dead
    node, so it cannot prove liveness.
    """
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
    from cassandra.policies import FallthroughRetryPolicy, WhiteListRoundRobinPolicy

    # The driver logs every refused connection at WARNING/ERROR; while polling a starting node
    # that is expected noise, the probe's own result says what happened.
    logging.getLogger("cassandra").setLevel(logging.CRITICAL)
    kwargs = reference_cluster_kwargs([address], port, credentials=credentials, ca_file=ca_file)
    profile = ExecutionProfile(
        load_balancing_policy=WhiteListRoundRobinPolicy([address]),
        # Errors must surface as they are (an Unavailable, not a retry on another host).
        retry_policy=FallthroughRetryPolicy(),
        request_timeout=timeout,
    )
    cluster = Cluster(
        schema_metadata_enabled=False,
        token_metadata_enabled=False,
        connect_timeout=timeout,
        control_connection_timeout=timeout,
        protocol_version=protocol_version,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        **kwargs,
    )
    try:
        session = cluster.connect()
        local = session.execute("SELECT release_version, data_center, schema_version FROM system.local").one()
        peers = tuple(
            PeerRow(str(r.peer), r.data_center, r.host_id, bool(r.tokens), r.schema_version)
            for r in session.execute("SELECT peer, data_center, host_id, tokens, schema_version FROM system.peers")
        )
        unavailable: Optional[str] = None
        if check_all_up:
            from cassandra import ConsistencyLevel, Unavailable
            from cassandra.protocol import UnavailableErrorMessage
            from cassandra.query import SimpleStatement

            stmt = SimpleStatement(
                "SELECT parent_id FROM system_distributed.parent_repair_history LIMIT 1",
                consistency_level=ConsistencyLevel.ALL,
            )
            try:
                session.execute(stmt)
            except (Unavailable, UnavailableErrorMessage) as exc:
                # Without a retry the driver raises the error message itself, not Unavailable.
                unavailable = str(getattr(exc, "info", None) or exc)
        return NodeView(local.release_version, local.data_center, local.schema_version, peers, unavailable)
    except NoHostAvailable as exc:
        errors = "; ".join(f"{type(e).__name__}: {e}" for e in exc.errors.values()) or str(exc)
        raise ProbeFailed(f"{address}:{port}: {errors}") from exc
    except Exception as exc:
        raise ProbeFailed(f"{address}:{port}: {type(exc).__name__}: {exc}") from exc
    finally:
        cluster.shutdown()


def ring_problems(expected: Dict[str, str], views: Dict[str, NodeView]) -> List[str]:
    """Why the nodes in ``views`` do not (yet) form the ring ``expected`` ({address: dc}).

    Empty when every node knows every other node with its datacenter, host id and token, and all
    agree on the schema version.
    """
    problems: List[str] = []
    schema_versions = {str(v.schema_version) for v in views.values()}
    for address, view in views.items():
        if view.unavailable is not None:
            problems.append(f"{address} does not see every node UP ({view.unavailable})")
        if view.data_center != expected[address]:
            problems.append(f"{address} is in {view.data_center}, expected {expected[address]}")
        known = {p.peer: p for p in view.peers}
        for other, dc in expected.items():
            if other == address:
                continue
            row = known.get(other)
            if row is None or row.host_id is None or not row.has_tokens:
                problems.append(f"{address} does not know {other} yet")
            elif row.data_center != dc:
                problems.append(f"{address} sees {other} in {row.data_center}, expected {dc}")
            schema_versions.add(str(row.schema_version) if row is not None else "?")
    if len(schema_versions) > 1:
        problems.append(f"schema versions disagree: {sorted(schema_versions)}")
    return problems
