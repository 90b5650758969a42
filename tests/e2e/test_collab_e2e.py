"""The collaborative forecast in a real Chromium against ``revcast serve`` on the demo database: a rep submits his
call for 2017-Q4, his manager sees it in his roll-up and adjusts it down with a note, the roll-up moves by exactly
the difference, and the rep still sees his own number and not the note."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

pytestmark = pytest.mark.e2e

REP, MANAGER = "darcel.schlecht", "melvin.marxen"
CALL = "/forecast/call/?period=2017-Q4"
NOTE = "Kan-code renewal slips to January"


def figure(page, selector: str) -> Decimal:
    return Decimal(page.locator(selector).get_attribute("data-value"))


def test_a_rep_submits_his_manager_adjusts_and_the_rep_keeps_his_number(session_factory):
    rep = session_factory()
    rep.login(REP)
    rep.page.click("#nav-forecast-menu")
    rep.page.click("#nav-forecast-call")
    rep.page.wait_for_url(re.compile(r"/forecast/call/$"))
    assert rep.page.locator("#id_period").input_value() == "2017-Q4"  # the quarter of the demo's newest forecast
    rep.page.fill("#id_submit_commit", "150000")
    rep.page.fill("#id_submit_best_case", "210000")
    rep.page.fill("#id_submit_note", "Two renewals this quarter")
    rep.page.click("#submit-button")
    rep.page.wait_for_url(re.compile(rf"/forecast/call/\?period=2017-Q4&user={REP}$"))
    assert "is submitted" in rep.page.locator(".alert-success").inner_text()
    assert figure(rep.page, "#kpi-commit") == Decimal("150000")
    assert "Two renewals this quarter" in rep.page.locator("#history").inner_text()

    manager = session_factory()
    manager.login(MANAGER)
    manager.goto(CALL)
    row = manager.page.locator(f'#children tr.rc-child[data-user="{REP}"]')
    assert Decimal(row.locator('[data-col="commit"]').get_attribute("data-value")) == Decimal("150000")
    assert row.locator(".badge.text-bg-success").count() == 1 and row.locator(".rc-not-submitted").count() == 0
    before = figure(manager.page, "#kpi-commit")
    manager.page.locator(f'tr.rc-adjust-row[data-user="{REP}"] summary').click()
    form = manager.page.locator(f'form[data-user="{REP}"]')
    form.locator('input[name="commit"]').fill("130000")
    form.locator('input[name="note"]').fill(NOTE)
    form.locator('button[type="submit"]').click()
    manager.page.wait_for_url(re.compile(rf"/forecast/call/\?period=2017-Q4&user={MANAGER}$"))
    assert "adjusted" in manager.page.locator(".alert-success").inner_text()
    assert before - figure(manager.page, "#kpi-commit") == Decimal("20000")
    row = manager.page.locator(f'#children tr.rc-child[data-user="{REP}"]')
    assert Decimal(row.locator('[data-col="commit"]').get_attribute("data-value")) == Decimal("130000")
    assert NOTE in row.inner_text()

    again = session_factory()
    again.login(REP)
    again.goto(CALL)
    assert figure(again.page, "#kpi-commit") == Decimal("150000")
    assert NOTE not in again.page.content()
    assert rep.errors == manager.errors == again.errors == []
