"""Unit tests of the Cassandra test harness: variant shapes, tokens, ring checks, test ordering.

No node is started here; the integration smoke tests (tests/integration/test_harness_*.py) prove
the rendered configuration is accepted by a real Cassandra 5.0.
"""
from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest

from cassfast.testing import _config, _probe

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
_QUIET = ("--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:benchmark")


def _tree(pytester):
    pytester.makeconftest(_CONFTEST.read_text())
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
