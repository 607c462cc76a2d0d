"""cqlengine against the real node: model round trips for every column type (read back by
cassandra-driver 3.30 as an independent decoder), filtering, ordering and paging over hundreds
of rows, batches, lightweight transactions, user-defined types, counters and TTLs.

Server: the harness's single Apache Cassandra 5.0 node.  Each module uses its own keyspace."""
import datetime
import decimal
import ipaddress
import os
import uuid

import pytest

from cassfast import ConsistencyLevel, util
from cassfast.cqlengine import ValidationError, columns, connection, management, usertype
from cassfast.cqlengine.functions import MaxTimeUUID, MinTimeUUID, Token
from cassfast.cqlengine.models import Model
from cassfast.cqlengine.query import BatchQuery, LWTException

pytestmark = pytest.mark.integration

os.environ.setdefault("CQLENG_ALLOW_SCHEMA_MANAGEMENT", "1")
KS = "h7_cqle_%s" % uuid.uuid4().hex[:8]


class Address(usertype.UserType):
    __type_name__ = "address_h7"
    street = columns.Text()
    number = columns.Integer()


class Contact(usertype.UserType):
    name = columns.Text()
    home = columns.UserDefinedType(Address)
    phones = columns.List(columns.Text)


class AllTypes(Model):
    __keyspace__ = KS
    id = columns.UUID(primary_key=True, default=uuid.uuid4)
    text = columns.Text()
    ascii = columns.Ascii()
    integer = columns.Integer()
    bigint = columns.BigInt()
    smallint = columns.SmallInt()
    tinyint = columns.TinyInt()
    varint = columns.VarInt()
    float_ = columns.Float(db_field="float_col")
    double = columns.Double()
    decimal_ = columns.Decimal(db_field="decimal_col")
    boolean = columns.Boolean()
    datetime_ = columns.DateTime(db_field="ts")
    date = columns.Date()
    time = columns.Time()
    duration = columns.Duration()
    timeuuid = columns.TimeUUID()
    blob = columns.Blob()
    inet = columns.Inet()
    list_ = columns.List(columns.Integer, db_field="l")
    set_ = columns.Set(columns.Text, db_field="s")
    map_ = columns.Map(columns.Text, columns.List(columns.Integer), db_field="m")
    tuple_ = columns.Tuple(columns.Integer, columns.Text, columns.Boolean, db_field="tup")
    contact = columns.UserDefinedType(Contact)


class Event(Model):
    __keyspace__ = KS
    day = columns.Integer(partition_key=True)
    seq = columns.Integer(primary_key=True, clustering_order="DESC")
    kind = columns.Text(index=True)
    payload = columns.Text()
    tags = columns.Set(columns.Text)
    note = columns.Text(static=True)


class Hits(Model):
    __keyspace__ = KS
    page = columns.Text(primary_key=True)
    views = columns.Counter()
    clicks = columns.Counter()


class Account(Model):
    __keyspace__ = KS
    name = columns.Text(primary_key=True)
    balance = columns.Integer()
    owner = columns.Text()


class Session_(Model):
    __keyspace__ = KS
    __table_name__ = "sessions"
    __default_ttl__ = 3000
    token = columns.Text(primary_key=True)
    user = columns.Text()


class Timeline(Model):
    __keyspace__ = KS
    user = columns.Text(partition_key=True)
    at = columns.TimeUUID(primary_key=True)
    text = columns.Text()


@pytest.fixture(scope="module")
def node(cassandra_single):
    return list(cassandra_single.contact_points), cassandra_single.port


@pytest.fixture(scope="module")
def cqlengine(node):
    points, port = node
    connection.setup(points, KS, port=port, protocol_version=5)
    management.create_keyspace_simple(KS, 1)
    for m in (AllTypes, Event, Hits, Account, Session_, Timeline):
        management.sync_table(m)
    yield connection.get_session()
    management.drop_keyspace(KS)
    connection.unregister_connection("default")


