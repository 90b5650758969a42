"""The data quality page: admins see scores and findings and download each finding's records; nobody else
reaches it. Counts come from the raw CSVs (quality_support)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client

from tests.dataio import quality_support as expect

pytestmark = pytest.mark.usefixtures("maven")


@pytest.fixture
def admin_client():
    from revcast.org.models import User

    admin = User.objects.create_user("quality.admin", password="x", role="admin")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize("username", ["darcel.schlecht", "melvin.marxen"])
def test_reps_and_managers_get_403(username):
    from revcast.org.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    assert client.get("/data/quality/").status_code == 403
    assert client.get("/data/quality/offending.csv").status_code == 403


def test_anonymous_is_sent_to_login():
    response = Client().get("/data/quality/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_sees_scores_and_findings_with_counts(admin_client):
    html = admin_client.get("/data/quality/").content.decode()
    assert 'id="quality-scores"' in html and 'data-object="opportunity"' in html
    rows = re.findall(r'<tr data-finding="(\w+)" data-rule="([\w.]+)">(.*?)</tr>', html, re.S)
    counts = {}
    for _, rule, body in rows:
        count = int(re.search(r'rc-table-num fw-semibold">(\d+)<', body).group(1))
        counts[rule] = counts.get(rule, 0) + count
    wanted = {}
    for (rule, _, _), n in expect.expected(after_import=True).items():
        wanted[rule] = wanted.get(rule, 0) + n
    assert counts == wanted


def test_each_finding_downloads_its_records_in_full(admin_client):
    from revcast.customers.models import Account

    html = admin_client.get("/data/quality/?object=account").content.decode()
    (finding_id,) = re.findall(r'<tr data-finding="(\w+)" data-rule="account.country.governed">', html)
    assert f"offending.csv?finding={finding_id}&amp;object=account" in html
    response = admin_client.get(f"/data/quality/offending.csv?finding={finding_id}&object=account")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    korea = Account.objects.filter(country="Korea")
    assert [int(r["pk"]) for r in rows] == sorted(korea.values_list("pk", flat=True))
    assert rows[0]["name"] == korea.get().name and rows[0]["rule"] == "account.country.governed"
    assert admin_client.get("/data/quality/offending.csv?finding=nope").status_code == 404


def test_page_in_chinese(admin_client):
    html = admin_client.get("/data/quality/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "数据质量" in html and "完整性" in html
