"""Quotas: set, import (CSV in real encodings, Excel), list; bad rows are refused whole, with file, row, field,
value and reason."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from revcast.org.models import Quota, Team, User
from revcast.org.quotas import QuotaError, import_quotas, set_quota

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(maven):
    return User.objects.get(username="darcel.schlecht"), Team.objects.get(name="Melvin Marxen team")


def test_set_creates_then_changes_one_quota(people):
    darcel, team = people
    quota, created = set_quota("2017-q4", "320,000.50", user=darcel)
    assert created and (quota.period, quota.amount) == ("2017-Q4", Decimal("320000.50"))
    assert (quota.period_start, quota.period_end) == (dt.date(2017, 10, 1), dt.date(2018, 1, 1))
    _quota, created = set_quota("2017-Q4", "300000", user=darcel)
    assert not created and Quota.objects.get(user=darcel).amount == Decimal("300000")
    set_quota("FY2017", "1000000", team=team)
    assert Quota.objects.get(team=team).period_start == dt.date(2017, 1, 1)
    for bad, message in (("-5", "0 or more"), ("1.001", "two decimal"), ("ten", "not a number")):
        with pytest.raises(QuotaError, match=message):
            set_quota("2017-Q4", bad, user=darcel)
    with pytest.raises(QuotaError, match="2017-Q5"):
        set_quota("2017-Q5", "1", user=darcel)


def test_import_a_gbk_csv_and_an_excel_file(people, tmp_path):
    darcel, team = people
    team.name = "梅尔文团队"  # a Chinese team name, in a GBK file
    team.save()
    path = tmp_path / "quotas.csv"
    path.write_bytes("period,user,team,amount\n2017-Q4,darcel.schlecht,,300000\n2017-Q4,,梅尔文团队,700000\n"
                     .encode("gbk"))
    assert import_quotas(path) == {"created": 2, "updated": 0}
    assert Quota.objects.get(team=team).amount == Decimal("700000")
    book = openpyxl.Workbook()
    book.active.append(["period", "user", "amount"])
    book.active.append(["2017-Q4", "darcel.schlecht", 310000])
    book.save(tmp_path / "quotas.xlsx")
    assert import_quotas(tmp_path / "quotas.xlsx") == {"created": 0, "updated": 1}
    assert Quota.objects.get(user=darcel).amount == Decimal("310000")


def test_one_bad_row_imports_nothing_and_says_where(people, tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("period,user,amount\n2017-Q4,darcel.schlecht,100\n2017-Q9,gladys.colclough,5\n"
                    "2017-Q4,nobody.here,7\n2017-Q4,darcel.schlecht,8\n", encoding="utf-8")
    with pytest.raises(QuotaError) as info:
        import_quotas(path)
    text = str(info.value)
    assert "q.csv, row 3, period '2017-Q9'" in text
    assert "q.csv, row 4, user 'nobody.here': no such user" in text
    assert "q.csv, row 5, period '2017-Q4': row 2 already sets this quota" in text
    assert not Quota.objects.exists()


def test_the_command(people, tmp_path):
    out = StringIO()
    call_command("quota", "set", "--period", "2017-Q4", "--user", "darcel.schlecht", "--amount", "250000", stdout=out)
    assert "created" in out.getvalue()
    out = StringIO()
    call_command("quota", "list", "--format", "json", stdout=out)
    assert json.loads(out.getvalue()) == [{"period": "2017-Q4", "user": "darcel.schlecht", "team": None,
                                           "amount": "250000.00", "currency": "USD"}]
    with pytest.raises(CommandError, match="no such user"):
        call_command("quota", "set", "--period", "2017-Q4", "--user", "ghost", "--amount", "1")
    with pytest.raises(CommandError, match="no such file"):
        call_command("quota", "import", str(tmp_path / "missing.csv"))
