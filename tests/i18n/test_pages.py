"""Every page in Chinese: Chinese navigation, title and headings, no English left in them; and in English.

Data stays as stored (deal, account and product names, usernames); labels of reference data that have a
Chinese label (stages) are shown in Chinese while links and filters keep the stored names.
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from revcast.customers.models import Account, Contact
from revcast.pipeline.models import Opportunity
from tests.i18n.conftest import ZH
from tests.i18n.pages import english_words, labels, nav_text, title
from tests.reporting import expected as E

DARCEL = "darcel.schlecht"
NAV_ZH = ["仪表盘", "商机", "客户", "联系人", "报表", "销售管道", "销售漏斗", "赢率", "成交额", "销售周期",
          "修改密码", "退出登录"]
NAV_EN = ["Dashboard", "Opportunities", "Accounts", "Contacts", "Reports", "Pipeline", "Funnel", "Win rate",
          "Bookings", "Sales cycle", "Change password", "Log out"]
REPORTS = {"pipeline": ("销售管道", "Pipeline"), "funnel": ("销售漏斗", "Funnel"), "win-rate": ("赢率", "Win rate"),
           "bookings": ("成交额", "Bookings"), "sales-cycle": ("销售周期", "Sales cycle")}


def without(text: str, data: list[str]) -> str:
    for value in data:
        text = text.replace(value, "")
    return text


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def records(maven):
    """One of Darcel's deals, its account, and a contact at that account (Maven has no contacts)."""
    opp = Opportunity.objects.filter(owner__username=DARCEL, stage__name="Engaging").exclude(account=None) \
        .order_by("pk").first()
    contact = Contact.objects.create(account=opp.account, first_name="Mei", last_name="Lin", title="CTO",
                                     owner=opp.owner)
    return {"opp": opp, "account": opp.account, "contact": contact}


def pages(records) -> list[tuple[str, str | None, str]]:
    """(url, Chinese title or None when the title is data, English title) of every page a rep opens."""
    opp, account, contact = records["opp"], records["account"], records["contact"]
    return [
        ("/", "仪表盘", "Dashboard"),
        ("/opportunities/", "商机", "Opportunities"),
        (f"/opportunities/{opp.pk}/", None, str(opp)),
        (f"/opportunities/{opp.pk}/edit/", "编辑商机", "Edit opportunity"),
        ("/opportunities/new/", "新建商机", "New opportunity"),
        ("/accounts/", "客户", "Accounts"),
        (f"/accounts/{account.pk}/", None, account.name),
        ("/contacts/", "联系人", "Contacts"),
        (f"/contacts/{contact.pk}/", None, str(contact)),
        *[(f"/reports/{name}/", zh, en) for name, (zh, en) in REPORTS.items()],
        ("/password/", "修改密码", "Change password"),
        ("/password/done/", "密码已修改", "Password changed"),
    ]


def test_every_page_in_chinese(client_as, records):
    client = client_as(DARCEL, ZH)
    for url, zh_title, en_title in pages(records):
        body = html(client.get(url))
        assert '<html lang="zh-hans">' in body, url
        nav = nav_text(body)
        for label in NAV_ZH:
            assert label in nav, (url, label)
        assert english_words(nav) == [], (url, nav)
        shown = title(body)
        assert shown == f"{zh_title or en_title} · revcast", url
        # Headings, column headers, field and form labels, buttons: Chinese (data aside: a detail page's h1).
        tags = {"h2", "h3", "dt", "th", "label", "button", "summary"} | ({"h1"} if zh_title else set())
        texts = labels(body, tags=tags)
        assert texts, url
        data = [str(records["opp"]), records["account"].name, str(records["contact"])]
        left = [(t, english_words(t)) for t in texts if english_words(without(t, data))]
        assert left == [], url
        if zh_title:
            heading = f"编辑 {records['opp']}" if url.endswith("/edit/") else zh_title
            assert labels(body, tags={"h1"})[0] == heading, url


def test_every_page_in_english(client_as, records):
    client = client_as(DARCEL)
    for url, _zh_title, en_title in pages(records):
        body = html(client.get(url))
        assert '<html lang="en">' in body, url
        nav = nav_text(body)
        for label in NAV_EN:
            assert label in nav, (url, label)
        assert not re.search(r"[\u4e00-\u9fff]", nav), (url, nav)
        assert title(body) == f"{en_title} · revcast", url
        texts = " ".join(labels(body))
        assert not re.search(r"[\u4e00-\u9fff]", texts), url


