"""Logger names: ``cassfast.*`` normally, the reference's ``cassandra.*`` after install_as_cassandra().

Each scenario runs in a fresh interpreter (install_as_cassandra() is process-wide).  The record
that matters is a real one: Metadata logs a warning for a malformed token (no server needed).
"""
import importlib
import json
import logging
import pkgutil
import subprocess
import sys
import textwrap

import pytest

import cassfast

MALFORMED_TOKEN = """
    from {pkg}.metadata import Metadata
    from {pkg}.host import Host
    md = Metadata()
    md.refresh_schema(keyspaces=[])
    md.rebuild_token_map("org.apache.cassandra.dht.Murmur3Partitioner",
                         {{Host("127.0.0.1", datacenter="dc1", rack="r1"): ["0", "not-a-token"]}})
"""

CAPTURE = """
    import json, logging
    class Capture(logging.Handler):
        def __init__(self):
            super().__init__()
            self.records = []
        def emit(self, record):
            self.records.append([record.name, record.levelname, record.getMessage()])
"""


def run_python(*parts):
    code = "".join(textwrap.dedent(part) for part in (CAPTURE,) + parts)
    result = subprocess.run([sys.executable, "-c", code],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# Reference module of each cassfast module that logs: where cassandra-driver logs the same events.
EXPECTED_LOGGER = {
    "cassfast._request": "cassfast.cluster",
    "cassfast._future": "cassfast.cluster",
    "cassfast._engine": "cassfast.cluster",
    "cassfast._resultset": "cassfast.cluster",
    "cassfast._session": "cassfast.cluster",
    "cassfast._control": "cassfast.cluster",
    "cassfast._schema": "cassfast.metadata",
    "cassfast._replication": "cassfast.metadata",
    "cassfast._lanes": "cassfast.connection",
    "cassfast._loop": "cassfast.connection",
    "cassfast._deadlines": "cassfast.connection",
    "cassfast.cluster": "cassfast.cluster",
    "cassfast.pool": "cassfast.pool",
    "cassfast.connection": "cassfast.connection",
    "cassfast.metadata": "cassfast.metadata",
    "cassfast.policies": "cassfast.policies",
    "cassfast.protocol": "cassfast.protocol",
    "cassfast.cqlengine.query": "cassfast.cqlengine.query",
}


def _modules_with_a_logger():
    names = []
    for info in pkgutil.walk_packages(cassfast.__path__, "cassfast."):
        if info.name.startswith(("cassfast.testing", "cassfast.graph", "cassfast.datastax",
                                 "cassfast.column_encryption")):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            # cassfast.contrib.* need their optional extras (prometheus, opentelemetry); where
            # those are installed (the test extra) they are checked like every other module.
            if info.name.startswith("cassfast.contrib."):
                continue
            raise
        if isinstance(getattr(module, "log", None), logging.Logger):
            names.append(info.name)
    return names


@pytest.mark.parametrize("module_name", sorted(EXPECTED_LOGGER))
def test_module_logs_to_the_logger_of_its_reference_module(module_name):
    assert importlib.import_module(module_name).log.name == EXPECTED_LOGGER[module_name]


def test_every_module_logger_is_under_cassfast_and_named_as_a_public_module():
    names = _modules_with_a_logger()
    assert len(names) >= 20
    for name in names:
        logger_name = importlib.import_module(name).log.name
        assert logger_name.startswith("cassfast.")
        assert not logger_name.split(".")[-1].startswith("_"), (name, logger_name)


def test_without_install_cassfast_configuration_governs_and_cassandra_sees_nothing():
    records = run_python("""
        ours, theirs = Capture(), Capture()
        logging.getLogger("cassfast").addHandler(ours)
        logging.getLogger("cassfast").setLevel(logging.DEBUG)
        logging.getLogger("cassandra").addHandler(theirs)
        import cassfast._request
        enabled = cassfast._request.log.isEnabledFor(logging.DEBUG)
    """, MALFORMED_TOKEN.format(pkg="cassfast"), """
        print(json.dumps([enabled, ours.records, theirs.records]))
    """)
    enabled, ours, theirs = records
    assert enabled is True
    assert [r[:2] for r in ours] == [["cassfast.metadata", "WARNING"]]
    assert "not-a-token" in ours[0][2]
    assert theirs == []


def test_after_install_configuration_of_cassandra_loggers_governs_cassfast():
    # Configured before cassfast is imported, as an application's logging setup usually is.
    records = run_python("""
        theirs, ours = Capture(), Capture()
        logging.getLogger("cassandra").addHandler(theirs)
        logging.getLogger("cassandra").setLevel(logging.DEBUG)
        logging.getLogger("cassfast").addHandler(ours)
        import cassfast
        cassfast.install_as_cassandra()
        import cassandra.cluster, cassandra.pool
        import cassfast._request
        debug_on = cassfast._request.log.isEnabledFor(logging.DEBUG)
        logging.getLogger("cassandra").setLevel(logging.ERROR)
        warning_after_error_level = cassandra.pool.log.isEnabledFor(logging.WARNING)
        logging.getLogger("cassandra").setLevel(logging.DEBUG)
    """, MALFORMED_TOKEN.format(pkg="cassandra"), """
        print(json.dumps([debug_on, warning_after_error_level, cassandra.cluster.log.name,
                          theirs.records, ours.records]))
    """)
    debug_on, warning_after_error_level, cluster_logger, theirs, ours = records
    assert debug_on is True
    assert warning_after_error_level is False
    assert cluster_logger == "cassandra.cluster"
    assert [r[:2] for r in theirs] == [["cassandra.metadata", "WARNING"]]
    assert ours == []


def test_modules_imported_before_install_switch_to_cassandra_names():
    records = run_python("""
        import cassfast.cluster, cassfast.pool, cassfast.metadata
        before = [cassfast.cluster.log.name, cassfast.pool.log.name]
        cassfast.install_as_cassandra()
        only_metadata = Capture()
        logging.getLogger("cassandra.metadata").addHandler(only_metadata)
    """, MALFORMED_TOKEN.format(pkg="cassandra"), """
        print(json.dumps([before, [cassfast.cluster.log.name, cassfast.pool.log.name],
                          only_metadata.records]))
    """)
    before, after, records = records
    assert before == ["cassfast.cluster", "cassfast.pool"]
    assert after == ["cassandra.cluster", "cassandra.pool"]
    assert [r[0] for r in records] == ["cassandra.metadata"]


def test_dictconfig_for_cassandra_after_import_keeps_cassfast_loggers_enabled():
    # dictConfig disables loggers that exist and are not named or below a named one; cassfast's
    # must be below "cassandra" as the reference's are.
    records = run_python("""
        import logging.config
        import cassfast
        cassfast.install_as_cassandra()
        import cassandra.cluster, cassandra.metadata
        logging.config.dictConfig({
            "version": 1,
            "handlers": {"h": {"class": "logging.NullHandler"}},
            "loggers": {"cassandra": {"level": "INFO", "handlers": ["h"]}},
        })
        capture = Capture()
        logging.getLogger("cassandra").addHandler(capture)
    """, MALFORMED_TOKEN.format(pkg="cassandra"), """
        print(json.dumps([cassandra.metadata.log.disabled, capture.records]))
    """)
    disabled, captured = records
    assert disabled is False
    assert [r[:2] for r in captured] == [["cassandra.metadata", "WARNING"]]
