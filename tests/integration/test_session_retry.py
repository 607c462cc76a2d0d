"""Retry decisions wired end to end against the real Cassandra node.

Consistency TWO on a one-node cluster makes the coordinator answer UNAVAILABLE (required 2,
alive 1) every time, which exercises the retry path deterministically.  Each test states which
decision the policy returned and what the request must then do.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
import pytest

from cassfast import ConsistencyLevel, Unavailable
from cassfast.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassfast.policies import RetryDecision, RetryPolicy
from cassfast.query import SimpleStatement

from _h5_support import contact_of, new_keyspace

pytestmark = pytest.mark.integration


class RecordingPolicy(RetryPolicy):
    def __init__(self, decision):
        self.decision = decision
        self.calls = []

    def on_unavailable(self, query, consistency_level, required_replicas, alive_replicas, retry_num):
        self.calls.append((query, consistency_level, required_replicas, alive_replicas, retry_num))
        return self.decision if retry_num == 0 else (RetryDecision.RETHROW, None)


@pytest.fixture(scope="module")
def cluster(cassandra_single):
    points, port = contact_of(cassandra_single)
    c = Cluster(points, port=port)
    yield c
    c.shutdown()


@pytest.fixture(scope="module")
def session(cluster):
    s = cluster.connect()
    ks = new_keyspace(s)
    s.set_keyspace(ks)
    s.execute("CREATE TABLE kv (k int PRIMARY KEY, v int)")
    s.execute("INSERT INTO kv (k, v) VALUES (1, 11)")
    yield s
    s.execute("DROP KEYSPACE %s" % ks)


def _two(policy):
    return SimpleStatement("SELECT v FROM kv WHERE k = 1", consistency_level=ConsistencyLevel.TWO,
                           retry_policy=policy)


def test_retry_at_a_lower_consistency_succeeds_and_the_policy_saw_the_error(session):
    policy = RecordingPolicy((RetryDecision.RETRY, ConsistencyLevel.ONE))
    stmt = _two(policy)
    assert session.execute(stmt).one().v == 11
    assert policy.calls == [(stmt, ConsistencyLevel.TWO, 2, 1, 0)]


def test_ignore_completes_with_an_empty_result(session):
    policy = RecordingPolicy((RetryDecision.IGNORE, None))
    rs = session.execute(_two(policy))
    assert rs.current_rows == [] and rs.one() is None
    assert len(policy.calls) == 1


def test_rethrow_raises_the_server_error(session):
    policy = RecordingPolicy((RetryDecision.RETHROW, None))
    with pytest.raises(Unavailable) as exc:
        session.execute(_two(policy))
    assert exc.value.required_replicas == 2 and exc.value.alive_replicas == 1


def test_retry_next_host_with_no_other_host_raises_no_host_available(session):
    policy = RecordingPolicy((RetryPolicy.RETRY_NEXT_HOST, None))
    with pytest.raises(NoHostAvailable) as exc:
        session.execute(_two(policy))
    assert [type(e) for e in exc.value.errors.values()] == [Unavailable]


def test_retry_on_the_same_host_is_asked_again_with_the_retry_count(session):
    class Twice(RecordingPolicy):
        def on_unavailable(self, query, consistency_level, required_replicas, alive_replicas, retry_num):
            self.calls.append(retry_num)
            if retry_num < 2:
                return RetryDecision.RETRY, None  # same consistency: fails again
            return RetryDecision.RETHROW, None
    policy = Twice(None)
    with pytest.raises(Unavailable):
        session.execute(_two(policy))
    assert policy.calls == [0, 1, 2]


def test_profile_retry_policy_applies_when_the_statement_has_none(cassandra_single):
    points, port = contact_of(cassandra_single)
    policy = RecordingPolicy((RetryDecision.RETRY, ConsistencyLevel.ONE))
    profile = ExecutionProfile(retry_policy=policy, consistency_level=ConsistencyLevel.TWO)
    with Cluster(points, port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile}) as cluster:
        session = cluster.connect()
        row = session.execute("SELECT release_version FROM system.local WHERE key = 'local'").one()
        assert row.release_version.startswith("5.")
    # system.local is LocalStrategy: TWO is only "unavailable" for replicated keyspaces, so the
    # policy may or may not have been asked; with a replicated keyspace it must be.
    with Cluster(points, port=port, execution_profiles={EXEC_PROFILE_DEFAULT: profile}) as cluster:
        session = cluster.connect()
        session.execute("SELECT * FROM system_auth.roles")
    assert policy.calls and policy.calls[-1][1:] == (ConsistencyLevel.TWO, 2, 1, 0)


def test_default_retry_policy_rethrows(session):
    # The seed makes FallthroughRetryPolicy the default: the error surfaces unchanged.
    with pytest.raises(Unavailable):
        session.execute(SimpleStatement("SELECT v FROM kv WHERE k = 1", consistency_level=ConsistencyLevel.TWO))
