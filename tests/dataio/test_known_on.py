"""``known_on``: a new deal's history carries the initial value until the date its mapped value became known.

A small pipeline file (owners and products of the Maven data already in the test database) is imported with
its own mapping; each deal's history is checked exactly. Expected values come from the test's own rows and
the raw products.csv, never from revcast.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal

import pytest

from tests.dataio.support import db_snapshot, issues_of, raw_rows, source_counts, username, write_csv

pytestmark = pytest.mark.usefixtures("maven")

LIST_PRICE = {p["product"]: Decimal(p["sales_price"]) for p in raw_rows("products.csv")}
HEADER = ["opportunity_id", "sales_agent", "product", "deal_stage", "engage_date", "close_date", "close_value"]
AGENT = "Darcel Schlecht"

# id, product, stage, engage date, close date, close value
ROWS = [
    ("KO-WON", "GTX Basic", "Won", "2017-01-10", "2017-02-20", "999"),  # close value differs from the list price
    ("KO-WON-AT-LIST", "MG Special", "Won", "2017-01-11", "2017-03-01", "55"),  # close value = the list price
    ("KO-LOST", "GTX Pro", "Lost", "2017-01-12", "2017-04-02", "0"),  # amount is the list price either way
    ("KO-OPEN", "MG Advanced", "Engaging", "2017-01-13", "", ""),  # no close: known from creation
]

MAPPING = """\
name: known_on_test
sources:
  - name: deals
    file: deals.csv
    object: opportunity
    fields:
      external_id: opportunity_id
      owner: {column: sales_agent, ref: user, by: full_name}
      product: {column: product, ref: product, by: name}
      stage: {column: deal_stage, ref: stage, by: name}
      created_on: engage_date
      expected_close_on: close_date
      closed_on: close_date
      amount:
        column: close_value
        null_values: ["0"]
        fallback: {from: product.list_price, when: {column: deal_stage, in: [Engaging, Lost]}}
    stage_dates: {Engaging: engage_date, Won: close_date, Lost: close_date}
    known_on:
      amount: {date: close_date, initial: {from: product.list_price}}
      expected_close_on: {date: close_date}