@pytest.fixture(scope="module")
def reference_session(node):
    """cassandra-driver's own Session: the independent reader of what cassfast wrote."""
    from cassandra.cluster import Cluster as RefCluster
    points, port = node
    cluster = RefCluster(points, port=port)
    session = cluster.connect()
    yield session
    cluster.shutdown()


def _full_row(**overrides):
    values = dict(
        text="héllo", ascii="plain", integer=-2 ** 31, bigint=2 ** 63 - 1, smallint=-32768, tinyint=127,
        varint=-(10 ** 30), float_=1.5, double=-2.25e300, decimal_=decimal.Decimal("-12345.678901234567890"),
        boolean=True, datetime_=datetime.datetime(2021, 12, 31, 23, 59, 58, 123000),
        date=datetime.date(1969, 7, 20), time=util.Time(datetime.time(13, 14, 15, 999999)),
        duration=util.Duration(1, 2, 3_000_000_004), timeuuid=uuid.uuid1(), blob=b"\x00\xff\x10",
        inet="2001:db8::1", list_=[3, 1, 3], set_={"b", "a"}, map_={"k": [1, 2], "e": []},
        tuple_=(7, "seven", False),
        contact=Contact(name="ann", home=Address(street="Main", number=5), phones=["1", "2"]))
    values.update(overrides)
    return values


def test_every_column_type_round_trips(cqlengine):
    values = _full_row()
    created = AllTypes.create(**values)
    loaded = AllTypes.get(id=created.id)
    for name, expected in values.items():
        assert getattr(loaded, name) == expected, name
    assert isinstance(loaded.contact, Contact) and isinstance(loaded.contact.home, Address)


def test_values_written_by_cassfast_decode_identically_in_cassandra_driver(cqlengine, reference_session):
    created = AllTypes.create(**_full_row(list_=[9], map_={"z": [0]}))
    row = reference_session.execute("SELECT * FROM %s.all_types WHERE id = %%s" % KS, (created.id,)).one()
    assert row.text == created.text and row.ascii == created.ascii
    assert (row.integer, row.bigint, row.smallint, row.tinyint, row.varint) == \
        (created.integer, created.bigint, created.smallint, created.tinyint, created.varint)
    assert row.float_col == created.float_ and row.double == created.double and row.decimal_col == created.decimal_
    assert row.ts == created.datetime_ and row.date.date() == created.date
    assert row.time.nanosecond_time == created.time.nanosecond_time
    assert (row.duration.months, row.duration.days, row.duration.nanoseconds) == (1, 2, 3_000_000_004)
    assert row.timeuuid == created.timeuuid and row.blob == created.blob
    assert ipaddress.ip_address(row.inet) == ipaddress.ip_address(created.inet)
    assert row.l == [9] and set(row.s) == created.set_ and dict(row.m) == {"z": [0]}
    assert row.tup == created.tuple_
    assert row.contact.name == "ann" and row.contact.home.street == "Main" and row.contact.phones == ["1", "2"]


def test_nulls_defaults_and_partial_updates(cqlengine, reference_session):
    obj = AllTypes.create(text="only text")
    loaded = AllTypes.get(id=obj.id)
    assert loaded.integer is None and loaded.list_ == [] and loaded.map_ == {}
    loaded.update(integer=5, text=None)
    row = reference_session.execute("SELECT text, integer FROM %s.all_types WHERE id = %%s" % KS, (obj.id,)).one()
    assert row.text is None and row.integer == 5
    loaded.list_.append(4)
    loaded.save()
    assert AllTypes.get(id=obj.id).list_ == [4]
    with pytest.raises(ValidationError):
        loaded.update(id=uuid.uuid4())
    with pytest.raises(ValidationError):
        AllTypes.create(integer=2 ** 40)


@pytest.fixture(scope="module")
def events(cqlengine):
    for day in (1, 2):
        with BatchQuery() as b:
            for seq in range(150):
                Event.batch(b).create(day=day, seq=seq, kind="odd" if seq % 2 else "even",
                                      payload="p%d" % seq, tags={"t%d" % (seq % 3)})
    return 300


