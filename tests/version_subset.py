"""The integration tests that run on every Cassandra release CI checks, kept in one place.

CI runs the whole suite on Cassandra 5.0 and, on the older releases, the tests marked here
(tests/conftest.py adds the markers):

- ``versions``: on 4.1 and 4.0, connection, discovery, every CQL type across both drivers,
  paging, batches, LWT, prepared statements and their re-preparation, metadata and token-aware
  routing (three nodes), authentication, TLS;
- ``versions_3_11``: on 3.11, connect, discover and query.

``pytest -m versions`` with ``CASSFAST_CASSANDRA_VERSION=4.1`` runs the first on 4.1.10.

A test in these files that needs a newer server than the one running says so with
``@pytest.mark.cassandra_min("5.0", reason="...")`` (on a ``pytest.param`` for one case): it is
then not run, and the end of the pytest output lists it with the reason, so nothing is skipped
without a word.  The files not listed run on 5.0 only: they test driver-side behaviour that
does not depend on the server release (pools, lanes, policies, retries, metrics, cqlengine,
topology changes, the harness's failure paths), or count connections and requests through
``system_views.clients``, whose columns differ between releases.
"""
from __future__ import annotations

#: Files under tests/integration/ making up the ``versions`` subset (4.1, 4.0).
SUBSET = (
    # connection: negotiation, compression, segments; the harness's promises
    "test_harness_single.py",
    "test_cluster_lifecycle.py",
    "test_wire_protocol.py",
    # discovery, events, metadata, token-aware routing on three nodes in two datacenters
    "test_harness_cluster3.py",
    "test_cluster_events.py",
    "test_cluster_topology.py",
    "test_metadata_cluster3.py",
    "test_crossdriver_routing.py",
    # every CQL type across both drivers, rows, paging, batches, LWT, prepared and re-prepare
    "test_crossdriver_types.py",
    "test_crossdriver_rows.py",
    "test_crossdriver_paging.py",
    "test_crossdriver_statements.py",
    "test_session_queries.py",
    # authentication (and TLS, which shares the security module)
    "test_harness_auth.py",
    "test_auth_cassfast.py",
    "test_harness_tls.py",
    "test_cluster_security.py",
)

#: Files making up the ``versions_3_11`` subset: connect, discover, query.
SUBSET_3_11 = (
    "test_harness_single.py",
    "test_cluster_lifecycle.py",
    "test_session_queries.py",
    "test_harness_cluster3.py",
)
