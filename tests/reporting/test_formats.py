"""The report command: formats (json, csv, xlsx, table) and refusals of bad input."""

from __future__ import annotations

import csv
import gc
import io
import json
import warnings

import openpyxl
import pytest
from django.core.management import CommandError

from revcast.reporting.params import ReportError
from revcast.reporting.registry import run_report
from tests.reporting import expected as E
from tests.reporting.support import as_json_rows, assert_rows, cli, cli_json

pytestmark = pytest.mark.usefixtures("maven")

COLUMN_KEYS = {"name", "type", "label"}


def test_json_shape_and_values():
    data = cli_json("bookings", "--by", "quarter", "--from", "2017-01-01", "--to", "2017-12-31")

    assert set(data) == {"columns", "rows", "meta"}
    assert all(set(c) == COLUMN_KEYS for c in data["columns"])
    assert [c["name"] for c in data["columns"]] == ["quarter", "count", "amount"]
    assert [c["type"] for c in data["columns"]] == ["string", "integer", "money"]
    assert data["rows"] == [
        ["2017-Q1", 531, 1134672.0],
        ["2017-Q2", 1254, 3086111.0],
        ["2017-Q3", 1257, 2982255.0],
        ["2017-Q4", 1196, 2802496.0],
    ]
    exp = E.bookings(E.in_period(E.deals(), "closed_on", "2017-01-01", "2017-12-31"), ["quarter"])
    assert_rows(data["rows"], as_json_rows(exp["rows"]))
    meta = data["meta"]
    assert meta["report"] == "bookings"
    assert meta["from"] == "2017-01-01" and meta["to"] == "2017-12-31"
    assert meta["by"] == ["quarter"]
    assert meta["totals"] == {"count": 4238, "amount": 10005534.0}


@pytest.mark.parametrize(
    "args, compute, by",
    [
        (("win-rate", "--by", "region"), E.win_rate, ["region"]),
        (("pipeline", "--by", "owner", "--where", "stage=Engaging"), None, ["owner"]),
        (("funnel", "--by", "region"), E.funnel, ["region"]),
        (("sales-cycle", "--by", "region"), E.sales_cycle, ["region"]),
    ],
    ids=["win-rate", "pipeline", "funnel", "sales-cycle"],
)
def test_json_of_every_report(args, compute, by):
    data = cli_json(*args)

    df = E.deals()
    exp = E.pipeline(df[df["stage"] == "Engaging"], by) if compute is None else compute(df, by)
    assert_rows(data["rows"], as_json_rows(exp["rows"]))
    assert all(set(c) == COLUMN_KEYS for c in data["columns"])


def test_json_percent_and_null():
    data = cli_json("funnel")

    assert data["rows"][0] == ["Prospecting", 8800, None, 1.0]
    assert data["rows"][1][2] == pytest.approx(8300 / 8800, abs=1e-12)


def test_csv_header_and_rows_equal_json():
    args = ("win-rate", "--by", "region,quarter")
    text = cli(*args, "--format", "csv")
    data = cli_json(*args)

    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == [c["name"] for c in data["columns"]]
    assert len(table) - 1 == len(data["rows"]) == 12
    for line, row in zip(table[1:], data["rows"], strict=True):
        for cell, value, column in zip(line, row, data["columns"], strict=True):
            if value is None:
                assert cell == ""
            elif column["type"] == "string":
                assert cell == value
            elif column["type"] == "integer":
                assert int(cell) == value
            else:
                assert float(cell) == pytest.approx(value, abs=1e-12)


def test_csv_to_output_file(tmp_path):
    target = tmp_path / "bookings.csv"
    assert cli("bookings", "--by", "region", "--format", "csv", "--output", str(target)) == ""

    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    exp = E.bookings(E.deals(), ["region"])["rows"]
    assert [(r["region"], int(r["count"]), float(r["amount"])) for r in rows] == [
        (region, n, float(amount)) for region, n, amount in exp
    ]


