"""cqlengine polymorphic models (``discriminator_column`` / ``__discriminator_value__``) on the
real node: subclasses share the base's table, reads through the base build the right subclass,
reads through a subclass only see its rows."""
import os
import uuid

import pytest

from cassfast.cqlengine import columns, connection, management
from cassfast.cqlengine.models import Model, PolymorphicModelException

pytestmark = pytest.mark.integration

os.environ.setdefault("CQLENG_ALLOW_SCHEMA_MANAGEMENT", "1")
KS = "h7_poly_%s" % uuid.uuid4().hex[:8]


class Pet(Model):
    __keyspace__ = KS
    owner = columns.UUID(partition_key=True)
    pet_id = columns.UUID(primary_key=True, default=uuid.uuid4)
    kind = columns.Text(discriminator_column=True, index=True)
    name = columns.Text()


class Cat(Pet):
    __discriminator_value__ = "cat"
    lives = columns.Integer(default=9)


class Dog(Pet):
    __discriminator_value__ = "dog"
    tricks = columns.List(columns.Text)


@pytest.fixture(scope="module")
def pets(cassandra_single):
    connection.setup(list(cassandra_single.contact_points), KS, port=cassandra_single.port)
    management.create_keyspace_simple(KS, 1)
    for model in (Pet, Cat, Dog):
        management.sync_table(model)
    owner = uuid.uuid4()
    Cat.create(owner=owner, name="tom", lives=7)
    Dog.create(owner=owner, name="rex", tricks=["sit"])
    Dog.create(owner=owner, name="ace")
    yield owner
    management.drop_keyspace(KS)
    connection.unregister_connection("default")


def test_subclasses_share_the_base_table(pets):
    assert Cat.column_family_name() == Dog.column_family_name() == Pet.column_family_name()
    cols = {r["column_name"] for r in connection.execute(
        "SELECT column_name FROM system_schema.columns WHERE keyspace_name = %s AND table_name = 'pet'", (KS,))}
    assert cols == {"owner", "pet_id", "kind", "name", "lives", "tricks"}


def test_base_queries_build_each_row_as_its_subclass(pets):
    got = sorted((type(p).__name__, p.name) for p in Pet.objects(owner=pets))
    assert got == [("Cat", "tom"), ("Dog", "ace"), ("Dog", "rex")]
    rex = Pet.objects(owner=pets, kind="dog", name="rex").allow_filtering().get()
    assert isinstance(rex, Dog) and rex.tricks == ["sit"]
    assert Pet.objects(owner=pets).only(["name"]).count() == 3


def test_subclass_queries_see_only_their_rows(pets):
    assert [(c.name, c.lives) for c in Cat.objects(owner=pets)] == [("tom", 7)]
    assert sorted(d.name for d in Dog.objects(owner=pets)) == ["ace", "rex"]
    cat = Cat.objects(owner=pets).get()
    cat.update(lives=6)
    assert Pet.objects(owner=pets, pet_id=cat.pet_id).get().lives == 6


def test_base_model_cannot_be_saved(pets):
    with pytest.raises(PolymorphicModelException):
        Pet.create(owner=pets, name="generic")