"""


def _midnight(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0, 0), tzinfo=dt.UTC)


def _write(folder, rows=ROWS, mapping_text: str = MAPPING, header=HEADER):
    folder.mkdir(exist_ok=True)
    write_csv(folder / "deals.csv", header, [[*r[:1], AGENT, *r[1:]] for r in rows])
    path = folder / "mapping.yaml"
    path.write_text(textwrap.dedent(mapping_text), encoding="utf-8")
    from revcast.dataio import mapping

    return mapping.load(path)


def _history(external_id: str) -> list[tuple]:
    from revcast.pipeline.models import OpportunityFieldHistory

    return list(
        OpportunityFieldHistory.objects.filter(opportunity__external_id=external_id)
        .order_by("changed_at", "id")
        .values_list("field", "old_value", "new_value", "changed_at")
    )


def _expected_history(ext, product, stage, engaged, closed, value) -> list[tuple]:
    """What the history must say, from the row alone (the rules of the mapping above)."""
    price = f"{LIST_PRICE[product]:.2f}"
    final = price if stage != "Won" else f"{Decimal(value):.2f}"
    at = _midnight(engaged)
    rows = [
        ("amount", None, price, at),
        ("owner", None, username(AGENT), at),
        ("stage", None, "Engaging", at),
        ("forecast_category", None, "pipeline", at),
    ]
    if closed:
        close = _midnight(closed)
        rows += [
            ("stage", "Engaging", stage, close),
            ("forecast_category", "pipeline", "closed" if stage == "Won" else "omitted", close),
        ]
        if final != price:
            rows.append(("amount", price, final, close))
        rows.append(("expected_close_on", None, closed, close))
    return rows


def test_history_states_each_value_from_the_day_it_was_known(tmp_path):
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Opportunity

    run = run_import(tmp_path / "in", _write(tmp_path / "in"))
    assert run.status == "succeeded", issues_of(run)
    assert source_counts(run.counts, "deals") == (4, 4, 0, 0, 0)
    expected = {r[0]: _expected_history(*r) for r in ROWS}
    assert expected["KO-WON"][-2:] == [
        ("amount", "550.00", "999.00", _midnight("2017-02-20")),
        ("expected_close_on", None, "2017-02-20", _midnight("2017-02-20")),
    ]
    for ext, rows in expected.items():
        assert _history(ext) == rows, ext
    assert run.counts["deals"]["history rows"] == sum(len(rows) for rows in expected.values())
    # The deals themselves carry the mapped (final) values.
    stored = {o.external_id: (o.amount, o.expected_close_on) for o in Opportunity.objects.filter(
        external_id__startswith="KO-")}
    assert stored == {
        "KO-WON": (Decimal("999"), dt.date(2017, 2, 20)),
        "KO-WON-AT-LIST": (Decimal("55"), dt.date(2017, 3, 1)),
        "KO-LOST": (LIST_PRICE["GTX Pro"], dt.date(2017, 4, 2)),
        "KO-OPEN": (LIST_PRICE["MG Advanced"], None),
    }
    closed = sum(1 for r in ROWS if r[4])
    assert f"deals: amount known on close_date; before it product.list_price ({closed} rows)" in run.notes
    assert f"deals: expected_close_on known on close_date; before it no value ({closed} rows)" in run.notes


def test_running_again_changes_nothing(tmp_path):
    from revcast.dataio.runner import run_import

    mapping = _write(tmp_path / "in")
    first = run_import(tmp_path / "in", mapping)
    assert first.status == "succeeded"
    before = db_snapshot()
    again = run_import(tmp_path / "in", mapping)
    assert again.status == "succeeded"
    assert source_counts(again.counts, "deals") == (4, 0, 0, 4, 0)
    assert again.counts["deals"]["history rows"] == 0
    assert db_snapshot() == before


def test_an_updated_deal_gets_ordinary_change_rows(tmp_path):
    """known_on shapes a new deal's history only; an existing deal that closes records the change now."""
    from revcast.dataio.runner import run_import

    open_row = ("KO-LATER", "GTX Basic", "Engaging", "2017-01-10", "", "")
    assert run_import(tmp_path / "a", _write(tmp_path / "a", [open_row])).status == "succeeded"
    won_row = ("KO-LATER", "GTX Basic", "Won", "2017-01-10", "2017-02-20", "999")
    run = run_import(tmp_path / "b", _write(tmp_path / "b", [won_row]))
    assert source_counts(run.counts, "deals") == (1, 0, 1, 0, 0)
    changes = [(f, o, n) for f, o, n, at in _history("KO-LATER") if at > _midnight("2017-01-10")]
    assert sorted(changes) == sorted([
        ("stage", "Engaging", "Won"),
        ("forecast_category", "pipeline", "closed"),
        ("amount", "550.00", "999.00"),
        ("expected_close_on", None, "2017-02-20"),
    ])


def test_dry_run_counts_the_same_rows_and_writes_nothing(tmp_path):
    from revcast.dataio.runner import run_import

    before = db_snapshot()
    run = run_import(tmp_path / "in", _write(tmp_path / "in"), dry_run=True)
    assert run.status == "succeeded" and run.dry_run
    assert source_counts(run.counts, "deals") == (4, 4, 0, 0, 0)
    assert run.counts["deals"]["history rows"] == sum(len(_expected_history(*r)) for r in ROWS)
    assert any(n.startswith("deals: amount known on close_date") for n in run.notes)
    assert db_snapshot() == before


def test_a_bad_date_in_a_known_on_column_rejects_the_row(tmp_path):
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Opportunity

    rows = [*ROWS, ("KO-BAD", "GTX Basic", "Won", "2017-01-10", "2017-02-30", "999")]
    run = run_import(tmp_path / "in", _write(tmp_path / "in", rows))
    assert run.status == "partial"
    assert source_counts(run.counts, "deals") == (5, 4, 0, 0, 1)
    reason = "'2017-02-30' is not a date in format %Y-%m-%d"
    issues = [i for i in issues_of(run) if i["field"].startswith("known_on.")]
    assert issues == [
        {"severity": "error", "object": "opportunity", "file": "deals.csv", "row": 6, "field": f"known_on.{name}",
         "value": "2017-02-30", "reason": reason}
        for name in ("amount", "expected_close_on")
    ]
    assert not Opportunity.objects.filter(external_id="KO-BAD").exists()


