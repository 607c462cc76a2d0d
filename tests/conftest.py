"""pytest wiring: real Cassandra fixtures per variant, and an order that lets them share addresses.

Integration tests get a real Apache Cassandra 5.0 from ``cassfast.testing.cluster`` through the
session fixtures ``cassandra_single``, ``cassandra_cluster3``, ``cassandra_auth`` and
``cassandra_tls`` (each a ``CassandraCluster``: ``contact_points``, ``port``, ``ca_file``,
``username``/``password``, ``reference_cluster_kwargs()``, node control for failover tests).
A variant already running and healthy (started with the CLI) is reused and left running;
otherwise the fixture starts it, and stops it at the end of the session.  Fixture-started JVMs
also die with the pytest process (PR_SET_PDEATHSIG), so none outlives an interrupted run.  A
server that cannot be started is an error, never a skip.

Tests are reordered so that unit tests run first, then each variant's tests together (single,
auth, tls, cluster3): ``single`` and ``cluster3`` both live on 127.0.0.1 and are never needed at
the same time.  ``CASSFAST_<VARIANT>_FIRST_IP`` moves a variant to other loopback addresses, e.g.
``CASSFAST_CLUSTER3_FIRST_IP=127.0.0.21`` runs ``cluster3`` beside a shared ``single`` node.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import pytest
import version_subset

from cassfast.testing import _fetch, _versions

if TYPE_CHECKING:
    from cassfast.testing.cluster import CassandraCluster

VARIANT_ORDER = ("single", "auth", "tls", "cluster3")
_FIXTURES = {f"cassandra_{v}": v for v in VARIANT_ORDER}
_TESTS_DIR = Path(__file__).resolve().parent
_INTEGRATION_DIR = _TESTS_DIR / "integration"
_UNIT_DIR = _TESTS_DIR / "unit"


def variant_of(item: pytest.Item) -> Optional[str]:
    """The Cassandra variant a test needs: from its fixtures, then its markers; None for none."""
    names = getattr(item, "fixturenames", ())
    for fixture, variant in _FIXTURES.items():
        if fixture in names:
            return variant
    for variant in ("cluster3", "auth", "tls"):
        if item.get_closest_marker(variant) is not None:
            return variant
    if item.get_closest_marker("integration") is not None:
        return "single"
    return None


def _is_under(item: pytest.Item, directory: Path) -> bool:
    try:
        Path(str(item.path)).resolve().relative_to(directory)
    except ValueError:
        return False
    return True


_TOO_OLD = pytest.StashKey[List[Tuple[str, str]]]()


def _mark_version_subsets(item: pytest.Item) -> None:
    try:
        relative = Path(str(item.path)).resolve().relative_to(_INTEGRATION_DIR).as_posix()
    except ValueError:
        return
    if relative in version_subset.SUBSET:
        item.add_marker(pytest.mark.versions)
    if relative in version_subset.SUBSET_3_11:
        item.add_marker(pytest.mark.versions_3_11)


def _deselect_tests_needing_a_newer_server(config: pytest.Config, items: List[pytest.Item]) -> None:
    """Tests marked ``cassandra_min(V, reason=...)`` do not run on a server older than V; they
    are deselected (not skipped) and listed with their reason at the end of the run."""
    server = _fetch.default_version()
    keep: List[pytest.Item] = []
    dropped: List[pytest.Item] = []
    notes: List[Tuple[str, str]] = []
    for item in items:
        # Every requirement counts (a case's and its fixture parameter's): the highest decides.
        markers = list(item.iter_markers("cassandra_min"))
        for marker in markers:
            if len(marker.args) != 1 or not marker.kwargs.get("reason"):
                raise pytest.UsageError(f"{item.nodeid}: use @pytest.mark.cassandra_min('5.0', reason='...')")
        unmet = [m for m in markers if not _versions.at_least(server, m.args[0])]
        if not unmet:
            keep.append(item)
            continue
        marker = max(unmet, key=lambda m: _versions.version_key(m.args[0]))
        dropped.append(item)
        notes.append((f"needs Cassandra {marker.args[0]}: {marker.kwargs['reason']}", item.nodeid))
    if dropped:
        items[:] = keep
        config.hook.pytest_deselected(items=dropped)
        config.stash[_TOO_OLD] = notes


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    notes = config.stash.get(_TOO_OLD, [])
    if not notes:
        return
    terminalreporter.section(f"not run on Cassandra {_fetch.default_version()}: {len(notes)} tests need a newer server")
    by_reason: Dict[str, List[str]] = {}
    for reason, nodeid in notes:
        by_reason.setdefault(reason, []).append(nodeid)
    shown = None if config.option.verbose > 0 else 3  # -v lists every test
    for reason, nodeids in by_reason.items():
        terminalreporter.write_line(f"{len(nodeids)} test(s): {reason}")
        for nodeid in nodeids[:shown]:
            terminalreporter.write_line(f"    {nodeid}")
        if shown is not None and len(nodeids) > shown:
            terminalreporter.write_line(f"    ... and {len(nodeids) - shown} more (-v lists them all)")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    for item in items:
        if _is_under(item, _INTEGRATION_DIR) and item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)
        _mark_version_subsets(item)
        variant = variant_of(item)
        if variant is None:
            continue
        if _is_under(item, _UNIT_DIR):
            raise pytest.UsageError(f"{item.nodeid}: unit tests must not need a Cassandra node ({variant})")
        if item.get_closest_marker("integration") is None:
            item.add_marker(pytest.mark.integration)
        if variant != "single" and item.get_closest_marker(variant) is None:
            item.add_marker(getattr(pytest.mark, variant))

    def rank(item: pytest.Item) -> int:
        variant = variant_of(item)
        return 0 if variant is None else 1 + VARIANT_ORDER.index(variant)

    # sort() is stable: within a variant, tests keep their collection (file) order, so module
    # and class fixtures are still set up once.
    items.sort(key=rank)


class _VersionGate:
    """Runs after every other collection hook (-m, -k included), so that only tests which
    would otherwise run are reported as needing a newer server."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: List[pytest.Item]) -> None:
        _deselect_tests_needing_a_newer_server(config, items)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_VersionGate(), "cassfast-version-gate")


