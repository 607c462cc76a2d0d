"""The typed example program (tests/typing/service_example.py) runs correctly on a real node.

The same file is checked by ``mypy --strict`` and pyright in CI (``.ci/run``, phase "typing");
this test proves that what it type-checks also works: it runs the program in a subprocess (it
sets cqlengine's global default connection) and compares what it read back with what it wrote.

Server: the harness's single Apache Cassandra 5.0 node.  Implementation: cassfast.
"""
import json
import os
import subprocess
import sys
import uuid

import pytest

from _h5_support import contact_of

pytestmark = pytest.mark.integration

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_PROGRAM = os.path.join(_ROOT, "tests", "typing", "service_example.py")


def test_typed_service_example_reads_back_what_it_wrote(cassandra_single):
    points, port = contact_of(cassandra_single)
    keyspace = "typed_" + uuid.uuid4().hex[:10]
    env = dict(os.environ, PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, _PROGRAM, points[0], str(port), keyspace],
                          capture_output=True, text=True, timeout=300, env=env, cwd=_ROOT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    seqs = list(range(10))
    assert summary == {
        "sent": 10,
        "payloads": ["zero", "one", "two", "three"] + [str(i) for i in range(4, 10)],
        "first_seq": 0,
        "paged_seqs": seqs,
        "async_rows": 10,
        "callback_rows": 10,
        "bad_query": "InvalidRequest",
        "async_seqs": seqs + [10],
        "mapped": ["mapped twice"],
        "hosts_up": True,
    }
