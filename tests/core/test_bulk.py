"""core.bulk: creates as ``Model(**row)`` + ``save`` would make them (COPY on PostgreSQL, bulk_create elsewhere)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from revcast.core.bulk import by_keys, create_rows, upsert
from revcast.customers.models import Account, Contact
from revcast.org.models import User

pytestmark = pytest.mark.django_db


def _stored(obj):
    fresh = type(obj).objects.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.concrete_fields}


def test_created_rows_match_what_the_database_stores():
    owner = User.objects.create(username="bulk.owner")
    parent = Account.objects.create(name="Parent Holdings")
    made = create_rows(
        Account,
        [
            {"external_id": "B-1", "name": "Alpha", "owner": owner, "parent": parent, "annual_revenue": Decimal("12.50"),
             "custom": {"tier": "gold", "seats": 3}},
            {"external_id": "B-2", "name": "Beta", "parent_id": parent.pk},  # an id by attname
            {"external_id": "B-3", "name": "Gamma", "owner": None,
             "custom": {"区域": "华东", "tags": ["a\tb", {"quote": "\"x\"", "none": None}], "n": 1.5}},
        ],
    )
    assert [a.external_id for a in made] == ["B-1", "B-2", "B-3"]
    for obj in made:
        assert obj.pk is not None and not obj._state.adding and obj._state.db == "default"
        values = {f.attname: getattr(obj, f.attname) for f in Account._meta.concrete_fields}
        assert values == _stored(obj)
    alpha, beta, gamma = made
    # Defaults as the model defines them, timestamps set, foreign keys as given.
    assert beta.custom == {} and beta.country == "" and beta.annual_revenue is None and beta.owner_id is None
    assert alpha.created_at is not None and alpha.updated_at is not None
    assert Account.objects.get(pk=alpha.pk).custom == {"tier": "gold", "seats": 3}
    # JSON goes to jsonb as its text (core.pgcopy): nested, Chinese, quoted and tabbed values come back equal.
    assert Account.objects.get(pk=gamma.pk).custom == {
        "区域": "华东", "tags": ["a\tb", {"quote": "\"x\"", "none": None}], "n": 1.5
    }
    assert beta.parent_id == parent.pk and gamma.owner_id is None
    # The given instances are cached, as Model(owner=...) caches them: no query to read them back.
    with CaptureQueriesContext(connection) as ctx:
        assert alpha.owner.username == "bulk.owner" and alpha.parent.name == "Parent Holdings"
    assert ctx.captured_queries == []
    # Ids come from the table's own sequence: an ordinary save after them gets a fresh one.
    later = Account.objects.create(name="Later")
    assert later.pk > max(a.pk for a in made)


def test_unknown_fields_are_refused_and_nothing_is_written():
    before = Account.objects.count()
    with pytest.raises(TypeError, match="colour"), transaction.atomic():
        create_rows(Account, [{"name": "Ok"}, {"name": "Bad", "colour": "red"}])
    assert Account.objects.count() == before


def test_a_refused_row_raises_a_database_error_and_writes_nothing():
    Account.objects.create(name="Taken", external_id="DUP-1")
    before = Account.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic():
        create_rows(Account, [{"name": "New", "external_id": "NEW-1"}, {"name": "Again", "external_id": "DUP-1"}])
    assert Account.objects.count() == before
    with pytest.raises(DatabaseError), transaction.atomic():
        create_rows(Contact, [{"first_name": "No", "last_name": None}])


def test_upsert_refuses_one_key_twice_in_a_batch_and_creates_updates_and_leaves_the_rest():
    with pytest.raises(ValueError, match="appears twice"), transaction.atomic():
        upsert(Account, "external_id", [{"external_id": "X-1", "name": "a"}, {"external_id": "X-1", "name": "b"}])
    assert not Account.objects.filter(external_id="X-1").exists()
    first = upsert(Account, "external_id", [{"external_id": "X-1", "name": "a"}, {"external_id": "X-2", "name": "b"}])
    assert len(first.created) == 2
    again = upsert(
        Account, "external_id", [{"external_id": "X-1", "name": "a"}, {"external_id": "X-2", "name": "B"},
                                 {"external_id": "X-3", "name": "c"}],
    )
    assert [a.external_id for a in again.unchanged] == ["X-1"]
    assert [(o.external_id, ch["name"]) for o, ch in again.updated] == [("X-2", ("b", "B"))]
    assert [a.name for a in again.created] == ["c"]
    assert dict(Account.objects.filter(external_id__startswith="X-").values_list("external_id", "name")) == {
        "X-1": "a", "X-2": "B", "X-3": "c",
    }


def test_by_keys_finds_exactly_the_stored_keys_whatever_their_text_or_type():
    # Text keys go to PostgreSQL as one JSON value, other keys as an array: quotes, backslashes, braces,
    # commas, Chinese and JSON-looking text must match themselves and nothing else.
    tricky = ['O\'Brien "Ltd"', "back\\slash", "{brace,comma}", "北京 有限公司", "null", "[1]", " spaced "]
    for key in tricky:
        Account.objects.create(name=f"acct {key}", external_id=key)
    asked = [*tricky, "absent", "o'brien \"ltd\""]
    found = by_keys(Account.objects.all(), "external_id", asked)
    assert sorted(found) == sorted(tricky)
    assert all(found[key].external_id == key for key in tricky)
    # Integer keys (the array path), and a mix of types (falls back to the array path too).
    ids = {a.pk for a in Account.objects.filter(external_id__in=tricky[:3])}
    assert set(by_keys(Account.objects.all(), "id", [*ids, 10**9])) == ids
    assert by_keys(Account.objects.all(), "external_id", []) == {}


def test_foreign_keys_without_an_index_of_their_own_lead_a_composite_one():
    # pipeline.0003 dropped their single-column indexes (ADR 0025): lookups by each column alone must still
    # find an index that starts with it.
    from revcast.pipeline.models import Opportunity, OpportunityFieldHistory

    for model, column in ((Opportunity, "owner_id"), (Opportunity, "stage_id"), (OpportunityFieldHistory, "opportunity_id")):
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        leading = [name for name, c in constraints.items() if c["index"] and c["columns"] and c["columns"][0] == column]
        assert leading, f"no index of {model._meta.db_table} starts with {column}"
        assert all(len(constraints[name]["columns"]) > 1 for name in leading)
