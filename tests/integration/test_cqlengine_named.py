"""cqlengine's NamedKeyspace/NamedTable (tables queried by name, columns read from system_schema)
and conditional batches, against the real node."""
import os
import uuid

import pytest

from cassfast.cqlengine import CQLEngineException, columns, connection, management
from cassfast.cqlengine.models import Model
from cassfast.cqlengine.named import NamedKeyspace, ResultObject
from cassfast.cqlengine.query import BatchQuery, LWTException

pytestmark = pytest.mark.integration

os.environ.setdefault("CQLENG_ALLOW_SCHEMA_MANAGEMENT", "1")
KS = "h7_named_%s" % uuid.uuid4().hex[:8]


class Ledger(Model):
    __keyspace__ = KS
    account = columns.Text(partition_key=True)
    entry = columns.Integer(primary_key=True)
    amount = columns.Integer()
    balance = columns.Integer(static=True)


@pytest.fixture(scope="module")
def ledger(cassandra_single):
    connection.setup(list(cassandra_single.contact_points), KS, port=cassandra_single.port)
    management.create_keyspace_simple(KS, 1)
    management.sync_table(Ledger)
    for i in range(20):
        Ledger.create(account="a", entry=i, amount=i * 10)
    yield
    management.drop_keyspace(KS)
    connection.unregister_connection("default")


def test_named_table_reads_rows_as_result_objects(ledger):
    table = NamedKeyspace(KS).table("ledger")
    assert list(table._partition_keys) == ["account"] and list(table._clustering_keys) == ["entry"]
    rows = table.objects.filter(account="a", entry__lt=3)[:]
    assert [type(r) for r in rows] == [ResultObject] * 3
    assert [(r.entry, r["amount"]) for r in rows] == [(0, 0), (1, 10), (2, 20)]
    assert table.objects.filter(table.column("account") == "a", table.column("entry") >= 15).count() == 5
    assert table.get(account="a", entry=7).amount == 70
    assert table.objects.filter(account="a").values_list("entry", flat=True).limit(2)[:] == [0, 1]
    table.objects.filter(account="a", entry=19).update(amount=-1)
    assert Ledger.get(account="a", entry=19).amount == -1
    with pytest.raises(table.DoesNotExist):
        table.get(account="a", entry=999)
    with pytest.raises(CQLEngineException, match="does not exist"):
        list(NamedKeyspace(KS).table("no_such_table").objects.filter(x=1))


def test_conditional_batch_applies_all_or_nothing(ledger):
    with BatchQuery() as b:
        Ledger.batch(b).if_not_exists().create(account="b", entry=1, amount=5)
        Ledger.batch(b).create(account="b", entry=2, amount=6)
    assert Ledger.objects(account="b").count() == 2
    with pytest.raises(LWTException) as info:
        with BatchQuery() as b:
            Ledger.batch(b).if_not_exists().create(account="b", entry=1, amount=500)
            Ledger.batch(b).create(account="b", entry=3, amount=7)
    assert info.value.existing["[applied]"] is False
    assert Ledger.objects(account="b").count() == 2  # the unconditional write was not applied either
    assert Ledger.get(account="b", entry=1).amount == 5
