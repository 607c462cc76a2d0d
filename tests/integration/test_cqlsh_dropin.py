"""cqlsh (the PyPI package of Cassandra's shell) runs on cassfast through install_as_cassandra().

cqlsh installs its driver hooks at start (``insert_driver_hooks``: ``DateType.deserialize``
replaced to show timestamps beyond year 9999 as milliseconds, ``support_empty_values``); the
values below are written by cqlsh itself and read back by it, on the single node, once on the
reference driver and once on cassfast; the printed tables must be the same.
"""
import subprocess
import sys
import textwrap
import uuid

import pytest

pytestmark = pytest.mark.integration

YEAR_10000_MS = 253402300800000

RUN_CQLSH = textwrap.dedent("""
    import sys
    if sys.argv[1] == "cassfast":
        import cassfast
        cassfast.install_as_cassandra()
    import cassandra, cqlshlib.cqlshmain
    print("driver:", cassandra.__name__, cqlshlib.cqlshmain.cassandra.__name__)
    from cqlshlib.__main__ import main
    sys.argv = ["cqlsh"] + sys.argv[2:]
    sys.exit(main())
""")


def cqlsh(driver, node, cql):
    host, port = node.contact_points[0], node.port
    result = subprocess.run(
        [sys.executable, "-c", RUN_CQLSH, driver, "--connect-timeout", "60", "--request-timeout", "60",
         host, str(port), "-e", cql], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_cqlsh_shows_out_of_range_timestamps_as_milliseconds_on_both_drivers(cassandra_single):
    ks = "cqlsh_" + uuid.uuid4().hex[:8]
    cqlsh("cassandra", cassandra_single, (
        "CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};"
        "CREATE TABLE %s.t (k int PRIMARY KEY, ts timestamp, tl list<timestamp>, i int);"
        "INSERT INTO %s.t (k, ts, tl, i) VALUES (1, %d, [%d, 0], 5);"
        "INSERT INTO %s.t (k, ts) VALUES (2, '2024-02-29 12:30:45.123+0000');"
    ) % (ks, ks, ks, YEAR_10000_MS, YEAR_10000_MS, ks))
    try:
        select = "SELECT * FROM %s.t;" % ks
        reference = cqlsh("cassandra", cassandra_single, select)
        ours = cqlsh("cassfast", cassandra_single, select)
        assert reference.stdout.splitlines()[0] == "driver: cassandra cassandra"
        assert ours.stdout.splitlines()[0] == "driver: cassfast cassfast"
        table = ours.stdout.splitlines()[1:]
        assert table == reference.stdout.splitlines()[1:]
        row1 = next(line for line in table if line.strip().startswith("1 |"))
        assert row1.split("|")[3].strip() == str(YEAR_10000_MS)
        assert "['%d', '1970-01-01 00:00:00.000000+0000']" % YEAR_10000_MS in row1
        assert any("2024-02-29 12:30:45.123000+0000" in line for line in table)
        assert "(2 rows)" in table
        assert "DateOverFlowWarning" in ours.stderr
        # cqlsh's trace display reads system_traces (timestamps and timeuuids) under its hooks
        traced = cqlsh("cassfast", cassandra_single, "TRACING ON; SELECT k FROM %s.t WHERE k = 2;" % ks)
        assert "Unable to fetch query trace" not in traced.stdout + traced.stderr
        assert "Request complete" in traced.stdout
    finally:
        cqlsh("cassandra", cassandra_single, "DROP KEYSPACE %s;" % ks)