def test_filtering_ordering_and_paging(events):
    qs = Event.objects.filter(day=1).fetch_size(17)
    seqs = [e.seq for e in qs]
    assert seqs == list(range(149, -1, -1))  # CLUSTERING ORDER DESC, read across 9 pages
    assert qs.count() == 150 and len(qs) == 150
    assert [e.seq for e in Event.objects(day=1, seq__gte=10, seq__lt=15).order_by("seq")] == [10, 11, 12, 13, 14]
    assert [e.seq for e in Event.objects(day=1, seq__in=[3, 99, 500])] == [99, 3]
    assert Event.objects(day=1).limit(5).count() == 5
    assert [e.seq for e in Event.objects(day=1).limit(3)] == [149, 148, 147]
    assert Event.objects(day=2)[10].seq == 139 and [e.seq for e in Event.objects(day=2)[1:3]] == [148, 147]
    assert Event.objects(day=1).first().seq == 149
    assert Event.objects(kind="odd").count() == 150  # secondary index
    assert Event.objects(day=1, tags__contains="t0").allow_filtering().count() == 50
    assert Event.objects(day=1).values_list("seq", flat=True).limit(2)[:] == [149, 148]
    assert Event.objects(day=1, seq=7).values_list("seq", "kind").get() == [7, "odd"]
    only = Event.objects(day=1, seq=7).only(["kind"]).get()
    assert only.kind == "odd" and only.payload is None
    deferred = Event.objects(day=1, seq=7).defer(["payload"]).get()
    assert deferred.payload is None and deferred.kind == "odd"
    assert sorted(r.day for r in Event.objects.distinct()) == [1, 2]
    assert Event.objects(Event.day == 2, Event.seq > 147).count() == 2


def test_get_raises_model_specific_errors(events):
    with pytest.raises(Event.DoesNotExist):
        Event.get(day=1, seq=1000)
    with pytest.raises(Event.MultipleObjectsReturned):
        Event.objects(day=1, seq__lt=3).get()


def test_token_paging_walks_every_partition_once(events):
    seen = []
    page = list(Event.objects.distinct().limit(1))
    while page:
        seen.append(page[0].day)
        page = list(Event.objects.distinct().filter(pk__token__gt=Token(page[0].day)).limit(1))
    assert sorted(seen) == [1, 2]


def test_queryset_update_delete_and_static_columns(events):
    Event.objects(day=2, seq=5).update(payload="changed", tags__add={"new"})
    got = Event.get(day=2, seq=5)
    assert got.payload == "changed" and "new" in got.tags
    Event.objects(day=2, seq=5).update(tags__remove={"new"})
    assert "new" not in Event.get(day=2, seq=5).tags
    e = Event.get(day=2, seq=6)
    e.note = "shared by the partition"
    e.save()
    assert {x.note for x in Event.objects(day=2)} == {"shared by the partition"}
    Event.objects(day=2, seq=6).delete()
    assert Event.objects(day=2, seq=6).count() == 0
    Event.objects(day=2, seq=7).delete(columns=["payload"])
    assert Event.get(day=2, seq=7).payload is None


def test_batch_runs_only_on_clean_exit_and_calls_back(cqlengine):
    calls = []
    with pytest.raises(RuntimeError):
        with BatchQuery() as b:
            Account.batch(b).create(name="b1", balance=1)
            raise RuntimeError("abort")
    assert Account.objects(name="b1").count() == 0
    with BatchQuery(execute_on_exception=True) as b:
        b.add_callback(calls.append, "done")
        Account.batch(b).create(name="b2", balance=2)
        Account.objects(name="b2").batch(b).update(owner="x")
        assert calls == [] and Account.objects(name="b2").count() == 0  # nothing sent yet
    assert calls == ["done"]
    assert Account.get(name="b2").owner == "x"


def test_batch_timestamp_orders_writes(cqlengine, reference_session):
    now = datetime.datetime.now(datetime.timezone.utc)
    with BatchQuery(timestamp=now + datetime.timedelta(seconds=30)) as b:
        Account.batch(b).create(name="ts", balance=1)
    Account.timestamp(now).create(name="ts", balance=2)  # older: loses to the batch's write
    assert Account.get(name="ts").balance == 1
    wt = reference_session.execute("SELECT WRITETIME(balance) AS w FROM %s.account WHERE name = 'ts'" % KS).one().w
    expected = int((now + datetime.timedelta(seconds=30)).timestamp() * 1_000_000)
    assert abs(wt - expected) <= 1


