"""/data/standardise/: admins only; the preview's counts, apply (POST with CSRF) and undo from the page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.dataio.standardise_support import EXPECTED_PHONES, make_accounts, make_contacts

pytestmark = pytest.mark.usefixtures("maven")


@pytest.fixture
def admin_client():
    from revcast.org.models import User

    client = Client()
    client.force_login(User.objects.create(username="std.admin", role=User.Role.ADMIN))
    return client


@pytest.mark.parametrize("role", ["rep", "manager", "finance", "viewer"])
def test_non_admins_get_403(role):
    from revcast.org.models import User

    make_contacts()
    client = Client()
    client.force_login(User.objects.create(username=f"std.{role}", role=role))
    assert client.get(reverse("data-standardise")).status_code == 403
    assert client.post(reverse("data-standardise-apply"), {"kind": "phones"}).status_code == 403
    assert client.post(reverse("data-standardise-undo", args=[1])).status_code == 403
    from revcast.customers.models import Contact

    assert (
        not Contact.objects.filter(phone__startswith="+86138001380").exclude(phone="+8613800138002").exists()
    )


def test_anonymous_is_sent_to_log_in():
    response = Client().get(reverse("data-standardise"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_preview_page_shows_counts_and_suggestions(admin_client):
    make_contacts()
    make_accounts()
    response = admin_client.get(reverse("data-standardise"), {"object": "contact", "region": "CN"})
    assert response.status_code == 200
    html = response.content.decode()
    row = re.search(r'<tr data-kind="phones">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-count="changes">2<', row) and re.search(r'data-count="problems">1<', row)
    assert "+8613800138000" in html
    # Accounts are not in this preview; with all objects the misspelt industry shows up for confirmation.
    assert 'data-key="account.industry:technolgy"' not in html
    html = admin_client.get(reverse("data-standardise")).content.decode()
    assert 'data-key="account.industry:technolgy"' in html


def test_page_in_chinese(admin_client):
    make_contacts()
    html = admin_client.get(reverse("data-standardise"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "标准化" in html


def test_apply_and_undo_from_the_page(admin_client):
    from revcast.customers.models import Account, Contact
    from revcast.dataio.models import ChangeSet

    contacts = make_contacts()
    accounts = make_accounts()
    before_phone = {c.pk: c.phone for c in contacts.values()}
    page = admin_client.get(reverse("data-standardise")).content.decode()
    keys = re.findall(r'<input type="hidden" name="key" value="([^"]+)">', page)
    i = keys.index("account.industry:technolgy")
    data = {"kind": ["phones"], "key": keys, "confirm": [str(i)], f"target-{i}": "technology", "region": "CN"}
    response = admin_client.post(reverse("data-standardise-apply"), data)
    assert response.status_code == 302
    cs = ChangeSet.objects.filter(kind="standardise").order_by("-pk").first()
    assert cs is not None and cs.user.username == "std.admin"
    for last, e164 in EXPECTED_PHONES.items():
        assert Contact.objects.get(pk=contacts[last].pk).phone == e164
    assert set(
        Account.objects.filter(name__in=["Std Alpha", "Std Beta", "Std Gamma"]).values_list(
            "industry", flat=True
        )
    ) == {"technology"}
    # Only the confirmed value: the exact matches were not ticked in this POST, so they stay.
    assert Account.objects.get(pk=accounts["Std Epsilon"].pk).industry == "科技"

    page = admin_client.get(reverse("data-standardise")).content.decode()
    assert f'data-changeset="{cs.pk}"' in page
    response = admin_client.post(reverse("data-standardise-undo", args=[cs.pk]))
    assert response.status_code == 302
    assert {c.pk: c.phone for c in Contact.objects.filter(pk__in=before_phone)} == before_phone
    assert set(
        Account.objects.filter(name__in=["Std Alpha", "Std Beta", "Std Gamma"]).values_list(
            "industry", flat=True
        )
    ) == {"technolgy"}
    follow = admin_client.post(reverse("data-standardise-undo", args=[cs.pk]), follow=True)
    assert "already undone" in follow.content.decode()


def test_apply_needs_csrf():
    from revcast.org.models import User

    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create(username="std.admin2", role=User.Role.ADMIN))
    make_contacts()
    assert client.post(reverse("data-standardise-apply"), {"kind": "phones"}).status_code == 403