@pytest.mark.parametrize(
    "args",
    [("bookings", "--by", "region", "--by", "quarter"), ("funnel", "--by", "region"), ("win-rate", "--by", "product"),
     ("sales-cycle", "--by", "region")],
    ids=lambda a: a[0],
)
def test_xlsx_cells_equal_json(tmp_path, args):
    target = tmp_path / "report.xlsx"
    cli(*args, "--format", "xlsx", "--output", str(target))
    data = cli_json(*args)

    sheet = openpyxl.load_workbook(target, read_only=True).worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert cells[0] == [c["label"] for c in data["columns"]]
    assert len(cells) - 1 == len(data["rows"]) > 0
    for line, row in zip(cells[1:], data["rows"], strict=True):
        assert len(line) == len(row)
        for cell, value in zip(line, row, strict=True):
            if isinstance(value, float):
                assert cell == pytest.approx(value, abs=1e-12)
            else:
                assert cell == value


def test_table_has_rows_and_totals_line():
    text = cli("bookings", "--by", "quarter", "--from", "2017-01-01", "--to", "2017-12-31")

    for quarter, amount in (("2017-Q1", "1,134,672.00"), ("2017-Q2", "3,086,111.00"),
                            ("2017-Q3", "2,982,255.00"), ("2017-Q4", "2,802,496.00")):
        line = next(li for li in text.splitlines() if quarter in li)
        assert amount in line
    totals = E.bookings(E.in_period(E.deals(), "closed_on", "2017-01-01", "2017-12-31"), ["quarter"])["totals"]
    assert f"totals: count={totals['count']:,}, amount={totals['amount']:,.2f}" in text
    assert "totals: count=4,238, amount=10,005,534.00" in text


def test_table_to_output_file_is_written_and_closed(tmp_path):
    target = tmp_path / "bookings.txt"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        assert cli("bookings", "--by", "quarter", "--output", str(target)) == ""
        gc.collect()

    assert "totals: count=4,238, amount=10,005,534.00" in target.read_text(encoding="utf-8")
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == [], "the report command left its --output file open"


def test_table_of_win_rate_shows_percentages():
    text = cli("win-rate")

    exp = E.win_rate(E.deals())["totals"]
    assert f"{exp['win_rate'] * 100:.1f}%" in text
    assert f"win_rate={exp['win_rate']:.4f}" in text
    assert "totals: won=4,238, lost=2,473" in text


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "args, message",
    [
        (("nope",), "nope"),
        (("bookings", "--by", "nope"), "unknown dimension 'nope'"),
        (("bookings", "--where", "region"), "--where 'region': expected FIELD=VALUE"),
        (("bookings", "--where", "=East"), "expected FIELD=VALUE"),
        (("bookings", "--where", "nope=1"), "unknown dimension 'nope'"),
        (("bookings", "--from", "2017-12-31", "--to", "2017-01-01"), "--from 2017-12-31 is after --to 2017-01-01"),
        (("bookings", "--from", "2017-13-01"), "--from '2017-13-01': expected a date YYYY-MM-DD"),
        (("bookings", "--to", "31/12/2017"), "--to '31/12/2017': expected a date YYYY-MM-DD"),
        (("bookings", "--where", "quarter=2017-Q5"), "2017-Q5"),
        (("bookings", "--where", "quarter=Q1"), "quarter 'Q1'"),
        (("bookings", "--by", "region", "--by", "region"), "repeated"),
        (("funnel", "--by", "stage"), "already by stage"),
        (("funnel", "--option", "cohort=closed"), "cohort"),
        (("bookings", "--option", "cohort=created"), "no option 'cohort'"),
        (("bookings", "--option", "cohort"), "expected NAME=VALUE"),
        (("bookings", "--as", "no.body"), "--as 'no.body': no such user"),
        (("bookings", "--by", "custom.nope"), "custom field 'nope'"),
        (("bookings", "--format", "pdf"), "pdf"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v),
)
def test_bad_input_is_a_command_error_naming_the_problem(args, message):
    with pytest.raises(CommandError) as info:
        cli(*args)
    assert message in str(info.value)


def test_unknown_report_through_the_api():
    with pytest.raises(ReportError, match="unknown report 'nope'"):
        run_report("nope")


def test_json_is_valid_for_every_report():
    for name in ("pipeline", "funnel", "win-rate", "bookings", "sales-cycle"):
        data = json.loads(cli(name, "--format", "json"))
        assert data["meta"]["report"] == name
        assert data["rows"]
