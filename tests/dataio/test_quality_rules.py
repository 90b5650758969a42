"""Quality rules on small hand-made frames: each kind, `when`, the source notes, scores; the rules files.

The engine is plain pandas: these tests need no database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from revcast.dataio.quality import rules as rules_module
from revcast.dataio.quality.dataset import Dataset, GovernedValue, StageInfo, Table
from revcast.dataio.quality.engine import assess
from revcast.dataio.quality.rules import RuleError, RuleSet, parse_rule

COUNTRIES = [
    GovernedValue("CN", "China", "中国"),
    GovernedValue("PH", "Philippines", "菲律宾"),
    GovernedValue("KR", "South Korea", "韩国"),
    GovernedValue("KP", "North Korea", "朝鲜"),
]


def _ruleset(*specs: dict, **settings) -> RuleSet:
    return RuleSet(
        [parse_rule(f"test[{i}]", s) for i, s in enumerate(specs)],
        {"fuzzy_threshold": 85, "stale_days": 90, **settings},
        [],
    )


def _table(obj: str, rows: list[dict], **kwargs) -> Table:
    frame = pd.DataFrame(rows).astype(object)
    frame = frame.where(frame.notna(), None)
    frame["_pk"] = range(1, len(frame) + 1)
    return Table(obj, frame, **kwargs)


def _run(tables: list[Table], *specs: dict, as_of: dt.date = dt.date(2024, 6, 30), **extra) -> dict:
    dataset = Dataset(
        kind=extra.pop("kind", "database"),
        tables={t.object: t for t in tables},
        governed={"country": COUNTRIES},
        as_of=as_of,
        **extra,
    )
    return assess(dataset, _ruleset(*specs)).as_dict()


def _counts(report: dict) -> dict[str, int]:
    return {f["message"]: f["count"] for f in report["findings"]}


def test_required_honours_when_and_counts_only_selected_records():
    table = _table(
        "opportunity",
        [
            {"stage_type": "open", "expected_close_on": None},
            {"stage_type": "open", "expected_close_on": dt.date(2024, 1, 1)},
            {"stage_type": "won", "expected_close_on": None},
            {"stage_type": "open", "expected_close_on": "  "},
        ],
    )
    report = _run(
        [table],
        {
            "object": "opportunity",
            "kind": "required",
            "field": "expected_close_on",
            "when": {"field": "stage_type", "in": ["open"]},
        },
    )
    assert _counts(report) == {"expected_close_on is empty": 2}
    assert [e["pk"] for e in report["findings"][0]["examples"]] == [1, 4]
    assert report["scores"]["objects"]["opportunity"]["dimensions"]["completeness"] == {
        "score": round(1 / 3, 4),
        "checked": 3,
        "failed": 2,
    }


def test_picklist_tells_misspellings_from_unknown_values_and_accepts_labels():
    table = _table(
        "account",
        [{"country": v} for v in ["China", "中国", "CN", "Philipines", "Korea", "Chnia", "Atlantis", None]],
    )
    report = _run(
        [table], {"object": "account", "kind": "picklist", "field": "country", "picklist": "country"}
    )
    counts = _counts(report)
    assert counts == {
        "'Philipines' looks like a misspelling of country 'Philippines'": 1,
        "'Korea' is not a value of country; closest: 'South Korea', 'North Korea'": 1,
        "'Chnia' is not a value of country; closest: 'China'": 1,
        "'Atlantis' is not a value of country": 1,
    }
    assert report["scores"]["overall"] == {"score": round(3 / 7, 4), "checked": 7, "failed": 4}


def test_misspelling_kind_reports_only_close_values():
    table = _table("account", [{"industry": "tecnology"}, {"industry": "bakery"}, {"industry": "technology"}])
    report = _run(
        [table],
        {"object": "account", "kind": "misspelling", "field": "industry", "values": ["technology", "retail"]},
    )
    assert _counts(report) == {"'tecnology' looks like a misspelling of industry 'technology'": 1}


def test_source_notes_say_what_the_mapping_does():
    table = Table(
        "account",
        pd.DataFrame({"_file": ["a.csv", "a.csv"], "_line": [2, 3], "industry": ["technolgy", None]}).astype(
            object
        ),
        fixes={"industry": {"technolgy": "technology"}},
        fills={"industry": "with the default 'other'"},
        source_columns={"industry": "sector"},
    )
    table.frame = table.frame.where(table.frame.notna(), None)
    report = _run(
        [table],
        {"object": "account", "kind": "picklist", "field": "industry", "values": ["technology"]},
        {"object": "account", "kind": "required", "field": "industry"},
        kind="source",
    )
    assert _counts(report) == {
        "'technolgy' looks like a misspelling of industry 'technology' (the mapping maps it to 'technology')": 1,
        "industry is empty (column 'sector' is empty; the mapping fills it with the default 'other')": 1,
    }
    by_kind = {f["kind"]: f for f in report["findings"]}
    assert by_kind["picklist"]["examples"] == [{"file": "a.csv", "line": 2, "value": "technolgy"}]
    assert by_kind["required"]["examples"] == [{"file": "a.csv", "line": 3}]


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("email", ["a@example.com", " Zhang.Wei@例子.中国 "], ["a@", "no at sign"]),
        ("phone", ["13800138000", "+1 650 253 0000"], ["12345", "phone"]),
        ("uscc", ["91110000600037341L"], ["91110000600037341A"]),
    ],
)
def test_formats(fmt, good, bad):
    table = _table("contact", [{"email": v} for v in good + bad])
    report = _run([table], {"object": "contact", "kind": "format", "field": "email", "format": fmt})
    (finding,) = report["findings"]
    assert finding["count"] == len(bad)
    assert [e["value"] for e in finding["examples"]] == bad


def test_pattern_and_range_with_as_of():
    table = _table(
        "account",
        [
            {"name": "acme", "year_established": 1999},
            {"name": "Beta", "year_established": 2031},
            {"name": "3M", "year_established": 1700},
            {"name": "Zeta", "year_established": None},
        ],
    )
    report = _run(
        [table],
        {"object": "account", "kind": "format", "field": "name", "pattern": "^[^a-z]"},
        {"object": "account", "kind": "range", "field": "year_established", "min": 1800, "max": "as_of"},
    )
    assert _counts(report) == {
        "name does not match '^[^a-z]'": 1,
        "year_established is below 1800": 1,
        "year_established is above 2024": 1,
    }


def test_compare_dates_and_a_date_against_a_referenced_year():
    accounts = _table(
        "account", [{"name": "Old", "year_established": 1990}, {"name": "New", "year_established": 2017}]
    )
    deals = _table(
        "opportunity",
        [
            {"account": "Old", "created_on": dt.date(2016, 5, 1), "closed_on": dt.date(2016, 4, 1)},
            {"account": "New", "created_on": dt.date(2016, 5, 1), "closed_on": dt.date(2016, 6, 1)},
            {"account": "New", "created_on": dt.date(2017, 5, 1), "closed_on": None},
            {"account": None, "created_on": dt.date(2016, 5, 1), "closed_on": dt.date(2016, 5, 1)},
        ],
        refs={"account": ("account", "name")},
    )
    report = _run(
        [accounts, deals],
        {"object": "opportunity", "kind": "compare", "field": "closed_on", "op": ">=", "other": "created_on"},
        {
            "object": "opportunity",
            "kind": "compare",
            "field": "created_on",
            "op": ">=",
            "other": "account.year_established",
        },
    )
    assert _counts(report) == {
        "closed_on is before created_on": 1,
        "created_on is before account.year_established": 1,
    }
    by_msg = {f["message"]: f for f in report["findings"]}
    assert (
        by_msg["created_on is before account.year_established"]["examples"][0]["value"] == "2016-05-01 / 2017"
    )
    rules = {r["rule"]: r["checked"] for r in report["rules"]}
    assert rules == {"opportunity.closed_on.compare": 3, "opportunity.created_on.compare": 3}


def test_reference_suggests_and_unreferenced_counts_mapped_values():
    products = _table("product", [{"name": "GTX Pro"}, {"name": "MG Special"}, {"name": "Unsold"}])
    deals = Table(
        "opportunity",
        pd.DataFrame({"product": ["GTXPro", "GTX Pro", "MG Specal", None], "_line": [2, 3, 4, 5]}).astype(
            object
        ),
        refs={"product": ("product", "name")},
    )
    deals.frame = deals.frame.where(deals.frame.notna(), None)
    report = _run(
        [products, deals],
        {"object": "opportunity", "kind": "reference", "field": "product"},
        {
            "object": "product",
            "kind": "unreferenced",
            "field": "name",
            "referenced_by": "opportunity.product",
        },
        lookups={("product", "name"): {"GTX Pro", "MG Special", "Unsold"}},
    )
    assert _counts(report) == {
        "'GTXPro' matches no product by name; closest: 'GTX Pro'": 1,
        "'MG Specal' matches no product by name; closest: 'MG Special'": 1,
        "no opportunity refers to it through product": 2,
    }


def test_duplicates_by_normalised_company_name_and_person():
    accounts = _table(
        "account",
        [
            {"name": n}
            for n in ["阿里巴巴（中国）有限公司", "阿里巴巴中国", "Acme Inc.", "ACME", "Other", None]
        ],
    )
    contacts = _table(
        "contact",
        [
            {"first_name": "Wei", "last_name": "Zhang", "account": "A"},
            {"first_name": "wei", "last_name": "ZHANG ", "account": "A"},
            {"first_name": "Wei", "last_name": "Zhang", "account": "B"},
        ],
    )
    report = _run(
        [accounts, contacts],
        {"object": "account", "kind": "duplicate", "fields": ["name"], "key": "company"},
        {
            "object": "contact",
            "kind": "duplicate",
            "fields": ["first_name", "last_name", "account"],
            "key": "person",
        },
    )
    counts = {f["object"]: f["count"] for f in report["findings"]}
    assert counts == {"account": 4, "contact": 2}
    assert report["scores"]["objects"]["account"]["dimensions"]["uniqueness"]["checked"] == 5


def test_required_by_stage_checks_deals_past_the_stage():
    deals = _table(
        "opportunity",
        [
            {"stage": "Qualify", "stage_order": 10, "amount": None},
            {"stage": "Propose", "stage_order": 20, "amount": None},
            {"stage": "Won", "stage_order": 90, "amount": None},
            {"stage": "Won", "stage_order": 90, "amount": 5},
        ],
    )
    stages = [
        StageInfo("Qualify", 10, "open", ("amount",)),
        StageInfo("Propose", 20, "open", ()),
        StageInfo("Won", 90, "won", ("amount",)),
    ]
    report = _run([deals], {"object": "opportunity", "kind": "required_by_stage"}, stages=stages)
    assert _counts(report) == {"amount is required to leave stage 'Qualify'": 2}
    assert report["rules"][0]["checked"] == 3


def test_stale_and_overdue_relative_to_as_of():
    deals = _table(
        "opportunity",
        [
            {
                "stage_type": "open",
                "engaged_on": dt.date(2024, 1, 1),
                "last_activity_on": dt.date(2024, 6, 1),
                "expected_close_on": dt.date(2024, 7, 1),
            },
            {
                "stage_type": "open",
                "engaged_on": dt.date(2024, 1, 1),
                "last_activity_on": None,
                "expected_close_on": dt.date(2024, 6, 1),
            },
            {
                "stage_type": "won",
                "engaged_on": dt.date(2020, 1, 1),
                "last_activity_on": None,
                "expected_close_on": dt.date(2020, 1, 1),
            },
        ],
    )
    when = {"field": "stage_type", "in": ["open"]}
    report = _run(
        [deals],
        {"object": "opportunity", "kind": "stale", "dates": ["engaged_on", "last_activity_on"], "when": when},
        {"object": "opportunity", "kind": "overdue", "field": "expected_close_on", "when": when},
    )
    assert {f["kind"]: f["count"] for f in report["findings"]} == {"stale": 1, "overdue": 1}
    assert report["scores"]["dimensions"]["staleness"] == {"score": 0.5, "checked": 4, "failed": 2}
    later = _run(
        [deals],
        {"object": "opportunity", "kind": "overdue", "field": "expected_close_on", "when": when},
        as_of=dt.date(2024, 5, 1),
    )
    assert later["findings"] == []


def test_last_date_is_the_default_as_of():
    deals = _table("opportunity", [{"closed_on": dt.date(2017, 12, 31)}, {"closed_on": dt.date(2016, 1, 1)}])
    dataset = Dataset(kind="database", tables={"opportunity": deals})
    assert assess(dataset, _ruleset()).as_of == dt.date(2017, 12, 31)


def test_shipped_rules_load_and_an_extra_file_replaces_disables_and_adds(tmp_path: Path):
    shipped = rules_module.load()
    ids = {r.id for r in shipped.rules}
    assert {"account.country.governed", "opportunity.exit_criteria", "opportunity.stale"} <= ids
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "settings: {stale_days: 30}\n"
        "rules:\n"
        "  - {id: account.name.capitalised, enabled: false}\n"
        "  - {id: opportunity.stale, object: opportunity, kind: stale, dates: [engaged_on], days: 10}\n"
        "  - {id: contact.title.required, object: contact, kind: required, field: title}\n",
        encoding="utf-8",
    )
    mine = rules_module.load(extra)
    by_id = {r.id: r for r in mine.rules}
    assert mine.settings["stale_days"] == 30
    assert not by_id["account.name.capitalised"].enabled
    assert by_id["opportunity.stale"].options == {"dates": ["engaged_on"], "days": 10}
    assert "contact.title.required" in by_id
    assert "account.name.capitalised" not in {r.id for r in mine.for_object("account")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [{object: account, kind: nonsense}]", "unknown kind 'nonsense'"),
        (
            "rules: [{object: account, kind: format, field: name, pattern: '('}]",
            "not a valid regular expression",
        ),
        ("rules: [{object: account, kind: required}]", "field required"),
        ("rules: [{object: account, kind: range, field: employees}]", "give 'min', 'max' or both"),
        (
            "rules: [{object: account, kind: required, field: name, colour: red}]",
            "unknown option(s) ['colour']",
        ),
        ("rules: [{object: account, kind: required, field: name, dimension: beauty}]", "unknown dimension"),
        ("rules: [{object: account, kind: picklist, field: industry}]", "exactly one of 'picklist'"),
        ("settings: {speed: 3}\nrules: []", "settings: unknown key(s) ['speed']"),
        ("rules: [{object: a, kind: required, field: x, when: {field: y}}]", "when"),
    ],
)
def test_bad_rules_files_name_file_rule_and_problem(tmp_path: Path, text: str, message: str):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        rules_module.load(path)
    assert str(path) in str(exc.value) and message in str(exc.value)