_LAST_TEST_OF = pytest.StashKey[Dict[str, str]]()
_HARNESS = pytest.StashKey["_Harness"]()


def pytest_collection_finish(session: pytest.Session) -> None:
    # After deselection (-k, -m), so that "last" means the last test that will really run.
    last: Dict[str, str] = {}
    for item in session.items:
        variant = variant_of(item)
        if variant is not None:
            last[variant] = item.nodeid
    session.config.stash[_LAST_TEST_OF] = last


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Optional[pytest.Item]):
    yield
    # Once a variant's last test and its module fixtures are torn down, a node this session
    # started is stopped right away: with 2 cores, every idle JVM slows the next variant's start.
    variant = variant_of(item)
    if variant is None or item.config.stash.get(_LAST_TEST_OF, {}).get(variant) != item.nodeid:
        return
    harness = item.config.stash.get(_HARNESS, None)
    if harness is not None:
        harness.release(variant)


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"cassandra server: Apache Cassandra {_fetch.default_version()} "
        f"(cassfast.testing harness, cache {_fetch.cache_root()})"
    )


class _Harness:
    """Starts variants on demand for one pytest session and stops those it started."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self.owned: Dict[str, "CassandraCluster"] = {}

    def log(self, message: str) -> None:
        # Start-up and stop timings belong in the run's output (CI logs), not in a test's
        # captured output, so capturing is suspended around the write.
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        capture = self._config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return
        if capture is None:
            reporter.write_line(f"[cassandra] {message}")
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[cassandra] {message}")

    def acquire(self, variant: str) -> "CassandraCluster":
        from cassfast.testing.cluster import CassandraCluster, HarnessError

        cluster = CassandraCluster(variant, log=self.log)
        running = cluster.running_version()
        if running is not None and running != cluster.version:
            raise HarnessError(
                f"{cluster.spec.state_name} is running Cassandra {running}, but this run needs {cluster.version} "
                f"(CASSFAST_CASSANDRA_VERSION); stop it (python -m cassfast.testing.cluster stop {variant}) "
                f"or move this run to other addresses (CASSFAST_{variant.upper()}_FIRST_IP)"
            )
        if cluster.is_running() and cluster.is_healthy():
            self.log(f"reusing {cluster.spec.state_name}, already running (it is left running)")
            return cluster
        mine = set(cluster.contact_points)
        for other_variant in VARIANT_ORDER:
            if other_variant == variant:
                continue
            other = CassandraCluster(other_variant, log=self.log)
            if not mine & set(other.contact_points) or not other.running_nodes():
                continue
            if other_variant in self.owned:
                # This session started it and the test order guarantees its tests are done.
                self.owned.pop(other_variant).stop()
            else:
                raise HarnessError(
                    f"{variant} needs {', '.join(sorted(mine & set(other.contact_points)))}, where "
                    f"{other.spec.state_name} is running and was not started by this test run. Stop it "
                    f"(python -m cassfast.testing.cluster stop {other_variant})"
                    + (" or set CASSFAST_CLUSTER3_FIRST_IP=127.0.0.21" if variant == "cluster3" else "")
                )
        # start() re-checks under the harness's machine-wide lock: if another test run started
        # the variant meanwhile, it is reused and left to its owner.  A variant found partly
        # running (a node left down) is completed but stays with whoever started it.
        partly_running = bool(cluster.running_nodes())
        if cluster.start(die_with_parent=not partly_running) and not partly_running:
            self.owned[variant] = cluster
        return cluster

    def release(self, variant: str) -> None:
        cluster = self.owned.pop(variant, None)
        if cluster is not None:
            cluster.stop()

    def release_all(self) -> None:
        while self.owned:
            _, cluster = self.owned.popitem()
            cluster.stop()


@pytest.fixture(scope="session")
def cassandra_harness(request: pytest.FixtureRequest):
    harness = _Harness(request.config)
    request.config.stash[_HARNESS] = harness
    try:
        yield harness
    finally:
        harness.release_all()
        del request.config.stash[_HARNESS]


@pytest.fixture(scope="session")
def cassandra_single(cassandra_harness: _Harness) -> "CassandraCluster":
    """One node on 127.0.0.1:9042 (dc1)."""
    return cassandra_harness.acquire("single")


@pytest.fixture(scope="session")
def cassandra_cluster3(cassandra_harness: _Harness) -> "CassandraCluster":
    """Three nodes on 127.0.0.1-3: dc1 = .1 and .2, dc2 = .3; one token each."""
    return cassandra_harness.acquire("cluster3")


@pytest.fixture(scope="session")
def cassandra_auth(cassandra_harness: _Harness) -> "CassandraCluster":
    """One node with PasswordAuthenticator on 127.0.0.4; superuser cassandra/cassandra."""
    return cassandra_harness.acquire("auth")


@pytest.fixture(scope="session")
def cassandra_tls(cassandra_harness: _Harness) -> "CassandraCluster":
    """One node on 127.0.0.5 that only accepts TLS clients; ``ca_file`` is its certificate."""
    return cassandra_harness.acquire("tls")


@pytest.fixture(autouse=True)
def _cassandra_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """Tests selected only by marker (``integration``, ``cluster3``...) still get their node."""
    variant = variant_of(request.node)
    if variant is not None:
        request.getfixturevalue(f"cassandra_{variant}")
