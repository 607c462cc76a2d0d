"""The root module: enums, write types, exceptions and install_as_cassandra (no server)."""
import subprocess
import sys
import textwrap

import pytest

import cassfast
from cassfast import ConsistencyLevel, ProtocolVersion, WriteType


def run_python(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=60)


def test_consistency_levels_have_the_protocol_values():
    # Values from the native protocol spec, section 3 ([consistency]).
    assert (ConsistencyLevel.ANY, ConsistencyLevel.ONE, ConsistencyLevel.QUORUM,
            ConsistencyLevel.ALL, ConsistencyLevel.LOCAL_QUORUM, ConsistencyLevel.SERIAL,
            ConsistencyLevel.LOCAL_SERIAL, ConsistencyLevel.LOCAL_ONE) == (0, 1, 4, 5, 6, 8, 9, 10)
    assert ConsistencyLevel.value_to_name[6] == "LOCAL_QUORUM"
    assert ConsistencyLevel.name_to_value["EACH_QUORUM"] == 7


def test_consistency_levels_match_the_reference_driver():
    import cassandra
    assert ConsistencyLevel.value_to_name == cassandra.ConsistencyLevel.value_to_name


def test_write_types_are_the_seed_integers():
    assert [WriteType.SIMPLE, WriteType.BATCH, WriteType.UNLOGGED_BATCH, WriteType.COUNTER,
            WriteType.BATCH_LOG, WriteType.CAS] == [0, 1, 2, 3, 4, 5]
    assert all(isinstance(v, int) for v in WriteType.name_to_value.values())


def test_write_type_equals_its_name_so_the_seed_example_compares_true():
    wt = WriteType.from_name("SIMPLE")
    assert wt == "SIMPLE" and wt == 0 and wt is WriteType.SIMPLE
    assert wt != "BATCH" and not (wt == "BATCH")
    assert {0: "x"}[wt] == "x"  # hashes as the integer


def test_unknown_write_type_name_is_a_value_error():
    with pytest.raises(ValueError, match="NOPE"):
        WriteType.from_name("NOPE")


def test_protocol_version_steps_down_through_supported_versions():
    assert ProtocolVersion.SUPPORTED_VERSIONS == (5, 4, 3)
    assert ProtocolVersion.get_lower_supported(6) == 5
    assert ProtocolVersion.get_lower_supported(5) == 4
    assert ProtocolVersion.get_lower_supported(3) == 0


def test_exceptions_keep_reference_attributes():
    exc = cassfast.WriteTimeout("timed out", consistency=ConsistencyLevel.QUORUM,
                                required_responses=2, received_responses=1,
                                write_type=WriteType.SIMPLE)
    assert isinstance(exc, cassfast.Timeout) and isinstance(exc, cassfast.RequestExecutionException)
    assert exc.write_type == "SIMPLE" and exc.required_responses == 2
    assert "QUORUM" in str(exc)
    unavailable = cassfast.Unavailable("x", consistency=5, required_replicas=3, alive_replicas=2)
    assert (unavailable.required_replicas, unavailable.alive_replicas) == (3, 2)
    assert issubclass(cassfast.AlreadyExists, cassfast.ConfigurationException)
    assert "ks.tbl" in str(cassfast.AlreadyExists("ks", "tbl"))


def test_install_as_cassandra_makes_cassandra_imports_load_cassfast():
    result = run_python("""
        import cassfast
        cassfast.install_as_cassandra()
        import cassandra
        from cassandra import ConsistencyLevel
        import cassandra.host
        assert cassandra is cassfast, cassandra
        assert ConsistencyLevel is cassfast.ConsistencyLevel
        assert cassandra.host is cassfast.host
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_install_as_cassandra_refuses_when_the_reference_is_already_loaded():
    result = run_python("""
        import cassandra
        import cassfast
        try:
            cassfast.install_as_cassandra()
        except RuntimeError as exc:
            print("refused:", exc)
    """)
    assert result.returncode == 0, result.stderr
    assert "refused: install_as_cassandra() must run before" in result.stdout


def test_import_without_the_compiled_core_names_the_fix():
    result = run_python("""
        import sys
        sys.modules["cassfast._core"] = None  # makes 'import cassfast._core' fail like a missing .so
        try:
            import cassfast
        except ImportError as exc:
            print(exc)
    """)
    assert result.returncode == 0, result.stderr
    assert "pip install" in result.stdout and "cassfast._core" in result.stdout
