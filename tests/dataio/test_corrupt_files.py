"""Damaged copies of the Maven folder: each gives a clear report and changes nothing it should not.

Every copy is a real folder on disk (tmp_path) holding the four Maven files; one of them is damaged
with real bytes (truncated lines, GBK, BOM, an empty file, ...).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from decimal import Decimal

import pytest

from tests.dataio.support import (
    MAVEN_DIR,
    db_snapshot,
    import_with_pipeline,
    issues_of,
    pipeline_row,
    raw_header,
    raw_rows,
    source_counts,
    source_of,
    write_csv,
    write_mapping_copy,
)

pytestmark = pytest.mark.usefixtures("maven")

PIPELINE_HEADER = raw_header("sales_pipeline.csv")


def _opps(run):
    return source_counts(run.counts, "opportunities")


def _errors(run):
    return [i for i in issues_of(run) if i["severity"] == "error"]


def _only_error(run):
    """The one error issue of the run (there must be exactly one)."""
    errors = _errors(run)
    assert len(errors) == 1
    return errors[0]


def _import_one_bad_new_opportunity(folder, mapping_obj, **values):
    """Import the Maven data plus one new opportunity row (``values``) that must be rejected: the run is
    partial, that row alone is rejected and the database is unchanged. Returns the row and the errors."""
    new = pipeline_row(**values)
    before, run = import_with_pipeline(folder, mapping_obj, extra=[new])
    assert run.status == "partial"
    assert _opps(run) == (8801, 0, 0, 8800, 1)
    assert db_snapshot() == before
    return new, _errors(run)


# ------------------------------------------------------------------ bad values in rows


def test_bad_date_rejects_the_row_and_good_rows_still_load(maven_copy, mapping_obj):
    from revcast.pipeline.models import Opportunity

    rows = raw_rows("sales_pipeline.csv")
    index = next(i for i, r in enumerate(rows) if r["deal_stage"] == "Won")
    victim = rows[index]["opportunity_id"]
    original_engage = dt.date.fromisoformat(rows[index]["engage_date"])
    line = index + 2  # the header is line 1
    new = pipeline_row(
        opportunity_id="NEWGOOD1",
        sales_agent="Darcel Schlecht",
        product="MG Special",
        account="Cancity",
        deal_stage="Won",
        engage_date="2017-11-02",
        close_date="2017-12-01",
        close_value="60",
    )
    before, run = import_with_pipeline(
        maven_copy, mapping_obj, lambda rs: rs[index].update(engage_date="2017-13-45"), extra=[new]
    )

    assert run.status == "partial"
    assert _opps(run) == (8801, 1, 0, 8799, 1)
    errors = _errors(run)
    assert {e["field"] for e in errors} >= {"created_on", "engaged_on"}
    for e in errors:
        assert (e["object"], e["file"], e["row"], e["value"]) == (
            "opportunity",
            "sales_pipeline.csv",
            line,
            "2017-13-45",
        ), e
        assert "is not a date in format %Y-%m-%d" in e["reason"]
    # The bad row left its opportunity as it was; everything else is unchanged too.
    after = db_snapshot()
    assert Opportunity.objects.get(external_id=victim).engaged_on == original_engage
    created = Opportunity.objects.get(external_id="NEWGOOD1")
    assert (created.stage.name, created.amount, created.owner.username, created.account.name) == (
        "Won",
        Decimal("60"),
        "darcel.schlecht",
        "Cancity",
    )
    assert {k: v for k, v in after["opportunity"].items() if k != created.pk} == before["opportunity"]
    for name in ("account", "product", "user", "stage"):
        assert after[name] == before[name]


def test_unknown_stage_is_rejected(maven_copy, mapping_obj):
    rows = raw_rows("sales_pipeline.csv")
    index = next(i for i, r in enumerate(rows) if r["deal_stage"] == "Engaging")
    before, run = import_with_pipeline(
        maven_copy, mapping_obj, lambda rs: rs[index].update(deal_stage="Closing")
    )

    assert run.status == "partial"
    assert _opps(run) == (8800, 0, 0, 8799, 1)
    e = _only_error(run)
    assert (e["file"], e["row"], e["field"], e["value"]) == (
        "sales_pipeline.csv",
        index + 2,
        "stage",
        "Closing",
    )
    assert "matches no stage" in e["reason"]
    assert db_snapshot() == before


def test_unknown_sales_agent_is_rejected(maven_copy, mapping_obj):
    from revcast.pipeline.models import Opportunity

    _, errors = _import_one_bad_new_opportunity(
        maven_copy,
        mapping_obj,
        opportunity_id="NOAGENT1",
        sales_agent="Ghost Rider",
        product="GTX Basic",
        account="Cancity",
        deal_stage="Engaging",
        engage_date="2017-11-02",
    )

    assert [(e["file"], e["row"], e["field"], e["value"]) for e in errors] == [
        ("sales_pipeline.csv", 8802, "owner", "Ghost Rider")
    ]
    assert "matches no user" in errors[0]["reason"]
    assert not Opportunity.objects.filter(external_id="NOAGENT1").exists()


def test_huge_amount_is_rejected_not_a_crash(maven_copy, mapping_obj):
    """A 30-digit close_value must be reported as 'too large' for that row, like any other bad value.

    BUG (src/revcast/dataio/fields.py, parse_decimal): ``number.quantize(quantum)`` raises
    decimal.InvalidOperation when the result has more digits than the decimal context precision (28),
    which escapes the runner (it catches FieldError/ValidationError only): the whole run crashes.
    """
    new, errors = _import_one_bad_new_opportunity(
        maven_copy,
        mapping_obj,
        opportunity_id="HUGE0001",
        sales_agent="Darcel Schlecht",
        product="GTX Basic",
        account="Cancity",
        deal_stage="Won",
        engage_date="2017-11-02",
        close_date="2017-12-01",
        close_value="123456789012345678901234567890",
    )

    assert [(e["row"], e["field"], e["value"]) for e in errors] == [(8802, "amount", new["close_value"])]
    assert "too large" in errors[0]["reason"]


# ------------------------------------------------------------------ damaged files


def test_truncated_last_line(maven_copy, mapping_obj):
    from revcast.dataio.runner import run_import

    data = (MAVEN_DIR / "sales_pipeline.csv").read_bytes()
    lines = data.split(b"\r\n")
    assert lines[-1] == b""  # the file ends with a line break
    last = lines[-2]
    half = last[: len(last) // 2]
    (maven_copy / "sales_pipeline.csv").write_bytes(b"\r\n".join(lines[:-2]) + b"\r\n" + half)
    fields_left = len(next(csv.reader([half.decode()])))
    assert fields_left < len(PIPELINE_HEADER)
    last_id = last.split(b",")[0].decode()
    before = db_snapshot()

    run = run_import(maven_copy, mapping_obj)

    assert run.status == "partial"
    assert _opps(run) == (8800, 0, 0, 8799, 1)
    e = _only_error(run)
    assert (e["file"], e["row"]) == ("sales_pipeline.csv", 8801)
    assert f"the line has {fields_left} fields, the header has {len(PIPELINE_HEADER)}" in e["reason"]
    after = db_snapshot()
    assert after == before
    from revcast.pipeline.models import Opportunity

    assert Opportunity.objects.filter(external_id=last_id).exists()  # still there, as before


CHINESE_ACCOUNT = "上海示例科技有限公司"
CHINESE_DEAL = {  # a won deal with the Chinese account
    "opportunity_id": "CN000001",
    "sales_agent": "Darcel Schlecht",
    "product": "GTX Pro",
    "account": CHINESE_ACCOUNT,
    "deal_stage": "Won",
    "engage_date": "2017-06-01",
    "close_date": "2017-07-15",
    "close_value": "5000",
}


def _write_gbk_accounts_with_a_chinese_one(folder):
    """accounts.csv in GBK, with one account more: CHINESE_ACCOUNT."""
    accounts = raw_rows("accounts.csv")
    accounts.append(
        {
            "account": CHINESE_ACCOUNT,
            "sector": "technology",
            "year_established": "2008",
            "revenue": "12.5",
            "employees": "320",
            "office_location": "China",
            "subsidiary_of": "",
        }
    )
    write_csv(folder / "accounts.csv", raw_header("accounts.csv"), accounts, encoding="gbk")


def test_gbk_accounts_file_with_a_chinese_account(maven_copy, mapping_obj):
    from revcast.customers.models import Account
    from revcast.pipeline.models import Opportunity

    name = CHINESE_ACCOUNT
    _write_gbk_accounts_with_a_chinese_one(maven_copy)
    raw = (maven_copy / "accounts.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # really GBK on disk
    before, run = import_with_pipeline(maven_copy, mapping_obj, extra=[pipeline_row(**CHINESE_DEAL)])

    assert run.status == "succeeded", issues_of(run)
    assert run.counts["accounts"]["created"] == 1 and run.counts["accounts"]["unchanged"] == 85
    assert _opps(run) == (8801, 1, 0, 8800, 0)
    assert any("accounts.csv" in n and "gb18030" in n for n in run.notes), run.notes
    account = Account.objects.get(external_id=name)
    assert (account.name, account.industry, account.annual_revenue, account.employees, account.country) == (
        name,
        "technology",
        Decimal("12500000"),
        320,
        "China",
    )
    opp = Opportunity.objects.get(external_id="CN000001")
    assert opp.account == account and opp.amount == Decimal("5000")
    after = db_snapshot()
    assert {k: v for k, v in after["account"].items() if k != account.pk} == before["account"]


def test_gbk_file_with_utf8_forced_fails_with_a_clear_message(tmp_path, maven_copy, maven_mapping_path):
    from revcast.dataio import mapping

    name = CHINESE_ACCOUNT
    _write_gbk_accounts_with_a_chinese_one(maven_copy)
    forced = write_mapping_copy(
        tmp_path, maven_mapping_path, lambda d: source_of(d, "accounts").__setitem__("encoding", "utf-8")
    )
    before, run = import_with_pipeline(maven_copy, mapping.load(forced), extra=[pipeline_row(**CHINESE_DEAL)])

    assert run.status == "partial"
    assert run.counts["accounts"]["failed"] is True
    errors = _errors(run)
    file_issue = [e for e in errors if e["file"] == "accounts.csv"]
    assert len(file_issue) == 1
    reason = file_issue[0]["reason"]
    assert reason.startswith("accounts.csv: not valid utf-8")
    assert "line 87" in reason  # header + 85 accounts, then the Chinese one
    assert "gbk" in reason and "encoding" in reason
    # The opportunity naming the account that could not load is rejected; nothing changed.
    opp_issue = [e for e in errors if e["file"] == "sales_pipeline.csv"]
    assert [(e["row"], e["field"], e["value"]) for e in opp_issue] == [(8802, "account", name)]
    assert "matches no account" in opp_issue[0]["reason"]
    assert db_snapshot() == before


def test_utf8_with_bom_imports_like_plain_utf8(maven_copy, mapping_obj):
    from revcast.dataio.runner import run_import

    for name in ("sales_teams.csv", "products.csv", "accounts.csv", "sales_pipeline.csv"):
        path = maven_copy / name
        path.write_bytes(codecs.BOM_UTF8 + (MAVEN_DIR / name).read_bytes())
    before = db_snapshot()

    run = run_import(maven_copy, mapping_obj)

    assert run.status == "succeeded", issues_of(run)
    assert issues_of(run) == []
    for name in ("sales_teams.csv", "products.csv", "accounts.csv", "sales_pipeline.csv"):
        assert any(name in n and "utf-8-sig" in n for n in run.notes), run.notes
    for name, n in {"sales_teams": 35, "products": 7, "accounts": 85, "opportunities": 8800}.items():
        assert source_counts(run.counts, name) == (n, 0, 0, n, 0), name
    assert db_snapshot() == before


def test_empty_pipeline_file(maven_copy, mapping_obj):
    from revcast.dataio.runner import run_import

    (maven_copy / "sales_pipeline.csv").write_bytes(b"")
    before = db_snapshot()

    run = run_import(maven_copy, mapping_obj)

    assert run.status in ("failed", "partial")
    assert run.counts["opportunities"]["failed"] is True
    e = _only_error(run)
    assert (e["object"], e["file"], e["row"]) == ("opportunity", "sales_pipeline.csv", None)
    assert "sales_pipeline.csv" in e["reason"] and "empty" in e["reason"]
    assert db_snapshot() == before


def test_missing_column(maven_copy, mapping_obj):
    from revcast.dataio.runner import run_import

    header = [h for h in PIPELINE_HEADER if h != "close_value"]
    write_csv(maven_copy / "sales_pipeline.csv", header, raw_rows("sales_pipeline.csv"))
    with (maven_copy / "sales_pipeline.csv").open(newline="") as fh:
        assert next(csv.reader(fh)) == header  # really gone
    before = db_snapshot()

    run = run_import(maven_copy, mapping_obj)

    assert run.status in ("failed", "partial")
    assert run.counts["opportunities"]["failed"] is True
    assert _opps(run) == (8800, 0, 0, 0, 8800)
    e = _only_error(run)
    assert (e["file"], e["row"], e["field"]) == ("sales_pipeline.csv", 1, "close_value")
    assert "close_value" in e["reason"] and "missing" in e["reason"]
    assert db_snapshot() == before


def test_whole_folder_missing_is_a_failed_run(tmp_path, mapping_obj):
    """Every source file missing: nothing at all can load, so the run must be 'failed' (CLI exit 1).

    BUG (src/revcast/dataio/runner.py, ImportRunner._finish): the test ``all(c.get("failed") for c in
    self.state.counts.values())`` also looks at the "stages" entry, which comes from the mapping and never
    fails, so a run where every source failed is reported as 'partial' (exit code 3).
    """
    from revcast.dataio.runner import run_import

    empty = tmp_path / "nothing_here"
    empty.mkdir()
    before = db_snapshot()

    run = run_import(empty, mapping_obj)

    errors = _errors(run)
    assert sorted(e["file"] for e in errors) == sorted(
        ["sales_teams.csv", "products.csv", "accounts.csv", "sales_pipeline.csv"]
    )
    assert all("not found" in e["reason"] for e in errors)
    assert db_snapshot() == before
    assert run.status == "failed"


# ------------------------------------------------------------------ Excel


def _write_products_xlsx(path, change=None):
    from openpyxl import Workbook

    rows = raw_rows("products.csv")
    if change:
        change(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "products"
    ws.append(raw_header("products.csv"))
    for r in rows:
        ws.append([r["product"], r["series"], int(r["sales_price"])])
    wb.save(path)


def test_xlsx_products_alone_are_unchanged(tmp_path, mapping_obj):
    from revcast.dataio.runner import run_import

    xlsx = tmp_path / "products.xlsx"
    _write_products_xlsx(xlsx)
    before = db_snapshot()

    run = run_import(xlsx, mapping_obj)

    assert run.status == "succeeded", issues_of(run)
    assert set(run.counts) == {"stages", "products"}  # the other sources are not part of a one-file run
    assert source_counts(run.counts, "products") == (7, 0, 0, 7, 0)
    assert db_snapshot() == before


def test_xlsx_changed_list_price_updates_that_product(tmp_path, mapping_obj):
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Product

    xlsx = tmp_path / "products.xlsx"

    def change(rows):
        next(r for r in rows if r["product"] == "GTK 500")["sales_price"] = "27999"

    _write_products_xlsx(xlsx, change)
    before = db_snapshot()

    run = run_import(xlsx, mapping_obj)

    assert run.status == "succeeded", issues_of(run)
    c = run.counts["products"]
    assert (c["created"], c["updated"], c["unchanged"]) == (0, 1, 6)
    assert Product.objects.get(name="GTK 500").list_price == Decimal("27999")
    after = db_snapshot()
    changed = {k for k in before["product"] if before["product"][k] != after["product"][k]}
    assert changed == {Product.objects.get(name="GTK 500").pk}
    for name in ("opportunity", "account", "user", "history"):
        assert after[name] == before[name]


# ------------------------------------------------------------------ mapping errors


def test_unknown_field_in_mapping_fails_the_run_and_writes_nothing(tmp_path, maven_copy, maven_mapping_path):
    from revcast.dataio import mapping
    from revcast.dataio.runner import run_import

    # A real change in the data, which must NOT be written when the mapping is wrong.
    products = raw_rows("products.csv")
    products[0]["sales_price"] = "999"
    write_csv(maven_copy / "products.csv", raw_header("products.csv"), products)
    broken = write_mapping_copy(
        tmp_path,
        maven_mapping_path,
        lambda d: source_of(d, "opportunities")["fields"].__setitem__("amout", "close_value"),
    )
    loaded = mapping.load(broken)  # the field name is checked against the model when the run plans
    before = db_snapshot()

    run = run_import(maven_copy, loaded)

    assert run.status == "failed"
    e = _only_error(run)
    assert (e["object"], e["file"], e["row"]) == ("mapping", str(broken), None)
    assert "sources.opportunities.fields.amout" in e["reason"]
    assert "opportunity has no field 'amout'" in e["reason"]
    assert db_snapshot() == before


def test_unknown_option_in_mapping_is_refused_at_load(tmp_path, maven_mapping_path):
    from revcast.dataio import mapping

    broken = write_mapping_copy(
        tmp_path,
        maven_mapping_path,
        lambda d: source_of(d, "opportunities")["fields"].__setitem__("amount", {"colum": "close_value"}),
    )
    with pytest.raises(mapping.MappingError) as exc:
        mapping.load(broken)
    message = str(exc.value)
    assert message.startswith(str(broken))
    assert "sources.opportunities.fields.amount" in message and "'colum'" in message
