"""Object mapper benchmark: cassfast.cqlengine vs cassandra-driver 3.30's cqlengine, same models,
same node, same process.

Workloads: ``read``: iterate a 2,000-row partition into model instances (one page of 5,000);
``get``: ``Model.get(pk)`` of one row, sequentially; ``create``: ``Model.create(...)`` of one row,
sequentially; ``build``: construct and validate 1,000 instances (no I/O).  Each round runs both
mappers back to back (alternating which goes first), so load changes on the shared 2-core
machine hit both; the printed figure is the ratio of medians (reference / cassfast: > 1 means
cassfast is faster).  Numbers are noisy here: repeat runs.  Needs a running node, by default
the harness's single one (``python -m cassfast.testing.cluster start single``) on
127.0.0.1:9042, else CASSFAST_BENCH_HOST / CASSFAST_BENCH_PORT:

    pytest bench/test_bench_cqlengine.py -s
"""
import datetime
import os
import statistics
import time
import uuid

import pytest

HOST = os.environ.get("CASSFAST_BENCH_HOST", "127.0.0.1")
PORT = int(os.environ.get("CASSFAST_BENCH_PORT", "9042"))
os.environ.setdefault("CQLENG_ALLOW_SCHEMA_MANAGEMENT", "1")
KS = "h7_bench_%s" % uuid.uuid4().hex[:6]
ROWS = 2000


def _models(cols, base):
    attrs = {"__keyspace__": KS, "__table_name__": "reading",
             "sensor": cols.Integer(partition_key=True), "seq": cols.Integer(primary_key=True),
             "at": cols.DateTime(), "value": cols.Double(), "label": cols.Text(),
             "tags": cols.Set(cols.Text), "uid": cols.UUID()}
    return type("Reading", (base,), attrs)


@pytest.fixture(scope="module")
def mappers():
    from cassandra.cqlengine import columns as rc, connection as rconn, models as rmodels
    from cassfast.cqlengine import columns, connection, management, models
    points, port = [HOST], PORT
    connection.setup(points, KS, port=port)
    rconn.setup(points, KS, port=port)
    management.create_keyspace_simple(KS, 1)
    mine, ref = _models(columns, models.Model), _models(rc, rmodels.Model)
    management.sync_table(mine)
    base = datetime.datetime(2024, 1, 1)
    for i in range(ROWS):
        mine.create(sensor=1, seq=i, at=base + datetime.timedelta(seconds=i), value=i / 3, label="label %d" % i,
                    tags={"a", "t%d" % (i % 5)}, uid=uuid.UUID(int=i))
    yield {"cassfast": mine, "cassandra-driver": ref}
    management.drop_keyspace(KS)
    rconn.unregister_connection("default")
    connection.unregister_connection("default")


def _read(model):
    rows = list(model.objects(sensor=1).limit(5000).fetch_size(5000))
    assert len(rows) == ROWS


def _get(model):
    for i in range(50):
        assert model.get(sensor=1, seq=i).seq == i


def _create(model):
    for i in range(50):
        model.create(sensor=2, seq=i, value=1.5, label="x", tags={"a"})


def _build(model):
    for i in range(1000):
        model(sensor=3, seq=i, value=1.0, label="l", tags={"a"}, uid=uuid.UUID(int=i)).validate()


def _compare(mappers, fn, rounds):
    times = {name: [] for name in mappers}
    names = list(mappers)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            start = time.perf_counter()
            fn(mappers[name])
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(t) for name, t in times.items()}
    ratio = medians["cassandra-driver"] / medians["cassfast"]
    print("\n%-7s median cassfast %.2f ms, cassandra-driver %.2f ms; ratio of medians %.2fx"
          % (fn.__name__.strip("_"), medians["cassfast"] * 1e3, medians["cassandra-driver"] * 1e3, ratio))
    return ratio


@pytest.mark.parametrize("fn,rounds", [(_read, 15), (_get, 9), (_create, 9), (_build, 15)])
def test_ratio_of_medians(mappers, fn, rounds):
    fn(mappers["cassfast"])  # warm up both (prepared statements, caches)
    fn(mappers["cassandra-driver"])
    assert _compare(mappers, fn, rounds) > 0
