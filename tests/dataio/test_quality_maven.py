"""The quality assessment on the Maven data, as source files through the shipped mapping and after the import:
every finding and its exact count, computed independently from the raw CSVs (quality_support)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.dataio import quality_support as expect

pytestmark = pytest.mark.usefixtures("maven")

PER_VALUE_KINDS = ("picklist", "reference")


def _assess(*args: str) -> dict:
    out = StringIO()
    call_command("quality", "assess", "--format", "json", *args, stdout=out)
    return json.loads(out.getvalue())


def _source(*args: str) -> dict:
    return _assess("--source", str(expect.MAVEN_DIR), "--mapping", str(expect.MAPPING), *args)


def _keyed(report: dict) -> dict:
    found = {}
    for f in report["findings"]:
        value = f["examples"][0].get("value") if f["kind"] in PER_VALUE_KINDS else None
        key = (f["rule"], f["field"], value)
        assert key not in found, key
        found[key] = f["count"]
    return found


@pytest.fixture(scope="module")
def source_report(django_db_blocker, maven_import):
    with django_db_blocker.unblock():
        return _source()


@pytest.fixture(scope="module")
def db_report(django_db_blocker, maven_import):
    with django_db_blocker.unblock():
        return _assess()


def test_source_files_report_every_defect_with_exact_counts(source_report):
    assert _keyed(source_report) == expect.expected(after_import=False)


def test_database_after_import_reports_what_the_mapping_did_not_fix(db_report):
    assert _keyed(db_report) == expect.expected(after_import=True)


def test_source_findings_say_the_mapping_corrects_them(source_report):
    by_rule = {}
    for f in source_report["findings"]:
        by_rule.setdefault(f["rule"], []).append(f)
    (industry,) = by_rule["account.industry.governed"]
    assert industry["message"].startswith("'technolgy' looks like a misspelling of industry 'technology'")
    assert "the mapping maps it to 'technology'" in industry["message"]
    assert industry["suggestion"] == "technology"
    country = {f["examples"][0]["value"]: f for f in by_rule["account.country.governed"]}
    assert "misspelling of country 'Philippines'" in country["Philipines"]["message"]
    assert "the mapping maps it" in country["Philipines"]["message"]
    assert "'South Korea'" in country["Korea"]["message"] and "mapping" not in country["Korea"]["message"]
    (product,) = by_rule["opportunity.product.reference"]
    assert "'GTXPro' matches no product by name" in product["message"]
    assert "the mapping maps it to 'GTX Pro'" in product["message"]
    (amount,) = by_rule["opportunity.exit_criteria"]
    assert "the mapping fills it from product.list_price" in amount["message"]


def test_source_examples_name_file_and_line(source_report):
    findings = {(f["rule"], f["examples"][0].get("value")): f for f in source_report["findings"]}
    industry = findings[("account.industry.governed", "technolgy")]
    assert industry["examples"][0]["file"] == "accounts.csv"
    assert industry["examples"][0]["line"] == expect.line_of("accounts", "sector", "technolgy")
    assert len(industry["examples"]) == 5
    product = findings[("opportunity.product.reference", "GTXPro")]
    assert product["examples"][0]["line"] == expect.line_of("pipeline", "product", "GTXPro")
    assert (
        product["examples"][0]["external_id"]
        == expect.raw()["pipeline"].opportunity_id[expect.line_of("pipeline", "product", "GTXPro") - 2]
    )


def test_database_examples_name_the_record(db_report):
    from revcast.customers.models import Account

    (korea,) = [f for f in db_report["findings"] if f["rule"] == "account.country.governed"]
    example = korea["examples"][0]
    account = Account.objects.get(pk=example["pk"])
    assert account.country == "Korea" and example["external_id"] == account.external_id


def test_json_shape(source_report, db_report):
    for report in (source_report, db_report):
        assert {"scores", "findings"} <= set(report)
        assert {"overall", "dimensions", "objects"} <= set(report["scores"])
        for f in report["findings"]:
            assert {"object", "field", "dimension", "rule", "message", "count", "examples"} <= set(f)
            assert isinstance(f["count"], int) and f["count"] > 0
            assert isinstance(f["examples"], list) and 0 < len(f["examples"]) <= min(5, f["count"])
        json.dumps(report)


def test_scores_are_the_share_of_checks_passing(source_report, db_report):
    d = expect.raw()
    agents = len(d["teams"])
    lonely = expect.expected(after_import=False)[("sales_team.without_deals", "name", None)]
    cell = source_report["scores"]["objects"]["sales_team"]["dimensions"]["referential_integrity"]
    assert cell == {"score": round(1 - lonely / agents, 4), "checked": agents, "failed": lonely}
    pipe = d["pipeline"]
    engaging = int(((pipe.deal_stage.isin(["Prospecting", "Engaging"])) & (pipe.engage_date != "")).sum())
    stale = expect.expected(after_import=True)[("opportunity.stale", "engaged_on", None)]
    cell = db_report["scores"]["objects"]["opportunity"]["dimensions"]["staleness"]
    assert cell == {"score": round(1 - stale / engaging, 4), "checked": engaging, "failed": stale}
    assert db_report["scores"]["overall"]["score"] > source_report["scores"]["overall"]["score"]


def test_object_option_keeps_one_object(django_db_blocker):
    report = _source("--object", "account")
    assert set(report["scores"]["objects"]) == {"account"}
    assert {f["object"] for f in report["findings"]} == {"account"}


def test_offending_csv_holds_every_record_in_full(tmp_path):
    import pandas as pd

    target = tmp_path / "offending.csv"
    _source("--object", "account", "--offending", str(target))
    rows = pd.read_csv(target, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    expected = {k: n for k, n in expect.expected(after_import=False).items() if k[0].startswith("account.")}
    assert len(rows) == sum(expected.values())
    technolgy = rows[rows.rule == "account.industry.governed"]
    assert set(technolgy.industry) >= {"technolgy"}
    assert {"file", "line", "name", "industry", "country", "annual_revenue"} <= set(rows.columns)


def test_table_and_html_formats(tmp_path):
    out = StringIO()
    call_command("quality", "assess", "--object", "account", stdout=out)
    text = out.getvalue()
    assert "account.country.governed" in text and "Korea" in text
    target = tmp_path / "report.html"
    call_command("quality", "assess", "--format", "html", "--output", str(target))
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and 'id="quality-findings"' in html and "Korea" in html