def test_login_page_in_both_languages(maven):
    from django.test import Client

    zh = html(Client(HTTP_ACCEPT_LANGUAGE=ZH).get("/login/"))
    assert title(zh) == "登录 · revcast"
    assert labels(zh, tags={"h1", "label", "button"}) == ["登录 revcast", "用户名", "密码", "登录"]
    en = html(Client().get("/login/"))
    assert title(en) == "Log in · revcast"
    assert labels(en, tags={"h1", "label", "button"}) == ["Log in to revcast", "Username", "Password", "Log in"]
    failed = Client(HTTP_ACCEPT_LANGUAGE=ZH).post("/login/", {"username": DARCEL, "password": "wrong"})
    assert "用户名或密码不正确，请重试。" in failed.content.decode()


def test_the_language_cookie_and_the_switcher(client_as):
    client = client_as(DARCEL, ZH, cookie=True)
    body = html(client.get("/opportunities/"))
    assert title(body) == "商机 · revcast"
    # The switcher posts to set_language; the page comes back in the chosen language.
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/opportunities/"})
    assert response.status_code == 302 and response["Location"] == "/opportunities/"
    assert title(html(client.get("/opportunities/"))) == "Opportunities · revcast"


def test_admin_link_and_role_in_chinese(client_as):
    body = html(client_as("admin", ZH).get("/contacts/"))
    assert "管理后台" in nav_text(body) and "Admin" not in nav_text(body)
    assert "i18n.admin · 管理员" in body  # the user menu: username (data) and role (translated)


def test_the_opportunity_list_counts_and_stage_labels(client_as):
    deals = E.deals()
    mine = deals[deals["owner"] == DARCEL]
    engaging = int((mine["stage"] == "Engaging").sum())
    client = client_as(DARCEL, ZH)
    body = html(client.get("/opportunities/", {"stage": "Engaging"}))
    assert f'<span id="result-count">{engaging}</span> 个商机' in body
    # Amounts are grouped by three in Chinese too (Django's Chinese format has no thousands separator).
    total = int(mine.loc[mine["stage"] == "Engaging", "amount"].sum())
    assert total > 1000 and f">{total:,.2f} USD</span>" in body
    # Badges show the Chinese label and keep the stored name for scripts and tests.
    assert body.count('data-stage="Engaging">接洽中</span>') == min(engaging, 50)
    # The stage filter offers the Chinese labels with the stored names as values.
    assert re.search(r'<option value="Engaging" selected>接洽中</option>', body)
    assert '<option value="Prospecting">潜在客户</option>' in body
    # A drill-down with several stages shows them as chips: Chinese labels, stored names in the form.
    chips = html(client.get("/opportunities/", {"stage": ["Won", "Lost"]}))
    chips = chips[chips.index('id="filter-chips"'):]
    assert '<input type="hidden" name="stage" value="Won">' in chips and "销售阶段：赢单" in chips
    assert '<input type="hidden" name="stage" value="Lost">' in chips and "销售阶段：输单" in chips
    english = html(client_as(DARCEL).get("/opportunities/", {"stage": "Engaging"}))
    assert f'<span id="result-count">{engaging}</span> opportunities' in english
    assert 'data-stage="Engaging">Engaging</span>' in english


def test_the_opportunity_detail_and_form_in_chinese(client_as, records):
    opp = records["opp"]
    client = client_as(DARCEL, ZH)
    body = html(client.get(f"/opportunities/{opp.pk}/"))
    dts = labels(body, tags={"dt"})
    assert dts[:6] == ["客户", "产品", "负责人", "金额", "销售阶段", "成交概率 (%)"]
    assert {"预测类别", "预计成交日期", "关闭日期", "创建日期", "接洽日期", "到达过的最远阶段", "外部编号", "版本"} <= set(dts)
    assert '<span class="badge text-bg-secondary" data-stage="Engaging">接洽中</span>' in body
    assert re.search(r'data-stage="Won"\s+class="btn btn-outline-success"\s*>赢单</button>', body)
    form = html(client.get(f"/opportunities/{opp.pk}/edit/"))
    assert labels(form, tags={"h1"}) == [f"编辑 {opp}"]
    assert "留空则使用销售阶段的默认值（潜在客户 10 %, 接洽中 40 %, 赢单 100 %, 输单 0 %）。" in form
    assert '<option value="">按销售阶段默认</option>' in form