def test_lightweight_transactions(cqlengine):
    Account.if_not_exists().create(name="lwt", balance=10)
    with pytest.raises(LWTException) as info:
        Account.if_not_exists().create(name="lwt", balance=99)
    assert info.value.existing["balance"] == 10 and info.value.existing["[applied]"] is False
    acct = Account.get(name="lwt")
    acct.iff(balance=10).update(balance=20)
    with pytest.raises(LWTException):
        acct.iff(balance=10).update(balance=30)
    assert Account.get(name="lwt").balance == 20
    Account.objects(name="lwt").iff(balance__gt=15).update(owner="o")
    assert Account.get(name="lwt").owner == "o"
    with pytest.raises(LWTException):
        Account.objects(name="ghost").if_exists().update(balance=1)
    with pytest.raises(LWTException):
        Account(name="ghost").if_exists().delete()
    Account.get(name="lwt").if_exists().delete()
    assert Account.objects(name="lwt").count() == 0


def test_counters(cqlengine):
    h = Hits(page="/")
    h.views += 3
    h.save()
    h.views += 2
    h.clicks -= 1
    h.save()
    got = Hits.get(page="/")
    assert (got.views, got.clicks) == (5, -1)
    Hits.objects(page="/").update(views=10, clicks=-4)  # a counter's update value is a delta
    got = Hits.get(page="/")
    assert (got.views, got.clicks) == (15, -5)
    with BatchQuery() as b:  # counter-only batch: sent as a COUNTER batch
        Hits.objects(page="/a").batch(b).update(views=1)
        Hits.objects(page="/b").batch(b).update(views=2)
    assert sorted((x.page, x.views) for x in Hits.objects(page__in=["/a", "/b"])) == [("/a", 1), ("/b", 2)]


def test_ttl(cqlengine, reference_session):
    Account.ttl(500).create(name="t1", balance=1)
    acct = Account.get(name="t1")
    acct.ttl(200).update(owner="x")
    Session_.create(token="abc", user="u")
    ttl = lambda table, col, key, name: reference_session.execute(
        "SELECT TTL(%s) AS t FROM %s.%s WHERE \"%s\" = %%s" % (col, KS, table, name), (key,)).one().t
    assert 490 <= ttl("account", "balance", "t1", "name") <= 500
    assert 190 <= ttl("account", "owner", "t1", "name") <= 200
    assert 2990 <= ttl("sessions", "user", "abc", "token") <= 3000  # __default_ttl__
    Account.ttl(1).create(name="t2", balance=1)
    import time
    deadline = time.monotonic() + 10
    while Account.objects(name="t2").count() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert Account.objects(name="t2").count() == 0


def test_timeuuid_functions(cqlengine):
    base = datetime.datetime(2022, 1, 1, 12, 0, 0)
    for minutes in range(5):
        Timeline.create(user="u", at=util.uuid_from_time(base + datetime.timedelta(minutes=minutes)), text=str(minutes))
    window = Timeline.objects(user="u", at__gte=MinTimeUUID(base + datetime.timedelta(minutes=1)),
                              at__lte=MaxTimeUUID(base + datetime.timedelta(minutes=3)))
    assert sorted(t.text for t in window) == ["1", "2", "3"]


def test_udt_values_are_registered_classes_and_fields_can_be_added(cqlengine):
    obj = AllTypes.create(contact=Contact(name="bob", home=Address(street="Elm", number=1)))
    got = AllTypes.get(id=obj.id).contact
    assert got == Contact(name="bob", home=Address(street="Elm", number=1))

    class Address2(usertype.UserType):
        __type_name__ = "address_h7"
        street = columns.Text()
        number = columns.Integer()
        zip = columns.Text()
    management.sync_type(KS, Address2)
    fields = [r["field_names"] for r in connection.execute(
        "SELECT field_names FROM system_schema.types WHERE keyspace_name = %s AND type_name = 'address_h7'",
        (KS,))][0]
    assert list(fields) == ["street", "number", "zip"]


