"""Which Apache Cassandra releases the harness runs, and what differs between them.

Pure data and decisions, no I/O: ``_config`` renders each release's files from these facts,
``_fetch`` names the jars to download, ``_java`` finds the Java runtime the release needs, and
the readiness probe caps the protocol version.  A release is named in full (``4.0.19``) or by
its series (``4.0``, meaning the newest patch release listed here, the newest that Maven Central
served when it was written).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Tuple

#: The release the harness runs unless ``CASSFAST_CASSANDRA_VERSION`` / ``--version`` says otherwise.
DEFAULT_VERSION = "5.0.9"


class VersionError(ValueError):
    """A Cassandra version the harness cannot run (unknown series, malformed number)."""


@dataclass(frozen=True)
class ServerSeries:
    """What one release series needs from the harness."""

    series: str  # "4.0"
    newest: str  # newest patch release Maven Central served when this was written
    java: int  # major version of the Java runtime the daemon runs on
    max_protocol: int  # highest native protocol version the server speaks
    #: ``"4.1"``: the 4.1+ yaml names (``commitlog_sync_period: 10000ms``, ``X_enabled``);
    #: ``"4.0"``: the older ``commitlog_sync_period_in_ms`` and ``enable_X`` names (4.0 and 3.11).
    yaml_names: str
    #: Feature flags of the yaml this series knows (4.1+ spelling; ``_config`` renames them).
    features: Tuple[str, ...]
    #: Maven artifacts the server needs at run time that ``cassandra-all``'s POM does not pull
    #: in (groupId, artifactId); their version is the server's.
    extra_artifacts: Tuple[Tuple[str, str], ...] = ()
    #: 4.0+ take ``address:port`` seeds; 3.11 takes bare addresses (and finds no seed otherwise).
    seeds_with_port: bool = True
    #: 3.11 still has the Thrift RPC server (``start_rpc``), on by default: the harness turns it off.
    thrift: bool = False


_ALL_FEATURES = (
    "user_defined_functions_enabled",
    "materialized_views_enabled",
    "sasi_indexes_enabled",
    "transient_replication_enabled",
    "drop_compact_storage_enabled",
)

SERIES: Dict[str, ServerSeries] = {
    s.series: s
    for s in (
        ServerSeries("5.0", "5.0.9", java=17, max_protocol=5, yaml_names="4.1", features=_ALL_FEATURES),
        # 4.1 accepts both spellings; it supports Java 8 and 11 only.
        ServerSeries("4.1", "4.1.10", java=11, max_protocol=5, yaml_names="4.1", features=_ALL_FEATURES),
        ServerSeries("4.0", "4.0.19", java=11, max_protocol=5, yaml_names="4.0", features=_ALL_FEATURES),
        # 3.11 supports Java 8 only; on Java 11 it starts and serves CQL (v3/v4).  It has no
        # transient replication, and its CassandraDaemon loads the Thrift server classes, which
        # ship in their own artifact.
        ServerSeries(
            "3.11", "3.11.19", java=11, max_protocol=4, yaml_names="4.0",
            features=tuple(f for f in _ALL_FEATURES if f != "transient_replication_enabled"),
            extra_artifacts=(("org.apache.cassandra", "cassandra-thrift"),),
            seeds_with_port=False,
            thrift=True,
        ),
    )
}

_VERSION_RE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


def _series_of(version: str) -> ServerSeries:
    match = _VERSION_RE.match(version.strip())
    if match is None:
        raise VersionError(f"{version!r} is not a Cassandra version such as 4.1 or 4.0.19")
    series = f"{match.group(1)}.{match.group(2)}"
    try:
        return SERIES[series]
    except KeyError:
        raise VersionError(
            f"Cassandra {version} is not supported by the harness; choose one of "
            f"{', '.join(sorted(SERIES, key=version_key))} (or a patch release of one)"
        ) from None


def resolve(version: str) -> str:
    """The full release number for ``version``: a series (``4.0``) becomes its newest release."""
    series = _series_of(version)
    text = version.strip()
    return series.newest if text == series.series else text


def series(version: str) -> ServerSeries:
    return _series_of(version)


def version_key(version: str) -> Tuple[int, ...]:
    """Sort key: ``"3.11.19" < "4.0" < "4.0.19"``."""
    match = _VERSION_RE.match(version.strip())
    if match is None:
        raise VersionError(f"{version!r} is not a Cassandra version such as 4.1 or 4.0.19")
    return tuple(int(g) for g in match.groups() if g is not None)


def at_least(version: str, minimum: str) -> bool:
    """``version`` is ``minimum`` or newer (``at_least("4.1.10", "5.0")`` is False)."""
    return version_key(version) >= version_key(minimum)


def protocol_versions(version: str) -> Tuple[int, ...]:
    """The native protocol versions the server speaks, from v3 (the oldest cassfast supports)."""
    return tuple(range(3, _series_of(version).max_protocol + 1))