def test_stage_change_messages_in_chinese(client_as, records):
    import datetime as dt

    from revcast.pipeline.models import Stage

    opp = records["opp"]
    assert opp.expected_close_on is None  # Maven's open deals have no close date
    won = Stage.objects.get(name="Won")
    client = client_as(DARCEL, ZH)
    refused = client.post(f"/opportunities/{opp.pk}/stage/", {"stage": won.pk, "version": opp.version})
    assert refused.status_code == 400
    errors = refused.content.decode().split('id="stage-errors"')[1].split("</div>")[0]
    assert "预计成交日期：离开销售阶段“接洽中”前必须填写。" in errors
    Opportunity.objects.filter(pk=opp.pk).update(expected_close_on=dt.date(2026, 1, 31))
    response = client.post(f"/opportunities/{opp.pk}/stage/", {"stage": won.pk, "version": opp.version},
                           follow=True)
    assert "销售阶段已变更为“赢单”。" in html(response)


def test_the_account_page_in_chinese(client_as, records):
    account = Account.objects.filter(industry="technology", opportunities__owner__username=DARCEL).first()
    body = html(client_as(DARCEL, ZH).get(f"/accounts/{account.pk}/"))
    dts = labels(body, tags={"dt"})
    assert dts == ["行业", "国家/地区", "年收入", "员工人数", "成立年份", "负责人", "上级客户"]
    assert '<dd class="col-7">科技</dd>' in body  # the industry picklist's Chinese label
    listing = html(client_as(DARCEL, ZH).get("/accounts/", {"industry": "technology"}))
    assert '<option value="technology" selected>科技</option>' in listing


def test_a_report_in_chinese_keeps_stored_names_in_links(client_as):
    client = client_as(DARCEL, ZH)
    response = client.get("/reports/pipeline/", {"by": "stage"})
    body = html(response)
    headers = [t for t in labels(body, tags={"th"})]
    assert headers == ["销售阶段", "商机", "金额", "加权金额"]
    exp = E.pipeline(E.deals()[E.deals()["owner"] == DARCEL], ["stage"])["rows"]
    rows = response.context["rows"]
    assert [r["cells"][0]["text"] for r in rows] == ["潜在客户", "接洽中"]
    assert [r["cells"][1]["text"] for r in rows] == [f"{row[1]:,}" for row in exp]
    assert all("stage=" + name in r["url"] for r, name in zip(rows, ["Prospecting", "Engaging"], strict=True))
    assert '<option value="Engaging">接洽中</option>' in body  # the stage filter
    assert "进行中的商机：数量、金额和按赢率加权的金额。期间按预计成交日期筛选。" in body


def test_the_dashboard_chart_shows_labels_and_drills_by_name(client_as):
    from tests.web_dashboard.support import categories, page_charts, series

    body = html(client_as(DARCEL, ZH).get("/"))
    chart = page_charts(body)["chart-pipeline-data"]
    assert categories(chart) == ["潜在客户", "接洽中"]
    assert [item["url"] for item in series(chart)] == [
        "/opportunities/?status=open&stage=Prospecting", "/opportunities/?status=open&stage=Engaging"]
    assert "月度成交额" in body and "金额最大的进行中商机" in body


def test_exports_in_chinese(client_as):
    client = client_as(DARCEL, ZH)
    params = {"by": ["owner", "quarter"]}
    xlsx = client.get("/reports/win-rate/export/xlsx/", params)
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert next(sheet.iter_rows(values_only=True)) == ("负责人", "季度", "赢单", "输单", "赢率", "赢单金额", "输单金额")
    # CSV keeps the machine names as its header, whatever the language: programs read it.
    text = client.get("/reports/win-rate/export/csv/", params).content.decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(text))) == ["owner", "quarter", "won", "lost", "win_rate", "won_amount",
                                                   "lost_amount"]