def test_consistency_and_keyspace_options(cqlengine):
    Account.consistency(ConsistencyLevel.ALL).create(name="cl", balance=1)
    assert Account.objects(name="cl").consistency(ConsistencyLevel.ONE).get().balance == 1
    assert Account.objects(name="cl").timeout(None).get().balance == 1  # None: wait without limit
    Account.timeout(5.0).create(name="cl", balance=2)
    assert Account.objects(name="cl").timeout(5.0).get().balance == 2
    other = KS + "_b"
    management.create_keyspace_simple(other, 1)
    try:
        management.sync_table(Account, keyspaces=[other])
        Account.using(keyspace=other).create(name="elsewhere", balance=3)
        assert Account.objects.using(keyspace=other).filter(name="elsewhere").get().balance == 3
        assert Account.objects(name="elsewhere").count() == 0
        moved = Account.objects.using(keyspace=other).get(name="elsewhere")
        moved.update(balance=4)  # saved back to the keyspace it was read from
        assert Account.objects.using(keyspace=other).get(name="elsewhere").balance == 4
        assert Account.objects(name="elsewhere").count() == 0
    finally:
        management.drop_keyspace(other)


class Profile(Model):
    __keyspace__ = KS
    id = columns.Integer(primary_key=True)
    tags = columns.Set(columns.Text)
    prefs = columns.Map(columns.Text, columns.Integer)
    history = columns.List(columns.Integer)


def test_saving_a_loaded_collection_changes_only_its_elements(cqlengine):
    management.sync_table(Profile)
    Profile.create(id=1, tags={"a", "b"}, prefs={"x": 1, "y": 2}, history=[2, 3])
    mine = Profile.get(id=1)
    # Another client changes other elements after we loaded the row...
    Profile.objects(id=1).update(tags__add={"theirs"}, prefs__update={"theirs": 9}, history__append=[99])
    mine.tags.discard("a")
    mine.tags.add("c")
    mine.prefs["x"] = 10
    del mine.prefs["y"]
    mine.history.insert(0, 1)  # a prepend
    mine.save()
    got = Profile.get(id=1)
    assert got.tags == {"b", "c", "theirs"}
    assert got.prefs == {"x": 10, "theirs": 9}
    assert got.history == [1, 2, 3, 99]
    got.history = [7]  # not a prefix/suffix change: replaced whole
    got.save()
    assert Profile.get(id=1).history == [7]
    got.tags = set()
    got.save()
    assert Profile.get(id=1).tags == set()


def test_udt_columns_read_without_registration_still_give_the_class(cqlengine, node, monkeypatch):
    """A process that never ran sync_type gets the driver's own UDT values; the column converts."""
    from collections import defaultdict
    created = AllTypes.create(contact=Contact(name="zoe", home=Address(street="Oak", number=3), phones=["9"]))
    monkeypatch.setattr(connection, "udt_by_keyspace", defaultdict(dict))
    points, port = node
    connection.register_connection("fresh", hosts=points, cluster_options={"port": port})
    try:
        got = AllTypes.objects.using(connection="fresh").get(id=created.id).contact
        assert isinstance(got, Contact) and isinstance(got.home, Address)
        assert got == Contact(name="zoe", home=Address(street="Oak", number=3), phones=["9"])
    finally:
        connection.unregister_connection("fresh")


def test_models_are_usable_from_many_threads(cqlengine):
    import threading
    errors = []

    def work(t):
        try:
            for i in range(40):
                Account.create(name="thread-%d-%d" % (t, i), balance=i)
                assert Account.get(name="thread-%d-%d" % (t, i)).balance == i
        except Exception as exc:  # collected and asserted below, in the test's thread
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    names = ["thread-%d-%d" % (t, i) for t in range(8) for i in range(40)]
    assert Account.objects(name__in=names).count() == 320
