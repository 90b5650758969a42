"""revcast dedup (JSON shape, merge and undo from the command line) and /data/duplicates/ (admins only)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def twins(maven):
    """Two pairs of duplicate accounts next to the Maven accounts (which hold none)."""
    from revcast.customers.models import Account

    a = Account.objects.create(name="北京华信达科技有限公司", location="北京", country="中国",
                               custom={"phone": "13812345678", "uscc": "91110108MA01ABCD2X"})
    b = Account.objects.create(name="华信达科技（北京）股份有限公司", location="北京市", country="China",
                               custom={"phone": "+86 138 1234 5678"})
    c = Account.objects.create(name="Beltron Systems Co., Ltd.", location="London", country="United Kingdom",
                               custom={"email": "info@beltron.com"})
    d = Account.objects.create(name="ＢＥＬＴＲＯＮ ＳＹＳＴＥＭＳ Limited", location="London", country="UK",
                               custom={"email": "INFO@beltron.com"})
    return a, b, c, d


def _json(*args):
    out = StringIO()
    call_command("dedup", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


def test_json_lists_the_clusters_with_members_pairs_and_field_comparisons(twins):
    a, b, c, d = twins
    data = _json("account")
    assert data["object"] == "accounts" and 0 < data["threshold"] <= 1
    clusters = {cl["id"]: cl for cl in data["clusters"]}
    assert {a.pk: [a.pk, b.pk], c.pk: [c.pk, d.pk]}.items() <= {k: [m["id"] for m in v["members"]]
                                                               for k, v in clusters.items()}.items()
    pair = clusters[a.pk]["pairs"][0]
    assert {pair["left"], pair["right"]} == {a.pk, b.pk} and pair["probability"] >= data["threshold"]
    assert [f["field"] for f in pair["fields"]] == ["name", "phone", "email", "location", "country", "uscc"]
    assert {"left", "right", "level", "measure", "weight"} <= set(pair["fields"][0])
    assert clusters[a.pk]["members"][0]["name"] == "北京华信达科技有限公司"
    assert set(data["stats"]) >= {"records", "candidate_pairs", "total_s"}


def test_merge_and_undo_from_the_command_line(twins):
    from revcast.customers.models import Account

    a, b, _c, _d = twins
    count = Account.objects.count()
    data = _json("accounts", "--merge", str(a.pk), "--survivor", str(b.pk))
    assert data["merged"][0]["survivor"] == b.pk and data["merged"][0]["merged"] == [a.pk]
    assert Account.objects.count() == count - 1
    b.refresh_from_db()
    assert b.custom["uscc"] == "91110108MA01ABCD2X"
    out = StringIO()
    call_command("dedup", "accounts", "--undo", str(data["merged"][0]["changeset"]), stdout=out)
    assert "undone" in out.getvalue()
    assert Account.objects.count() == count and Account.objects.filter(pk=a.pk).exists()


def test_bad_arguments_are_refused(twins):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("dedup", "widgets")
    with pytest.raises(CommandError):
        call_command("dedup", "accounts", "--threshold", "3")
    with pytest.raises(CommandError):
        call_command("dedup", "accounts", "--merge", "999999")


@pytest.mark.parametrize("role", ["rep", "manager", "finance", "viewer"])
def test_non_admins_get_403(twins, role):
    from revcast.customers.models import Account
    from revcast.org.models import User

    a, b, *_ = twins
    client = Client()
    client.force_login(User.objects.create(username=f"dedup.{role}", role=role))
    assert client.get(reverse("data-duplicates")).status_code == 403
    response = client.post(reverse("data-duplicates-merge"),
                           {"object": "accounts", "member": [a.pk, b.pk], "survivor": a.pk})
    assert response.status_code == 403
    assert client.post(reverse("data-duplicates-undo", args=[1])).status_code == 403
    assert Account.objects.filter(pk=b.pk).exists()


def test_admin_reviews_merges_with_a_field_choice_and_undoes(twins):
    from revcast.customers.models import Account
    from revcast.org.models import User

    a, b, *_ = twins
    client = Client()
    client.force_login(User.objects.create(username="dedup.admin", role=User.Role.ADMIN))
    html = client.get(reverse("data-duplicates"), {"object": "accounts"}).content.decode()
    assert f'data-cluster="{a.pk}"' in html and "华信达科技（北京）股份有限公司" in html
    response = client.post(reverse("data-duplicates-merge"), {
        "object": "accounts", "member": [a.pk, b.pk], "survivor": a.pk, "field-name": b.pk})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.name == "华信达科技（北京）股份有限公司" and not Account.objects.filter(pk=b.pk).exists()
    from revcast.dataio.models import ChangeSet

    cs = ChangeSet.objects.filter(kind="merge").latest("pk")
    html = client.get(reverse("data-duplicates")).content.decode()
    assert f'data-changeset="{cs.pk}"' in html
    assert client.post(reverse("data-duplicates-undo", args=[cs.pk])).status_code == 302
    a.refresh_from_db()
    assert a.name == "北京华信达科技有限公司" and Account.objects.filter(pk=b.pk).exists()


def test_the_review_shows_names_not_ids_for_related_records(maven):
    from revcast.org.models import User
    from revcast.pipeline.models import Opportunity

    client = Client()
    client.force_login(User.objects.create(username="dedup.names", role=User.Role.ADMIN))
    html = client.get(reverse("data-duplicates"), {"object": "opportunities"}).content.decode()
    first = int(html.split('data-cluster="', 1)[1].split('"', 1)[0])  # a cluster's id is its smallest record id
    deal = Opportunity.objects.select_related("account", "owner", "product").get(pk=first)
    assert deal.account.name in html and deal.product.name in html and deal.owner.username in html
