"""The source builder takes rows, not files (a SQL source plugs in the same way), keeps raw values, and
reports what the import could not read: bad lines and unconvertible values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from revcast.dataio.mapping import parse
from revcast.dataio.quality import rules as rules_module
from revcast.dataio.quality import source_frames
from revcast.dataio.quality.engine import assess
from revcast.dataio.readers import SourceRow

pytestmark = pytest.mark.usefixtures("maven")

MAPPING = {
    "name": "legacy",
    "stages": [{"name": "Open", "order": 10, "type": "open", "probability": 20}],
    "sources": [
        {
            "name": "customers",
            "file": "customers",
            "object": "account",
            "key": "external_id",
            "fields": {
                "external_id": "id",
                "name": "company",
                "industry": {"column": "sector", "map": {"Fintech": "finance"}},
                "country": "country",
                "year_established": "founded",
                "annual_revenue": {"column": "revenue_m", "multiply": 1000000},
            },
        },
        {
            "name": "deals",
            "file": "deals",
            "object": "opportunity",
            "key": "external_id",
            "fields": {
                "external_id": "id",
                "owner": {"column": "rep", "ref": "user", "by": "full_name"},
                "account": {"column": "customer_id", "ref": "account", "by": "external_id"},
                "stage": "stage",
                "created_on": {"column": "created", "format": "%d/%m/%Y"},
                "amount": "value",
            },
        },
    ],
}


def _rows(*rows: dict) -> list[SourceRow]:
    return [SourceRow(line=i + 1, values=r) for i, r in enumerate(rows)]


def test_rows_from_any_source_are_assessed_raw():
    mapping = parse(MAPPING, Path("legacy.yaml"))
    records = {
        "customers": source_frames.SourceRecords(
            "table crm.customers",
            [
                *_rows(
                    {
                        "id": "C1",
                        "company": "华为技术有限公司",
                        "sector": "Fintech",
                        "country": "中国",
                        "founded": "1987",
                        "revenue_m": "12.5",
                    },
                    {
                        "id": "C2",
                        "company": "华为技术",
                        "sector": "finanse",
                        "country": "Germnay",
                        "founded": "1887x",
                        "revenue_m": "n/a",
                    },
                ),
                SourceRow(line=3, values={}, error="the line has 2 fields, the header has 6"),
            ],
        ),
        "deals": source_frames.SourceRecords(
            "query deals",
            _rows(
                {
                    "id": "D1",
                    "rep": "Darcel Schlecht",
                    "customer_id": "C1",
                    "stage": "Open",
                    "created": "31/01/2017",
                    "value": "100",
                },
                {
                    "id": "D2",
                    "rep": "Nobody Here",
                    "customer_id": "C9",
                    "stage": "Open",
                    "created": "2017-01-31",
                    "value": "1,000.50",
                },
            ),
        ),
    }
    dataset = source_frames.build(mapping, records, as_of=dt.date(2017, 6, 30))
    accounts = dataset.tables["account"]
    assert accounts.frame.loc[0, "annual_revenue"] == 12500000  # converted like the import, in target units
    assert accounts.frame.loc[0, "industry"] == "Fintech"  # raw, not mapped
    report = assess(dataset, rules_module.load()).as_dict()
    found = {(f["rule"], f["message"]): f for f in report["findings"]}
    messages = {m for _, m in found}

    assert ("account.readable", "line cannot be read: the line has 2 fields, the header has 6") in found
    example = found[("account.readable", "line cannot be read: the line has 2 fields, the header has 6")]
    assert example["examples"] == [{"file": "table crm.customers", "line": 3}]
    assert "'Fintech' is not a value of industry (the mapping maps it to 'finance')" in messages
    assert "'finanse' looks like a misspelling of industry 'finance'" in messages
    assert "'Germnay' looks like a misspelling of country 'Germany'" in messages
    year = [f for (rule, _), f in found.items() if rule == "account.year_established.type"]
    assert year[0]["count"] == 1 and year[0]["examples"][0]["value"] == "1887x"
    assert "1887x" in year[0]["examples"][0]["reason"]
    assert any(rule == "account.annual_revenue.type" for rule, _ in found)
    assert any(
        rule == "opportunity.created_on.type" and "2017-01-31" in str(f["examples"])
        for (rule, _), f in found.items()
    )
    assert "'Nobody Here' matches no user by full_name" in messages
    assert "'C9' matches no account by external_id" in messages
    duplicates = [f for (rule, _), f in found.items() if rule == "account.name.duplicate"]
    assert duplicates and duplicates[0]["count"] == 2  # 华为技术有限公司 and 华为技术 share a company key
    assert report["input"]["kind"] == "source"
