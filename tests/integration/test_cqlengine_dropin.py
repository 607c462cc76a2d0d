"""A program written for cassandra-driver's cqlengine runs unmodified on cassfast after
``cassfast.install_as_cassandra()``: the same script is run in two subprocesses, once on
cassandra-driver 3.30 and once on cassfast, and must print the same thing."""
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

pytestmark = pytest.mark.integration

PROGRAM = textwrap.dedent('''
    import datetime, os, sys, uuid
    from cassandra import ConsistencyLevel
    from cassandra.cqlengine import columns, connection, management, ValidationError
    from cassandra.cqlengine.models import Model
    from cassandra.cqlengine.usertype import UserType
    from cassandra.cqlengine.query import BatchQuery, BatchType, ContextQuery, LWTException, DoesNotExist

    host, port, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    class Address(UserType):
        street = columns.Text()
        zipcode = columns.Integer()

    class User(Model):
        __keyspace__ = ks
        org = columns.Text(partition_key=True)
        username = columns.Text(primary_key=True)
        age = columns.Integer()
        emails = columns.Set(columns.Text)
        prefs = columns.Map(columns.Text, columns.Text)
        address = columns.UserDefinedType(Address)
        joined = columns.DateTime(default=lambda: datetime.datetime(2020, 5, 17, 1, 2, 3))

    class Kinds(Model):
        __keyspace__ = ks
        k = columns.Integer(primary_key=True)
        d = columns.Date()
        t = columns.Time()
        dec = columns.Decimal()
        dur = columns.Duration()
        tup = columns.Tuple(columns.Integer, columns.Text)
        m = columns.Map(columns.Text, columns.List(columns.Integer))
        ts = columns.DateTime()
        tu = columns.TimeUUID()
        ip = columns.Inet()
        vi = columns.VarInt()

    class Visits(Model):
        __keyspace__ = ks
        page = columns.Text(primary_key=True)
        count = columns.Counter()

    connection.setup([host], ks, port=port, protocol_version=4)
    management.create_keyspace_simple(ks, 1)
    management.sync_table(User)
    management.sync_table(Visits)
    management.sync_table(Kinds)
    from cassandra.util import Duration
    Kinds.create(k=1, d=datetime.date(1999, 12, 31), t=datetime.time(23, 59, 59, 5), dec="3.14159",
                 dur=Duration(1, 2, 3), tup=(1, "a"), m={"x": [1, 2]}, ts=datetime.datetime(2001, 2, 3, 4, 5, 6, 7000),
                 tu=uuid.UUID("c9a4d5d6-2e2f-11ed-a261-0242ac120002"), ip="192.168.0.1", vi=-10 ** 25)
    kinds = Kinds.get(k=1)
    print("kinds", [(name, repr(getattr(kinds, name))) for name in kinds.keys()])

    for i in range(120):
        User.create(org="acme", username="u%03d" % i, age=i % 50, emails={"u%d@x" % i},
                    address=Address(street="s%d" % i, zipcode=i))
    with BatchQuery() as b:
        User.batch(b).create(org="other", username="zed", age=7)
        User.batch(b).create(org="other", username="amy", age=9, prefs={"k": "v"})
    print("count", User.objects(org="acme").count(), User.objects(org="other").count())
    print("slice", [u.username for u in User.objects(org="acme").limit(3)])
    print("range", [u.username for u in User.objects(org="acme", username__gte="u050", username__lt="u053")])
    print("desc", [u.username for u in User.objects(org="acme").order_by("-username").limit(2)])
    print("values", list(User.objects(org="other").values_list("username", "age")))
    print("filter", sorted(u.username for u in User.objects(org="acme", age=3).allow_filtering()))
    u = User.get(org="acme", username="u042")
    print("get", u.age, sorted(u.emails), u.address.street, u.address.zipcode, u.joined)
    u.update(age=99, prefs={"a": "b"})
    print("updated", User.get(org="acme", username="u042").age, User.get(org="acme", username="u042").prefs)
    try:
        User.get(org="acme", username="nobody")
    except User.DoesNotExist:
        print("missing ok", issubclass(User.DoesNotExist, DoesNotExist))
    try:
        User.if_not_exists().create(org="acme", username="u001", age=1)
    except LWTException as e:
        print("lwt", e.existing["age"])
    try:
        User.create(org="acme", username="bad", age="not a number")
    except ValidationError:
        print("validation ok")
    v = Visits(page="/")
    v.count += 4
    v.save()
    Visits.objects(page="/").update(count=3)
    print("counter", Visits.get(page="/").count)
    User.objects(org="other", username="zed").delete()
    print("deleted", User.objects(org="other").count())
    print("paged", len(list(User.objects(org="acme").fetch_size(25))))
    print("first", User.objects(org="acme").consistency(ConsistencyLevel.ONE).first().username)
    with BatchQuery(batch_type=BatchType.Unlogged) as b:
        for i in range(3):
            User.batch(b).create(org="unlogged", username="n%d" % i)
    print("unlogged", User.objects(org="unlogged").count())
    management.create_keyspace_simple(ks + "_2", 1)
    management.sync_table(User, keyspaces=[ks + "_2"])
    with ContextQuery(User, keyspace=ks + "_2") as U:
        U.create(org="ctx", username="c")
        print("context", U.objects(org="ctx").count(), User.objects(org="ctx").count())
    management.drop_keyspace(ks + "_2")
    management.drop_keyspace(ks)
''')


def _run(script_path, node, ks, use_cassfast):
    points, port = node
    prelude = "import cassfast; cassfast.install_as_cassandra(); " if use_cassfast else ""
    code = (prelude + "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
            "print('mapper', sys.modules['cassandra.cqlengine.models'].__file__)")
    env = dict(os.environ, CQLENG_ALLOW_SCHEMA_MANAGEMENT="1")
    proc = subprocess.run([sys.executable, "-c", code, str(script_path), points[0], str(port), ks],
                          capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    output, _, mapper_line = proc.stdout.rstrip("\n").rpartition("\n")
    return output, mapper_line


def test_reference_cqlengine_program_runs_unmodified_on_cassfast(cassandra_single, tmp_path):
    script = tmp_path / "app.py"
    script.write_text(PROGRAM)
    node = (list(cassandra_single.contact_points), cassandra_single.port)
    tag = uuid.uuid4().hex[:8]
    expected, ref_mapper = _run(script, node, "h7_dropin_ref_" + tag, use_cassfast=False)
    got, cf_mapper = _run(script, node, "h7_dropin_cf_" + tag, use_cassfast=True)
    for line in ("count 120 2", "counter 7", "unlogged 3", "context 1 0"):  # the program did run
        assert line in expected
    assert "/cassandra/cqlengine/models.py" in ref_mapper
    assert "/cassfast/cqlengine/models.py" in cf_mapper  # ...and cassfast's mapper ran it
    assert got == expected