def test_constant_initial_values_and_forecast_category(tmp_path):
    """A constant initial amount, and a forecast category that became 'commit' on a later date: the stage's
    own category until then."""
    from revcast.dataio.runner import run_import

    text = MAPPING.replace(
        "      amount: {date: close_date, initial: {from: product.list_price}}\n",
        "      amount: {date: close_date, initial: {value: '1,200'}}\n"
        "      forecast_category: {date: commit_date}\n",
    ).replace("      closed_on: close_date\n", "      closed_on: close_date\n      forecast_category: category\n")
    header = [*HEADER, "category", "commit_date"]
    rows = [
        ("KO-COMMIT", "GTX Basic", "Engaging", "2017-01-10", "", "", "commit", "2017-02-01"),
        ("KO-WON-C", "GTX Basic", "Won", "2017-01-10", "2017-02-20", "999", "closed", ""),
    ]
    run = run_import(tmp_path / "in", _write(tmp_path / "in", rows, text, header))
    assert run.status == "succeeded", issues_of(run)
    engaged, committed, closed = (_midnight(d) for d in ("2017-01-10", "2017-02-01", "2017-02-20"))
    assert _history("KO-COMMIT") == [
        ("amount", None, "550.00", engaged),  # open, no close date: the amount is known from creation
        ("owner", None, username(AGENT), engaged),
        ("stage", None, "Engaging", engaged),
        ("forecast_category", None, "pipeline", engaged),
        ("forecast_category", "pipeline", "commit", committed),
    ]
    assert _history("KO-WON-C") == [
        ("amount", None, "1200.00", engaged),
        ("owner", None, username(AGENT), engaged),
        ("stage", None, "Engaging", engaged),
        ("forecast_category", None, "pipeline", engaged),
        ("stage", "Engaging", "Won", closed),
        ("forecast_category", "pipeline", "closed", closed),
        ("amount", "1200.00", "999.00", closed),
        ("expected_close_on", None, "2017-02-20", closed),
    ]
    assert "deals: amount known on close_date; before it '1,200' (1 row)" in run.notes


def test_a_date_at_or_before_the_creation_means_known_from_the_start():
    from revcast.org.models import User
    from revcast.pipeline.models import Product, Stage
    from revcast.pipeline.services import OpportunityRow, upsert_opportunities

    won = Stage.objects.get(name="Won")
    owner = User.objects.get(username=username(AGENT))
    values = {
        "external_id": "KO-SAME-DAY", "owner": owner, "stage": won, "product": Product.objects.get(name="GTX Basic"),
        "created_on": dt.date(2017, 1, 10), "closed_on": dt.date(2017, 1, 10),
        "expected_close_on": dt.date(2017, 1, 10), "amount": Decimal("999"), "currency": "USD",
    }
    upsert_opportunities(
        [OpportunityRow(values, {won: dt.date(2017, 1, 10)},
                        {"amount": (dt.date(2017, 1, 9), Decimal("550")), "expected_close_on": (dt.date(2017, 1, 10), None)})],
        source="test",
    )
    at = _midnight("2017-01-10")
    assert _history("KO-SAME-DAY") == [
        ("amount", None, "999.00", at),
        ("expected_close_on", None, "2017-01-10", at),
        ("owner", None, username(AGENT), at),
        ("stage", None, "Won", at),
        ("forecast_category", None, "closed", at),
    ]


# ------------------------------------------------------------------ the mapping is checked before reading data

SOURCE = """\
name: t
sources:
  - file: p.csv
    object: {object}
    fields:
      external_id: id
      owner: {{column: rep, ref: user, by: full_name}}
      stage: {{column: stage, ref: stage, by: name}}
      amount: value
{extra}
"""

