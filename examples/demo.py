"""cassfast demo: start a local Cassandra, then use the driver's public API against it.

Run from a checkout (after ``pip install -e '.[test]'``):

    python examples/demo.py

It starts (or reuses) the project's single-node Cassandra 5.0 on 127.0.0.1 through
``cassfast.testing.cluster``, then connects with cassfast, creates a keyspace and a table, writes
and reads rows with simple, prepared and batch statements, pages through a result, runs a
lightweight transaction, and prints the policies in use.  Pass ``--stop`` to stop the node at
the end (by default it is left running for the next run).
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid


def start_cassandra():
    from cassfast.testing.cluster import CassandraCluster

    started = time.monotonic()
    node = CassandraCluster("single")
    node.start()  # reuses a node that is already up and healthy
    print("Cassandra ready at %s:%d (%.1fs)" % (node.contact_points[0], node.port, time.monotonic() - started))
    return node


def run(contact_points, port):
    from cassfast.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassfast.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy, RetryPolicy
    from cassfast.query import BatchStatement, SimpleStatement, dict_factory
    from cassfast import ConsistencyLevel

    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        consistency_level=ConsistencyLevel.LOCAL_ONE,
    )
    with Cluster(contact_points=contact_points, port=port,
                 execution_profiles={EXEC_PROFILE_DEFAULT: profile}) as cluster:
        session = cluster.connect()
        print("Connected to cluster %r with protocol v%d" % (cluster.metadata.cluster_name, cluster.protocol_version))
        for host in cluster.metadata.all_hosts():
            print("  host %s  dc=%s rack=%s  version=%s" % (host.address, host.datacenter, host.rack, host.release_version))
        print("Policies in use:")
        print("  load balancing: %s" % (type(profile.load_balancing_policy).__name__ + "(" + type(profile.load_balancing_policy.child_policy).__name__ + ")",))
        print("  retry:          %s" % type(cluster.default_retry_policy or RetryPolicy()).__name__)
        print("  reconnection:   %s" % type(cluster.reconnection_policy).__name__)

        session.execute("CREATE KEYSPACE IF NOT EXISTS cassfast_demo WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.set_keyspace("cassfast_demo")
        session.execute("CREATE TABLE IF NOT EXISTS users (id uuid PRIMARY KEY, name text, "
                        "age int, emails set<text>, scores map<text, int>)")
        session.execute("TRUNCATE users")

        insert = session.prepare("INSERT INTO users (id, name, age, emails, scores) VALUES (?, ?, ?, ?, ?)")
        ids = []
        for i in range(200):
            uid = uuid.uuid4()
            ids.append(uid)
            session.execute(insert, (uid, "user%03d" % i, 20 + i % 50, {"u%d@example.com" % i}, {"level": i}))
        batch = BatchStatement()
        for i in range(5):
            batch.add(insert, (uuid.uuid4(), "batched%d" % i, 30, set(), {}))
        session.execute(batch)
        print("Wrote 205 rows (200 prepared inserts, one logged batch of 5)")

        row = session.execute("SELECT name, age, emails, scores FROM users WHERE id = %s", (ids[7],)).one()
        print("Read back one row: %s" % (row,))

        paged = SimpleStatement("SELECT id, name FROM users", fetch_size=50)
        count = sum(1 for _ in session.execute(paged))
        print("Paged through %d rows, 50 per page" % count)

        lwt = session.execute("INSERT INTO users (id, name) VALUES (%s, %s) IF NOT EXISTS", (ids[0], "dup"))
        print("LWT insert of an existing id applied? %s" % lwt.was_applied)

        session.row_factory = dict_factory
        print("As a dict: %s" % session.execute("SELECT name, age FROM users WHERE id = %s", (ids[1],)).one())
        session.execute("DROP KEYSPACE cassfast_demo")
    print("Done.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stop", action="store_true", help="stop the Cassandra node afterwards")
    args = parser.parse_args(argv)
    info = start_cassandra()
    try:
        run(info.contact_points, info.port)
    finally:
        if args.stop:
            info.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
