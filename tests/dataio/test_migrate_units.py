"""Fast checks of the migration's parts: mapping additions, templates, URLs, key values, streaming (no database
of revcast's needed)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import textwrap
from decimal import Decimal

import pytest

from revcast.dataio.mapping import MappingError, load
from revcast.dataio.readers import SourceError
from revcast.dataio.rowparse import render_template
from revcast.dataio.sqlsource import KeyValue, SqlSource, normalise_url, redact

DB_SOURCE = """\
name: legacy
sources:
  - name: deals
    query: SELECT * FROM deals
    object: opportunity
    key_column: deal_no
    fields:
      external_id: {template: "LEG-{deal_no}"}
      amount: {column: cents, multiply: 0.01, convert: {from: ccy, to: usd, rates: {cny: 0.138}, rate: fx}}
      stage: {column: st, map: {W: Won}, unmapped: reject}
  - table: crm.accounts
    object: account
    fields: {external_id: id, name: nm}
"""


def _load(tmp_path, text):
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load(path)


def _error(tmp_path, text) -> str:
    with pytest.raises(MappingError) as exc:
        _load(tmp_path, text)
    return str(exc.value)


def test_database_sources_parse(tmp_path):
    m = _load(tmp_path, DB_SOURCE)
    deals, accounts = m.sources
    assert deals.is_database and deals.query == "SELECT * FROM deals" and deals.file == ""
    assert deals.key_column == "deal_no" and deals.origin == "query deals"
    assert accounts.name == "accounts" and accounts.table == "crm.accounts" and accounts.origin == "table crm.accounts"
    ext, amount, stage = deals.fields
    assert ext.template == "LEG-{deal_no}" and ext.template_columns == ["deal_no"]
    assert amount.convert.column == "ccy" and amount.convert.to == "USD" and amount.convert.rate_column == "fx"
    assert amount.convert.rates == {"CNY": Decimal("0.138")}
    assert stage.unmapped == "reject"
    # every column the source needs, for the header check before anything is written
    assert deals.columns == ["cents", "st", "deal_no", "ccy", "fx"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("file: a.csv\n    table: a", "give one of 'file', 'table' or 'query', not ['file', 'table']"),
        ("query: SELECT 1", "a 'query' source needs a 'name'"),
        ("file: a.csv\n    key_column: id", "'key_column' is for database sources"),
        ("name: x", "'file' is required (or 'table' or 'query' for a database source)"),
    ],
)
def test_source_kind_is_checked(tmp_path, source, expected):
    text = f"sources:\n  - {source}\n    object: account\n    fields: {{name: n}}\n"
    assert expected in _error(tmp_path, text)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("{column: a, convert: {to: USD, rates: {CNY: 1}}}", "'from' (the column holding the currency) and 'to'"),
        ("{column: a, convert: {from: c, to: USD}}", "give 'rates' (CURRENCY: RATE pairs) or 'rate'"),
        ("{column: a, convert: {from: c, to: USD, rates: {CNY: -2}}}", "rates.CNY: -2 is not a positive number"),
        ("{column: a, convert: {from: c, to: USD, rates: {CNY: x}}}", "rates.CNY: 'x' is not a positive number"),
        ("{column: a, convert: {from: c, to: USD, rate: r, fx: 1}}", "unknown key(s) ['fx']"),
        ("{template: '{a'}", "fields.v.template"),
        ("{template: 'no columns'}", "name columns in braces"),
        ("{template: '{a}', column: a}", "a 'template' reads its own columns"),
        ("{column: a, unmapped: reject}", "unmapped: only meaningful with a 'map'"),
        ("{column: a, map: {x: y}, unmapped: drop}", "must be one of ['keep', 'reject', 'null']"),
    ],
)
def test_field_additions_are_checked(tmp_path, options, expected):
    text = f"sources:\n  - table: t\n    object: account\n    fields:\n      v: {options}\n"
    message = _error(tmp_path, text)
    assert expected in message and "sources.t.fields.v" in message


def test_template_tidies_spaces_and_reads_empty_cells_as_nothing():
    assert render_template("{first} {last}", {"first": "  Qiao ", "last": " Lin"}) == "Qiao Lin"
    assert render_template("{cust} #{no}", {"cust": None, "no": 7}) == "#7"
    assert render_template("{a}-{b}", {"a": "x"}) == "x-"


def test_urls_get_a_driver_and_lose_their_password():
    assert normalise_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    assert normalise_url("mysql://u@h/db") == "mysql+pymysql://u@h/db"
    assert redact("postgresql://crm:s3cret@db.example:5433/legacy") == "postgresql+psycopg://crm@db.example:5433/legacy"
    assert "s3cret" not in redact("mssql+pyodbc://sa:s3cret@host/db?driver=ODBC+Driver+18")
    with pytest.raises(SourceError, match="not a database URL"):
        normalise_url("legacy.db")


@pytest.mark.parametrize("value", [42, "C-007", Decimal("10.50"), dt.date(2024, 2, 29), dt.datetime(2024, 1, 1, 8, 30)])
def test_key_values_survive_the_checkpoint(value):
    assert KeyValue.load(KeyValue.dump(value)) == value


def test_stream_is_ordered_by_key_in_batches_and_resumes_after_a_key(tmp_path):
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (k integer PRIMARY KEY, v text)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(k, f"v{k}") for k in (5, 3, 9, 1, 7, 2, 8)])
    with SqlSource(f"sqlite:///{path}") as src:
        batches = list(src.stream("t", None, "k", 3))
        assert [[r.values["k"] for r in b] for b in batches] == [[1, 2, 3], [5, 7, 8], [9]]
        assert [r.line for b in batches for r in b] == list(range(1, 8))
        resumed = list(src.stream(None, "SELECT k, v || '!' AS v FROM t", "k", 2, after=5, first_line=4))
        assert [[(r.line, r.values["k"], r.values["v"]) for r in b] for b in resumed] == [
            [(4, 7, "v7!"), (5, 8, "v8!")], [(6, 9, "v9!")]
        ]
        assert src.header("t", None) == ["k", "v"] and src.count("t", None) == 7
        with pytest.raises(SourceError, match="table nothere: cannot be read"):
            src.header("nothere", None)


@pytest.mark.django_db
def test_converted_amounts_keep_to_the_fields_digits(tmp_path):
    # annual_revenue holds 20 digits, 2 after the point: 18 before it fit, 19 do not (after conversion).
    from revcast.dataio.readers import SourceRow
    from revcast.dataio.rowparse import RowParser, plan_source

    mapping = _load(tmp_path, """\
        name: revenue
        sources:
          - table: accounts
            object: account
            fields:
              external_id: id
              name: nm
              annual_revenue: {column: rev, convert: {from: ccy, to: USD, rates: {CNY: 0.5, USD: 1}}}
        """)
    plan = plan_source(mapping.sources[0], mapping)
    parser = RowParser(mapping)

    def parse(rev, ccy):
        values, _refs, issues = parser.parse(plan, "accounts", SourceRow(1, {"id": "A", "nm": "A", "rev": rev, "ccy": ccy}))
        return values.get("annual_revenue"), [i.reason for i in issues]

    assert parse(Decimal("999999999999999999.994"), "USD") == (Decimal("999999999999999999.99"), [])
    assert parse(Decimal("1999999999999999999.98"), "CNY") == (Decimal("999999999999999999.99"), [])
    assert parse(Decimal("0.004"), "USD") == (Decimal("0.00"), [])
    assert parse(Decimal("-999999999999999999.99"), "USD") == (Decimal("-999999999999999999.99"), [])
    for rev, ccy in ((Decimal("999999999999999999.995"), "USD"), (Decimal("2000000000000000000"), "CNY"),
                     (Decimal("-1000000000000000000"), "USD")):
        value, reasons = parse(rev, ccy)
        assert value is None and len(reasons) == 1 and "too large (more than 20 digits)" in reasons[0], (rev, reasons)