REFUSED = [
    ("account", "    known_on: {amount: {date: d}}", "sources.p.known_on: only opportunities have known_on dates"),
    ("opportunity", "    known_on: [amount]", "sources.p.known_on: expected FIELD:"),
    ("opportunity", "    known_on: {owner: {date: d}}",
     "sources.p.known_on.owner: only ['amount', 'expected_close_on', 'forecast_category'] can have a known_on date"),
    ("opportunity", "    known_on: {expected_close_on: {date: d}}",
     "sources.p.known_on.expected_close_on: 'expected_close_on' is not mapped in fields; map it first"),
    ("opportunity", "    known_on: {amount: {initial: {value: 1}}}",
     "sources.p.known_on.amount: expected {date: DATE_COLUMN}, optionally with 'initial'"),
    ("opportunity", "    known_on: {amount: {date: d, when: x}}",
     "sources.p.known_on.amount: unknown key(s) ['when']; allowed: ['date', 'initial']"),
    ("opportunity", "    known_on: {amount: {date: d, initial: {from: product.list_price, value: 1}}}",
     "sources.p.known_on.amount.initial: expected {from: REF_FIELD.ATTRIBUTE} or {value: CONSTANT}"),
    ("opportunity", "    known_on: {amount: {date: d, initial: list_price}}",
     "sources.p.known_on.amount.initial: expected {from: REF_FIELD.ATTRIBUTE} or {value: CONSTANT}"),
    ("opportunity", "    known_on: {amount: {date: d, initial: {from: list_price}}}",
     "sources.p.known_on.amount.initial.from: 'list_price' must read REF_FIELD.ATTRIBUTE"),
    ("opportunity", "    known_on: {amount: {date: d, initial: {value: null}}}",
     "sources.p.known_on.amount.initial.value: give a value, or leave 'initial' out for none"),
]


@pytest.mark.parametrize(("obj", "extra", "expected"), REFUSED, ids=[e for _, _, e in REFUSED])
def test_mapping_refused_when_loaded(tmp_path, obj, extra, expected):
    from revcast.dataio.mapping import MappingError, load

    path = tmp_path / "m.yaml"
    path.write_text(SOURCE.format(object=obj, extra=extra), encoding="utf-8")
    with pytest.raises(MappingError) as exc:
        load(path)
    assert str(exc.value).startswith(str(path))
    assert expected in str(exc.value)


PLAN_REFUSED = [
    ("    known_on: {amount: {date: d, initial: {from: colour.price}}}",
     "sources.p.known_on.amount.initial.from: 'colour' is not a reference field of opportunity"),
    ("    known_on: {amount: {date: d, initial: {from: product.list_price}}}",
     "sources.p.known_on.amount.initial.from: 'product' is not mapped in fields; map it first"),
    ("    known_on: {amount: {date: d, initial: {value: cheap}}}",
     "sources.p.known_on.amount.initial.value: 'cheap' is not a number"),
]


@pytest.mark.parametrize(("extra", "expected"), PLAN_REFUSED, ids=[e for _, e in PLAN_REFUSED])
def test_mapping_refused_before_any_data_is_read(tmp_path, extra, expected):
    from revcast.dataio.mapping import load
    from revcast.dataio.runner import run_import
    from revcast.pipeline.models import Opportunity

    path = tmp_path / "m.yaml"
    path.write_text(SOURCE.format(object="opportunity", extra=extra), encoding="utf-8")
    (tmp_path / "p.csv").write_text(f"id,rep,stage,value,d\nKO-1,{AGENT},Won,5,2017-01-01\n", encoding="utf-8")
    count = Opportunity.objects.count()
    run = run_import(tmp_path, load(path))
    assert run.status == "failed"
    [issue] = issues_of(run)
    assert issue["object"] == "mapping" and expected in issue["reason"], issue
    assert Opportunity.objects.count() == count


def test_forecast_category_initial_must_be_a_category(tmp_path):
    from revcast.dataio.mapping import load
    from revcast.dataio.runner import run_import

    extra = "      forecast_category: cat\n    known_on: {forecast_category: {date: d, initial: {value: maybe}}}"
    path = tmp_path / "m.yaml"
    path.write_text(SOURCE.format(object="opportunity", extra=extra), encoding="utf-8")
    (tmp_path / "p.csv").write_text("id,rep,stage,value,cat,d\n", encoding="utf-8")
    run = run_import(tmp_path, load(path))
    assert run.status == "failed"
    reason = issues_of(run)[0]["reason"]
    assert "sources.p.known_on.forecast_category.initial.value: 'maybe' is not one of" in reason


def test_a_known_on_column_missing_from_the_file_fails_the_source(tmp_path):
    from revcast.dataio.runner import run_import

    mapping = _write(tmp_path / "in", mapping_text=MAPPING.replace("amount: {date: close_date", "amount: {date: closed"))
    run = run_import(tmp_path / "in", mapping)
    assert run.status == "failed"
    [issue] = issues_of(run)
    assert (issue["file"], issue["row"], issue["field"]) == ("deals.csv", 1, "closed")
    assert issue["reason"].startswith("column(s) ['closed'] missing from the header")
